// `castle replay`: run real Hubble flows (`hubble observe -o json`) through the stack's policies and report
// what enforcement would drop, grouped by who talks to whom on which port, with the layer that should
// allow it and a suggested rule.
//
// Streaming: lines are read one at a time and only aggregates are kept (counters, one entry per group,
// bounded caches), so a capture of millions of lines is never held in memory. Per line the cost is one
// JSON.parse plus a few map lookups: endpoints are mapped once per distinct (labels, namespace, node) and
// verdicts computed once per (source endpoint, destination endpoint, protocol, port); replies Hubble marks
// as such are counted without being parsed; the flow object is reused from line to line.
//
// Judged as if enforced: the engine runs with audit mode off whatever the stack says, because the question
// is what turning audit mode off would break. Replies are not judged (they follow their connection's
// conntrack entry, as in the engine).

import { PassThrough } from "node:stream";
import { createGunzip } from "node:zlib";
import * as YAML from "yaml";
import { infraNamespaces } from "../vocabulary/roles";
import { Cidr, cidrContainsIp, parseCidr, parseIp } from "../lib/net/cidr";
import { SSH } from "../vocabulary/ports";
import {
  CiliumPolicyObject,
  Direction,
  EgressRule,
  Endpoint,
  FlowProtocol,
  IngressRule,
  LabelSelector,
  PolicyEngine,
  PolicyRef,
  Rule,
  Topology,
  TopologyExternal,
  TopologyNode,
  Verdict,
} from "./engine";
import { EndpointRef, HubbleLineParser, RESERVED_IDENTITIES, ReplayFlow, verdictName } from "./hubble";
import type { CastleInputs } from "./objects";
import { CONTROL_PLANE_ROLE_LABEL, INFRA_ROLE_LABEL, LAYER_LABEL } from "../vocabulary/labels";

export type ReplayLayer = "user" | "infra" | "node";
export type ReplayFormat = "table" | "json" | "markdown";

export interface ReplayOptions {
  /** Called every PROGRESS_EVERY lines with the number of lines read so far. */
  progress?: (linesRead: number) => void;
  /** Hubble node name -> stack node name, for clusters whose node names differ from the stack's. */
  nodeMap?: Record<string, string>;
  /**
   * Address ranges inside the cluster (pods, services): a flow side without identity labels and with such
   * an address cannot be placed, and is skipped. Default: kind's pod and service subnets; the stack's
   * node and modelled pod addresses are always added.
   */
  clusterCidrs?: string[];
}

export interface ReplaySuggestion {
  /** What the rule allows, in one sentence. */
  description: string;
  /** One policy per direction that drops (ingress at the destination, egress at the source). */
  policies: CiliumPolicyObject[];
  /** The policies as YAML documents separated by `---`. */
  yaml: string;
  /** Caveats: what the policy pack would say, what to narrow, what an allow rule cannot fix. */
  notes: string[];
}

export interface ReplayGroup {
  /** Source class: `ns/app=x`, `host castle-worker`, `remote-node`, `kube-apiserver`, `world`, `jumphost:<cidr>`. */
  source: string;
  destination: string;
  /** `443/TCP`, `53/UDP`, `ICMP type 8`, `ICMPv6 type 128`. */
  port: string;
  protocol: FlowProtocol;
  portNumber?: number;
  icmpType?: number;
  count: number;
  firstTime?: string;
  lastTime?: string;
  /** The layer that should allow it. */
  layer: ReplayLayer;
  /** The direction(s) enforcement would drop it in. */
  directions: Direction[];
  /** Hubble's own verdicts for these flows (FORWARDED, AUDIT, DROPPED, ...). */
  hubbleVerdicts: Record<string, number>;
  /** Policies whose deny rules drop it (an allow rule cannot fix those). */
  deniedBy: string[];
  /** The engine's explanation, per dropping direction (first flow). */
  reasons: string[];
  /** Up to 3 pod names Hubble reported on each side. */
  sourcePods: string[];
  destinationPods: string[];
  /** Up to 10 addresses / DNS names of world peers. */
  sourceIps: string[];
  destinationIps: string[];
  destinationNames: string[];
  suggestion: ReplaySuggestion;
}

export interface ReplayTotals {
  linesRead: number;
  blankLines: number;
  /** Lines that are not JSON objects. */
  invalidLines: number;
  /** Non-flow responses (lost_events, node_status, ...) by kind. */
  events: Record<string, number>;
  /** Lines holding a flow (judged + replies + skipped). */
  flows: number;
  /** Reply packets: not judged, they follow their connection. */
  replies: number;
  /** Of the replies, those Hubble did not mark (no is_reply / reply): guessed from TCP flags, ICMP type or ports. */
  repliesGuessed: number;
  judged: number;
  allowed: number;
  wouldDrop: number;
  skipped: number;
  skippedByReason: Record<string, number>;
  /** Every flow by Hubble's verdict. */
  hubbleVerdicts: Record<string, number>;
  /** Of the would-drop flows, how many Hubble marked AUDIT / DROPPED itself. */
  wouldDropHubbleAudit: number;
  wouldDropHubbleDropped: number;
  /** Judged flows Hubble marked AUDIT or DROPPED that the stack allows (fixed by the stack, or not a policy drop). */
  hubbleDropsAllowed: number;
}

export interface ReplayNodeMapping {
  hubble: string;
  node: string;
  how: "exact" | "nodeMap" | "first worker";
}

export interface ReplayReport {
  source: string;
  totals: ReplayTotals;
  nodes: ReplayNodeMapping[];
  /** Would-drop groups, most flows first. */
  groups: ReplayGroup[];
  /** Pod endpoints added from Hubble labels, world endpoints added for addresses policies tell apart. */
  endpoints: { pods: number; externals: number };
  notes: string[];
  /** The first lines that are not JSON objects (number and why), and the first of them, cut to 80 characters. */
  invalid: { samples: { line: number; why: string }[]; firstLine?: string };
}

export const PROGRESS_EVERY = 10_000;
/** kind's default pod and service subnets (kind.x-k8s.io/v1alpha4 networking defaults). */
export const KIND_CLUSTER_CIDRS = ["10.244.0.0/16", "10.96.0.0/16", "fd00:10:244::/56", "fd00:10:96::/112"];
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
const POD_NAMESPACE = "io.kubernetes.pod.namespace";
const NS_LABELS_PREFIX = "io.cilium.k8s.namespace.labels.";
const SERVICE_ACCOUNT = "io.cilium.k8s.policy.serviceaccount";
const CLUSTER = "io.cilium.k8s.policy.cluster";
const MAX_SAMPLES = 3;
const MAX_PEERS = 10;
const MAX_CACHE = 500_000;

// ------------------------------------------------------------------------------------------------------
// Endpoint classes
// ------------------------------------------------------------------------------------------------------

interface EpInfo {
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

interface Skip {
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

interface NodeCtx {
  node: TopologyNode;
  remote?: EpInfo;
  apiServer?: EpInfo;
  /** Classified label sets by security identity (or by joined labels when Hubble gave no identity). */
  cache: Map<number | string, CacheEntry[]>;
}

// ------------------------------------------------------------------------------------------------------
// Groups
// ------------------------------------------------------------------------------------------------------

interface GroupAcc {
  key: string;
  src: EpInfo;
  dst: EpInfo;
  protocol: FlowProtocol;
  port?: number;
  icmpType?: number;
  portText: string;
  count: number;
  firstMs: number;
  lastMs: number;
  first?: string;
  last?: string;
  directions: Set<Direction>;
  hubble: Record<string, number>;
  deniedBy: Set<string>;
  /** Directions dropped by deny rules (an allow rule cannot fix them). */
  deniedDirections: Set<Direction>;
  reasons: Set<string>;
  dnsQuery?: string;
  dnsProxyRefused: boolean;
  srcPods: Set<string>;
  dstPods: Set<string>;
  srcIps: Set<string>;
  dstIps: Set<string>;
  dnsNames: Set<string>;
  /** A world peer without address / name, or more than MAX_PEERS of them. */
  srcIpsIncomplete: boolean;
  dstIpsIncomplete: boolean;
  dnsNamesIncomplete: boolean;
}

type VerdictEntry = { drop: false } | { drop: true; group: GroupAcc };
const ALLOWED: VerdictEntry = { drop: false };

function inc(m: Record<string, number>, k: string): void {
  m[k] = (m[k] ?? 0) + 1;
}

function addBounded(set: Set<string>, v: string | undefined, max: number): boolean {
  if (v === undefined) return false;
  if (set.size < max || set.has(v)) {
    set.add(v);
    return true;
  }
  return false;
}

const portText = (protocol: FlowProtocol, port?: number, icmpType?: number): string =>
  protocol === "ICMP" || protocol === "ICMPv6"
    ? `${protocol} type ${icmpType ?? 0}`
    : `${port ?? 0}/${protocol}`;

const refText = (r: PolicyRef): string => (r.namespace ? `${r.namespace}/${r.name}` : r.name);

/** The flow's `"verdict":` value read from the raw line (a name, or an enum number). */
function verdictIn(text: string): string {
  const at = text.indexOf('"verdict":');
  if (at < 0) return "VERDICT_UNKNOWN";
  const from = at + '"verdict":'.length;
  if (text.charCodeAt(from) === 34 /* " */) {
    const end = text.indexOf('"', from + 1);
    return end < 0 ? "VERDICT_UNKNOWN" : text.slice(from + 1, end);
  }
  const v = parseInt(text.slice(from, from + 3), 10);
  return (Number.isNaN(v) ? undefined : verdictName(v)) ?? "VERDICT_UNKNOWN";
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

// ------------------------------------------------------------------------------------------------------
// The replayer
// ------------------------------------------------------------------------------------------------------

/** Replays flows one line at a time; `replay()` feeds it from a stream. */
export class Replayer {
  private readonly totals: ReplayTotals = {
    linesRead: 0,
    blankLines: 0,
    invalidLines: 0,
    events: {},
    flows: 0,
    replies: 0,
    repliesGuessed: 0,
    judged: 0,
    allowed: 0,
    wouldDrop: 0,
    skipped: 0,
    skippedByReason: {},
    hubbleVerdicts: {},
    wouldDropHubbleAudit: 0,
    wouldDropHubbleDropped: 0,
    hubbleDropsAllowed: 0,
  };
  private engine!: PolicyEngine;
  private readonly nodeNames: string[];
  private readonly userNamespaces: Set<string>;
  private readonly infraNs: Set<string>;
  private readonly stackNsLabels = new Map<string, Record<string, string>>();
  private readonly firstWorker: TopologyNode;
  private readonly nodeCtx = new Map<string, NodeCtx>();
  private readonly nodeMappings: ReplayNodeMapping[] = [];
  private readonly hostInfo = new Map<string, EpInfo>();
  /** Endpoints without labels, by identity and address. */
  private readonly epCache = new Map<string, EpInfo | Skip>();
  private readonly pods = new Map<string, EpInfo>();
  private readonly addedPods: Endpoint[] = [];
  private readonly verdicts = new Map<string, VerdictEntry>();
  private readonly groups = new Map<string, GroupAcc>();
  // World addresses: those with the same signature (family + the policy CIDRs containing them) are
  // indistinguishable to policy and share one engine endpoint.
  private readonly worldCidrs: Cidr[];
  private readonly jumphosts: { cidr: Cidr; text: string }[];
  private readonly clusterRanges: Cidr[];
  private readonly localRanges = cidrs(LOCAL_CIDRS);
  private readonly sigToWorld = new Map<string, string>();
  private readonly worldByIp = new Map<string, EpInfo>();
  private readonly worldInfo = new Map<string, EpInfo>();
  private readonly extraExternals: TopologyExternal[] = [];
  private readonly parser = new HubbleLineParser();
  private readonly invalid: ReplayReport["invalid"] = { samples: [] };
  private nextPod = 0;
  private cachedLabelSets = 0;

  constructor(
    private readonly inputs: CastleInputs,
    private readonly opts: ReplayOptions = {},
  ) {
    const t = inputs.topology;
    if (t.nodes.length === 0) throw new Error(`${inputs.source}: the topology has no nodes`);
    this.nodeNames = t.nodes.map((n) => n.name);
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
    this.buildEngine();
  }

  private buildEngine(): void {
    const t = this.inputs.topology;
    const topology: Topology = { ...t, externals: [...t.externals, ...this.extraExternals] };
    this.engine = new PolicyEngine(this.inputs.policies, topology, {
      auditMode: false,
      hostFirewall: this.inputs.hostFirewall ?? true,
    });
    for (const p of this.addedPods) this.engine.addPod(p, this.nodeNames);
  }

  /** Feeds one line of `hubble observe -o json`. */
  line(text: string): void {
    const n = ++this.totals.linesRead;
    if (n % PROGRESS_EVERY === 0 && this.opts.progress) this.opts.progress(n);
    if (this.reply(text)) return;
    const p = this.parser.parse(text);
    switch (p.kind) {
      case "flow":
        this.flow(p.flow);
        return;
      case "blank":
        this.totals.blankLines++;
        return;
      case "invalid":
        this.totals.invalidLines++;
        if (this.invalid.samples.length < INVALID_SAMPLES)
          this.invalid.samples.push({ line: n, why: p.reason });
        if (this.invalid.firstLine === undefined) this.invalid.firstLine = text.slice(0, 80);
        return;
      case "event":
        inc(this.totals.events, p.event);
        return;
      case "unsupported":
        this.totals.flows++;
        inc(this.totals.hubbleVerdicts, p.verdict ?? "VERDICT_UNKNOWN");
        this.skip(p.reason);
    }
  }

  /**
   * Replies are only counted, so a line that says so in Hubble's own words is not parsed: `"is_reply":true`
   * (or the older `"reply":true` without is_reply). Inside JSON strings quotes are escaped, so the bare
   * key can only be a field; Flow has no nested is_reply/reply/verdict fields. Its verdict is read in place.
   */
  private reply(text: string): boolean {
    if (text.lastIndexOf('"is_reply":true') < 0) {
      if (text.indexOf('"reply":true') < 0 || text.indexOf('"is_reply":') >= 0) return false;
    }
    const t = this.totals;
    t.flows++;
    t.replies++;
    inc(t.hubbleVerdicts, verdictIn(text));
    return true;
  }

  private skip(reason: string): void {
    this.totals.skipped++;
    inc(this.totals.skippedByReason, reason);
  }

  /** Judges one normalized flow. */
  flow(f: ReplayFlow): void {
    const t = this.totals;
    t.flows++;
    const hv = f.verdict ?? "VERDICT_UNKNOWN";
    inc(t.hubbleVerdicts, hv);
    if (f.isReply) {
      t.replies++;
      if (f.replySource !== "is_reply" && f.replySource !== "reply") t.repliesGuessed++;
      return;
    }
    const ctx = this.node(f.node);
    const src = this.resolve(f.src, ctx);
    if ("skip" in src) return this.skip(src.skip);
    let dst = this.resolve(f.dst, ctx);
    if ("skip" in dst) return this.skip(dst.skip);
    if (src.kind === "world" && dst.kind === "world") return this.skip("no cluster endpoint on either side");
    if (src === dst && src.kind === "pod" && this.differentPods(f.src, f.dst)) dst = this.twin(src);

    const dnsName = dst.kind === "world" ? f.dnsName : undefined;
    const key = `${src.id}\x01${dst.id}\x01${f.protocol}\x01${f.port ?? f.icmpType}\x01${dnsName ?? ""}\x01${f.dnsQuery ?? ""}`;
    let v = this.verdicts.get(key);
    if (v === undefined) {
      v = this.judge(f, src, dst, dnsName);
      if (this.verdicts.size >= MAX_CACHE) this.verdicts.clear();
      this.verdicts.set(key, v);
    }
    t.judged++;
    if (!v.drop) {
      t.allowed++;
      if (hv === "DROPPED" || hv === "AUDIT") t.hubbleDropsAllowed++;
      return;
    }
    t.wouldDrop++;
    if (hv === "AUDIT") t.wouldDropHubbleAudit++;
    else if (hv === "DROPPED") t.wouldDropHubbleDropped++;
    const g = v.group;
    g.count++;
    inc(g.hubble, hv);
    if (f.time !== undefined) {
      const ms = Date.parse(f.time);
      if (!Number.isNaN(ms)) {
        if (ms < g.firstMs) {
          g.firstMs = ms;
          g.first = f.time;
        }
        if (ms > g.lastMs) {
          g.lastMs = ms;
          g.last = f.time;
        }
      }
    }
    addBounded(g.srcPods, f.src.podName, MAX_SAMPLES);
    addBounded(g.dstPods, f.dst.podName, MAX_SAMPLES);
    if (src.kind === "world" && !addBounded(g.srcIps, f.src.ip, MAX_PEERS)) g.srcIpsIncomplete = true;
    if (dst.kind === "world") {
      if (!addBounded(g.dstIps, f.dst.ip, MAX_PEERS)) g.dstIpsIncomplete = true;
      if (!addBounded(g.dnsNames, dnsName, MAX_PEERS)) g.dnsNamesIncomplete = true;
    }
  }

  private differentPods(a: EndpointRef, b: EndpointRef): boolean {
    if (a.podName !== undefined && b.podName !== undefined) return a.podName !== b.podName;
    return a.ip !== undefined && b.ip !== undefined && a.ip !== b.ip;
  }

  /** A second endpoint with the same identity: two replicas talking are judged, unlike a pod and itself. */
  private twin(e: EpInfo): EpInfo {
    if (e.twin) return e.twin;
    const endpoint: Endpoint = { ...(e.endpoint as Endpoint), id: `${e.id}~peer` };
    this.addPod(endpoint);
    e.twin = { ...e, id: endpoint.id, endpoint };
    return e.twin;
  }

  private addPod(p: Endpoint): void {
    this.engine.addPod(p, this.nodeNames);
    this.addedPods.push(p);
  }

  private judge(f: ReplayFlow, src: EpInfo, dst: EpInfo, dnsName: string | undefined): VerdictEntry {
    const v: Verdict = this.engine.evaluate({
      from: src.id,
      to: dst.id,
      protocol: f.protocol,
      port: f.port,
      icmpType: f.icmpType,
      dnsName,
      dnsQuery: f.dnsQuery,
    });
    if (v.verdict === "allowed") return ALLOWED;
    const pt = portText(f.protocol, f.port, f.icmpType);
    const gkey = `${src.cls}\x01${dst.cls}\x01${pt}`;
    let g = this.groups.get(gkey);
    if (!g) {
      g = {
        key: gkey,
        src,
        dst,
        protocol: f.protocol,
        port: f.port,
        icmpType: f.icmpType,
        portText: pt,
        count: 0,
        firstMs: Infinity,
        lastMs: -Infinity,
        directions: new Set(),
        hubble: {},
        deniedBy: new Set(),
        deniedDirections: new Set(),
        reasons: new Set(),
        dnsProxyRefused: false,
        srcPods: new Set(),
        dstPods: new Set(),
        srcIps: new Set(),
        dstIps: new Set(),
        dnsNames: new Set(),
        srcIpsIncomplete: false,
        dstIpsIncomplete: false,
        dnsNamesIncomplete: false,
      };
      this.groups.set(gkey, g);
    }
    for (const d of v.decidedBy) {
      g.directions.add(d);
      const r = v[d];
      if (g.reasons.size < MAX_SAMPLES) g.reasons.add(`${d}: ${r.reason}`);
      if (r.reason.startsWith("DNS proxy refused")) {
        g.dnsProxyRefused = true;
        g.dnsQuery ??= f.dnsQuery;
      } else if (r.deniedBy.length > 0) {
        g.deniedDirections.add(d);
        for (const p of r.deniedBy) g.deniedBy.add(refText(p));
      }
    }
    return { drop: true, group: g };
  }

  // ----------------------------------------------------------------------------------------------------
  // Nodes
  // ----------------------------------------------------------------------------------------------------

  private node(hubbleName: string | undefined): NodeCtx {
    const name = hubbleName ?? "";
    const hit = this.nodeCtx.get(name);
    if (hit) return hit;
    const short = name.includes("/") ? name.slice(name.lastIndexOf("/") + 1) : name;
    const mapped = this.opts.nodeMap?.[name] ?? this.opts.nodeMap?.[short];
    const nodes = this.inputs.topology.nodes;
    let node = mapped !== undefined ? nodes.find((n) => n.name === mapped) : undefined;
    let how: ReplayNodeMapping["how"] = "nodeMap";
    if (mapped !== undefined && !node) {
      throw new Error(`nodeMap: ${name} -> ${mapped}, which is not a node of ${this.inputs.source}`);
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
  private resolve(ref: EndpointRef, ctx: NodeCtx): EpInfo | Skip {
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

  nsLayer(ns: string): { layer: ReplayLayer; known: boolean } {
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
      if (k === POD_NAMESPACE) ns ??= v;
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
      this.buildEngine();
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

  // ----------------------------------------------------------------------------------------------------
  // Report
  // ----------------------------------------------------------------------------------------------------

  report(): ReplayReport {
    // Suggested policy names are unique per kind and namespace, so that applying them all adds them all.
    const usedNames = new Set<string>();
    const groups = [...this.groups.values()]
      .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((g) => this.group(g, usedNames));
    const notes: string[] = [];
    for (const m of this.nodeMappings) {
      if (m.how === "first worker") {
        notes.push(
          `Hubble node ${m.hubble} is not a node of ${this.inputs.source}: its host traffic is judged as ${m.node} (the first worker); map it with --node-map ${m.hubble}=<node>`,
        );
      }
    }
    if (this.inputs.auditMode) {
      notes.push("the stack runs in policy audit mode: flows are judged as if enforced (audit mode off)");
    }
    return {
      source: this.inputs.source,
      totals: structuredClone(this.totals),
      nodes: [...this.nodeMappings],
      groups,
      endpoints: { pods: this.addedPods.length, externals: this.extraExternals.length },
      notes,
      invalid: structuredClone(this.invalid),
    };
  }

  private group(g: GroupAcc, usedNames: Set<string>): ReplayGroup {
    const directions = (["egress", "ingress"] as const).filter((d) => g.directions.has(d));
    // Ingress drops belong to the destination's layer; egress-only drops to the source's.
    const layer: ReplayLayer = (g.directions.has("ingress") ? g.dst.layer : g.src.layer) ?? "node";
    const out: ReplayGroup = {
      source: g.src.cls,
      destination: g.dst.cls,
      port: g.portText,
      protocol: g.protocol,
      count: g.count,
      layer,
      directions,
      hubbleVerdicts: { ...g.hubble },
      deniedBy: [...g.deniedBy].sort(),
      reasons: [...g.reasons],
      sourcePods: [...g.srcPods],
      destinationPods: [...g.dstPods],
      sourceIps: [...g.srcIps],
      destinationIps: [...g.dstIps],
      destinationNames: [...g.dnsNames],
      suggestion: this.suggest(g, directions, usedNames),
    };
    if (g.port !== undefined) out.portNumber = g.port;
    if (g.icmpType !== undefined) out.icmpType = g.icmpType;
    if (g.first !== undefined) out.firstTime = g.first;
    if (g.last !== undefined) out.lastTime = g.last;
    return out;
  }

  // ----------------------------------------------------------------------------------------------------
  // Suggestions
  // ----------------------------------------------------------------------------------------------------

  private suggest(g: GroupAcc, directions: Direction[], usedNames: Set<string>): ReplaySuggestion {
    const notes: string[] = [];
    const policies: CiliumPolicyObject[] = [];
    const what = `${g.src.cls} to reach ${g.dst.cls} on ${g.portText}`;
    const description = `Allow ${what} (castle replay: ${g.count} flow${g.count === 1 ? "" : "s"} seen by Hubble)`;
    if (g.deniedBy.size > 0) {
      notes.push(
        `deny rules drop it (${[...g.deniedBy].sort().join(", ")}): deny wins over allow, so no allow rule fixes it; change those policies if the flow is wanted`,
      );
    }
    for (const d of directions) {
      if (g.deniedDirections.has(d)) continue;
      const subject = d === "ingress" ? g.dst : g.src;
      const peer = d === "ingress" ? g.src : g.dst;
      const layer = subject.kind === "host" ? "node" : (subject.layer ?? "user");
      const sectionRule =
        d === "ingress"
          ? this.ingressRule(g, peer, subject, notes)
          : this.egressRule(g, peer, subject, notes);
      const spec: Rule & { description: string } = {
        description: `${description}: ${d} at ${subject.cls}`,
        ...(subject.kind === "host"
          ? { nodeSelector: this.nodeSelector(subject, notes) }
          : { endpointSelector: this.podSelector(subject, false) }),
        ...(d === "ingress"
          ? { ingress: [sectionRule as IngressRule] }
          : { egress: [sectionRule as EgressRule] }),
      };
      const base = policyName(g, d, directions.length > 1);
      const scope = subject.kind === "host" ? "" : (subject.namespace as string);
      let name = base;
      for (let i = 2; usedNames.has(`${scope}/${name}`); i++)
        name = `${base.slice(0, 60 - String(i).length).replace(/-+$/, "")}-${i}`;
      usedNames.add(`${scope}/${name}`);
      policies.push(
        subject.kind === "host"
          ? {
              apiVersion: "cilium.io/v2",
              kind: "CiliumClusterwideNetworkPolicy",
              metadata: { name, labels: { [LAYER_LABEL]: layer } },
              spec,
            }
          : {
              apiVersion: "cilium.io/v2",
              kind: "CiliumNetworkPolicy",
              metadata: { name, namespace: subject.namespace, labels: { [LAYER_LABEL]: layer } },
              spec,
            },
      );
      this.layerNotes(g, d, subject, peer, layer, notes);
    }
    if (g.port === 0 && (g.protocol === "TCP" || g.protocol === "UDP" || g.protocol === "SCTP")) {
      notes.push(`Hubble printed no destination port: port "0" opens every ${g.protocol} port; narrow it`);
    }
    return {
      description: `Allow ${what}`,
      policies,
      yaml: policies.map((p) => YAML.stringify(p, { lineWidth: 0 })).join("---\n"),
      notes: [...new Set(notes)],
    };
  }

  private l4(g: GroupAcc): Pick<IngressRule, "toPorts" | "icmps"> {
    if (g.protocol === "ICMP" || g.protocol === "ICMPv6") {
      return {
        icmps: [{ fields: [{ type: g.icmpType ?? 0, family: g.protocol === "ICMP" ? "IPv4" : "IPv6" }] }],
      };
    }
    const rules =
      g.dnsProxyRefused && g.dnsQuery !== undefined ? { rules: { dns: [{ matchName: g.dnsQuery }] } } : {};
    return { toPorts: [{ ports: [{ port: String(g.port ?? 0), protocol: g.protocol }], ...rules }] };
  }

  private podSelector(e: EpInfo, withNamespace: boolean): LabelSelector {
    const matchLabels: Record<string, string> = {};
    for (const [k, v] of Object.entries(e.classLabels ?? {})) matchLabels[`k8s:${k}`] = v;
    if (withNamespace) matchLabels[`k8s:${POD_NAMESPACE}`] = e.namespace ?? "default";
    return Object.keys(matchLabels).length > 0 ? { matchLabels } : {};
  }

  private nodeSelector(host: EpInfo, notes: string[]): LabelSelector {
    const node = this.inputs.topology.nodes.find((n) => n.name === host.node) as TopologyNode;
    if (node.role === "control-plane") return { matchLabels: { [CONTROL_PLANE_ROLE_LABEL]: "" } };
    if (node.role === "infra") return { matchLabels: { [INFRA_ROLE_LABEL]: "" } };
    notes.push("the nodeSelector selects every worker node (neither control-plane nor infra)");
    return {
      matchExpressions: [
        { key: CONTROL_PLANE_ROLE_LABEL, operator: "DoesNotExist" },
        { key: INFRA_ROLE_LABEL, operator: "DoesNotExist" },
      ],
    };
  }

  /** The entity a host peer is to the subject's agent: host (same node), kube-apiserver, remote-node. */
  private hostEntity(peer: EpInfo, subject: EpInfo): string {
    const labels = this.engine.identityLabels(peer.id, subject.node);
    if (labels.includes("reserved:host")) return "host";
    if (labels.includes("reserved:kube-apiserver")) return "kube-apiserver";
    return "remote-node";
  }

  private worldPeer(
    notes: string[],
    ips: Set<string>,
    ipsIncomplete: boolean,
    names?: Set<string>,
    namesIncomplete = true,
  ): { cidrs?: string[]; fqdns?: string[]; entities?: string[] } {
    if (names && names.size > 0 && !namesIncomplete) {
      // Every flow carried a destination name: toFQDNs (the castle's global-infra-dns sends DNS through the
      // proxy, which is what makes toFQDNs work).
      return { fqdns: [...names].sort() };
    }
    if (ips.size > 0 && !ipsIncomplete) {
      return { cidrs: [...ips].sort().map((ip) => `${ip}/${ip.includes(":") ? 128 : 32}`) };
    }
    notes.push(
      `more than ${MAX_PEERS} (or address-less) world peers: the rule uses the world entity; narrow it to CIDRs or FQDNs`,
    );
    return { entities: ["world"] };
  }

  private ingressRule(g: GroupAcc, peer: EpInfo, subject: EpInfo, notes: string[]): IngressRule {
    const rule: IngressRule = {};
    if (peer.kind === "pod") rule.fromEndpoints = [this.podSelector(peer, true)];
    else if (peer.kind === "host") rule.fromEntities = [this.hostEntity(peer, subject)];
    else {
      const w = this.worldPeer(notes, g.srcIps, g.srcIpsIncomplete);
      if (w.cidrs) rule.fromCIDR = w.cidrs;
      else rule.fromEntities = w.entities;
    }
    return { ...rule, ...this.l4(g) };
  }

  private egressRule(g: GroupAcc, peer: EpInfo, subject: EpInfo, notes: string[]): EgressRule {
    const rule: EgressRule = {};
    if (peer.kind === "pod") rule.toEndpoints = [this.podSelector(peer, true)];
    else if (peer.kind === "host") rule.toEntities = [this.hostEntity(peer, subject)];
    else {
      const w = this.worldPeer(notes, g.dstIps, g.dstIpsIncomplete, g.dnsNames, g.dnsNamesIncomplete);
      if (w.fqdns) rule.toFQDNs = w.fqdns.map((n) => ({ matchName: n.replace(/\.$/, "") }));
      else if (w.cidrs) rule.toCIDR = w.cidrs;
      else rule.toEntities = w.entities;
    }
    return { ...rule, ...this.l4(g) };
  }

  private layerNotes(
    g: GroupAcc,
    d: Direction,
    subject: EpInfo,
    peer: EpInfo,
    layer: ReplayLayer,
    notes: string[],
  ): void {
    if (subject.kind === "pod") {
      const ns = subject.namespace as string;
      if (!subject.nsKnown) {
        notes.push(
          `namespace ${ns} is not in ${this.inputs.source}: onboard it (userNamespaces) to get its allow-within-namespace, or give it an infra role`,
        );
      }
      if (Object.keys(subject.classLabels ?? {}).length === 0) {
        notes.push(
          `Hubble reported no labels for pods in ${ns}: the selector matches every pod of the namespace; narrow it`,
        );
      }
      if (layer === "user") {
        const crossNs = peer.kind === "pod" && peer.namespace !== ns;
        if (peer.kind !== "pod" || crossNs) {
          notes.push(
            `the policy pack's user-namespace-walls refuses ${peer.kind === "pod" ? "selectors reaching other namespaces" : peer.kind === "world" ? "CIDR, FQDN and entity peers" : "entity peers"} in user namespace policies: if the path is wanted it belongs to the infra layer (an infra role), otherwise it stays dropped`,
          );
        }
      }
      if (layer === "infra") {
        notes.push(
          "infra paths are infra roles in the castle (cilium-castle:infraRoles): make it a role entry if it is permanent",
        );
      }
    } else {
      notes.push(
        "host policies belong to the node layer (components/layers/node), which records the audit-mode annotation the policy pack checks",
      );
      if (d === "ingress" && g.protocol === "TCP" && g.port === SSH) {
        notes.push(
          "the policy pack's no-open-ssh refuses SSH from outside the jumphost CIDRs: if the source is a jumphost, add it to cilium-castle:jumphostCidrs instead",
        );
      }
    }
    if (peer.kind === "pod" && Object.keys(peer.classLabels ?? {}).length === 0 && d !== "ingress") {
      notes.push(
        `Hubble reported no labels for pods in ${peer.namespace}: the peer selector matches every pod of the namespace`,
      );
    }
  }
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

function shortName(e: EpInfo): string {
  if (e.kind === "pod") {
    const v = Object.values(e.classLabels ?? {});
    return v.length > 0 ? v[0] : (e.namespace ?? "pods");
  }
  return e.cls.replace(/^host /, "");
}

/** A DNS-label-safe policy name, at most 63 characters. */
function policyName(g: GroupAcc, d: Direction, both: boolean): string {
  const port =
    g.protocol === "ICMP" || g.protocol === "ICMPv6"
      ? `${g.protocol}-${g.icmpType ?? 0}`
      : `${g.port ?? 0}-${g.protocol}`;
  const base = slug(`replay ${shortName(g.src)} to ${shortName(g.dst)} ${port}${both ? ` ${d}` : ""}`);
  if (base.length <= 63) return base;
  let h = 0;
  for (const c of g.key + d) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  return `${base.slice(0, 54).replace(/-+$/, "")}-${h.toString(16).padStart(8, "0")}`;
}

/**
 * Splits a stream into lines and hands each to `onLine`, holding no more than one chunk and one partial
 * line. Equivalent to readline.createInterface({ input, crlfDelay: Infinity }) (LF or CRLF line ends, a
 * last line without LF), but several times cheaper per line: readline alone costs about as much as
 * JSON.parse of a Hubble flow, this costs one Buffer.indexOf and one UTF-8 decode. Splitting bytes at 0x0A
 * is safe for UTF-8 (the byte never occurs inside a multi-byte sequence). The async iterator lets the
 * stream read the next chunk while this one is processed. Rejects on a stream error or when `onLine`
 * throws (the stream is then destroyed).
 */
export async function readLines(input: NodeJS.ReadableStream, onLine: (line: string) => void): Promise<void> {
  const emit = (line: string): void => onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
  let rest: Buffer | undefined;
  let restText = "";
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    if (typeof chunk === "string") {
      // A stream with an encoding set hands out strings.
      let i = 0;
      for (let j = chunk.indexOf("\n"); j >= 0; j = chunk.indexOf("\n", i)) {
        const part = chunk.slice(i, j);
        if (restText !== "") {
          emit(restText + part);
          restText = "";
        } else emit(part);
        i = j + 1;
      }
      if (i < chunk.length) restText += chunk.slice(i);
      continue;
    }
    let i = 0;
    let j = chunk.indexOf(10);
    if (j >= 0 && rest) {
      emit(Buffer.concat([rest, chunk.subarray(0, j)]).toString("utf8"));
      rest = undefined;
      i = j + 1;
      j = chunk.indexOf(10, i);
    }
    for (; j >= 0; j = chunk.indexOf(10, i)) {
      emit(chunk.toString("utf8", i, j));
      i = j + 1;
    }
    if (i < chunk.length) {
      // Copied: the stream may reuse its buffer.
      const tail = Buffer.from(chunk.subarray(i));
      rest = rest ? Buffer.concat([rest, tail]) : tail;
    }
  }
  if (rest && rest.length > 0) emit(rest.toString("utf8"));
  else if (restText !== "") emit(restText);
}

const INVALID_SAMPLES = 5;

/** Input that is not `hubble observe -o json` output: replaying it would answer "nothing dropped". */
export class ReplayInputError extends Error {}

/** Refuses a capture with no flow, or with too many lines that are not flows (more than 1%, and 10). */
export function checkReplayInput(r: ReplayReport, what = "the input"): void {
  const t = r.totals;
  const form =
    "castle replay reads `hubble observe -o json` output: one JSON object per line (GetFlowsResponse), e.g. hubble observe -o json --last 10000 > flows.json";
  // Printable and short: a binary file's bytes would garble the terminal.
  const clean = (x: string): string => {
    const c = x.replace(/[^\x20-\x7e]/g, "?");
    return c.length > 70 ? `${c.slice(0, 67)}...` : c;
  };
  const samples = r.invalid.samples
    .slice(0, 3)
    .map((s) => `line ${s.line}: ${clean(s.why)}`)
    .join("; ");
  const lines = `${n(t.linesRead)} line${t.linesRead === 1 ? "" : "s"}`;
  if (t.linesRead === 0 || t.linesRead === t.blankLines)
    throw new ReplayInputError(`${what} is empty. ${form}.`);
  if (t.flows === 0) {
    const first = (r.invalid.firstLine ?? "").trim();
    const binary = [...first].filter((ch) => !/[\x20-\x7e]/.test(ch)).length > first.length / 10;
    const hint = binary
      ? "It is not text: a binary file, or compressed otherwise than with gzip."
      : first === "[" || first.startsWith("[{") || first.startsWith("[ {")
        ? "It holds a JSON array: turn it into one object per line with jq -c '.[]', or capture with -o json (not jsonpb)."
        : first === "{" || /^"\w+":/.test(first)
          ? "It holds pretty-printed JSON (one object over many lines, as jq . prints it): print one object per line with jq -c ., or capture with -o json directly."
          : "";
    throw new ReplayInputError(
      `${what} holds no Hubble flow (${lines}${samples ? `; ${samples}` : ""}). ${hint ? `${hint} ` : ""}${form}.`,
    );
  }
  if (t.invalidLines > 10 && t.invalidLines > t.linesRead / 100)
    throw new ReplayInputError(
      `${what}: ${n(t.invalidLines)} of ${lines} are not JSON objects (${samples}). ${form}.`,
    );
}

/**
 * A gzip-compressed capture (hubble observe -o json | gzip) is read as is: the first two bytes decide
 * (RFC 1952's magic 1f 8b), so plain text passes through untouched.
 */
export function gunzipIfNeeded(input: NodeJS.ReadableStream): NodeJS.ReadableStream {
  const out = new PassThrough();
  const fail = (e: Error): void => void out.destroy(e);
  input.once("error", fail);
  const empty = (): void => void out.end();
  input.once("end", empty);
  input.once("data", (chunk: Buffer | string) => {
    input.pause();
    input.removeListener("end", empty);
    const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) {
      const gunzip = createGunzip();
      gunzip.once("error", (e) => fail(new ReplayInputError(`the gzip stream is broken: ${e.message}`)));
      gunzip.pipe(out);
      gunzip.write(b);
      input.pipe(gunzip);
    } else {
      out.write(b);
      input.pipe(out);
    }
    input.resume();
  });
  return out;
}

/**
 * Replays `hubble observe -o json` lines from a stream against a stack's policies, as if enforced.
 * Reads line by line and keeps only aggregates.
 */
export async function replay(
  input: NodeJS.ReadableStream,
  inputs: CastleInputs,
  opts: ReplayOptions = {},
): Promise<ReplayReport> {
  const r = new Replayer(inputs, opts);
  await readLines(gunzipIfNeeded(input), (line) => r.line(line));
  return r.report();
}

/** Replays lines already in memory (tests, small captures). */
export function replayLines(
  lines: Iterable<string>,
  inputs: CastleInputs,
  opts: ReplayOptions = {},
): ReplayReport {
  const r = new Replayer(inputs, opts);
  for (const l of lines) r.line(l);
  return r.report();
}

// ------------------------------------------------------------------------------------------------------
// Formatting
// ------------------------------------------------------------------------------------------------------

const n = (x: number): string => x.toLocaleString("en-US");
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
