// Random policy sets over the castle's vocabulary (its pods' labels and namespaces, the nodes' roles,
// entities, CIDRs around the jumphost and the internet, the ports that matter), asked of the engine and of
// Cilium's policy code; each disagreement is shrunk to a minimal policy set (one policy, one rule, one
// peer where it still disagrees). `npm run conformance:cilium -- --random <sets>` runs it.

import type { CiliumPolicyObject, Topology } from "../../verifier/engine";
import type { CastleInputs } from "../../verifier/objects";
import { Comparison, compareFlows, OracleInput, OracleOutput, ProbeFlow } from "./compare";

/** mulberry32: a small seeded PRNG, so a run is reproducible from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const some = <T>(r: Rand, xs: readonly T[], max = 2): T[] => {
  const n = 1 + Math.floor(r() * max);
  return [...new Set(Array.from({ length: n }, () => pick(r, xs)))];
};

const ENTITIES = ["all", "world", "cluster", "host", "remote-node", "kube-apiserver", "health", "init"];
const CIDRS = [
  "10.1.101.110/32",
  "10.1.101.0/24",
  "10.0.0.0/8",
  "203.0.113.0/24",
  "0.0.0.0/0",
  "172.18.0.0/16",
];
const PORTS: [number, string][] = [
  [22, "TCP"],
  [53, "UDP"],
  [53, "TCP"],
  [80, "TCP"],
  [443, "TCP"],
  [6443, "TCP"],
  [8080, "TCP"],
  [10250, "TCP"],
];

function selector(r: Rand, t: Topology, withNamespace: boolean): Record<string, unknown> {
  const pod = pick(r, t.pods);
  const [key, value] = pick(r, Object.entries(pod.labels));
  switch (Math.floor(r() * 6)) {
    case 5:
      // A namespace key leaves the selector unscoped by the policy's namespace (never by the cluster).
      return {
        matchExpressions: [
          {
            key: "io.kubernetes.pod.namespace",
            ...(r() < 0.5
              ? { operator: pick(r, ["In", "NotIn"]), values: [pod.namespace ?? "default"] }
              : { operator: pick(r, ["Exists", "DoesNotExist"]) }),
          },
        ],
      };
    case 0:
      return {};
    case 1:
      return { matchLabels: { [keyed(r, key)]: value } };
    case 2:
      return withNamespace
        ? { matchLabels: { [keyed(r, key)]: value, "k8s:io.kubernetes.pod.namespace": pod.namespace } }
        : { matchLabels: { [key]: value } };
    case 3:
      return { matchExpressions: [{ key, operator: pick(r, ["Exists", "DoesNotExist"]) }] };
    default:
      return { matchExpressions: [{ key, operator: pick(r, ["In", "NotIn"]), values: [value] }] };
  }
}

function ports(r: Rand, ingress = false): Record<string, unknown>[] {
  if (r() < 0.3) return [];
  const [port, protocol] = pick(r, PORTS);
  const p: Record<string, unknown> = { port: String(port), protocol: r() < 0.2 ? "ANY" : protocol };
  const x = r();
  if (x < 0.15) p.endPort = port + 10;
  else if (x < 0.2) p.port = "0";
  // A named port of the castle's pods (ingress only: an egress named port resolves through every pod of
  // the cluster, which the oracle does not have).
  else if (ingress && x < 0.28) p.port = pick(r, NAMED_PORTS);
  return [{ ports: [p] }];
}

const NAMED_PORTS = ["dns", "metrics", "http", "https", "webhook"];

/** ICMP types by number or by Cilium's name (pkg/policy/api/icmp.go). */
const ICMP_TYPES: (number | string)[] = [8, 0, 3, "EchoRequest", "EchoReply", "DestinationUnreachable"];

/** A selector key as a user may write it: bare, or with a k8s: or any: source. */
function keyed(r: Rand, key: string): string {
  const x = r();
  return x < 0.15 ? `k8s:${key}` : x < 0.25 ? `any:${key}` : key;
}

/** A toServices item over the topology's Services: by name (with or without namespace) or by labels. */
function serviceItem(r: Rand, t: Topology): Record<string, unknown> {
  const svc = t.services?.length
    ? pick(r, t.services)
    : { name: "missing", namespace: "default", labels: {} };
  switch (Math.floor(r() * 3)) {
    case 0:
      return { k8sService: { serviceName: svc.name, namespace: svc.namespace } };
    case 1:
      return { k8sService: { serviceName: svc.name } };
    default: {
      const [key, value] = Object.entries(svc.labels ?? {})[0] ?? ["none", "none"];
      return {
        k8sServiceSelector: { selector: { matchLabels: { [key]: value } }, namespace: svc.namespace },
      };
    }
  }
}

/** The name the world's address resolves from, as Cilium's DNS proxy would have seen it (toFQDNs). */
const WORLD_NAME = "api.example.com";
const FQDN_SELECTORS = [
  { matchName: WORLD_NAME },
  { matchName: "other.example.com" },
  { matchPattern: "*.example.com" },
  { matchPattern: "*" },
];

/** The DNS answers both sides are told: the topology's first outside address is api.example.com. */
function fqdnOptions(t: Topology): { fqdnMap: Record<string, string[]> } {
  const world = t.externals[0];
  const ip = world?.ip ?? world?.ips?.[0];
  return { fqdnMap: ip ? { [WORLD_NAME]: [ip] } : {} };
}

function peerRule(r: Rand, t: Topology, dir: "from" | "to"): Record<string, unknown> {
  const rule: Record<string, unknown> = {};
  if (dir === "to" && r() < 0.06) {
    rule.toFQDNs = [pick(r, FQDN_SELECTORS)];
    const tp = ports(r);
    if (tp.length) rule.toPorts = tp;
    return rule;
  }
  if (dir === "to" && r() < 0.04) {
    // DNS through the proxy: the L4 part is judged (the proxy's name filtering is not compared).
    rule.toEndpoints = [{}];
    rule.toPorts = [
      {
        ports: [{ port: "53", protocol: "UDP" }],
        rules: { dns: [{ matchPattern: pick(r, ["*", "*.example.com"]) }] },
      },
    ];
    return rule;
  }
  // Now and then a peer kind that needs the cluster's state: Services (egress) or cloud groups.
  const extra = r();
  if (dir === "to" && extra < 0.08) {
    rule.toServices = [serviceItem(r, t)];
    const tp = ports(r);
    if (tp.length) rule.toPorts = tp;
    return rule;
  }
  if (extra > 0.97) {
    rule[`${dir}Groups`] = [{ aws: { securityGroupsIds: ["sg-0123456789"] } }];
    return rule;
  }
  switch (Math.floor(r() * 4)) {
    case 0:
      rule[`${dir}Endpoints`] = [selector(r, t, true)];
      break;
    case 1:
      rule[`${dir}Entities`] = some(r, ENTITIES);
      break;
    case 2:
      rule[`${dir}CIDR`] = some(r, CIDRS);
      break;
    default:
      rule[`${dir}CIDRSet`] = [{ cidr: "10.0.0.0/8", except: ["10.1.101.0/24"] }];
  }
  if (r() < 0.12) {
    rule.icmps = [{ fields: [{ type: pick(r, ICMP_TYPES) }] }];
    return rule;
  }
  const tp = ports(r, dir === "from");
  if (tp.length) rule.toPorts = tp;
  return rule;
}

type Spec = Record<string, unknown>;
const firstItem = (spec: Spec): Record<string, unknown> => {
  const section =
    (["ingress", "egress", "ingressDeny", "egressDeny"] as const).find((k) => spec[k]) ?? "ingress";
  const items = (spec[section] ??= [{}]) as Record<string, unknown>[];
  return (items[0] ??= {});
};

/**
 * Mistakes within the CRD schema, each one Cilium's Sanitize/Parse may refuse (pkg/policy/api/rule_validation.go)
 * or accept: two peer kinds in one item, ICMP beside toPorts, a port out of range, DNS rules on ingress, a
 * CIDR exception outside its CIDR, an L7 rule on a port range, no section at all.
 */
const MISTAKES: ((spec: Spec) => void)[] = [
  (spec) => Object.assign(firstItem(spec), { toEntities: ["world"], toCIDR: ["10.0.0.0/8"] }),
  (spec) => Object.assign(firstItem(spec), { fromEntities: ["world"], fromCIDR: ["10.0.0.0/8"] }),
  (spec) =>
    Object.assign(firstItem(spec), {
      icmps: [{ fields: [{ type: 8 }] }],
      toPorts: [{ ports: [{ port: "80", protocol: "TCP" }] }],
    }),
  (spec) => Object.assign(firstItem(spec), { toPorts: [{ ports: [{ port: "70000", protocol: "TCP" }] }] }),
  (spec) =>
    (spec.ingress = [
      { toPorts: [{ ports: [{ port: "53", protocol: "UDP" }], rules: { dns: [{ matchPattern: "*" }] } }] },
    ]),
  (spec) =>
    Object.assign(firstItem(spec), { fromCIDRSet: [{ cidr: "10.0.0.0/8", except: ["192.168.0.0/16"] }] }),
  (spec) =>
    (spec.egress = [
      {
        toPorts: [
          { ports: [{ port: "80", endPort: 90, protocol: "TCP" }], rules: { http: [{ method: "GET" }] } },
        ],
      },
    ]),
  (spec) => {
    for (const k of ["ingress", "egress", "ingressDeny", "egressDeny"]) delete spec[k];
  },
  (spec) =>
    Object.assign(firstItem(spec), {
      toPorts: [{ ports: [{ port: "0", protocol: "TCP" }], rules: { http: [{}] } }],
    }),
];

/** One random CNP or CCNP. */
export function randomPolicy(r: Rand, t: Topology, i: number): CiliumPolicyObject {
  const clusterwide = r() < 0.4;
  const host = clusterwide && r() < 0.4;
  const spec: Record<string, unknown> = host
    ? { nodeSelector: r() < 0.5 ? {} : { matchLabels: { "node-role.kubernetes.io/control-plane": "" } } }
    : { endpointSelector: selector(r, t, false) };
  for (const section of ["ingress", "egress", "ingressDeny", "egressDeny"] as const) {
    if (r() < (section.endsWith("Deny") ? 0.15 : 0.5)) {
      // One item, sometimes two (their map entries meet: deny over allow, auth derived between them).
      spec[section] = Array.from({ length: r() < 0.25 ? 2 : 1 }, () => {
        const rule = peerRule(r, t, section.startsWith("ingress") ? "from" : "to");
        // Mutual authentication on some allow rules; one mode only, since two modes for the same peer and
        // port fail the endpoint's policy (pkg/policy/rule.go: "cannot merge conflicting authentication types").
        if (!section.endsWith("Deny") && r() < 0.15) rule.authentication = { mode: "required" };
        return rule;
      });
    }
  }
  if (!spec.ingress && !spec.egress && !spec.ingressDeny && !spec.egressDeny) spec.ingress = [{}];
  if (r() < 0.1) spec.enableDefaultDeny = { [pick(r, ["ingress", "egress"])]: false };
  // Now and then a mistake the API server lets through and the agent may refuse: both must judge it alike.
  if (r() < 0.08) pick(r, MISTAKES)(spec);
  const namespace = pick(r, t.pods).namespace ?? "default";
  return {
    apiVersion: "cilium.io/v2",
    kind: clusterwide ? "CiliumClusterwideNetworkPolicy" : "CiliumNetworkPolicy",
    metadata: clusterwide ? { name: `random-${i}` } : { name: `random-${i}`, namespace },
    spec: spec as CiliumPolicyObject["spec"],
  };
}

export function randomFlows(r: Rand, t: Topology, n: number): ProbeFlow[] {
  const ids = [...t.pods.map((p) => p.id), ...t.nodes.map((x) => x.name), ...t.externals.map((x) => x.id)];
  return Array.from({ length: n }, () => {
    const [port, protocol] = pick(r, PORTS);
    let from = pick(r, ids);
    let to = pick(r, ids);
    while (to === from) to = pick(r, ids);
    // Outside addresses are only ever one end.
    if (t.externals.some((x) => x.id === from) && t.externals.some((x) => x.id === to)) from = t.pods[0]!.id;
    // Some pings: echo request, echo reply, destination unreachable.
    if (r() < 0.12) return { from, to, protocol: "ICMP", icmpType: pick(r, [8, 0, 3]) };
    return { from, to, protocol: protocol as ProbeFlow["protocol"], port };
  });
}

export interface RandomFinding {
  seed: number;
  policies: CiliumPolicyObject[];
  flow: ProbeFlow;
  disagreement: Comparison;
}

/** The smallest policy set (fewest policies, then sections) that still makes the flow disagree. */
function shrink(
  inputs: CastleInputs,
  policies: CiliumPolicyObject[],
  flow: ProbeFlow,
  disagrees: (ps: CiliumPolicyObject[]) => Comparison | undefined,
): CiliumPolicyObject[] {
  let current = policies;
  for (let i = current.length - 1; i >= 0; i--) {
    const without = current.filter((_, j) => j !== i);
    if (without.length && disagrees(without)) current = without;
  }
  current = current.map((p, i) => {
    let spec = { ...(p.spec as Record<string, unknown>) };
    for (const section of ["ingress", "egress", "ingressDeny", "egressDeny"]) {
      if (!(section in spec)) continue;
      const trial = { ...spec };
      delete trial[section];
      const trialPolicy = { ...p, spec: trial } as CiliumPolicyObject;
      const set = current.map((q, j) => (j === i ? trialPolicy : q));
      if (Object.keys(trial).some((k) => k !== "endpointSelector" && k !== "nodeSelector") && disagrees(set))
        spec = trial;
    }
    return { ...p, spec: spec as CiliumPolicyObject["spec"] };
  });
  void inputs;
  void flow;
  return current;
}

export function randomRun(
  inputs: CastleInputs,
  oracle: (input: OracleInput) => OracleOutput,
  opts: { sets: number; flowsPerSet: number; seed: number },
): {
  compared: number;
  findings: RandomFinding[];
  authDecided: number;
  refused: number;
  /** Policies one side refuses and the other does not, with the seed of their set. */
  refusalFindings: string[];
} {
  const findings: RandomFinding[] = [];
  const refusalFindings: string[] = [];
  let compared = 0;
  let authDecided = 0;
  let refused = 0;
  const t = inputs.topology;
  for (let s = 0; s < opts.sets; s++) {
    const seed = opts.seed + s;
    const r = rng(seed);
    const policies = Array.from({ length: 1 + Math.floor(r() * 3) }, (_, i) => randomPolicy(r, t, i));
    const flows = randomFlows(r, t, opts.flowsPerSet);
    const subject = { ...inputs, policies, options: fqdnOptions(t) };
    const result = compareFlows(subject, flows, oracle);
    compared += result.compared;
    authDecided += result.authDecided;
    refused += result.refused.length;
    for (const d of result.refusalDisagreements)
      refusalFindings.push(`seed ${seed}: ${d}: ${JSON.stringify(policies)}`);
    for (const d of result.disagreements) {
      if (
        findings.some(
          (f) =>
            f.disagreement.engineReason === d.engineReason && f.disagreement.ciliumReason === d.ciliumReason,
        )
      )
        continue;
      const flow = flows.find(
        (f) =>
          f.from === d.from &&
          f.to === d.to &&
          (f.protocol.startsWith("ICMP")
            ? `${f.protocol.toLowerCase()}/${f.icmpType}`
            : `${f.port}/${f.protocol.toLowerCase()}`) === d.port,
      )!;
      const disagrees = (ps: CiliumPolicyObject[]): Comparison | undefined =>
        compareFlows({ ...inputs, policies: ps, options: fqdnOptions(t) }, [flow], oracle).disagreements.find(
          (x) => x.direction === d.direction,
        );
      const minimal = shrink(inputs, policies, flow, disagrees);
      findings.push({ seed, policies: minimal, flow, disagreement: disagrees(minimal) ?? d });
    }
  }
  return { compared, findings, authDecided, refused, refusalFindings };
}
