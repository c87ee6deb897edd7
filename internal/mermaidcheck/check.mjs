// check.mjs parses Mermaid diagrams with Mermaid's own parser and prints,
// for each, one JSON line: {"file", "ok", "error", "type", "tasks"}; a gantt
// diagram's tasks are those Mermaid's gantt database computes (name,
// section, start and end as ISO times, milestone), which also checks every
// date against the diagram's dateFormat. It exits 1 when any diagram is
// rejected. Each argument is a file holding one diagram (without the
// ```mermaid fence). Mermaid's DOMPurify needs a DOM, so jsdom provides
// window and document first. Run it with TZ=UTC (Mermaid reads dates in
// local time). Install with:
//   npm ci --prefix internal/mermaidcheck
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

let failed = 0;
for (const file of process.argv.slice(2)) {
  const src = readFileSync(file, 'utf8');
  const out = { file, ok: false };
  try {
    const r = await mermaid.parse(src);
    out.type = r.diagramType;
    if (r.diagramType === 'gantt') {
      const d = await mermaid.mermaidAPI.getDiagramFromText(src);
      out.tasks = d.db.getTasks().map((t) => {
        for (const k of ['startTime', 'endTime']) {
          if (!(t[k] instanceof Date) || isNaN(t[k])) {
            throw new Error(`task ${JSON.stringify(t.task)}: no valid ${k}`);
          }
        }
        return {
          name: t.task.trim(),
          section: t.section,
          start: t.startTime.toISOString(),
          end: t.endTime.toISOString(),
          milestone: !!t.milestone,
          crit: !!t.crit,
        };
      });
    }
    out.ok = true;
  } catch (e) {
    failed++;
    out.error = String(e?.message ?? e);
  }
  console.log(JSON.stringify(out));
}
process.exit(failed ? 1 : 0);
