// One verdict with its explanation: which direction decided, which policies allowed, denied or switched
// default deny on.

import { DirectionResult, Flow, FlowProtocol, icmpTypeOf, PolicyEngine, PolicyRef, Verdict } from "./engine";
import type { CastleInputs } from "./objects";

/**
 * `53/udp`, `443` (TCP), `icmp/8`, `icmp/EchoRequest`, `icmp/3/4` (type 3, code 4), `icmpv6/128`.
 * Cilium's icmps rules match the type only (pkg/policy/api/icmp.go ICMPField): a code is shown, never
 * judged.
 */
export function parsePort(
  text: string,
): Pick<Flow, "protocol" | "port" | "icmpType"> & { icmpCode?: number } {
  const icmp = /^(icmp|icmpv6)\/([A-Za-z0-9]+)(?:\/(\d+))?$/i.exec(text);
  if (icmp) {
    const protocol: "ICMP" | "ICMPv6" = icmp[1]!.toLowerCase() === "icmp" ? "ICMP" : "ICMPv6";
    const icmpType = icmpTypeOf(protocol, icmp[2]!);
    if (icmpType === undefined)
      throw new Error(
        `--port ${text}: ${icmp[2]} is not an ICMP type (0-255, or a name such as EchoRequest, DestinationUnreachable)`,
      );
    const code = icmp[3] === undefined ? undefined : Number(icmp[3]);
    if (code !== undefined && code > 255) throw new Error(`--port ${text}: an ICMP code is 0-255`);
    return { protocol, icmpType, ...(code !== undefined ? { icmpCode: code } : {}) };
  }
  const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/i.exec(text);
  if (!m)
    throw new Error(`--port ${text}: expected <port>[/tcp|udp|sctp] or icmp/<type>[/<code>], e.g. 53/udp`);
  const port = Number(m[1]);
  if (port < 1 || port > 65535) throw new Error(`--port ${text}: port out of range`);
  return { protocol: (m[2] ?? "tcp").toUpperCase() as FlowProtocol, port };
}

/**
 * Endpoint names the CLI accepts: any topology id (`pod:<ns>/web`, `role:prometheus`, a node name,
 * `world`, `jumphost:<cidr>`), plus `ns:<name>` (its client as a source, its web as a destination) and
 * `node:<role>` (the first node of that role).
 */
export function resolveEndpoint(inputs: CastleInputs, name: string, as: "from" | "to"): string {
  const ns = /^ns:(.+)$/.exec(name);
  if (ns) return `pod:${ns[1]}/${as === "from" ? "client" : "web"}`;
  const node = /^node:(control-plane|infra|worker)$/.exec(name);
  if (node) {
    const n = inputs.topology.nodes.find((x) => x.role === node[1]);
    if (!n) throw new Error(`${name}: the stack has no ${node[1]} node`);
    return n.name;
  }
  return name;
}

export function knownEndpoints(inputs: CastleInputs): string[] {
  return [
    ...inputs.topology.nodes.map((n) => n.name),
    ...inputs.topology.pods.map((p) => p.id),
    ...inputs.topology.externals.map((x) => x.id),
    ...inputs.userNamespaces.map((n) => `ns:${n.name}`),
    "node:control-plane",
    "node:infra",
    "node:worker",
  ];
}

const ref = (r: PolicyRef): string =>
  `${r.namespace ? `${r.namespace}/` : ""}${r.name} (${r.kind === "CiliumNetworkPolicy" ? "CNP" : "CCNP"}, ${r.layer} layer)`;

function direction(name: string, at: string, d: DirectionResult): string[] {
  const lines = [
    `${name} at ${at}: ${d.enforced ? "enforced" : "not enforced (no policy selects it for this direction)"}; ${d.allowed ? "allows" : "drops"} — ${d.reason}`,
  ];
  if (d.allowedBy.length) lines.push(`    allowed by: ${d.allowedBy.map(ref).join("; ")}`);
  if (d.deniedBy.length) lines.push(`    denied by:  ${d.deniedBy.map(ref).join("; ")}`);
  if (!d.allowed && d.enforcedBy.length && !d.deniedBy.length)
    lines.push(`    default deny, switched on by: ${d.enforcedBy.map(ref).join("; ")}`);
  return lines;
}

export function explain(
  inputs: CastleInputs,
  from: string,
  to: string,
  port: string,
  opts: { enforce?: boolean; dnsName?: string; dnsQuery?: string } = {},
): { verdict: Verdict; text: string } {
  const engine = new PolicyEngine(inputs.policies, inputs.topology, {
    hostFirewall: inputs.hostFirewall,
    routingMode: inputs.routingMode,
    mutualAuth: inputs.mutualAuth,
    ciliumVersion: inputs.ciliumVersion,
    auditMode: opts.enforce ? false : inputs.auditMode,
  });
  const known = new Set(knownEndpoints(inputs));
  for (const [flag, n] of [
    ["--from", from],
    ["--to", to],
  ]) {
    const id = resolveEndpoint(inputs, n, flag === "--from" ? "from" : "to");
    if (!known.has(n) && !engine.has(id))
      throw new Error(`${flag} ${n}: unknown endpoint; known: ${[...known].sort().join(", ")}`);
  }
  const { icmpCode, ...l4 } = parsePort(port);
  const flow: Flow = {
    from: resolveEndpoint(inputs, from, "from"),
    to: resolveEndpoint(inputs, to, "to"),
    ...l4,
    // The name the client resolved (toFQDNs peers) and the name a DNS query asks (DNS rules).
    ...(opts.dnsName !== undefined ? { dnsName: opts.dnsName } : {}),
    ...(opts.dnsQuery !== undefined ? { dnsQuery: opts.dnsQuery } : {}),
  };
  const v = engine.evaluate(flow);
  const what =
    (flow.port !== undefined
      ? `${flow.port}/${flow.protocol.toLowerCase()}`
      : `${flow.protocol.toLowerCase()} type ${flow.icmpType}${icmpCode !== undefined ? ` code ${icmpCode} (policies match the type only)` : ""}`) +
    (flow.dnsName !== undefined ? ` to ${flow.dnsName}` : "") +
    (flow.dnsQuery !== undefined ? ` asking DNS for ${flow.dnsQuery}` : "");
  const text = [
    `${flow.from} → ${flow.to} ${what}: ${v.verdict.toUpperCase()}${v.decidedBy.length ? ` (decided at ${v.decidedBy.join(" and ")})` : ""}${v.proxied ? `, through the ${v.proxied} proxy` : ""}`,
    ...(inputs.auditMode && !opts.enforce
      ? ["  (policy audit mode is on: AUDITED means dropped once enforced)"]
      : []),
    ...direction("  egress", flow.from, v.egress),
    ...direction("  ingress", flow.to, v.ingress),
  ].join("\n");
  return { verdict: v, text };
}
