// How a replay report is printed: a table for terminals, Markdown for pull requests and issues, JSON for
// scripts. Pure functions of the ReplayReport; the counts are printed with thousands separators
// (en-US, whatever the machine's locale) so outputs compare across machines.

import type { ReplayFormat, ReplayReport } from "./types";

/** A count as the report prints it (1,234,567); input.ts words its messages about the capture the same way. */
export const count = (x: number): string => x.toLocaleString("en-US");
const n = count;
const flows = (x: number): string => `${n(x)} flow${x === 1 ? "" : "s"}`;

function summaryLines(r: ReplayReport): string[] {
  const t = r.totals;
  const lines = [
    `castle replay (${r.source}, judged as if enforced): ${n(t.linesRead)} lines, ${n(t.flows)} flows: ${n(t.judged)} judged, ${n(t.replies)} replies (not judged), ${n(t.skipped)} skipped`,
    `would drop: ${flows(t.wouldDrop)} in ${n(r.groups.length)} group${r.groups.length === 1 ? "" : "s"}; Hubble itself marked ${n(t.wouldDropHubbleAudit)} of them AUDIT and ${n(t.wouldDropHubbleDropped)} DROPPED`,
  ];
  if (t.hubbleDropsAllowed > 0) {
    lines.push(`allowed by the stack although Hubble marked them AUDIT/DROPPED: ${n(t.hubbleDropsAllowed)}`);
  }
  const skipped = Object.entries(t.skippedByReason).sort((a, b) => b[1] - a[1]);
  if (skipped.length) lines.push(`skipped: ${skipped.map(([k, v]) => `${k} ${n(v)}`).join("; ")}`);
  const events = Object.entries(t.events);
  if (events.length || t.invalidLines) {
    lines.push(
      `not flows: ${[...events.map(([k, v]) => `${k} ${n(v)}`), ...(t.invalidLines ? [`invalid ${n(t.invalidLines)}`] : [])].join("; ")}`,
    );
  }
  for (const m of r.nodes) lines.push(`node ${m.hubble} -> ${m.node} (${m.how})`);
  for (const note of r.notes) lines.push(`note: ${note}`);
  return lines;
}

function hubbleText(h: Record<string, number>): string {
  return Object.entries(h)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  "))
    .join("\n");
}

export function formatReplay(report: ReplayReport, format: ReplayFormat): string {
  if (format === "json") return JSON.stringify(report, null, 2);
  const head = summaryLines(report);
  if (format === "markdown") {
    const esc = (s: string): string => s.replace(/\|/g, "\\|");
    const out = [`# castle replay: ${report.source}`, "", ...head.map((l) => `- ${l}`), ""];
    if (report.groups.length === 0) return [...out, "Nothing would be dropped."].join("\n") + "\n";
    out.push(
      "| # | count | source | destination | port | layer | drops at | Hubble | first | last |",
      "|---|---:|---|---|---|---|---|---|---|---|",
    );
    report.groups.forEach((g, i) =>
      out.push(
        `| ${i + 1} | ${g.count} | ${esc(g.source)} | ${esc(g.destination)} | ${g.port} | ${g.layer} | ${g.directions.join(", ")} | ${hubbleText(g.hubbleVerdicts)} | ${g.firstTime ?? ""} | ${g.lastTime ?? ""} |`,
      ),
    );
    report.groups.forEach((g, i) => {
      out.push("", `## ${i + 1}. ${g.source} → ${g.destination} ${g.port}`, "");
      out.push(`${flows(g.count)}, layer **${g.layer}**, dropped at ${g.directions.join(" and ")}.`, "");
      for (const r of g.reasons) out.push(`- ${r}`);
      for (const note of g.suggestion.notes) out.push(`- note: ${note}`);
      if (g.suggestion.policies.length) out.push("", "```yaml", g.suggestion.yaml.trimEnd(), "```");
    });
    return out.join("\n") + "\n";
  }
  const out = [...head, ""];
  if (report.groups.length === 0) return [...out, "Nothing would be dropped."].join("\n") + "\n";
  out.push(
    table([
      ["#", "COUNT", "SOURCE", "DESTINATION", "PORT", "LAYER", "DROPS AT", "HUBBLE", "FIRST", "LAST"],
      ...report.groups.map((g, i) => [
        String(i + 1),
        String(g.count),
        g.source,
        g.destination,
        g.port,
        g.layer,
        g.directions.join("+"),
        hubbleText(g.hubbleVerdicts),
        g.firstTime ?? "-",
        g.lastTime ?? "-",
      ]),
    ]),
  );
  out.push("", "Suggested rules:");
  report.groups.forEach((g, i) => {
    out.push("", `# ${i + 1}. ${g.suggestion.description} (${flows(g.count)}, ${g.layer} layer)`);
    for (const note of g.suggestion.notes) out.push(`#    note: ${note}`);
    if (g.suggestion.policies.length) out.push(g.suggestion.yaml.trimEnd());
  });
  return out.join("\n") + "\n";
}
