#!/bin/sh
# render.sh draws the timeline pictures of pipeline/testdata/timeline/*.mmd
# to PNG with Mermaid's browser bundle in headless Chromium (Debian's
# chromium package). From the repository root:
#
#   npm ci --prefix internal/mermaidcheck
#   apt-get install chromium fonts-dejavu-core
#   TIMELINE_MMD_DIR=$PWD/pipeline/testdata/timeline go test ./pipeline/ -run TimelineMermaidParses
#   sh pipeline/testdata/timeline/render.sh
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$dir/../../.." && pwd)
bundle="$root/internal/mermaidcheck/node_modules/mermaid/dist/mermaid.min.js"
[ -f "$bundle" ] || { echo "no $bundle: run npm ci --prefix internal/mermaidcheck" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$bundle" "$tmp/mermaid.min.js"
for mmd in "$dir"/*.mmd; do
	name=$(basename "$mmd" .mmd)
	{
		echo '<!doctype html><html><head><meta charset="utf-8"><script src="mermaid.min.js"></script></head>'
		echo '<body style="margin:0;background:#fff"><pre class="mermaid">'
		sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' "$mmd"
		echo '</pre><script>mermaid.initialize({startOnLoad:true,gantt:{useWidth:1400}});</script></body></html>'
	} >"$tmp/$name.html"
	rows=$(grep -c ' :' "$mmd" || true)
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--virtual-time-budget=5000 --window-size=1400,$((160 + 24 * rows)) \
		--screenshot="$dir/timeline-$name.png" "file://$tmp/$name.html" 2>/dev/null
	echo "$dir/timeline-$name.png"
done
