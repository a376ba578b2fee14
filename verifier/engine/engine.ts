// PolicyEngine: evaluates flows against a set of Cilium policies over a small cluster topology, offline.
//
// Model (Cilium >= 1.16, https://docs.cilium.io/en/stable/security/policy/):
//   - A flow passes when egress at the source (a pod, or a host when the host firewall is on) and ingress
//     at the destination both allow it ("policy must be configured on both sides (sender and receiver)",
//     https://docs.cilium.io/en/stable/security/policy/language/#endpoints-based). Externals (world) have
//     no policy of their own.
//   - Each side judges the peer by the identity it sees: pods by their labels; the node the endpoint runs
//     on as reserved:host, other nodes as reserved:remote-node (plus reserved:kube-apiserver where the API
//     server runs); everything else as reserved:world + its addresses.
//   - Replies follow the connection tracking entry of the connection they belong to: only the initiating
//     direction is judged, so a flow with isReply is allowed (bpf/bpf_lxc.c: "Skip policy enforcement for
//     return traffic. if (ct_status == CT_REPLY || ct_status == CT_RELATED) ... goto
//     skip_policy_enforcement").
//   - Traffic of an endpoint to itself is not judged (bpf/bpf_lxc.c: "When an endpoint connects to itself
//     via service clusterIP, we need to skip the policy enforcement"; a host talking to itself stays on
//     the loopback device, where the host firewall is not attached).
//   - Policy audit mode turns datapath drops into AUDIT verdicts (bpf/lib/policy.h policy_can_ingress /
//     policy_can_egress: `#ifdef POLICY_AUDIT_MODE if (IS_ERR(ret)) { ret = CTX_ACT_OK; *audited = 1; }`),
//     deny rules included. The DNS proxy is not part of the datapath and keeps refusing queries its rules
//     do not allow (L7 proxies keep enforcing in audit mode, cilium/cilium#30073).
//
// Performance: selectors are compiled once; rules are indexed by namespace like the agent's repository
// (pkg/policy/repository.go rulesByNamespace); per subject identity and direction the selecting rules are
// cached, and per (subject, direction, peer identity) the L3-matching entries are cached, so a flow costs
// an L4 scan over a handful of entries.

import { Cidr, cidrContains, parseCidr } from "../../lib/net/cidr";
import { AUTH_TYPES, CompiledEntry, CompiledRule, compilePolicies, L7, PortMatch, refText } from "./compile";
import {
  LabelSet,
  localHostIdentityLabels,
  podIdentityLabels,
  remoteNodeIdentityLabels,
  worldIdentityLabels,
} from "./labels";
import type {
  CiliumPolicyObject,
  Direction,
  DirectionResult,
  Endpoint,
  EngineOptions,
  Flow,
  PolicyRef,
  Topology,
  Verdict,
} from "./types";

interface Ep {
  id: string;
  kind: "pod" | "host" | "world";
  node?: string;
  namespace?: string;
  /** Addresses (/32, /128) and ranges, for CIDR selectors. */
  addrs: Cidr[];
  families: Set<4 | 6>;
  /** Pods: identity labels. Hosts: the local host identity (also the nodeSelector subject). */
  labels: LabelSet;
  kubeApiServer: boolean;
  namedPorts: Record<string, number>;
  endpoint: Endpoint;
  /** "pod ns/name", "host w1", "world internet", for reasons. */
  text: string;
  /** Peer identities of this endpoint by observing node. */
  peers: Map<string, PeerId>;
  subjectPolicy?: SubjectPolicy;
}

interface PeerId {
  /** Identity key: equal keys are indistinguishable to policy. */
  key: string;
  /** The key interned to a small number, for cache lookups. */
  num: number;
  labels: LabelSet;
  ep: Ep;
  /** A host endpoint seen from its own node (reserved:host). */
  localHost: boolean;
  text: string;
}

interface DirPolicy {
  /** Some selecting rule has a section for this direction. */
  enabled: boolean;
  /** Some such rule leaves enableDefaultDeny on. */
  defaultDeny: boolean;
  /** Frozen: handed out in every verdict. */
  enforcedBy: PolicyRef[];
  enforcedText: string;
  allows: CompiledEntry[];
  denies: CompiledEntry[];
  /** L3 matches by peer identity number. */
  l3: Map<number, L3Match>;
}

interface SubjectPolicy {
  key: string;
  ingress: DirPolicy;
  egress: DirPolicy;
}

interface L3Match {
  allows: CompiledEntry[];
  denies: CompiledEntry[];
  /** Allow entries whose only chance is an FQDN peer: checked per flow (the name is a flow property). */
  fqdnAllows: CompiledEntry[];
}

interface DirOutcome {
  result: DirectionResult;
  /** The drop comes from the DNS proxy, not from the datapath (never audited). */
  proxyDrop: boolean;
  proxied?: "dns" | "http";
}

const MAX_L3_CACHE = 2_000_000;

export class PolicyEngine {
  /** Policies the agent would refuse, with the reason (they take no effect). */
  readonly rejected: { ref: PolicyRef; reason: string; by: "api-server" | "agent" }[];
  /** Human-readable problems found while loading (rejected policies, topology oddities). */
  readonly warnings: string[] = [];

  private readonly opts: Required<Omit<EngineOptions, "fqdnMap">>;
  private readonly clusterName: string;
  private readonly clusterwide: CompiledRule[] = [];
  private readonly byNamespace = new Map<string, CompiledRule[]>();
  private readonly eps = new Map<string, Ep>();
  private readonly fqdnEntries: { name: string; addrs: Cidr[] }[] = [];
  private readonly identityNums = new Map<string, number>();
  private readonly subjectCache = new Map<string, SubjectPolicy>();
  private l3Size = 0;

  constructor(policies: CiliumPolicyObject[], topology: Topology, opts: EngineOptions = {}) {
    this.opts = {
      auditMode: opts.auditMode ?? false,
      hostFirewall: opts.hostFirewall ?? true,
      allowLocalhost: opts.allowLocalhost ?? "always",
      policyCidrMatchMode: opts.policyCidrMatchMode ?? "",
      routingMode: opts.routingMode ?? "tunnel",
      tunnelPort: opts.tunnelPort ?? VXLAN_PORT,
      ciliumVersion: opts.ciliumVersion ?? "1.19",
      mutualAuth: opts.mutualAuth ?? false,
    };
    this.clusterName = topology.clusterName ?? "default";

    const compiled = compilePolicies(
      policies,
      this.clusterName,
      opts.ciliumVersion ?? "1.19",
      topology.services ?? [],
    );
    this.rejected = compiled.rejected;
    for (const r of compiled.rejected)
      this.warnings.push(
        `${refText(r.ref)} is refused by ${r.by === "api-server" ? "the API server (CRD schema)" : "the agent"} (it takes no effect): ${r.reason}`,
      );
    this.warnings.push(...compiled.unmodelled);
    for (const rule of compiled.rules) {
      if (rule.namespace === undefined) this.clusterwide.push(rule);
      else {
        const list = this.byNamespace.get(rule.namespace);
        if (list) list.push(rule);
        else this.byNamespace.set(rule.namespace, [rule]);
      }
    }

    this.loadTopology(topology);
    for (const [name, ips] of Object.entries(opts.fqdnMap ?? {})) {
      this.fqdnEntries.push({
        name,
        addrs: ips.map((ip) => this.addr(ip, `fqdnMap[${name}]`)).filter(isDefined),
      });
    }
  }

  // ------------------------------------------------------------------------------------------------
  // Topology
  // ------------------------------------------------------------------------------------------------

  private addr(text: string, where: string): Cidr | undefined {
    const c = parseCidr(text.includes("/") ? text : `${text}/${text.includes(":") ? 128 : 32}`);
    if (!c.ok) {
      this.warnings.push(`${where}: "${text}" is not an address or CIDR (${c.reason})`);
      return undefined;
    }
    return c;
  }

  private addEp(ep: Ep, ...aliases: string[]): void {
    for (const id of [ep.id, ...aliases]) {
      if (this.eps.has(id)) throw new Error(`topology: endpoint id "${id}" is used twice`);
      this.eps.set(id, ep);
    }
  }

  private loadTopology(t: Topology): void {
    const apiNodes = new Set(
      t.kubeApiServerNodes ?? t.nodes.filter((n) => n.role === "control-plane").map((n) => n.name),
    );
    for (const n of t.nodes) {
      const addrs = (n.ips ?? []).map((ip) => this.addr(ip, `node ${n.name}`)).filter(isDefined);
      const kubeApiServer = apiNodes.has(n.name);
      const endpoint: Endpoint = {
        id: n.name,
        kind: "host",
        labels: n.labels,
        node: n.name,
        ips: n.ips,
        nodeRole: n.role,
      };
      this.addEp(
        {
          id: n.name,
          kind: "host",
          node: n.name,
          addrs,
          families: families(addrs),
          labels: localHostIdentityLabels(n.labels, kubeApiServer),
          kubeApiServer,
          namedPorts: {},
          endpoint,
          text: `host ${n.name}`,
          peers: new Map(),
        },
        `host:${n.name}`,
      );
    }
    for (const p of t.pods)
      this.addPod(
        p,
        t.nodes.map((n) => n.name),
      );
    for (const x of t.externals) {
      const texts = [...(x.ip ? [x.ip] : []), ...(x.ips ?? []), ...(x.cidrs ?? [])];
      const addrs = texts.map((a) => this.addr(a, `external ${x.id}`)).filter(isDefined);
      const fam = families(addrs);
      this.addEp({
        id: x.id,
        kind: "world",
        addrs,
        families: fam,
        labels: worldIdentityLabels(fam, x.kubeApiServer ?? false),
        kubeApiServer: x.kubeApiServer ?? false,
        namedPorts: {},
        endpoint: { id: x.id, kind: "world", labels: {}, ips: texts },
        text: `world ${x.id}`,
        peers: new Map(),
      });
    }
    // A catch-all "world" peer (no address) unless the topology defines one.
    if (!this.eps.has("world")) {
      this.eps.set("world", {
        id: "world",
        kind: "world",
        addrs: [],
        families: new Set(),
        labels: worldIdentityLabels(new Set(), false),
        kubeApiServer: false,
        namedPorts: {},
        endpoint: { id: "world", kind: "world", labels: {} },
        text: "world",
        peers: new Map(),
      });
    }
  }

  /**
   * Adds a pod after construction, e.g. one seen in a Hubble flow. Selector caches are per endpoint, so
   * existing results stay valid. Ids must be unique.
   */
  addPod(
    p: Endpoint,
    knownNodes: string[] = [...this.eps.values()].filter((e) => e.kind === "host").map((e) => e.id),
  ): void {
    if (this.eps.has(p.id)) throw new Error(`endpoint "${p.id}" exists already`);
    const namespace = p.namespace ?? "default";
    const addrs = (p.ips ?? []).map((ip) => this.addr(ip, `pod ${p.id}`)).filter(isDefined);
    if (p.node !== undefined && !knownNodes.includes(p.node)) {
      this.warnings.push(`pod ${p.id} runs on unknown node "${p.node}"`);
    }
    this.addEp({
      id: p.id,
      kind: "pod",
      node: p.node,
      namespace,
      addrs,
      families: families(addrs),
      labels: podIdentityLabels({
        labels: p.labels,
        namespace,
        namespaceLabels: p.namespaceLabels,
        serviceAccount: p.serviceAccount,
        clusterName: this.clusterName,
      }),
      kubeApiServer: false,
      namedPorts: p.namedPorts ?? {},
      endpoint: { ...p, kind: "pod", namespace },
      // Ids such as pod:<ns>/web already name their namespace.
      text: p.id.includes("/") ? `pod ${p.id}` : `pod ${namespace}/${p.id}`,
      peers: new Map(),
    });
  }

  /** Whether an endpoint id is known. */
  has(id: string): boolean {
    return this.eps.has(id);
  }

  private ep(id: string): Ep {
    const e = this.eps.get(id);
    if (!e) throw new Error(`unknown endpoint "${id}"`);
    return e;
  }

  /** The endpoint behind an id (pods, node names / "host:<node>", externals, "world"). */
  endpoint(id: string): Endpoint {
    return this.ep(id).endpoint;
  }

  /**
   * The identity labels of an endpoint as the agent on `seenFromNode` sees it (default: its own node);
   * `towardPod` when it arrives at a pod there (a remote host arrives through the tunnel then).
   */
  identityLabels(id: string, seenFromNode?: string, towardPod = false): string[] {
    const e = this.ep(id);
    return this.peer(e, seenFromNode ?? e.node, towardPod).labels.toStrings();
  }

  /**
   * Peer identity of `e` as seen by the agent on `observer` (pkg/ipcache/metadata.go resolveIdentity):
   * the node's own host is reserved:host (with its labels), any other node reserved:remote-node.
   */
  private peer(e: Ep, observer: string | undefined, towardPod = false): PeerId {
    // In tunnel routing a host's packet to a pod on another node is encapsulated, and the sending node
    // writes reserved:remote-node into the tunnel key for anything from its host (bpf/lib/encap.h,
    // __encap_with_nodeid: "a packet originating from the local host is being considered as a packet from a
    // remote node"); the receiving node takes the identity from the tunnel, not from the ipcache, so the
    // kube-apiserver label never reaches the pod's policy. Host-to-host traffic is not encapsulated.
    const viaTunnel =
      towardPod && this.opts.routingMode === "tunnel" && e.kind === "host" && observer !== e.node;
    // Pods and world look the same from every node; only hosts depend on the observer.
    const cacheKey = e.kind === "host" ? `${observer ?? ""}${viaTunnel ? "|tunnel" : ""}` : "";
    const hit = e.peers.get(cacheKey);
    if (hit) return hit;
    let key: string;
    let labels = e.labels;
    let localHost = false;
    let text = e.text;
    if (e.kind === "pod") {
      key = `pod:${e.labels.id}`;
    } else if (e.kind === "host") {
      if (observer !== undefined && observer === e.node) {
        key = `host:${e.id}`;
        localHost = true;
        text = `${e.text} (reserved:host)`;
      } else {
        // With policy-cidr-match-mode=nodes every remote node gets its own identity (CIDR labels).
        labels = remoteNodeIdentityLabels(viaTunnel ? false : e.kubeApiServer);
        key =
          this.opts.policyCidrMatchMode === "nodes" && !viaTunnel ? `remote:${e.id}` : `remote:${labels.id}`;
        text = `${e.text} (${labels.toStrings().join("+")})`;
      }
    } else {
      key = `world:${e.id}`;
    }
    let num = this.identityNums.get(key);
    if (num === undefined) {
      num = this.identityNums.size;
      this.identityNums.set(key, num);
    }
    const p: PeerId = { key, num, labels, ep: e, localHost, text };
    e.peers.set(cacheKey, p);
    return p;
  }

  // ------------------------------------------------------------------------------------------------
  // Subject selection
  // ------------------------------------------------------------------------------------------------

  /**
   * The rules that select an endpoint, and what they switch on per direction. pkg/policy/repository.go
   * computePolicyEnforcementAndRules: cluster-wide rules plus the rules of the endpoint's namespace;
   * "If any rules select the endpoint, then the endpoint switches to a default-deny mode ... per-direction",
   * unless every rule with that direction sets enableDefaultDeny=false ("Only non-default-deny rules are
   * present. Then, policy is enabled, but we must insert an additional allow-all rule"). pkg/policy/rule.go
   * (*rule).matches: "Short-circuit if the rule's selector type (node vs. endpoint) does not match the
   * identity's type" — endpointSelector never selects a host, nodeSelector only selects hosts.
   * Host endpoints get no policy unless the host firewall is enabled.
   */
  private subject(e: Ep): SubjectPolicy {
    if (e.subjectPolicy) return e.subjectPolicy;
    const key = e.kind === "pod" ? `pod:${e.labels.id}` : `host:${e.id}`;
    const hit = this.subjectCache.get(key);
    if (hit) {
      e.subjectPolicy = hit;
      return hit;
    }
    const empty = (): DirPolicy => ({
      enabled: false,
      defaultDeny: false,
      enforcedBy: [],
      enforcedText: "",
      allows: [],
      denies: [],
      l3: new Map(),
    });
    const sp: SubjectPolicy = { key, ingress: empty(), egress: empty() };
    if (e.kind === "host" && !this.opts.hostFirewall) {
      this.subjectCache.set(key, sp);
      e.subjectPolicy = sp;
      return sp;
    }
    const candidates =
      e.kind === "pod"
        ? [...this.clusterwide, ...(this.byNamespace.get(e.namespace as string) ?? [])]
        : this.clusterwide;
    const isNode = e.kind === "host";
    for (const r of candidates) {
      if (r.subject.node !== isNode) continue;
      if (!r.subject.selector.matches(e.labels)) continue;
      for (const dir of ["ingress", "egress"] as const) {
        const dp = sp[dir];
        const section = dir === "ingress" ? r.ingressSection : r.egressSection;
        if (!section) continue;
        dp.enabled = true;
        if (dir === "ingress" ? r.ingressDefaultDeny : r.egressDefaultDeny) {
          dp.defaultDeny = true;
          pushRef(dp.enforcedBy, r.ref);
        }
        for (const entry of r[dir]) (entry.deny ? dp.denies : dp.allows).push(entry);
      }
    }
    for (const dp of [sp.ingress, sp.egress]) {
      dp.enforcedText = dp.enforcedBy.map(refText).join(", ");
      Object.freeze(dp.enforcedBy);
    }
    this.subjectCache.set(key, sp);
    e.subjectPolicy = sp;
    return sp;
  }

  /** The policies whose rules select an endpoint in a direction (and those that switch default deny on). */
  selectingPolicies(id: string, direction: Direction): { selecting: PolicyRef[]; enforcedBy: PolicyRef[] } {
    const e = this.ep(id);
    if (e.kind === "world") return { selecting: [], enforcedBy: [] };
    const dp = this.subject(e)[direction];
    const selecting: PolicyRef[] = [];
    for (const entry of [...dp.allows, ...dp.denies]) pushRef(selecting, entry.rule.ref);
    for (const r of dp.enforcedBy) pushRef(selecting, r);
    return { selecting, enforcedBy: [...dp.enforcedBy] };
  }

  // ------------------------------------------------------------------------------------------------
  // Peer matching
  // ------------------------------------------------------------------------------------------------

  /**
   * CIDR selectors select only peers without a cluster identity (pods never; nodes only with
   * policy-cidr-match-mode=nodes): "By default, CIDR-based selectors do not match in-cluster entities
   * (pods or nodes)", https://docs.cilium.io/en/stable/security/policy/language/#selecting-nodes-with-cidr-ipblock .
   * A peer matches when all its addresses lie in the prefix and outside every exception. A /0 prefix is
   * the world identity of its family (pkg/labels/cidr.go), so it also matches a world peer without address.
   */
  private cidrMatches(entry: CompiledEntry, p: PeerId): boolean {
    const e = p.ep;
    if (e.kind === "pod") return false;
    if (e.kind === "host" && this.opts.policyCidrMatchMode !== "nodes") return false;
    for (const c of entry.peers.cidrs) {
      if (e.addrs.length === 0) {
        if (e.kind === "world" && c.cidr.prefix === 0) return true;
        continue;
      }
      const inside = e.addrs.every((a) => cidrContains(c.cidr, a));
      const excepted = e.addrs.some((a) => c.except.some((x) => cidrContains(x, a) || cidrContains(a, x)));
      if (inside && !excepted) return true;
    }
    return false;
  }

  private staticL3(entry: CompiledEntry, p: PeerId): boolean {
    if (entry.peers.none) return false;
    if (entry.allPeers) return true;
    for (const s of entry.peers.selectors) if (s.matches(p.labels)) return true;
    return entry.peers.cidrs.length > 0 && this.cidrMatches(entry, p);
  }

  private l3(dp: DirPolicy, p: PeerId): L3Match {
    const hit = dp.l3.get(p.num);
    if (hit) return hit;
    const m: L3Match = { allows: [], denies: [], fqdnAllows: [] };
    for (const e of dp.allows) {
      if (this.staticL3(e, p)) m.allows.push(e);
      else if (e.peers.fqdns.length > 0 && p.ep.kind === "world") m.fqdnAllows.push(e);
    }
    for (const e of dp.denies) if (this.staticL3(e, p)) m.denies.push(e);
    if (++this.l3Size > MAX_L3_CACHE) {
      // Bound memory on huge matrices: start over.
      for (const s of this.subjectCache.values()) {
        s.ingress.l3.clear();
        s.egress.l3.clear();
      }
      this.l3Size = 1;
    }
    dp.l3.set(p.num, m);
    return m;
  }

  /**
   * toFQDNs selects world addresses learnt from DNS answers; it behaves like a CIDR selector and never
   * selects cluster endpoints (https://docs.cilium.io/en/stable/security/policy/language/#dns-based).
   * The flow's dnsName stands for "the client resolved this name to the destination"; fqdnMap supplies
   * other known answers.
   */
  private fqdnMatches(entry: CompiledEntry, p: PeerId, flow: Flow): boolean {
    for (const m of entry.peers.fqdns) {
      if (flow.dnsName !== undefined && m.matches(flow.dnsName)) return true;
      for (const f of this.fqdnEntries) {
        if (!m.matches(f.name)) continue;
        if (p.ep.addrs.some((a) => f.addrs.some((fa) => cidrContains(fa, a)))) return true;
      }
    }
    return false;
  }

  /**
   * L4 match of one entry. Returns undefined when no port matches, otherwise the L7 rules of every matching
   * port (undefined members = no L7 rule = every request). ICMP is matched only by L3-only items and by
   * icmps; toPorts never matches ICMP.
   */
  private l4(entry: CompiledEntry, flow: Flow, dst: Ep): (L7 | undefined)[] | undefined {
    if (entry.allL4) return [undefined];
    if (flow.protocol === "ICMP" || flow.protocol === "ICMPv6") {
      const type = flow.icmpType ?? (flow.protocol === "ICMP" ? 8 : 128);
      return entry.icmps.some((i) => i.protocol === flow.protocol && icmpTypeMatches(i.type, type))
        ? [undefined]
        : undefined;
    }
    let out: (L7 | undefined)[] | undefined;
    for (const pm of entry.ports) {
      if (pm.protocol !== flow.protocol || !portMatches(pm, flow.port, dst)) continue;
      (out ??= []).push(pm.l7);
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------------
  // Evaluation
  // ------------------------------------------------------------------------------------------------

  private direction(subjectEp: Ep, dir: Direction, peerEp: Ep, flow: Flow, dst: Ep): DirOutcome {
    const dp = this.subject(subjectEp)[dir];
    const enforced = dp.defaultDeny;
    const enforcedBy = dp.enforcedBy;
    if (!dp.enabled) {
      const reason =
        subjectEp.kind === "host" && !this.opts.hostFirewall
          ? `the host firewall is off, so ${subjectEp.text} has no ${dir} policy`
          : `no policy selects ${subjectEp.text} for ${dir}: default allow`;
      return outcome(enforced, true, NO_REFS, NO_REFS, enforcedBy, reason);
    }
    const p = this.peer(peerEp, subjectEp.node, dir === "ingress" && subjectEp.kind === "pod");
    const l3 = this.l3(dp, p);
    const what = (): string => `${flowL4Text(flow)} ${dir === "egress" ? "to" : "from"} ${p.text}`;

    // Deny before allow: "If an egressDeny rule matches, egress traffic is denied even if the policy
    // contains egress rules that would otherwise allow it" (docs, Layer 3 "Simple Egress Deny";
    // https://docs.cilium.io/en/stable/security/policy/language/#deny-policies). Deny entries are
    // inserted deny-preferred (pkg/policy/mapstate.go denyPreferredInsert), also over allow-localhost.
    let deniedBy: PolicyRef[] | undefined;
    let denyTexts: string[] | undefined;
    for (const e of l3.denies) {
      if (!this.l4(e, flow, dst)) continue;
      pushRef((deniedBy ??= []), e.rule.ref);
      (denyTexts ??= []).push(e.text);
    }
    if (deniedBy) {
      return outcome(
        enforced,
        false,
        NO_REFS,
        deniedBy,
        enforcedBy,
        `${what()} denied by ${(denyTexts as string[]).join("; ")}`,
      );
    }

    let allowedBy: PolicyRef[] | undefined;
    let allowTexts: string[] | undefined;
    let l7s: (L7 | undefined)[] | undefined;
    const consider = (e: CompiledEntry): void => {
      const m = this.l4(e, flow, dst);
      if (!m) return;
      pushRef((allowedBy ??= []), e.rule.ref);
      (allowTexts ??= []).push(e.text);
      l7s = l7s ? l7s.concat(m) : m;
    };
    for (const e of l3.allows) consider(e);
    for (const e of l3.fqdnAllows) if (this.fqdnMatches(e, p, flow)) consider(e);

    if (!allowedBy) {
      // --allow-localhost=always (Kubernetes default): the node may always reach its own pods
      // (pkg/policy/resolve.go: determineAllowLocalhostIngress for every endpoint but the host;
      // https://docs.cilium.io/en/stable/security/policy/language/#access-to-from-local-host).
      if (
        dir === "ingress" &&
        subjectEp.kind === "pod" &&
        p.localHost &&
        this.opts.allowLocalhost === "always"
      ) {
        return outcome(
          enforced,
          true,
          NO_REFS,
          NO_REFS,
          enforcedBy,
          `${what()} allowed: the local host may always reach its pods (allow-localhost=always)`,
        );
      }
      if (!enforced) {
        return outcome(
          enforced,
          true,
          NO_REFS,
          NO_REFS,
          enforcedBy,
          `${what()} allowed: the rules selecting ${subjectEp.text} set enableDefaultDeny.${dir}=false and none denies it`,
        );
      }
      return outcome(
        enforced,
        false,
        NO_REFS,
        NO_REFS,
        enforcedBy,
        `${what()}: no rule allows it; default deny for ${subjectEp.text} ${dir} (enforced by ${dp.enforcedText})`,
      );
    }

    // L7. Any matching rule with DNS rules redirects the port to the DNS proxy. A matching rule without
    // L7 rules (L3-only, or L4-only for that port) wildcards L7 for its peers (pkg/policy/rule.go
    // mergePortProto: "empty L7 rules effectively wildcard L7"; appendL7WildcardRule adds matchPattern "*";
    // rule_slice.go wildcardL3L4Rules: "Duplicate L3-only rules into wildcard L7 rules"). A query no rule
    // allows gets a REFUSED answer from the proxy (cilium/cilium#6366).
    let proxied: DirOutcome["proxied"];
    let dnsAllowed = false;
    let dnsSeen = false;
    let wildcardL7 = !enforced;
    for (const l of l7s as (L7 | undefined)[]) {
      if (l === undefined) wildcardL7 = true;
      else if (l.kind === "dns") {
        dnsSeen = true;
        if (flow.dnsQuery !== undefined && !dnsAllowed)
          dnsAllowed = l.matchers.some((m) => m.matches(flow.dnsQuery as string));
      } else if (l.kind === "http" && proxied === undefined) proxied = "http";
    }
    if (dnsSeen) proxied = "dns";
    if (dnsSeen && flow.dnsQuery !== undefined && !wildcardL7 && !dnsAllowed) {
      const dnsRefs: PolicyRef[] = [];
      const patterns = new Set<string>();
      for (const e of [...l3.allows, ...l3.fqdnAllows]) {
        if (!(allowedBy as PolicyRef[]).includes(e.rule.ref)) continue;
        for (const pm of e.ports) {
          if (pm.l7?.kind !== "dns") continue;
          pushRef(dnsRefs, e.rule.ref);
          for (const m of pm.l7.matchers) patterns.add(m.text);
        }
      }
      const out = outcome(
        enforced,
        false,
        allowedBy as PolicyRef[],
        dnsRefs,
        enforcedBy,
        `DNS proxy refused query "${flow.dnsQuery}": no DNS rule allows it (${[...patterns].join(", ")})`,
      );
      out.proxyDrop = true;
      out.proxied = proxied;
      return out;
    }
    const auth = this.authOf(l3, p, flow, dst);
    if (auth !== 0 && !(auth === 1 && this.opts.mutualAuth)) {
      // bpf/lib/policy.h __policy_check: an allow entry with an auth type returns DROP_POLICY_AUTH_REQUIRED;
      // bpf_lxc.c / host_firewall.h then ask auth_lookup (bpf/lib/auth.h), which passes only with an entry
      // of Cilium's auth manager: none without mutual authentication (authentication.mutual.spire), never for
      // test-always-fail. It is a policy drop, so audit mode lets it through (policy_can_egress/ingress).
      const type = AUTH_TYPES[auth];
      const out = outcome(
        enforced,
        false,
        allowedBy as PolicyRef[],
        NO_REFS,
        enforcedBy,
        `${what()} allowed by ${(allowTexts as string[]).join("; ")}, but only after authentication "${type}", ${auth === 2 ? "which always fails" : "and mutual authentication is off (the Helm values authentication.enabled and authentication.mutual.spire.enabled), so no peer is ever authenticated"}: Cilium drops it (DROP_POLICY_AUTH_REQUIRED)`,
      );
      out.result.datapathEffect = "auth-required";
      out.result.auth = type;
      if (proxied) out.proxied = proxied;
      return out;
    }
    const out = outcome(
      enforced,
      true,
      allowedBy as PolicyRef[],
      NO_REFS,
      enforcedBy,
      `${what()} allowed by ${(allowTexts as string[]).join("; ")}${auth !== 0 ? ` once SPIRE has authenticated both sides (authentication "${AUTH_TYPES[auth]}")` : ""}`,
    );
    if (auth !== 0) out.result.auth = AUTH_TYPES[auth];
    if (proxied) out.proxied = proxied;
    return out;
  }

  /**
   * The auth type of the policy map entry the datapath picks for an allowed flow (an index of AUTH_TYPES).
   * The allowing items become map keys: the peer's identity, or identity 0 for an item without peers or
   * with the `all` entity; and a port prefix (L3-only 0, a protocol with every port 8, one port or an ICMP
   * type 24, a range the aligned block around the port). Per key the explicit auth types merge to the
   * highest (pkg/policy/types/entry.go Merge). Each lookup (the identity's, identity 0's) takes the longest
   * prefix; a key without an explicit type inherits that of the most specific covering key with one
   * (pkg/policy/mapstate.go authPreferredInsert). Of the two, the longer prefix wins (the identity's on a
   * tie) and, without an explicit type, takes the other's when higher (mapstate.go lookup authOverride,
   * bpf/lib/policy.h __policy_check).
   */
  private authOf(l3: L3Match, p: PeerId, flow: Flow, dst: Ep): number {
    const scopes: Map<number, number | undefined>[] = [new Map(), new Map()]; // [identity, identity 0]
    let any = false;
    const add = (scope: 0 | 1, prefix: number, auth: number | undefined): void => {
      const m = scopes[scope]!;
      if (auth !== undefined) any = true;
      const cur = m.get(prefix);
      m.set(prefix, auth === undefined ? cur : Math.max(cur ?? -1, auth));
    };
    // Without an explicit auth type among the matching items, nothing can require one (the common case).
    if (!l3.allows.some((e) => e.auth !== undefined) && !l3.fqdnAllows.some((e) => e.auth !== undefined))
      return 0;
    const allowing = [...l3.allows, ...l3.fqdnAllows.filter((e) => this.fqdnMatches(e, p, flow))];
    for (const e of allowing) {
      const prefixes = this.keyPrefixes(e, flow, dst);
      if (prefixes.length === 0) continue;
      const wildcard = e.allPeers || e.peers.selectors.some((s) => s.isWildcard());
      const specific =
        !e.allPeers &&
        (e.peers.selectors.some((s) => !s.isWildcard() && s.matches(p.labels)) ||
          (e.peers.cidrs.length > 0 && this.cidrMatches(e, p)) ||
          (e.peers.fqdns.length > 0 && this.fqdnMatches(e, p, flow)));
      for (const prefix of prefixes) {
        if (specific) add(0, prefix, e.auth);
        if (wildcard) add(1, prefix, e.auth);
      }
    }
    if (!any) return 0;
    const pick = (
      m: Map<number, number | undefined>,
    ): { prefix: number; auth: number; explicit: boolean } | undefined => {
      if (m.size === 0) return undefined;
      const prefixes = [...m.keys()].sort((a, b) => b - a);
      const top = prefixes[0]!;
      const own = m.get(top);
      if (own !== undefined) return { prefix: top, auth: own, explicit: true };
      const cover = prefixes.slice(1).find((x) => m.get(x) !== undefined);
      return { prefix: top, auth: cover === undefined ? 0 : (m.get(cover) as number), explicit: false };
    };
    const l3Key = pick(scopes[0]!);
    const l4Key = pick(scopes[1]!);
    if (!l3Key || !l4Key) return (l3Key ?? l4Key)?.auth ?? 0;
    const [chosen, other] = l4Key.prefix > l3Key.prefix ? [l4Key, l3Key] : [l3Key, l4Key];
    return !chosen.explicit && other.auth > chosen.auth ? other.auth : chosen.auth;
  }

  /** The prefix lengths of the policy map keys an allowing item puts over the flow (see authOf). */
  private keyPrefixes(e: CompiledEntry, flow: Flow, dst: Ep): number[] {
    if (e.allL4) return [0];
    if (flow.protocol === "ICMP" || flow.protocol === "ICMPv6") {
      const type = flow.icmpType ?? (flow.protocol === "ICMP" ? 8 : 128);
      return e.icmps
        .filter((i) => i.protocol === flow.protocol && icmpTypeMatches(i.type, type))
        .map((i) => (i.type === 0 ? 8 : 24));
    }
    const out: number[] = [];
    for (const pm of e.ports) {
      if (pm.protocol !== flow.protocol || !portMatches(pm, flow.port, dst)) continue;
      if (pm.portName !== undefined) out.push(24);
      else if (pm.port === 0 && pm.endPort === undefined) out.push(8);
      else if (pm.endPort === undefined) out.push(24);
      else out.push(8 + 16 - rangeBlockBits(pm.port, pm.endPort, flow.port ?? 0));
    }
    return out;
  }

  evaluate(flow: Flow): Verdict {
    const src = this.ep(flow.from);
    const dst = this.ep(flow.to);
    const outside = (e: Ep, dir: Direction): DirOutcome =>
      outcome(false, true, NO_REFS, NO_REFS, NO_REFS, `${e.text} is outside the cluster: no ${dir} policy`);
    const egress =
      src.kind === "world" ? outside(src, "egress") : this.direction(src, "egress", dst, flow, dst);
    const ingress =
      dst.kind === "world" ? outside(dst, "ingress") : this.direction(dst, "ingress", src, flow, dst);

    if (src === dst) {
      const self = (o: DirOutcome): DirectionResult => ({
        enforced: o.result.enforced,
        allowed: true,
        allowedBy: NO_REFS,
        deniedBy: NO_REFS,
        enforcedBy: o.result.enforcedBy,
        reason: `${src.text} talking to itself (loopback / service hairpin) is not subject to policy`,
        datapathEffect: "self-traffic",
      });
      return { verdict: "allowed", decidedBy: [], egress: self(egress), ingress: self(ingress) };
    }

    if (flow.isReply) {
      // Only the packet that opens a connection is judged; replies ride its conntrack entry.
      const reply = (o: DirOutcome): DirectionResult => ({
        enforced: o.result.enforced,
        allowed: true,
        allowedBy: NO_REFS,
        deniedBy: NO_REFS,
        enforcedBy: o.result.enforcedBy,
        reason:
          "reply of a tracked connection: conntrack lets it through, only the initiating direction is judged",
      });
      return { verdict: "allowed", decidedBy: [], egress: reply(egress), ingress: reply(ingress) };
    }

    // In tunnel routing no pod may send to the tunnel port: policy_can_egress (bpf/lib/policy.h) returns
    // DROP_ENCAP_PROHIBITED for UDP to TUNNEL_PORT from any source but the host, before the policy lookup,
    // so audit mode does not let it through either.
    if (
      this.opts.routingMode === "tunnel" &&
      src.kind === "pod" &&
      flow.protocol === "UDP" &&
      flow.port === this.opts.tunnelPort
    ) {
      const encap: DirectionResult = {
        enforced: egress.result.enforced,
        allowed: false,
        allowedBy: NO_REFS,
        deniedBy: NO_REFS,
        enforcedBy: egress.result.enforcedBy,
        reason: `a pod may not send to the tunnel port ${this.opts.tunnelPort}/udp in tunnel routing: Cilium drops it before any policy, even in audit mode (DROP_ENCAP_PROHIBITED)`,
        datapathEffect: "encap-prohibited",
      };
      return { verdict: "denied", decidedBy: ["egress"], egress: encap, ingress: ingress.result };
    }

    const audit = this.opts.auditMode;
    const eDrop = !egress.result.allowed;
    const iDrop = !ingress.result.allowed;
    const eHard = eDrop && (egress.proxyDrop || !audit);
    const iHard = iDrop && (ingress.proxyDrop || !audit);
    let verdict: Verdict["verdict"];
    const decidedBy: Direction[] = [];
    if (eHard || iHard) {
      verdict = "denied";
      if (eHard) decidedBy.push("egress");
      if (iHard) decidedBy.push("ingress");
    } else if (eDrop || iDrop) {
      verdict = "audited";
      if (eDrop) decidedBy.push("egress");
      if (iDrop) decidedBy.push("ingress");
    } else {
      verdict = "allowed";
      if (egress.result.enforced) decidedBy.push("egress");
      if (ingress.result.enforced) decidedBy.push("ingress");
    }
    const v: Verdict = { verdict, decidedBy, egress: egress.result, ingress: ingress.result };
    const proxied = egress.proxied ?? ingress.proxied;
    if (proxied) v.proxied = proxied;
    return v;
  }
}

/**
 * The bits of the aligned block around `port` that a port range's keys use (pkg/policy/types/portrange.go
 * PortRangeToMaskedPorts: the range is cut into the largest aligned power-of-two blocks).
 */
function rangeBlockBits(start: number, end: number, port: number): number {
  let bits = 0;
  while (bits < 16) {
    const size = 2 ** (bits + 1);
    const base = port - (port % size);
    if (base < start || base + size - 1 > end) break;
    bits++;
  }
  return bits;
}

/**
 * An icmps type against a packet's type. ICMPField.PortProtocol (pkg/policy/api/icmp.go) makes the type the
 * rule's port, and port 0 is every port: type 0 (EchoReply) admits every ICMP type of its family, in both
 * 1.19 and 1.20 (the oracle shows it; tools/go/cilium-oracle-1.19/README.md).
 */
function icmpTypeMatches(ruleType: number, packetType: number): boolean {
  return ruleType === 0 || ruleType === packetType;
}

/** Cilium's VXLAN port (the chart's default tunnel protocol; Geneve uses 6081). */
const VXLAN_PORT = 8472;

/** Shared, frozen empty list for results that name no policy. */
const NO_REFS: PolicyRef[] = Object.freeze([]) as unknown as PolicyRef[];

function outcome(
  enforced: boolean,
  allowed: boolean,
  allowedBy: PolicyRef[],
  deniedBy: PolicyRef[],
  enforcedBy: PolicyRef[],
  reason: string,
): DirOutcome {
  return { result: { enforced, allowed, allowedBy, deniedBy, enforcedBy, reason }, proxyDrop: false };
}

function isDefined<T>(x: T | undefined): x is T {
  return x !== undefined;
}

function families(addrs: Cidr[]): Set<4 | 6> {
  return new Set(addrs.map((a) => a.family));
}

/** Adds a policy once; rules of one policy share one PolicyRef object. */
function pushRef(list: PolicyRef[], r: PolicyRef): void {
  if (!list.includes(r)) list.push(r);
}

function portMatches(pm: PortMatch, port: number | undefined, dst: Ep): boolean {
  if (pm.portName !== undefined) {
    // Named ports resolve against the destination's container ports (pkg/policy/l4.go named ports).
    const resolved = dst.namedPorts[pm.portName];
    return resolved !== undefined && resolved === port;
  }
  // Port 0 with an endPort is the range 0..endPort, not every port: the L4Filter keeps Port 0 and EndPort
  // (pkg/policy/l4.go createL4Filter) and the policy map gets the range (pkg/policy/portrange.go,
  // PortRangeToMaskedPorts: only 0..0 and 0..65535 are the wildcard).
  if (pm.endPort !== undefined) return port !== undefined && port >= pm.port && port <= pm.endPort;
  if (pm.port === 0) return true;
  if (port === undefined) return false;
  return port === pm.port;
}

function flowL4Text(f: Flow): string {
  if (f.protocol === "ICMP" || f.protocol === "ICMPv6") {
    return `${f.protocol} type ${f.icmpType ?? (f.protocol === "ICMP" ? 8 : 128)}`;
  }
  return f.port === undefined ? f.protocol : `${f.protocol}/${f.port}`;
}
