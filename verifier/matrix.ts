// The reachability matrix: every endpoint class against every other, per port that matters to the
// destination. Identical user namespaces are one class, so the matrix does not grow with their number.

import { PolicyEngine, Verdict } from "./engine";
import type { CastleInputs } from "./objects";
import { classPairs, EndpointClass, endpointClasses, OWN_NAMESPACE, PortProbe, probeText } from "./probes";

export type CellVerdict = "allowed" | "denied" | "audited" | "partial" | "n/a";

export interface PortResult {
  port: string;
  verdict: Verdict["verdict"];
  /** Policies that allowed it, or that switched default deny on when it was dropped. */
  policies: string[];
}

export interface Cell {
  from: string;
  to: string;
  /** What was probed: `other namespace` for user→same class, `own namespace` for the own-namespace column. */
  note?: string;
  verdict: CellVerdict;
  ports: PortResult[];
}

export interface Matrix {
  source: string;
  auditMode: boolean;
  classes: { id: string; label: string; kind: string; namespaces?: number }[];
  /** Destination columns: the classes plus `own-namespace`. */
  columns: string[];
  cells: Cell[];
}

export { OWN_NAMESPACE } from "./probes";

function summarize(ports: PortResult[]): CellVerdict {
  if (ports.length === 0) return "n/a";
  const kinds = new Set(ports.map((p) => p.verdict));
  return kinds.size === 1 ? [...kinds][0] : "partial";
}

function refs(v: Verdict): string[] {
  const allowed = v.verdict === "allowed";
  const list = [v.egress, v.ingress].flatMap((d) =>
    allowed ? d.allowedBy : [...d.deniedBy, ...(d.allowed ? [] : d.enforcedBy)],
  );
  return [...new Set(list.map((r) => (r.namespace ? `${r.namespace}/${r.name}` : r.name)))].sort();
}

export function probe(engine: PolicyEngine, from: string, to: string, ports: PortProbe[]): PortResult[] {
  return ports.flatMap((p) => {
    const v = engine.evaluate({ from, to, protocol: p.protocol, port: p.port });
    // A pod's packet to the tunnel port is dropped by the datapath whatever the walls say (the engine's
    // encap prohibition): it tells nothing about the walls, so a cell leaves it out (castle why shows it).
    if (v.egress.datapathEffect === "encap-prohibited") return [];
    return [{ port: probeText(p), verdict: v.verdict, policies: refs(v) }];
  });
}

export function buildMatrix(
  inputs: CastleInputs,
  opts: { enforce?: boolean; collapse?: boolean } = {},
): Matrix {
  const auditMode = opts.enforce ? false : inputs.auditMode;
  const engine = new PolicyEngine(inputs.policies, inputs.topology, {
    hostFirewall: inputs.hostFirewall,
    routingMode: inputs.routingMode,
    mutualAuth: inputs.mutualAuth,
    ciliumVersion: inputs.ciliumVersion,
    auditMode,
  });
  const classes = endpointClasses(inputs, { collapse: opts.collapse });
  const destinations = classes.filter((c) => c.targets.length > 0);
  const cells: Cell[] = classPairs(classes).map(({ from, to, toId, target, ports: probed }) => {
    if (!to) {
      const ports = probe(engine, from.source, target!, probed);
      return { from: from.id, to: toId, verdict: summarize(ports), ports, note: "own namespace" };
    }
    if (!target) {
      return {
        from: from.id,
        to: toId,
        verdict: "n/a",
        ports: [],
        note: to.kind === "user" ? "one namespace in this class" : "itself",
      };
    }
    const ports = probe(engine, from.source, target, probed);
    return {
      from: from.id,
      to: toId,
      verdict: summarize(ports),
      ports,
      ...(to.kind === "user" ? { note: "other namespace" } : {}),
    };
  });
  return {
    source: inputs.source,
    auditMode,
    classes: classes.map((c: EndpointClass) => ({
      id: c.id,
      label: c.label,
      kind: c.kind,
      ...(c.namespaces ? { namespaces: c.namespaces.length } : {}),
    })),
    columns: [...destinations.map((d) => d.id), OWN_NAMESPACE],
    cells,
  };
}

const SYMBOL: Record<CellVerdict, string> = {
  allowed: "✓",
  denied: "✗",
  audited: "A",
  partial: "~",
  "n/a": "·",
};

export function matrixTable(m: Matrix): string {
  const cell = (from: string, to: string): string => {
    const c = m.cells.find((x) => x.from === from && x.to === to);
    if (!c) return "";
    if (c.verdict !== "partial") return SYMBOL[c.verdict];
    return c.ports
      .filter((p) => p.verdict === "allowed")
      .map((p) => p.port.replace("/tcp", ""))
      .join(",");
  };
  const rows = m.classes.map((c) => [c.id, ...m.columns.map((col) => cell(c.id, col))]);
  const header = ["from \\ to", ...m.columns];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string =>
    r
      .map((x, i) => x.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  const mode = m.auditMode ? "audit mode: A = would be dropped, reported as AUDIT" : "enforced: ✗ = dropped";
  return [
    `Reachability matrix of ${m.source} (${mode})`,
    `✓ all probed ports allowed · ✗ denied · A audited · a port list = only those allowed · · not applicable`,
    "",
    line(header),
    ...rows.map(line),
    "",
    ...m.classes.filter((c) => c.namespaces).map((c) => `${c.id}: ${c.namespaces} namespace(s)`),
  ].join("\n");
}
