# shellcheck shell=bash
# Helpers for scripts that stop and start offline-dagger engines.

# kill_orphan_dns ends the DNS helpers (dnsmasq) that stopped engines leave
# behind, orphaned; the next engine needs their port.
kill_orphan_dns() {
  local d
  for d in /proc/[0-9]*; do
    [ "$(awk '{print $4}' "$d/stat" 2>/dev/null)" = 1 ] || continue
    tr '\0' ' ' < "$d/cmdline" 2>/dev/null | grep -q 'dnsmasq .*/containers/cni/dnsname/' && kill "${d#/proc/}" 2>/dev/null
  done
  return 0
}
