// What a change does to reachability: the probe flows of two renders, compared as enforced.

import { buildMatrix, Matrix } from "./matrix";
import type { CastleInputs } from "./sources";

export interface FlowChange {
  from: string;
  to: string;
  port: string;
  before: string;
  after: string;
  by: string[];
}

export interface DiffResult {
  before: string;
  after: string;
  becameAllowed: FlowChange[];
  becameDenied: FlowChange[];
  /** Flows of endpoints that exist in only one render. */
  onlyBefore: number;
  onlyAfter: number;
}

/** Up to this many user namespaces, every namespace is probed on its own; beyond it, by class. */
export const PER_NAMESPACE_LIMIT = 60;

function flows(
  m: Matrix,
): Map<string, { from: string; to: string; port: string; verdict: string; policies: string[] }> {
  const out = new Map();
  for (const c of m.cells)
    for (const p of c.ports)
      out.set(`${c.from}|${c.to}|${p.port}`, {
        from: c.from,
        to: c.to,
        port: p.port,
        verdict: p.verdict,
        policies: p.policies,
      });
  return out;
}

export function diffCastles(a: CastleInputs, b: CastleInputs): DiffResult {
  const collapse = Math.max(a.userNamespaces.length, b.userNamespaces.length) > PER_NAMESPACE_LIMIT;
  const fa = flows(buildMatrix(a, { enforce: true, collapse }));
  const fb = flows(buildMatrix(b, { enforce: true, collapse }));
  const result: DiffResult = {
    before: a.source,
    after: b.source,
    becameAllowed: [],
    becameDenied: [],
    onlyBefore: 0,
    onlyAfter: 0,
  };
  for (const [k, x] of fb) {
    const y = fa.get(k);
    if (!y) {
      result.onlyAfter++;
      continue;
    }
    const was = y.verdict === "allowed";
    const now = x.verdict === "allowed";
    if (was === now) continue;
    const change = {
      from: x.from,
      to: x.to,
      port: x.port,
      before: y.verdict,
      after: x.verdict,
      by: now ? x.policies : y.policies,
    };
    (now ? result.becameAllowed : result.becameDenied).push(change);
  }
  for (const k of fa.keys()) if (!fb.has(k)) result.onlyBefore++;
  return result;
}

export function diffMarkdown(d: DiffResult): string {
  const rows = (list: FlowChange[], verb: string): string[] =>
    list.length === 0
      ? []
      : [
          `#### ${list.length} flow${list.length === 1 ? "" : "s"} ${verb}`,
          "",
          "| from | to | port | before | after | policies |",
          "| --- | --- | --- | --- | --- | --- |",
          ...list.map(
            (c) =>
              `| \`${c.from}\` | \`${c.to}\` | ${c.port} | ${c.before} | ${c.after} | ${c.by.map((p) => `\`${p}\``).join(", ")} |`,
          ),
          "",
        ];
  const total = d.becameAllowed.length + d.becameDenied.length;
  return [
    `### Castle reachability: \`${d.before}\` → \`${d.after}\``,
    "",
    total === 0
      ? "No probed flow changes its verdict (evaluated as enforced)."
      : `**${d.becameAllowed.length} became allowed, ${d.becameDenied.length} became denied** (evaluated as enforced).`,
    "",
    ...rows(d.becameAllowed, "became allowed"),
    ...rows(d.becameDenied, "became denied"),
    ...(d.onlyAfter || d.onlyBefore
      ? [`New endpoints add ${d.onlyAfter} probed flows; removed ones drop ${d.onlyBefore}.`, ""]
      : []),
  ].join("\n");
}
