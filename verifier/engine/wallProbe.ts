// One item of a namespace's CiliumNetworkPolicy, asked of the engine on its own: does it admit a peer
// outside the namespace? The policy pack asks it of every ingress and egress item of a user namespace's
// policies ("user-namespace-walls"), without a reading of Cilium of its own: which peers a rule without
// peer fields admits, whether a selector is scoped to the namespace, what an entity, a CIDR, an FQDN or a
// Service stands for, is the engine's answer.
//
// The item is put alone into a CiliumNetworkPolicy of the namespace whose subject selects a probe pod of
// it: which pods a rule applies to is a separate question from what it admits, and an item's peers and
// ports mean the same on every pod it selects (a CNP's subject never leaves its namespace either:
// pkg/k8s/apis/cilium.io/utils/utils.go ParseToCiliumRule pins it). Deny items are not asked: a deny never
// admits anything.
//
// The outside peers tried: the internet (an IPv4 and an IPv6 address), the addresses at the edges of every
// CIDR the item names, the internet resolved from every name its toFQDNs could match, a pod of a fresh
// namespace, a pod built to satisfy each of its endpoint selectors outside the namespace (its labels,
// service account, namespace and namespace labels), the pod's own node (reserved:host), another node
// (reserved:remote-node) and the control-plane node running the kube-apiserver. An item with toServices is
// asked three times, as the agent reads it against the cluster's Services (pkg/policy/k8s/service.go
// processRule): with each Service it names given a selector (its pods, in the Service's namespace), with
// each given no selector (its backends' addresses, here one on the internet), and with none of them present.
// The ports tried: those the item names (range edges, named ports resolved on the probe pods), the lowest and
// highest TCP and UDP port, and the ICMP types the item names.
//
// Not tried: the peers the engine has no endpoint for (the health, init, ingress and unmanaged entities)
// and other clusters of a cluster mesh.

import { Cidr, formatIp } from "../../lib/net/cidr";
import { NAMESPACE_NAME_LABEL, POD_NAMESPACE_LABEL } from "../../vocabulary/labels";
import { CompiledEntry, compilePolicies, policyRef } from "./compile";
import { PolicyEngine } from "./engine";
import {
  POD_NAMESPACE_META_LABELS_PREFIX,
  POLICY_LABEL_CLUSTER,
  POLICY_LABEL_SERVICEACCOUNT,
  SOURCE_ANY,
  SOURCE_K8S,
} from "./labels";
import { freshValue, NAMESPACE_PROBE_PORTS } from "./namespaceProbe";
import { listOf, probeNode, recordOf } from "./probeNodes";
import { EndpointSelector, entitySelectors, isEntity, Requirement, SelectorError } from "./selectors";
import type {
  CiliumPolicyObject,
  Direction,
  EgressRule,
  Endpoint,
  FlowProtocol,
  IngressRule,
  LabelSelector,
  PolicyRef,
  Rule,
  Topology,
  TopologyService,
} from "./types";

/** What an outside peer is, for messages that sum up what an item admits. */
export type OutsideKind = "world" | "pod" | "host" | "remote-node" | "kube-apiserver";

export interface OutsidePeer {
  kind: OutsideKind;
  /** How a message names it: `the internet (203.0.113.10)`, `a pod of namespace demo-batch`. */
  text: string;
}

/** One peer of the item (one entry of one peer field) that admits the breach's flow on its own. */
export interface WallPeerField {
  /** The field as the policy spells it: `toEntities`, `fromEndpoints`, ... */
  field: string;
  index: number;
  /** The engine's reading of it: `entity world`, `endpoints {k8s:io.kubernetes.pod.namespace=x}`. */
  text: string;
}

/** The first outside peer and port an item admits. */
export interface WallBreach {
  direction: Direction;
  /** Which rule of the policy: undefined for `spec`, k for `specs[k]`. */
  specs?: number;
  /** The item's index in its section (ingress or egress). */
  index: number;
  peer: OutsidePeer;
  protocol: FlowProtocol;
  port?: number;
  /** A named port of the item (the probe pods give it `port`). */
  portName?: string;
  icmpType?: number;
  /** A toFQDNs breach: the name the pod resolved the address from. */
  dnsName?: string;
  /** The item names no peer (only ports or ICMP types): Cilium admits every peer on them. */
  everyPeer: boolean;
  /** everyPeer because the item's toServices match no Service (the breach asks a cluster without them). */
  unmatchedServices: boolean;
  /** The item's peers that admit the flow alone (empty when it names no peer). */
  through: WallPeerField[];
  /** The engine's reason for the admitting side (about the item alone, which it places at index 0). */
  reason: string;
  /** Every kind of outside peer the item admits, the breach's first. */
  kinds: OutsideKind[];
}

export interface WallProbeResult {
  policy: PolicyRef;
  namespace: string;
  breaches: WallBreach[];
  /**
   * Items the agent refuses on their own (fromNodes without enable-node-selector-labels, an invalid
   * selector): the agent refuses their whole policy, so they admit nothing.
   */
  refused: { direction: Direction; specs?: number; index: number; reason: string }[];
  /**
   * Items without a breach among the probe's peers that still name an entity of reserved identities only,
   * which the probe has no endpoint for (health, init, ingress, unmanaged: entitySelectors gives reserved
   * selectors alone). No namespace holds those identities, so the item reaches outside it.
   */
  reservedEntities: { direction: Direction; specs?: number; index: number; entities: string[] }[];
}

/** Entities the probe has no endpoint for: those reached through probe peers (world, host, ...) are probed. */
const PROBED_ENTITIES = new Set([
  "all",
  "world",
  "world-ipv4",
  "world-ipv6",
  "cluster",
  "cluster-mesh",
  "host",
  "remote-node",
  "kube-apiserver",
]);

/** The entities of an item that select reserved identities only, none of them probed (see reservedEntities). */
function unprobedReservedEntities(direction: Direction, item: unknown): string[] {
  const field = direction === "ingress" ? "fromEntities" : "toEntities";
  return listOf(recordOf(item)[field])
    .map(String)
    .filter(
      (e) =>
        isEntity(e) &&
        e !== "none" &&
        !PROBED_ENTITIES.has(e) &&
        entitySelectors(e, "probe").every((s) => s.hasReservedKey()),
    );
}

// Addresses: the internet in TEST-NET-3 (RFC 5737) and the IPv6 documentation prefix (RFC 3849); the
// probe's own nodes and pods in 198.18.0.0/15 (RFC 2544), which CIDR selectors never match anyway.
const INTERNET_V4 = "203.0.113.10";
const INTERNET_V6 = "2001:db8::10";
const SERVICE_BACKEND = "203.0.113.20";
const NODE_A = "wall-probe-node-a";
const NODE_B = "wall-probe-node-b";
const CONTROL_PLANE = "wall-probe-control-plane";
/** The pod label a probe Service with a selector selects its backends by. */
const BACKEND_LABEL = { "app.kubernetes.io/name": "castle-wall-probe-backend" };
const FRESH = "castle-wall-probe";
/**
 * Where Cilium's minors differ (port 0 with an endPort: the range 0..endPort in 1.19, every port in 1.20)
 * the verdict does not: such a range holds port 1, which every probe tries.
 */
const CILIUM_VERSION = "1.19";

const PEER_FIELDS: Record<Direction, string[]> = {
  ingress: ["fromEndpoints", "fromEntities", "fromCIDR", "fromCIDRSet", "fromNodes", "fromGroups"],
  egress: [
    "toEndpoints",
    "toEntities",
    "toCIDR",
    "toCIDRSet",
    "toNodes",
    "toFQDNs",
    "toServices",
    "toGroups",
  ],
};

// ---------------------------------------------------------------------------------------------------
// Pods built to satisfy a selector
// ---------------------------------------------------------------------------------------------------

/**
 * A value that meets one key's requirements (Kubernetes semantics, as EndpointSelector.matches applies
 * them), never one of `avoid`: a string, null when the key may be left out, undefined when no value meets
 * them. It only proposes a peer: whether the item admits it is the engine's answer.
 */
function valueFor(reqs: Requirement[], avoid: ReadonlySet<string>, base: string): string | null | undefined {
  const ops = new Set(reqs.map((r) => r.op));
  if (ops.has("DoesNotExist")) return ops.has("In") || ops.has("Exists") ? undefined : null;
  const notIn = new Set<string>(avoid);
  for (const r of reqs) if (r.op === "NotIn") for (const v of r.values) notIn.add(v);
  let candidates: string[] | undefined;
  for (const r of reqs) {
    if (r.op !== "In") continue;
    candidates = candidates ? candidates.filter((v) => r.values.includes(v)) : [...r.values];
  }
  if (candidates) return [...candidates].sort().find((v) => !notIn.has(v));
  return ops.has("Exists") ? freshValue(notIn, base) : null;
}

interface PodSpec {
  namespace: string;
  namespaceLabels: Record<string, string>;
  labels: Record<string, string>;
  serviceAccount: string;
}

/**
 * A pod outside `home` that the selector, as written, would select; undefined when none can (a reserved
 * label, a namespace requirement only `home` meets, contradictory requirements). Keys every pod carries
 * (its namespace, its service account) take a fresh value when the selector leaves them open.
 */
function podSatisfying(sel: EndpointSelector, home: string, fresh: string): PodSpec | undefined {
  const byKey = new Map<string, Requirement[]>();
  for (const r of sel.requirements) {
    if (r.source !== SOURCE_K8S && r.source !== SOURCE_ANY) return undefined;
    // The namespace's own name label is its name (the API server sets it): one requirement on the name.
    const key =
      r.key === POD_NAMESPACE_META_LABELS_PREFIX + NAMESPACE_NAME_LABEL ? POD_NAMESPACE_LABEL : r.key;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  const pod: PodSpec = { namespace: fresh, namespaceLabels: {}, labels: {}, serviceAccount: "default" };
  // Every pod has a namespace and a service account: those keys are never absent.
  const present = (key: string): Requirement => ({ source: SOURCE_ANY, key, op: "Exists", values: [] });
  for (const [key, reqs] of byKey) {
    // The pods' cluster is the probe's: a selector naming another cluster selects none of them.
    if (key === POLICY_LABEL_CLUSTER) continue;
    if (key === POD_NAMESPACE_LABEL) {
      const v = valueFor([...reqs, present(key)], new Set([home]), FRESH);
      if (typeof v !== "string") return undefined;
      pod.namespace = v;
      continue;
    }
    if (key === POLICY_LABEL_SERVICEACCOUNT) {
      const v = valueFor([...reqs, present(key)], new Set(), FRESH);
      if (typeof v !== "string") return undefined;
      pod.serviceAccount = v;
      continue;
    }
    const v = valueFor(reqs, new Set(), FRESH);
    if (v === undefined) return undefined;
    if (v === null) continue;
    if (key.startsWith(POD_NAMESPACE_META_LABELS_PREFIX))
      pod.namespaceLabels[key.slice(POD_NAMESPACE_META_LABELS_PREFIX.length)] = v;
    else pod.labels[key] = v;
  }
  return pod;
}

/** Labels a Service carries so that a k8sServiceSelector matches it (labelsMatcher ignores the source). */
function serviceLabelsSatisfying(sel: EndpointSelector): Record<string, string> | undefined {
  const byKey = new Map<string, Requirement[]>();
  for (const r of sel.requirements) {
    if (r.source !== SOURCE_K8S && r.source !== SOURCE_ANY) return undefined;
    byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
  }
  const out: Record<string, string> = {};
  for (const [key, reqs] of byKey) {
    const v = valueFor(reqs, new Set(), FRESH);
    if (v === undefined) return undefined;
    if (v !== null) out[key] = v;
  }
  return out;
}

function parsed(sel: unknown): EndpointSelector | undefined {
  try {
    return EndpointSelector.fromK8s((sel ?? {}) as LabelSelector);
  } catch (e) {
    // The agent refuses the item (the engine says so): it selects nothing.
    if (e instanceof SelectorError) return undefined;
    throw e;
  }
}

function podText(p: PodSpec): string {
  const kv = (m: Record<string, string>): string =>
    Object.entries(m)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
  let t = `a pod of namespace ${p.namespace}`;
  if (Object.keys(p.labels).length > 0) t += ` labelled ${kv(p.labels)}`;
  if (p.serviceAccount !== "default") t += ` of service account ${p.serviceAccount}`;
  if (Object.keys(p.namespaceLabels).length > 0) t += ` (its namespace labelled ${kv(p.namespaceLabels)})`;
  return t;
}

// ---------------------------------------------------------------------------------------------------
// Services for toServices
// ---------------------------------------------------------------------------------------------------

type Scenario = "plain" | "services-with-selector" | "services-without-selector" | "no-services";

/**
 * A Service each toServices entry names, in the namespace it names or, when it names none (then it matches
 * Services of every namespace), a fresh one.
 */
function servicesNamed(item: Record<string, unknown>, fresh: string): TopologyService[] {
  const out = new Map<string, TopologyService>();
  listOf(item.toServices).forEach((raw, k) => {
    const entry = recordOf(raw);
    const text = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
    let svc: TopologyService | undefined;
    if (entry.k8sServiceSelector !== undefined) {
      const bySel = recordOf(entry.k8sServiceSelector);
      const sel = parsed(bySel.selector);
      const labels = sel ? serviceLabelsSatisfying(sel) : undefined;
      if (labels) svc = { name: `${FRESH}-${k}`, namespace: text(bySel.namespace) ?? fresh, labels };
    } else if (entry.k8sService !== undefined) {
      const ref = recordOf(entry.k8sService);
      svc = { name: text(ref.serviceName) ?? FRESH, namespace: text(ref.namespace) ?? fresh };
    }
    if (svc) out.set(`${svc.namespace}/${svc.name}`, svc);
  });
  return [...out.values()];
}

// ---------------------------------------------------------------------------------------------------
// Peers and ports
// ---------------------------------------------------------------------------------------------------

interface ProbePeer extends OutsidePeer {
  /** The engine's endpoint id. */
  id: string;
  /** For world peers: the address family, so ICMP and ICMPv6 go to the matching one. */
  family?: 4 | 6;
  /** The internet as reached through a name: tried with every name the item's toFQDNs could match. */
  fqdn?: boolean;
}

interface L4 {
  protocol: FlowProtocol;
  port?: number;
  portName?: string;
  icmpType?: number;
}

const l4Key = (f: L4): string => `${f.protocol}/${f.port ?? ""}/${f.icmpType ?? ""}`;

/** `TCP/443`, `TCP/http` (a named port), `ICMP type 8`. */
export function l4Text(f: {
  protocol: FlowProtocol;
  port?: number;
  portName?: string;
  icmpType?: number;
}): string {
  if (f.protocol === "ICMP" || f.protocol === "ICMPv6")
    return `${f.protocol} type ${f.icmpType ?? (f.protocol === "ICMP" ? 8 : 128)}`;
  if (f.portName !== undefined) return `${f.protocol}/${f.portName}`;
  return f.port === undefined ? f.protocol : `${f.protocol}/${f.port}`;
}

/** Numbers for the item's named ports, none of them a port the item names by number. */
function namedPortNumbers(entry: CompiledEntry): Record<string, number> {
  const taken = new Set(entry.ports.map((p) => p.port));
  const out: Record<string, number> = {};
  let next = 40000;
  for (const p of entry.ports) {
    if (p.portName === undefined || out[p.portName] !== undefined) continue;
    while (taken.has(next)) next++;
    out[p.portName] = next;
    taken.add(next);
  }
  return out;
}

/** The ports to try: the item's own first (they make the clearest message), then the lowest and highest. */
function portsOf(entry: CompiledEntry, named: Record<string, number>): L4[] {
  const out = new Map<string, L4>();
  const add = (f: L4): void => {
    if (!out.has(l4Key(f))) out.set(l4Key(f), f);
  };
  for (const p of entry.ports) {
    if (p.portName !== undefined) {
      add({ protocol: p.protocol, port: named[p.portName], portName: p.portName });
      continue;
    }
    add({ protocol: p.protocol, port: p.port === 0 ? 1 : p.port });
    if (p.endPort !== undefined) add({ protocol: p.protocol, port: p.endPort });
    else if (p.port === 0) add({ protocol: p.protocol, port: 65535 });
  }
  for (const i of entry.icmps) add({ protocol: i.protocol, icmpType: i.type });
  for (const p of NAMESPACE_PROBE_PORTS) add(p);
  return [...out.values()];
}

/** The first and last address of each CIDR the item names, and the addresses just outside its exceptions. */
function cidrAddresses(entry: CompiledEntry): { ip: string; family: 4 | 6; why: string }[] {
  const out = new Map<string, { ip: string; family: 4 | 6; why: string }>();
  const bits = (c: Cidr): number => (c.family === 4 ? 32 : 128);
  const last = (c: Cidr): bigint => c.network + (1n << BigInt(bits(c) - c.prefix)) - 1n;
  const add = (c: Cidr, v: bigint, why: string): void => {
    const ip = formatIp(c.family, v);
    if (!out.has(ip)) out.set(ip, { ip, family: c.family, why });
  };
  for (const p of entry.peers.cidrs) {
    add(p.cidr, p.cidr.network, `first address of ${p.cidr.canonical}`);
    add(p.cidr, last(p.cidr), `last address of ${p.cidr.canonical}`);
    for (const x of p.except) {
      if (x.network > p.cidr.network) add(p.cidr, x.network - 1n, `just below ${x.canonical}`);
      if (last(x) < last(p.cidr)) add(p.cidr, last(x) + 1n, `just above ${x.canonical}`);
    }
  }
  return [...out.values()];
}

/**
 * Names the item's toFQDNs could match: each matchName as written, each matchPattern with its wildcards
 * filled in. Only candidates: the engine's FQDN matcher decides which the item admits.
 */
function fqdnCandidates(item: Record<string, unknown>): string[] {
  const out = new Set<string>();
  for (const raw of listOf(item.toFQDNs)) {
    const sel = recordOf(raw);
    if (typeof sel.matchName === "string" && sel.matchName !== "") out.add(sel.matchName);
    if (typeof sel.matchPattern === "string" && sel.matchPattern !== "") {
      const p = sel.matchPattern.replace(/\*+/g, "wall-probe").replace(/\.$/, "");
      out.add(/^(wall-probe\.?)$/.test(p) ? "wall-probe.example" : p);
    }
  }
  return [...out];
}

// ---------------------------------------------------------------------------------------------------
// The probe
// ---------------------------------------------------------------------------------------------------

interface Setup {
  engine: PolicyEngine;
  /** The whole item, compiled: its ports, CIDRs and named ports shape the probe. */
  entry?: CompiledEntry;
  /** The item the engine was given (the whole item, or one of its peers), compiled. */
  askedEntry?: CompiledEntry;
  peers: ProbePeer[];
  subject: string;
  refused?: string;
}

function probePolicy(
  namespace: string,
  name: string,
  direction: Direction,
  item: unknown,
): CiliumPolicyObject {
  const spec: Rule = { endpointSelector: {} };
  if (direction === "ingress") spec.ingress = [item as IngressRule];
  else spec.egress = [item as EgressRule];
  return { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { name, namespace }, spec };
}

/** The cluster for one scenario: the probe pod of `home`, the outside peers, the Services. */
function setUp(
  home: string,
  name: string,
  direction: Direction,
  item: Record<string, unknown>,
  scenario: Scenario,
  /** The item whose engine is built (the whole item, or one of its peers for attribution). */
  asked: Record<string, unknown> = item,
): Setup {
  const namedNamespaces = new Set<string>([home]);
  const selectors = listOf(item[direction === "ingress" ? "fromEndpoints" : "toEndpoints"])
    .map(parsed)
    .filter((s): s is EndpointSelector => s !== undefined);
  for (const s of selectors)
    for (const r of s.requirements)
      if (r.key === POD_NAMESPACE_LABEL || r.key === POD_NAMESPACE_META_LABELS_PREFIX + NAMESPACE_NAME_LABEL)
        r.values.forEach((v) => namedNamespaces.add(v));
  for (const raw of listOf(item.toServices))
    for (const ref of [recordOf(raw).k8sService, recordOf(raw).k8sServiceSelector]) {
      const ns = recordOf(ref).namespace;
      if (typeof ns === "string") namedNamespaces.add(ns);
    }
  const fresh = freshValue(namedNamespaces, FRESH);

  const named = servicesNamed(item, fresh);
  const services: TopologyService[] =
    scenario === "services-with-selector"
      ? named.map((s) => ({ ...s, selector: BACKEND_LABEL }))
      : scenario === "services-without-selector"
        ? named.map((s) => ({ ...s, backends: [SERVICE_BACKEND] }))
        : [];
  const compiledEntry = (x: Record<string, unknown>): CompiledEntry | undefined =>
    compilePolicies([probePolicy(home, name, direction, x)], "default", CILIUM_VERSION, services).rules[0]?.[
      direction
    ][0];
  const entry = compiledEntry(item);
  const askedEntry = asked === item ? entry : compiledEntry(asked);
  const policy = probePolicy(home, name, direction, asked);
  const namedPorts = entry ? namedPortNumbers(entry) : {};

  const pods: Endpoint[] = [];
  const peers: ProbePeer[] = [];
  const subject = `${home}/wall-probe-subject`;
  pods.push({
    id: subject,
    kind: "pod",
    namespace: home,
    labels: {},
    namespaceLabels: { [NAMESPACE_NAME_LABEL]: home },
    node: NODE_A,
    ips: ["198.18.1.1"],
    // Ingress: the item's named ports resolve on the pod it applies to (pkg/policy/l4.go named ports).
    ...(direction === "ingress" ? { namedPorts } : {}),
  });

  const externals: Topology["externals"] = [
    { id: "internet-v4", ip: INTERNET_V4 },
    { id: "internet-v6", ip: INTERNET_V6 },
  ];
  peers.push(
    { id: "internet-v4", kind: "world", text: `the internet (${INTERNET_V4})`, family: 4 },
    { id: "internet-v6", kind: "world", text: `the internet (${INTERNET_V6})`, family: 6 },
  );
  if (scenario === "services-without-selector" && named.length > 0) {
    externals.push({ id: "service-backend", ip: SERVICE_BACKEND });
    peers.push({
      id: "service-backend",
      kind: "world",
      text: `the address ${SERVICE_BACKEND} (the backend of a Service without a selector)`,
      family: 4,
    });
  }
  // The CIDRs' edges; the backend above is one of the CIDRs the agent generates, already named.
  const addresses = new Set(externals.map((x) => x.ip));
  for (const a of entry ? cidrAddresses(entry) : []) {
    if (addresses.has(a.ip)) continue;
    addresses.add(a.ip);
    const id = `cidr-${externals.length}`;
    externals.push({ id, ip: a.ip });
    peers.push({ id, kind: "world", text: `the address ${a.ip} (${a.why})`, family: a.family });
  }
  if (direction === "egress" && listOf(item.toFQDNs).length > 0)
    peers.push({
      id: "internet-v4",
      kind: "world",
      text: `the internet (${INTERNET_V4})`,
      family: 4,
      fqdn: true,
    });

  // Pods outside `home`: a bare one, one per endpoint selector of the item, and the Services' backends.
  const outside: PodSpec[] = [
    { namespace: fresh, namespaceLabels: {}, labels: {}, serviceAccount: "default" },
  ];
  for (const s of selectors) {
    const p = podSatisfying(s, home, fresh);
    if (p) outside.push(p);
  }
  if (scenario === "services-with-selector")
    for (const s of named)
      if (s.namespace !== home)
        outside.push({
          namespace: s.namespace,
          namespaceLabels: {},
          labels: BACKEND_LABEL,
          serviceAccount: "default",
        });
  const seen = new Set<string>();
  outside.forEach((p, i) => {
    const key = JSON.stringify(p);
    if (seen.has(key)) return;
    seen.add(key);
    const id = `${p.namespace}/wall-probe-${i}`;
    pods.push({
      id,
      kind: "pod",
      namespace: p.namespace,
      labels: p.labels,
      namespaceLabels: { [NAMESPACE_NAME_LABEL]: p.namespace, ...p.namespaceLabels },
      serviceAccount: p.serviceAccount,
      node: NODE_B,
      ips: [`198.18.${2 + Math.floor(i / 256)}.${i % 256}`],
      // Egress: the item's named ports resolve on the destination.
      ...(direction === "egress" ? { namedPorts } : {}),
    });
    peers.push({ id, kind: "pod", text: podText(p) });
  });

  peers.push(
    { id: NODE_A, kind: "host", text: "its own node (reserved:host)" },
    { id: NODE_B, kind: "remote-node", text: "another node (reserved:remote-node)" },
    { id: CONTROL_PLANE, kind: "kube-apiserver", text: "the kube-apiserver (a control-plane node)" },
  );

  const topology: Topology = {
    nodes: [
      probeNode(CONTROL_PLANE, "control-plane", "198.18.0.1"),
      probeNode(NODE_A, "worker", "198.18.0.2"),
      probeNode(NODE_B, "worker", "198.18.0.3"),
    ],
    pods,
    externals,
    services,
  };
  // Enforced, with the host firewall on and native routing: the tunnel port's datapath drop
  // (DROP_ENCAP_PROHIBITED) is no policy's doing. Mutual authentication on: a peer admitted once it has
  // authenticated is still admitted (authentication says who the peer is, not that it is inside).
  const engine = new PolicyEngine([policy], topology, {
    auditMode: false,
    hostFirewall: true,
    routingMode: "native",
    ciliumVersion: CILIUM_VERSION,
    mutualAuth: true,
  });
  const refused = engine.rejected[0]?.reason;
  return {
    engine,
    ...(entry ? { entry } : {}),
    ...(askedEntry ? { askedEntry } : {}),
    peers,
    subject,
    ...(refused !== undefined ? { refused } : {}),
  };
}

interface Admission {
  peer: ProbePeer;
  l4: L4;
  dnsName?: string;
  reason: string;
}

/** Whether the item's rule admits this flow on the item's side (the pod's ingress or egress). */
function admits(
  s: Setup,
  direction: Direction,
  peer: ProbePeer,
  l4: L4,
  dnsName?: string,
): { admitted: boolean; reason: string } {
  const flow = {
    from: direction === "ingress" ? peer.id : s.subject,
    to: direction === "ingress" ? s.subject : peer.id,
    protocol: l4.protocol,
    ...(l4.port !== undefined ? { port: l4.port } : {}),
    ...(l4.icmpType !== undefined ? { icmpType: l4.icmpType } : {}),
    ...(dnsName !== undefined ? { dnsName } : {}),
  };
  const side = s.engine.evaluate(flow)[direction];
  // Allowed by a rule: the local host's allow-localhost and default allow are no rule's doing.
  return { admitted: side.allowed && side.allowedBy.length > 0, reason: side.reason };
}

/** The first admitted port of every peer of one set-up, in the order tried. */
function admissions(s: Setup, direction: Direction, item: Record<string, unknown>): Admission[] {
  if (!s.entry) return [];
  const ports = portsOf(s.entry, namedPortNumbers(s.entry));
  const names = fqdnCandidates(item);
  const out: Admission[] = [];
  for (const peer of s.peers) {
    const found = (): Admission | undefined => {
      for (const l4 of ports) {
        // ICMP and ICMPv6 go to the world address of their own family.
        if (
          peer.family !== undefined &&
          (l4.protocol === "ICMP" ? 4 : l4.protocol === "ICMPv6" ? 6 : peer.family) !== peer.family
        )
          continue;
        for (const dnsName of peer.fqdn ? names : [undefined]) {
          const a = admits(s, direction, peer, l4, dnsName);
          if (a.admitted)
            return { peer, l4, reason: a.reason, ...(dnsName !== undefined ? { dnsName } : {}) };
        }
      }
      return undefined;
    };
    const a = found();
    if (a) out.push(a);
  }
  return out;
}

/** The item's peers one at a time (with its ports, ICMP types and authentication). */
function singlePeers(
  direction: Direction,
  item: Record<string, unknown>,
): { field: string; index: number; item: Record<string, unknown> }[] {
  const rest = Object.fromEntries(
    Object.entries(item).filter(([k]) => !PEER_FIELDS.ingress.includes(k) && !PEER_FIELDS.egress.includes(k)),
  );
  const out: { field: string; index: number; item: Record<string, unknown> }[] = [];
  for (const field of PEER_FIELDS[direction])
    listOf(item[field]).forEach((v, index) => out.push({ field, index, item: { ...rest, [field]: [v] } }));
  return out;
}

const KIND_ORDER: OutsideKind[] = ["world", "pod", "host", "remote-node", "kube-apiserver"];

function probeItem(
  home: string,
  name: string,
  direction: Direction,
  raw: unknown,
): { breach?: Omit<WallBreach, "direction" | "specs" | "index">; refused?: string } {
  const item = recordOf(raw);
  const scenarios: Scenario[] =
    direction === "egress" && listOf(item.toServices).length > 0
      ? ["services-with-selector", "services-without-selector", "no-services"]
      : ["plain"];
  let first: { admission: Admission; setup: Setup; scenario: Scenario } | undefined;
  const kinds = new Set<OutsideKind>();
  for (const scenario of scenarios) {
    const s = setUp(home, name, direction, item, scenario);
    if (s.refused !== undefined) return { refused: s.refused };
    const found = admissions(s, direction, item);
    for (const a of found) kinds.add(a.peer.kind);
    if (!first && found.length > 0) first = { admission: found[0], setup: s, scenario };
  }
  if (!first) return {};
  const { admission: a, setup, scenario } = first;
  const entry = setup.entry as CompiledEntry;
  // Which of its peers admit the flow alone: splitting the item only attributes what the engine said of it.
  const through: WallPeerField[] = [];
  if (!entry.allPeers) {
    for (const single of singlePeers(direction, item)) {
      // The same cluster (built from the whole item), with only this peer in the policy.
      const s = setUp(home, name, direction, item, scenario, single.item);
      if (s.refused !== undefined || !s.askedEntry) continue;
      if (admits(s, direction, a.peer, a.l4, a.dnsName).admitted)
        through.push({ field: single.field, index: single.index, text: s.askedEntry.peers.text });
    }
  }
  return {
    breach: {
      peer: { kind: a.peer.kind, text: a.peer.text },
      protocol: a.l4.protocol,
      ...(a.l4.port !== undefined ? { port: a.l4.port } : {}),
      ...(a.l4.portName !== undefined ? { portName: a.l4.portName } : {}),
      ...(a.l4.icmpType !== undefined ? { icmpType: a.l4.icmpType } : {}),
      ...(a.dnsName !== undefined ? { dnsName: a.dnsName } : {}),
      everyPeer: entry.allPeers,
      unmatchedServices: entry.allPeers && scenario === "no-services",
      through,
      reason: a.reason,
      kinds: [a.peer.kind, ...KIND_ORDER.filter((k) => k !== a.peer.kind && kinds.has(k))],
    },
  };
}

/**
 * Asks the engine, for every ingress and egress item of a CiliumNetworkPolicy, whether it admits a peer
 * outside the policy's namespace, and which first (in the order the header lists them).
 */
export function probeWalls(policy: CiliumPolicyObject): WallProbeResult {
  if (policy.kind !== "CiliumNetworkPolicy")
    throw new Error(`probeWalls asks about a namespace's CiliumNetworkPolicy, not a ${String(policy.kind)}`);
  const ref = policyRef(policy);
  const namespace = ref.namespace as string;
  const result: WallProbeResult = { policy: ref, namespace, breaches: [], refused: [], reservedEntities: [] };
  const rules: { rule: unknown; specs?: number }[] = [
    ...(policy.spec ? [{ rule: policy.spec }] : []),
    ...listOf(policy.specs).map((rule, k) => ({ rule, specs: k })),
  ];
  for (const { rule, specs } of rules) {
    for (const direction of ["ingress", "egress"] as const) {
      listOf(recordOf(rule)[direction]).forEach((item, index) => {
        const r = probeItem(namespace, ref.name, direction, item);
        const where = { direction, ...(specs !== undefined ? { specs } : {}), index };
        if (r.refused !== undefined) result.refused.push({ ...where, reason: r.refused });
        if (r.breach) result.breaches.push({ ...where, ...r.breach });
        else if (r.refused === undefined) {
          const entities = unprobedReservedEntities(direction, item);
          if (entities.length > 0) result.reservedEntities.push({ ...where, entities });
        }
      });
    }
  }
  return result;
}
