// The pull-request comment for one stack: a summary line, the reachability diff, the castle's properties,
// the Pulumi preview's changes by layer and the pack's violations verbatim. One comment per PR and stack,
// found again by its hidden marker, and kept under GitHub's 65,536-character limit for a comment body.

import { diffChanged, diffMarkdown, diffSummary, DiffResult } from "../../verifier/diff";
import type { PropertyResult } from "../../verifier/check";
import { packRefuses, PreviewReport } from "./preview";

/** GitHub refuses a comment body longer than this (REST API: "body is too long (maximum is 65536 characters)"). */
export const GITHUB_COMMENT_LIMIT = 65_536;

export const markerOf = (stack: string): string => `<!-- castle-preview stack=${stack} -->`;

export type PreviewOutcome =
  { ran: true; report: PreviewReport; exitCode: number } | { ran: false; reason: string };

export interface StackReport {
  stack: string;
  /** Undefined when the base has no such stack (new in this PR). */
  diff?: DiffResult;
  check: PropertyResult[];
  preview: PreviewOutcome;
  /** The head commit, for the header. */
  sha?: string;
  /** Where the full report lives when the comment is cut (the workflow run's artifacts). */
  artifactUrl?: string;
}

/** Why the check fails, if it does: the pack refuses, a castle property breaks, or the preview errors. */
export function failures(r: StackReport): string[] {
  const out: string[] = [];
  const broken = r.check.filter((p) => !p.holds);
  if (broken.length) out.push(`castle check: ${broken.map((p) => p.property).join("; ")}`);
  if (r.preview.ran) {
    if (packRefuses(r.preview.report))
      out.push(
        `the policy pack refuses: ${[...new Set(r.preview.report.violations.filter((v) => v.level === "mandatory").map((v) => v.policy))].join(", ")}`,
      );
    else if (r.preview.exitCode !== 0) out.push(`pulumi preview failed (exit ${r.preview.exitCode})`);
  }
  return out;
}

function summaryLine(r: StackReport): string {
  const reach = r.diff
    ? diffChanged(r.diff)
      ? `reachability: ${diffSummary(r.diff)}`
      : "reachability: no change"
    : "reachability: new stack, no base to compare";
  let pulumi: string;
  if (!r.preview.ran) pulumi = "Pulumi: not previewed";
  else {
    const c = r.preview.report.changes;
    const n = (op: string): number => c[op] ?? 0;
    pulumi = `Pulumi: ${n("create")} to create, ${n("update")} to update, ${n("replace") + n("create-replacement")} to replace, ${n("delete")} to delete`;
  }
  const pack = !r.preview.ran
    ? "pack: not run"
    : r.preview.report.violations.length === 0
      ? "pack: pass"
      : `pack: ${r.preview.report.violations.length} violation${r.preview.report.violations.length === 1 ? "" : "s"}${packRefuses(r.preview.report) ? " (refused)" : " (advisory)"}`;
  const broken = r.check.filter((p) => !p.holds).length;
  const check = broken ? `check: ${broken} broken` : "check: pass";
  return `${reach} · ${pulumi} · ${pack} · ${check}`;
}

function previewSection(p: PreviewOutcome): string[] {
  if (!p.ran) return ["#### Pulumi preview", "", `Not run: ${p.reason}`, ""];
  const out = ["#### Pulumi preview", ""];
  if (p.report.layers.length === 0) out.push("No resource changes.", "");
  for (const l of p.report.layers) {
    out.push(`**${l.layer}**: ${l.steps.length} change${l.steps.length === 1 ? "" : "s"}`, "");
    for (const s of l.steps) out.push(`- \`${s.op}\` ${s.type} \`${s.name}\``);
    out.push("");
  }
  if (p.report.errors.length) {
    out.push("**Errors**", "", "```", ...p.report.errors, "```", "");
  }
  return out;
}

function violationsSection(p: PreviewOutcome): string[] {
  if (!p.ran || p.report.violations.length === 0) return [];
  return [
    "#### Policy pack violations",
    "",
    ...p.report.violations.flatMap((v) => [
      `- **[${v.level}] ${v.policy}** (${v.pack})${v.urn ? ` on \`${v.urn.split("::").pop()}\`` : ""}`,
      "",
      "  ```",
      ...v.message.split("\n").map((l) => `  ${l}`),
      "  ```",
      "",
    ]),
  ];
}

function checkSection(results: PropertyResult[]): string[] {
  return [
    "#### Castle properties (evaluated as enforced)",
    "",
    ...results.flatMap((r) => [
      `- ${r.holds ? "✓" : "✗"} ${r.property} (${r.checked} flows)`,
      ...r.failures.slice(0, 20).map((f) => `  - ${f}`),
      ...(r.failures.length > 20 ? [`  - ... and ${r.failures.length - 20} more`] : []),
    ]),
    "",
  ];
}

/**
 * The full report and the comment body. The summary, violations and failures come first and are never
 * cut; the diff, the preview's steps and the properties follow, and the body is cut at a line boundary
 * with a note pointing at the full report when it would pass GitHub's limit.
 */
export function buildComment(
  r: StackReport,
  limit = GITHUB_COMMENT_LIMIT,
): { body: string; full: string; truncated: boolean } {
  const fails = failures(r);
  const head = [
    markerOf(r.stack),
    `### Castle preview: stack \`${r.stack}\`${r.sha ? ` at ${r.sha.slice(0, 7)}` : ""}`,
    "",
    // ✓/✗ rather than emoji: they read the same in a terminal, an e-mail notification and the picture.
    `${fails.length ? "**✗ fails**" : "**✓ passes**"} · ${summaryLine(r)}`,
    "",
    ...fails.map((f) => `- **${f}**`),
    ...(fails.length ? [""] : []),
    ...violationsSection(r.preview),
  ];
  const rest = [
    ...(r.diff
      ? diffMarkdown(r.diff).split("\n")
      : ["No base render: the stack is new in this pull request."]),
    "",
    "<details><summary>Pulumi preview and castle properties</summary>",
    "",
    ...previewSection(r.preview),
    ...checkSection(r.check),
    "</details>",
  ];
  const full = [...head, ...rest].join("\n") + "\n";
  if (full.length <= limit) return { body: full, full, truncated: false };
  const note = `\n\n**Cut to fit GitHub's comment limit.** The full report is in ${r.artifactUrl ? `the [workflow run's artifacts](${r.artifactUrl})` : "the workflow run's artifacts"} (castle-preview, ${r.stack}.md).\n`;
  // Close any open <details> or code block the cut would leave open.
  let body = head.join("\n") + "\n";
  if (body.length + note.length + 40 > limit) body = body.slice(0, limit - note.length - 40) + "\n…\n";
  for (const line of rest) {
    if (body.length + line.length + 1 + note.length + 40 > limit) break;
    body += line + "\n";
  }
  const fences = (body.match(/^\s*```/gm) ?? []).length;
  if (fences % 2 === 1) body += "```\n";
  const opened = (body.match(/<details>/g) ?? []).length - (body.match(/<\/details>/g) ?? []).length;
  for (let i = 0; i < opened; i++) body += "</details>\n";
  body += note;
  return { body, full, truncated: true };
}
