// What a change does to reachability: the same probe flows asked of two renders, compared as enforced.
//
// The probes are the castle's endpoint classes against each other (probes.ts), on the ports each class
// serves and on every port either render's policies name, plus addresses taken from both renders'
// policies: each CIDR's edges as sources and as destinations (probePoints.ts). A widened, narrowed or
// removed CIDR and a new port therefore change a verdict that the diff reports.

import { PolicyEngine } from "./engine";
import { probe } from "./matrix";
import type { CastleInputs } from "./objects";
import { classPairs, endpointClasses, PortProbe, probeText, tcpProbe } from "./probes";
import { mergeProbePoints, ProbeAddress, ProbePoints, probePointsOf } from "./probePoints";
import * as PORT from "../vocabulary/ports";

export interface FlowRow {
  from: string;
  to: string;
  port: string;
  verdict: string;
  policies: string[];
}

export interface FlowChange {
  from: string;
  to: string;
  port: string;
  before: string;
  after: string;
  by: string[];
}

export interface NamespaceFlows {
  namespace: string;
  flows: FlowRow[];
}

export interface DiffResult {
  before: string;
  after: string;
  becameAllowed: FlowChange[];
  becameDenied: FlowChange[];
  addedNamespaces: NamespaceFlows[];
  removedNamespaces: NamespaceFlows[];
  /** Flows of other endpoints that exist in one render only (a jumphost class, an infra role). */
  onlyBefore: FlowRow[];
  onlyAfter: FlowRow[];
  /** What was probed besides the classes, and how many flows each side was asked. */
  probed: { flows: number; addresses: ProbeAddress[]; ports: string[]; entities: string[] };
}

/** Up to this many user namespaces, every namespace is probed on its own; beyond it, by class. */
export const PER_NAMESPACE_LIMIT = 60;

const ADDRESS_PREFIX = "ip:";

function union(a: PortProbe[], b: PortProbe[]): PortProbe[] {
  const m = new Map([...a, ...b].map((p) => [probeText(p), p]));
  return [...m.values()];
}

/** Every probe flow of one render, keyed `from|to|port`. */
function sideFlows(inputs: CastleInputs, points: ProbePoints, collapse: boolean): Map<string, FlowRow> {
  const topology = {
    ...inputs.topology,
    externals: [
      ...inputs.topology.externals,
      ...points.addresses.map((a) => ({ id: `${ADDRESS_PREFIX}${a.ip}`, ip: a.ip })),
    ],
  };
  const engine = new PolicyEngine(inputs.policies, topology, {
    hostFirewall: inputs.hostFirewall,
    routingMode: inputs.routingMode,
    mutualAuth: inputs.mutualAuth,
    ciliumVersion: inputs.ciliumVersion,
    auditMode: false,
  });
  const classes = endpointClasses({ ...inputs, topology }, { collapse });
  const destinations = classes.filter((c) => c.targets.length > 0);
  const out = new Map<string, FlowRow>();
  const add = (from: string, to: string, src: string, dst: string, ports: PortProbe[]): void => {
    for (const r of probe(engine, src, dst, ports)) {
      out.set(`${from}|${to}|${r.port}`, {
        from,
        to,
        port: r.port,
        verdict: r.verdict,
        policies: r.policies,
      });
    }
  };
  const pairsBySource = new Map<string, ReturnType<typeof classPairs>>();
  for (const p of classPairs(classes))
    pairsBySource.set(p.from.id, [...(pairsBySource.get(p.from.id) ?? []), p]);
  for (const cls of classes) {
    for (const p of pairsBySource.get(cls.id) ?? []) {
      if (p.target) add(cls.id, p.toId, cls.source, p.target, union(p.ports, points.ports));
    }
    // Egress to the policies' addresses, from the castle's own endpoints.
    if (cls.kind !== "external") {
      for (const a of points.addresses) {
        const ip = `${ADDRESS_PREFIX}${a.ip}`;
        add(cls.id, ip, cls.source, ip, union([tcpProbe(PORT.HTTPS)], points.ports));
      }
    }
  }
  // The policies' addresses as sources, to every class.
  for (const a of points.addresses) {
    const ip = `${ADDRESS_PREFIX}${a.ip}`;
    for (const dst of destinations) add(ip, dst.id, ip, dst.targets[0]!, union(dst.ports, points.ports));
  }
  return out;
}

const namespaceOfClass = (id: string): string | undefined =>
  id.startsWith("user:") ? id.slice(5) : undefined;

export function diffCastles(a: CastleInputs, b: CastleInputs): DiffResult {
  const collapse = Math.max(a.userNamespaces.length, b.userNamespaces.length) > PER_NAMESPACE_LIMIT;
  const points = mergeProbePoints(probePointsOf(a.policies), probePointsOf(b.policies));
  const fa = sideFlows(a, points, collapse);
  const fb = sideFlows(b, points, collapse);
  const namesA = new Set(a.userNamespaces.map((n) => n.name));
  const namesB = new Set(b.userNamespaces.map((n) => n.name));
  const added = [...namesB].filter((n) => !namesA.has(n)).sort();
  const removed = [...namesA].filter((n) => !namesB.has(n)).sort();
  const result: DiffResult = {
    before: a.source,
    after: b.source,
    becameAllowed: [],
    becameDenied: [],
    addedNamespaces: added.map((namespace) => ({ namespace, flows: [] })),
    removedNamespaces: removed.map((namespace) => ({ namespace, flows: [] })),
    onlyBefore: [],
    onlyAfter: [],
    probed: {
      flows: Math.max(fa.size, fb.size),
      addresses: points.addresses,
      ports: points.ports.map(probeText),
      entities: points.entities,
    },
  };
  // A flow of one side only belongs to the namespace it involves (uncollapsed), or to the rest.
  const place = (row: FlowRow, groups: NamespaceFlows[], rest: FlowRow[]): void => {
    const ns = [namespaceOfClass(row.from), namespaceOfClass(row.to)];
    const group = groups.find((g) => ns.includes(g.namespace));
    (group ? group.flows : rest).push(row);
  };
  for (const [k, x] of fb) {
    const y = fa.get(k);
    if (!y) {
      place(x, result.addedNamespaces, result.onlyAfter);
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
  for (const [k, y] of fa) if (!fb.has(k)) place(y, result.removedNamespaces, result.onlyBefore);
  return result;
}

/** Whether anything a reviewer must see changed: a verdict, or flows that exist on one side only. */
export function diffChanged(d: DiffResult): boolean {
  return (
    d.becameAllowed.length > 0 ||
    d.becameDenied.length > 0 ||
    d.addedNamespaces.length > 0 ||
    d.removedNamespaces.length > 0 ||
    d.onlyBefore.length > 0 ||
    d.onlyAfter.length > 0
  );
}

const plural = (n: number, what: string, many = `${what}s`): string => `${n} ${n === 1 ? what : many}`;
const code = (s: string): string => `\`${s}\``;

function verdictCounts(rows: FlowRow[]): string {
  const by = new Map<string, number>();
  for (const r of rows) by.set(r.verdict, (by.get(r.verdict) ?? 0) + 1);
  return [...by].map(([v, n]) => `${n} ${v}`).join(", ");
}

/** Changes of one pair of endpoints with the same verdicts and policies, on one row with their ports. */
export function groupPorts(list: FlowChange[]): (Omit<FlowChange, "port"> & { ports: string[] })[] {
  const rows = new Map<string, Omit<FlowChange, "port"> & { ports: string[] }>();
  for (const c of list) {
    const key = [c.from, c.to, c.before, c.after, ...c.by].join("|");
    const row = rows.get(key);
    if (row) row.ports.push(c.port);
    else
      rows.set(key, { from: c.from, to: c.to, before: c.before, after: c.after, by: c.by, ports: [c.port] });
  }
  const num = (p: string): number => Number(p.split("/")[0]);
  return [...rows.values()].map((r) => ({
    ...r,
    ports: r.ports.sort((x, y) => num(x) - num(y) || x.localeCompare(y)),
  }));
}

/** The one-line summary a PR comment starts with. */
export function diffSummary(d: DiffResult): string {
  const parts = [`${d.becameAllowed.length} became allowed`, `${d.becameDenied.length} became denied`];
  if (d.addedNamespaces.length) parts.push(`${plural(d.addedNamespaces.length, "namespace")} added`);
  if (d.removedNamespaces.length) parts.push(`${plural(d.removedNamespaces.length, "namespace")} removed`);
  if (d.onlyAfter.length) parts.push(`${plural(d.onlyAfter.length, "new flow")}`);
  if (d.onlyBefore.length) parts.push(`${plural(d.onlyBefore.length, "flow")} gone`);
  return parts.join(", ");
}

export function diffMarkdown(d: DiffResult): string {
  const changeRows = (list: FlowChange[], verb: string): string[] =>
    list.length === 0
      ? []
      : [
          `#### ${plural(list.length, "flow")} ${verb}`,
          "",
          "| from | to | ports | before | after | policies |",
          "| --- | --- | --- | --- | --- | --- |",
          ...groupPorts(list).map(
            (c) =>
              `| ${code(c.from)} | ${code(c.to)} | ${c.ports.join(", ")} | ${c.before} | ${c.after} | ${c.by.map(code).join(", ")} |`,
          ),
          "",
        ];
  const flowTable = (rows: FlowRow[]): string[] => [
    "| from | to | port | verdict | policies |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${code(r.from)} | ${code(r.to)} | ${r.port} | ${r.verdict} | ${r.policies.map(code).join(", ")} |`,
    ),
  ];
  const namespaceSection = (g: NamespaceFlows, verb: string): string[] => [
    `#### Namespace ${code(g.namespace)} ${verb}: ${plural(g.flows.length, "probed flow")}${g.flows.length ? ` (${verdictCounts(g.flows)})` : ""}`,
    "",
    ...(g.flows.length
      ? [
          "<details><summary>its flows</summary>",
          "",
          ...flowTable(g.flows.filter((r) => r.verdict === "allowed")),
          "",
          `Denied: ${g.flows.filter((r) => r.verdict !== "allowed").length} more.`,
          "",
          "</details>",
          "",
        ]
      : [`(its flows are probed with its class: more than ${PER_NAMESPACE_LIMIT} user namespaces)`, ""]),
  ];
  const onlySection = (rows: FlowRow[], verb: string): string[] =>
    rows.length === 0
      ? []
      : [
          `#### ${plural(rows.length, "flow")} ${verb}`,
          "",
          "<details><summary>the flows</summary>",
          "",
          ...flowTable(rows),
          "",
          "</details>",
          "",
        ];
  const total = d.becameAllowed.length + d.becameDenied.length;
  return [
    `### Castle reachability: ${code(d.before)} → ${code(d.after)}`,
    "",
    total === 0 && !diffChanged(d)
      ? "No probed flow changes its verdict (evaluated as enforced)."
      : `**${diffSummary(d)}** (evaluated as enforced).`,
    "",
    ...changeRows(d.becameAllowed, "became allowed"),
    ...changeRows(d.becameDenied, "became denied"),
    ...d.addedNamespaces.flatMap((g) => namespaceSection(g, "added")),
    ...d.removedNamespaces.flatMap((g) => namespaceSection(g, "removed")),
    ...onlySection(d.onlyAfter, "only after (new endpoints)"),
    ...onlySection(d.onlyBefore, "only before (removed endpoints)"),
    `<sub>${d.probed.flows.toLocaleString("en-US")} probe flows per side; from the policies: ${plural(d.probed.addresses.length, "address", "addresses")} (CIDR edges), ${plural(d.probed.ports.length, "port")}${d.probed.entities.length ? `, entities ${d.probed.entities.join(", ")}` : ""}.</sub>`,
  ].join("\n");
}

export function diffTable(d: DiffResult): string {
  const lines = [
    `Castle reachability: ${d.before} -> ${d.after} (evaluated as enforced)`,
    diffChanged(d) ? diffSummary(d) : "no probed flow changes its verdict",
  ];
  for (const c of d.becameAllowed)
    lines.push(`+ allowed  ${c.from} -> ${c.to} ${c.port}  (${c.by.join(", ")})`);
  for (const c of d.becameDenied)
    lines.push(`- denied   ${c.from} -> ${c.to} ${c.port}  (${c.by.join(", ")})`);
  for (const g of d.addedNamespaces)
    lines.push(
      `+ namespace ${g.namespace}: ${plural(g.flows.length, "flow")}${g.flows.length ? ` (${verdictCounts(g.flows)})` : ""}`,
    );
  for (const g of d.removedNamespaces)
    lines.push(
      `- namespace ${g.namespace}: ${plural(g.flows.length, "flow")}${g.flows.length ? ` (${verdictCounts(g.flows)})` : ""}`,
    );
  for (const r of d.onlyAfter) lines.push(`+ flow     ${r.from} -> ${r.to} ${r.port} ${r.verdict}`);
  for (const r of d.onlyBefore) lines.push(`- flow     ${r.from} -> ${r.to} ${r.port} ${r.verdict}`);
  return lines.join("\n");
}
