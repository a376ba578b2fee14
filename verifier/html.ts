// The matrix as one self-contained HTML page for a workshop screen: no scripts, no external assets.

import type { CellVerdict, Matrix } from "./matrix";

const COLORS: Record<CellVerdict, { bg: string; fg: string; text: string }> = {
  allowed: { bg: "#1e8e3e", fg: "#ffffff", text: "allowed" },
  denied: { bg: "#c5221f", fg: "#ffffff", text: "dropped" },
  audited: { bg: "#f29900", fg: "#202124", text: "AUDIT (dropped once enforced)" },
  partial: { bg: "#a8dab5", fg: "#202124", text: "some ports allowed" },
  "n/a": { bg: "#e8eaed", fg: "#5f6368", text: "not applicable" },
};

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function matrixHtml(m: Matrix): string {
  const label = new Map(m.classes.map((c) => [c.id, c.label]));
  const head = m.columns.map((c) => `<th scope="col">${esc(label.get(c) ?? "own namespace")}</th>`).join("");
  const rows = m.classes
    .map((row) => {
      const cells = m.columns
        .map((col) => {
          const c = m.cells.find((x) => x.from === row.id && x.to === col);
          if (!c) return `<td class="v-n/a"></td>`;
          const ports = c.ports
            .map(
              (p) =>
                `<span class="p p-${p.verdict}" title="${esc(p.policies.join(", "))}">${esc(p.port)}</span>`,
            )
            .join(" ");
          const title = `${row.label} → ${label.get(col) ?? "own namespace"}${c.note ? ` (${c.note})` : ""}: ${COLORS[c.verdict].text}`;
          return `<td class="v-${c.verdict}" title="${esc(title)}">${ports || "·"}</td>`;
        })
        .join("");
      return `<tr><th scope="row">${esc(row.label)}</th>${cells}</tr>`;
    })
    .join("\n");
  const legend = (Object.keys(COLORS) as CellVerdict[])
    .map((k) => `<span class="key v-${k}">${esc(COLORS[k].text)}</span>`)
    .join(" ");
  const css = (Object.entries(COLORS) as [CellVerdict, (typeof COLORS)[CellVerdict]][])
    .map(([k, c]) => `.v-${k.replace("/", "\\/")}{background:${c.bg};color:${c.fg}}`)
    .join("\n");
  const pcss = (["allowed", "denied", "audited"] as const)
    .map((k) => `.p-${k}{border-color:${COLORS[k].bg}}`)
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Castle reachability: ${esc(m.source)}</title>
<style>
body{font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#202124;background:#fff}
h1{font-size:28px;margin:0 0 4px} p{margin:4px 0 16px;color:#5f6368}
table{border-collapse:collapse;font-size:14px}
th,td{border:2px solid #fff;padding:6px 8px;text-align:center;vertical-align:middle}
td{min-width:110px;max-width:190px}
thead th{background:#202124;color:#fff;font-weight:600;max-width:130px;overflow-wrap:anywhere}
tbody th{background:#f1f3f4;text-align:left;white-space:nowrap}
.p{display:inline-block;background:#fff;color:#202124;border:2px solid;border-radius:4px;padding:0 4px;margin:1px;font:12px/1.4 ui-monospace,monospace}
.key{display:inline-block;padding:4px 10px;border-radius:4px;margin-right:6px}
${css}
${pcss}
</style></head>
<body>
<h1>Castle reachability: ${esc(m.source)}</h1>
<p>${m.auditMode ? "Policy audit mode is on: orange flows would be dropped once enforcement starts." : "Enforced: red flows are dropped."} Rows send, columns receive; each port shows its own verdict (hover for the policies).</p>
<p>${legend}</p>
<table><thead><tr><th>from \\ to</th>${head}</tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}
