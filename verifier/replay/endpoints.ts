// Where a flow's two sides sit in the castle's model: a Hubble endpoint (security identity, labels, namespace,
// address, observing node) becomes an engine endpoint (a stack node's host, a pod placed on the node that
// saw it, a world peer), or a reason to skip the flow. Hubble node names are mapped onto the stack's nodes
// (exactly, through --node-map, or onto the first worker); namespaces onto the castle's layers (user
// namespaces, infra roles); world addresses onto as few engine endpoints as the policies' CIDRs allow.
//
// Mapping is cached (per observing node and identity, per address), so a capture of millions of flows
// costs a map lookup per side. The engine itself belongs to the replayer (replayer.ts): the map only tells
// it, through an EngineFeed, what it added to the topology.

import { infraNamespaces } from "../../vocabulary/roles";
import { POD_NAMESPACE_LABEL } from "../../vocabulary/labels";
import { Cidr, cidrContainsIp, parseCidr, parseIp } from "../../lib/net/cidr";
import type { CiliumPolicyObject, Endpoint, TopologyExternal, TopologyNode } from "../engine";
import { EndpointRef, RESERVED_IDENTITIES } from "../hubble";
import type { CastleInputs } from "../objects";
import type { ReplayLayer, ReplayNodeMapping, ReplayOptions } from "./types";

/** kind's default pod and service subnets (kind.x-k8s.io/v1alpha4 networking defaults). */
export const KIND_CLUSTER_CIDRS = ["10.244.0.0/16", "10.96.0.0/16", "fd00:10:244::/56", "fd00:10:96::/112"];
/** Addresses no flow side without identity is judged for: unspecified, loopback, link-local, multicast, broadcast. */
const LOCAL_CIDRS = [
  "0.0.0.0/32",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "224.0.0.0/4",
  "255.255.255.255/32",
  "::/128",
  "::1/128",
  "fe80::/10",
  "ff00::/8",
];
/** Label keys that name a workload, most specific first: a class is `ns/<first present>`. */
const WORKLOAD_KEYS = ["app.kubernetes.io/name", "k8s-app", "app", "name"];
// Label keys Cilium adds to a pod's identity: pkg/k8s/apis/cilium.io/const.go (PodNamespaceMetaLabels,
// PolicyLabelServiceAccount, PolicyLabelCluster).
const NS_LABELS_PREFIX = "io.cilium.k8s.namespace.labels.";
const SERVICE_ACCOUNT = "io.cilium.k8s.policy.serviceaccount";
const CLUSTER = "io.cilium.k8s.policy.cluster";
/** Bound of every cache kept per distinct value (endpoints, addresses, verdicts): cleared when reached. */
export const MAX_CACHE = 500_000;

/** A --node-map entry naming a node the stack does not have. */
export class ReplayNodeMapError extends Error {}

/** One side of a flow as the castle sees it: the engine endpoint and the class flows are grouped by. */
export interface EpInfo {
  /** Engine endpoint id. */
  id: string;
  kind: "pod" | "host" | "world";
  /** Group class. */
  cls: string;
  /** Pods: namespace layer; hosts: node. */
  layer?: ReplayLayer;
  namespace?: string;
  /** Pods: whether the namespace is one of the stack's (user or infra). */
  nsKnown?: boolean;
  /** Pods: the class's labels (selector for suggestions), without the k8s: prefix. */
  classLabels?: Record<string, string>;
  /** Hosts: the stack node; pods: the node they are placed on. */
  node?: string;
  /** Pods: the Endpoint handed to the engine (to add a twin). */
  endpoint?: Endpoint;
  twin?: EpInfo;
}

/** A side that cannot be placed, and why (counted in the report's skippedByReason). */
export interface Skip {
  skip: string;
}

const UNRESOLVED: Skip = { skip: "identity not resolved: a pod reported as reserved:world" };

/** Marks a label set that names a world peer: resolved per address. */
const WORLD = Symbol("world");
type Classified = EpInfo | Skip | typeof WORLD;

interface CacheEntry {
  labels: string[];
  namespace: string | undefined;
  result: Classified;
}

/** A stack node that observed flows, with what was mapped from its agent's point of view. */
export interface NodeCtx {
  node: TopologyNode;
  remote?: EpInfo;
  apiServer?: EpInfo;
  /** Classified label sets by security identity (or by joined labels when Hubble gave no identity). */
  cache: Map<number | string, CacheEntry[]>;
}

function sameStrings(a: string[], b: string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function cidrs(list: string[]): Cidr[] {
  const out: Cidr[] = [];
  for (const c of list) {
    const p = parseCidr(c.includes("/") ? c : `${c}/${c.includes(":") ? 128 : 32}`);
    if (p.ok) out.push(p);
  }
  return out;
}

/** Every CIDR a policy peer names (allow and deny, with exceptions): addresses they tell apart. */
function policyCidrs(policies: CiliumPolicyObject[]): string[] {
  const out = new Set<string>();
  for (const p of policies) {
    for (const spec of [...(p.spec ? [p.spec] : []), ...(p.specs ?? [])]) {
      for (const r of [...(spec.ingress ?? []), ...(spec.ingressDeny ?? [])]) {
        for (const c of r.fromCIDR ?? []) out.add(c);
        for (const s of r.fromCIDRSet ?? []) [s.cidr, ...(s.except ?? [])].forEach((c) => out.add(c));
      }
      for (const r of [...(spec.egress ?? []), ...(spec.egressDeny ?? [])]) {
        for (const c of r.toCIDR ?? []) out.add(c);
        for (const s of r.toCIDRSet ?? []) [s.cidr, ...(s.except ?? [])].forEach((c) => out.add(c));
      }
    }
  }
  return [...out];
}

/** Two sides with the same identity are different pods when Hubble names different pods or addresses. */
export function differentPods(a: EndpointRef, b: EndpointRef): boolean {
  if (a.podName !== undefined && b.podName !== undefined) return a.podName !== b.podName;
  return a.ip !== undefined && b.ip !== undefined && a.ip !== b.ip;
}

/** How the map keeps the replayer's engine in step with what it adds to the topology. */
export interface EngineFeed {
  /** A pod endpoint was added (addedPods): place it in the engine. */
  podAdded(p: Endpoint): void;
  /** A world endpoint was added (extraExternals): the engine is rebuilt, externals are fixed at build. */
  externalAdded(): void;
}

/** Maps the endpoints of Hubble flows onto engine endpoints, adding to the engine what the stack lacks. */
export class EndpointMap {
  private readonly userNamespaces: Set<string>;
  private readonly infraNs: Set<string>;
  private readonly stackNsLabels = new Map<string, Record<string, string>>();
  private readonly firstWorker: TopologyNode;
  private readonly nodeCtx = new Map<string, NodeCtx>();
  /** How each Hubble node name was mapped, in the order they were first seen. */
  readonly nodeMappings: ReplayNodeMapping[] = [];
  private readonly hostInfo = new Map<string, EpInfo>();
  /** Endpoints without labels, by identity and address. */
  private readonly epCache = new Map<string, EpInfo | Skip>();
  private readonly pods = new Map<string, EpInfo>();
  /** Pod endpoints added from Hubble labels (and twins), in the order the engine got them. */
  readonly addedPods: Endpoint[] = [];
  // World addresses: those with the same signature (family + the policy CIDRs containing them) are
  // indistinguishable to policy and share one engine endpoint.
  private readonly worldCidrs: Cidr[];
  private readonly jumphosts: { cidr: Cidr; text: string }[];
  private readonly clusterRanges: Cidr[];
  private readonly localRanges = cidrs(LOCAL_CIDRS);
  private readonly sigToWorld = new Map<string, string>();
  private readonly worldByIp = new Map<string, EpInfo>();
  private readonly worldInfo = new Map<string, EpInfo>();
  /** World endpoints added for addresses the policies tell apart from the modelled ones. */
  readonly extraExternals: TopologyExternal[] = [];
  private nextPod = 0;
  private cachedLabelSets = 0;

  constructor(
    private readonly inputs: CastleInputs,
    private readonly opts: ReplayOptions,
    private readonly feed: EngineFeed,
  ) {
    const t = inputs.topology;
    if (t.nodes.length === 0) throw new Error(`${inputs.source}: the topology has no nodes`);
    this.firstWorker = t.nodes.find((n) => n.role === "worker") ?? t.nodes[0];
    this.userNamespaces = new Set(inputs.userNamespaces.map((n) => n.name));
    this.infraNs = new Set(infraNamespaces(inputs.roles));
    for (const p of t.pods) {
      const ns = p.namespace ?? "default";
      if (!this.stackNsLabels.has(ns)) this.stackNsLabels.set(ns, p.namespaceLabels ?? {});
    }
    this.jumphosts = inputs.jumphostCidrs.flatMap((text) => cidrs([text]).map((cidr) => ({ cidr, text })));
    this.worldCidrs = cidrs([...policyCidrs(inputs.policies), ...inputs.jumphostCidrs]);
    this.clusterRanges = cidrs([
      ...(opts.clusterCidrs ?? KIND_CLUSTER_CIDRS),
      ...t.nodes.flatMap((n) => n.ips ?? []),
      ...t.pods.flatMap((p) => p.ips ?? []),
    ]);
    for (const x of t.externals) {
      if (x.ip !== undefined && !x.ips?.length && !x.cidrs?.length && !x.kubeApiServer) {
        const sig = this.signature(x.ip);
        if (sig !== undefined && !this.sigToWorld.has(sig)) this.sigToWorld.set(sig, x.id);
      }
    }
  }

  /** A second endpoint with the same identity: two replicas talking are judged, unlike a pod and itself. */
  twin(e: EpInfo): EpInfo {
    if (e.twin) return e.twin;
    const endpoint: Endpoint = { ...(e.endpoint as Endpoint), id: `${e.id}~peer` };
    this.addPod(endpoint);
    e.twin = { ...e, id: endpoint.id, endpoint };
    return e.twin;
  }

  private addPod(p: Endpoint): void {
    this.feed.podAdded(p);
    this.addedPods.push(p);
  }

  // ----------------------------------------------------------------------------------------------------
  // Nodes
  // ----------------------------------------------------------------------------------------------------

  /** The stack node whose agent saw a flow, with its caches. */
  node(hubbleName: string | undefined): NodeCtx {
    const name = hubbleName ?? "";
    const hit = this.nodeCtx.get(name);
    if (hit) return hit;
    const short = name.includes("/") ? name.slice(name.lastIndexOf("/") + 1) : name;
    const mapped = this.opts.nodeMap?.[name] ?? this.opts.nodeMap?.[short];
    const nodes = this.inputs.topology.nodes;
    let node = mapped !== undefined ? nodes.find((n) => n.name === mapped) : undefined;
    let how: ReplayNodeMapping["how"] = "nodeMap";
    if (mapped !== undefined && !node) {
      throw new ReplayNodeMapError(
        `nodeMap: ${name} -> ${mapped}, which is not a node of ${this.inputs.source}`,
      );
    }
    if (!node) {
      node = nodes.find((n) => n.name === name || n.name === short);
      how = "exact";
    }
    if (!node) {
      node = this.firstWorker;
      how = "first worker";
    }
    this.nodeMappings.push({ hubble: name === "" ? "(none)" : name, node: node.name, how });
    const ctx: NodeCtx = { node, cache: new Map() };
    this.nodeCtx.set(name, ctx);
    return ctx;
  }

  private host(node: TopologyNode): EpInfo {
    let h = this.hostInfo.get(node.name);
    if (!h) {
      h = { id: node.name, kind: "host", cls: `host ${node.name}`, layer: "node", node: node.name };
      this.hostInfo.set(node.name, h);
    }
    return h;
  }

  private isApiServer(n: TopologyNode): boolean {
    const api = this.inputs.topology.kubeApiServerNodes;
    return api ? api.includes(n.name) : n.role === "control-plane";
  }

  /** reserved:remote-node: another node, not running the API server (that one would be kube-apiserver). */
  private remoteNode(ctx: NodeCtx): EpInfo {
    if (!ctx.remote) {
      const others = this.inputs.topology.nodes.filter((n) => n.name !== ctx.node.name);
      const n = others.find((x) => !this.isApiServer(x)) ?? others[0] ?? ctx.node;
      ctx.remote = { ...this.host(n), cls: "remote-node" };
    }
    return ctx.remote;
  }

  /** reserved:kube-apiserver: a node running the API server, another one than the observer if possible. */
  private apiServerNode(ctx: NodeCtx): EpInfo {
    if (!ctx.apiServer) {
      const api = this.inputs.topology.nodes.filter((n) => this.isApiServer(n));
      const n = api.find((x) => x.name !== ctx.node.name) ?? api[0];
      ctx.apiServer = { ...(n ? this.host(n) : this.remoteNode(ctx)), cls: "kube-apiserver" };
    }
    return ctx.apiServer;
  }

  // ----------------------------------------------------------------------------------------------------
  // Endpoints
  // ----------------------------------------------------------------------------------------------------

  /**
   * The engine endpoint of one side of a flow, cached per observing node by security identity: a hit
   * costs a map lookup and a comparison of the label strings with the cached ones (no allocation).
   */
  resolve(ref: EndpointRef, ctx: NodeCtx): EpInfo | Skip {
    const labels = ref.labels;
    if (labels.length === 0) {
      const key = `${ctx.node.name}\x01${ref.namespace ?? ""}\x01${ref.identity ?? ""}\x01${ref.ip ?? ""}`;
      let hit = this.epCache.get(key);
      if (hit === undefined) {
        hit = this.finish(this.classify(ref, ctx), ref);
        if (this.epCache.size >= MAX_CACHE) this.epCache.clear();
        this.epCache.set(key, hit);
      }
      return hit;
    }
    const key = ref.identity ?? labels.join("\x02");
    let list = ctx.cache.get(key);
    if (list) {
      for (const e of list) {
        if (e.namespace === ref.namespace && sameStrings(e.labels, labels)) return this.finish(e.result, ref);
      }
    } else {
      if (++this.cachedLabelSets > MAX_CACHE) {
        for (const c of this.nodeCtx.values()) c.cache.clear();
        this.cachedLabelSets = 0;
      }
      list = [];
      ctx.cache.set(key, list);
    }
    const result = this.classify(ref, ctx);
    list.push({ labels, namespace: ref.namespace, result });
    return this.finish(result, ref);
  }

  private finish(c: Classified, ref: EndpointRef): EpInfo | Skip {
    if (c !== WORLD) return c;
    // Hubble sometimes labels a pod it could not resolve (L7 events) as world, with its namespace and name.
    if (ref.namespace !== undefined && ref.podName !== undefined) return UNRESOLVED;
    return this.world(ref.ip);
  }

  private classify(ref: EndpointRef, ctx: NodeCtx): Classified {
    const reserved = new Set<string>();
    const k8s: [string, string][] = [];
    let worldLike = false;
    for (const l of ref.labels) {
      if (l.startsWith("reserved:")) reserved.add(l.slice("reserved:".length));
      else if (l.startsWith("k8s:")) {
        const i = l.indexOf("=", 4);
        k8s.push(i < 0 ? [l.slice(4), ""] : [l.slice(4, i), l.slice(i + 1)]);
      } else if (l.startsWith("cidr:") || l.startsWith("fqdn:")) worldLike = true;
    }
    if (ref.labels.length === 0 && ref.identity !== undefined && RESERVED_IDENTITIES[ref.identity]) {
      reserved.add(RESERVED_IDENTITIES[ref.identity].slice("reserved:".length));
    }
    if (reserved.has("health")) return { skip: "reserved:health (Cilium health endpoint)" };
    if (reserved.has("init")) return { skip: "reserved:init (endpoint without identity yet)" };
    if (reserved.has("unmanaged")) return { skip: "reserved:unmanaged (endpoint Cilium does not manage)" };
    if (reserved.has("ingress")) return { skip: "reserved:ingress (Cilium's ingress / Gateway API proxy)" };
    if (reserved.has("host")) return this.host(ctx.node);
    if (reserved.has("kube-apiserver")) return this.apiServerNode(ctx);
    if (reserved.has("remote-node")) return this.remoteNode(ctx);
    if (reserved.has("world") || reserved.has("world-ipv4") || reserved.has("world-ipv6") || worldLike) {
      return WORLD;
    }
    if (k8s.length > 0 || ref.namespace !== undefined) return this.pod(ref, k8s, ctx);
    if (ref.identity !== undefined && ref.identity >= 256) {
      return { skip: "security identity without labels or namespace" };
    }
    if (ref.ip === undefined) return { skip: "no identity labels and no address" };
    const ip = parseIp(ref.ip);
    if (!ip) return { skip: "no identity labels and an unparseable address" };
    if (this.localRanges.some((c) => cidrContainsIp(c, ip))) {
      return { skip: "no identity labels: link-local, multicast or loopback address" };
    }
    if (this.clusterRanges.some((c) => cidrContainsIp(c, ip))) {
      return { skip: "no identity labels for an in-cluster address" };
    }
    return WORLD;
  }

  private nsLayer(ns: string): { layer: ReplayLayer; known: boolean } {
    if (this.userNamespaces.has(ns)) return { layer: "user", known: true };
    if (this.infraNs.has(ns)) return { layer: "infra", known: true };
    if (ns.startsWith("kube-")) return { layer: "infra", known: false };
    return { layer: "user", known: false };
  }

  private pod(ref: EndpointRef, k8s: [string, string][], ctx: NodeCtx): EpInfo {
    const labels: Record<string, string> = {};
    const nsLabels: Record<string, string> = {};
    let ns = ref.namespace;
    let sa: string | undefined;
    for (const [k, v] of k8s) {
      if (k === POD_NAMESPACE_LABEL) ns ??= v;
      else if (k.startsWith(NS_LABELS_PREFIX)) nsLabels[k.slice(NS_LABELS_PREFIX.length)] = v;
      else if (k === SERVICE_ACCOUNT) sa = v;
      else if (k !== CLUSTER) labels[k] = v;
    }
    ns ??= "default";
    const keys = Object.keys(labels).sort();
    const podKey = [
      ns,
      ctx.node.name,
      sa ?? "",
      keys.map((k) => `${k}=${labels[k]}`).join(","),
      Object.keys(nsLabels)
        .sort()
        .map((k) => `${k}=${nsLabels[k]}`)
        .join(","),
    ].join("\x01");
    const hit = this.pods.get(podKey);
    if (hit) return hit;

    const wk = WORKLOAD_KEYS.find((k) => labels[k] !== undefined);
    const classLabels =
      wk !== undefined ? { [wk]: labels[wk] } : Object.fromEntries(keys.map((k) => [k, labels[k]]));
    const classText = Object.entries(classLabels)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const { layer, known } = this.nsLayer(ns);
    const endpoint: Endpoint = {
      id: `hubble:${this.nextPod++}`,
      kind: "pod",
      labels,
      namespace: ns,
      // The stack sets the labels of its namespaces (exposed, metrics, ...): those win over the capture's.
      namespaceLabels: { ...nsLabels, ...(this.stackNsLabels.get(ns) ?? {}) },
      node: ctx.node.name,
      ...(sa !== undefined ? { serviceAccount: sa } : {}),
      ...(ref.ip !== undefined ? { ips: [ref.ip] } : {}),
    };
    this.addPod(endpoint);
    const info: EpInfo = {
      id: endpoint.id,
      kind: "pod",
      cls: `${ns}/${classText || "*"}`,
      layer,
      namespace: ns,
      nsKnown: known,
      classLabels,
      node: ctx.node.name,
      endpoint,
    };
    this.pods.set(podKey, info);
    return info;
  }

  private signature(ipText: string): string | undefined {
    const ip = parseIp(ipText);
    if (!ip) return undefined;
    let sig = String(ip.family);
    this.worldCidrs.forEach((c, i) => {
      if (cidrContainsIp(c, ip)) sig += `,${i}`;
    });
    return sig;
  }

  private world(ipText: string | undefined): EpInfo {
    if (ipText === undefined) return this.worldEp("world", "world");
    const hit = this.worldByIp.get(ipText);
    if (hit) return hit;
    const ip = parseIp(ipText);
    const jump = ip ? this.jumphosts.find((j) => cidrContainsIp(j.cidr, ip)) : undefined;
    const cls = jump ? `jumphost:${jump.text}` : "world";
    const sig = this.signature(ipText);
    let id = sig !== undefined ? this.sigToWorld.get(sig) : "world";
    if (id === undefined) {
      // An address some policy CIDR tells apart from the modelled ones: a world endpoint of its own.
      id = `world:${ipText}`;
      this.sigToWorld.set(sig as string, id);
      this.extraExternals.push({ id, ip: ipText });
      this.feed.externalAdded();
    }
    const info = this.worldEp(id, cls);
    if (this.worldByIp.size >= MAX_CACHE) this.worldByIp.clear();
    this.worldByIp.set(ipText, info);
    return info;
  }

  private worldEp(id: string, cls: string): EpInfo {
    const key = `${id}\x01${cls}`;
    let w = this.worldInfo.get(key);
    if (!w) {
      w = { id, kind: "world", cls };
      this.worldInfo.set(key, w);
    }
    return w;
  }
}
