// Turns CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy objects into compiled rules: validated the
// way the agent validates them, selectors namespace-scoped, peers and ports pre-parsed.

import { Cidr, parseCidr, parseIp } from "../../lib/net/cidr";
import { FqdnMatcher, fqdnSelectorProblem } from "./fqdn";
import { LabelSet, RESERVED, SOURCE_K8S, SOURCE_RESERVED } from "./labels";
import {
  EndpointSelector,
  entitySelectors,
  isEntity,
  scopePeerSelector,
  scopeSubjectSelector,
  SelectorError,
} from "./selectors";
import {
  CiliumPolicyObject,
  CIDRRule,
  Direction,
  EgressRule,
  FlowProtocol,
  FQDNSelector,
  ICMPRule,
  IngressRule,
  LabelSelector,
  PolicyRef,
  PortRule,
  Rule,
  ServiceSelector,
  TopologyService,
  UNLABELLED_LAYER,
} from "./types";
import { LAYER_LABEL, POD_NAMESPACE_LABEL } from "../../vocabulary/labels";
import type { CiliumVersion } from "./types";

export class PolicyInvalidError extends Error {}

/** A policy the API server refuses before the agent sees it: the CRD schema does not allow it. */
export class CrdSchemaError extends PolicyInvalidError {}

/**
 * Cilium 1.19: a policy with toGroups/fromGroups that the agent skips, waiting for the operator's derivative
 * policy (pkg/policy/k8s/cilium_network_policy.go onUpsert: `if cnp.RequiresDerivative() { return }`). The
 * operator derives it only when a cloud provider resolves the groups (pkg/policy/groups/helpers.go
 * createAPIRules -> api.Groups.GetCidrSet: "Provider aws is not registered" without the AWS operator), and
 * on an error it creates nothing (pkg/policy/groups/actions.go addDerivativePolicy), so the policy never
 * takes effect.
 */
export class DerivativePolicyError extends PolicyInvalidError {}

/** A CIDR peer: the prefix and its exceptions (fromCIDRSet/toCIDRSet "except"). */
export interface CidrPeer {
  cidr: Cidr;
  except: Cidr[];
  text: string;
}

/**
 * The L3 side of one ingress/egress item. Cilium aggregates all peer fields into one selector slice
 * (pkg/policy/utils/utils.go mergeEndpointSelectors): an explicitly empty list (e.g. `fromEndpoints: []`)
 * selects nothing; no peer field at all selects nothing on its own but lets toPorts/icmps apply to
 * every peer (pkg/policy/rule.go mergeIngress: "an empty slice of EndpointSelector indicates that the
 * rule allows all at L3").
 */
export interface Peers {
  none: boolean;
  selectors: EndpointSelector[];
  cidrs: CidrPeer[];
  fqdns: FqdnMatcher[];
  /** A short human description, for reasons. */
  text: string;
}

export type L7 = { kind: "dns"; matchers: FqdnMatcher[] } | { kind: "http" } | { kind: "other" };

export interface PortMatch {
  protocol: FlowProtocol;
  /** 0 means every port. */
  port: number;
  endPort?: number;
  /** A named (IANA service name) port, resolved against the destination endpoint. */
  portName?: string;
  l7?: L7;
}

export interface IcmpMatch {
  protocol: "ICMP" | "ICMPv6";
  type: number;
}

/** AuthType (pkg/policy/types/auth.go): disabled 0, spire 1, test-always-fail 2. */
export const AUTH_TYPES = ["disabled", "spire", "test-always-fail"] as const;

export interface CompiledEntry {
  rule: CompiledRule;
  /** "CNP ns/name egress[2]", for reasons. */
  text: string;
  direction: Direction;
  deny: boolean;
  /** Index of the item within its section, for reasons. */
  index: number;
  section: "ingress" | "ingressDeny" | "egress" | "egressDeny";
  peers: Peers;
  /** Every peer (no peer field, but ports/ICMP given). */
  allPeers: boolean;
  /** L3-only item: every protocol and port, ICMP included. */
  allL4: boolean;
  ports: PortMatch[];
  icmps: IcmpMatch[];
  /**
   * The explicit authentication of an allow item, as an index of AUTH_TYPES (pkg/policy/l4.go getAuthType:
   * mode disabled 0, required 1 (spire), test-always-fail 2); undefined when the item has none.
   */
  auth?: number;
}

export interface CompiledRule {
  /** Shared by every rule (spec) of the same policy object. */
  ref: PolicyRef;
  refText: string;
  /** "kind/namespace/name#index" */
  key: string;
  /** undefined for CCNPs. */
  namespace?: string;
  subject: { node: boolean; selector: EndpointSelector };
  ingressSection: boolean;
  egressSection: boolean;
  ingressDefaultDeny: boolean;
  egressDefaultDeny: boolean;
  ingress: CompiledEntry[];
  egress: CompiledEntry[];
}

export function policyRef(p: CiliumPolicyObject): PolicyRef {
  const ref: PolicyRef = {
    name: p.metadata.name,
    kind: p.kind,
    layer: p.metadata.labels?.[LAYER_LABEL] ?? UNLABELLED_LAYER,
  };
  if (p.kind === "CiliumNetworkPolicy") ref.namespace = p.metadata.namespace ?? "default";
  return ref;
}

export function refKey(r: PolicyRef): string {
  return `${r.kind}/${r.namespace ?? ""}/${r.name}`;
}

export function refText(r: PolicyRef): string {
  const short = r.kind === "CiliumNetworkPolicy" ? "CNP" : "CCNP";
  return r.namespace ? `${short} ${r.namespace}/${r.name}` : `${short} ${r.name}`;
}

// ICMP type names, pkg/policy/api/icmp.go icmpIpv4TypeNameToCode / icmpIpv6TypeNameToCode.
const ICMP4: Record<string, number> = {
  EchoReply: 0,
  DestinationUnreachable: 3,
  Redirect: 5,
  Echo: 8,
  EchoRequest: 8,
  RouterAdvertisement: 9,
  RouterSelection: 10,
  TimeExceeded: 11,
  ParameterProblem: 12,
  Timestamp: 13,
  TimestampReply: 14,
  Photuris: 40,
  ExtendedEchoRequest: 42,
  ExtendedEchoReply: 43,
};
const ICMP6: Record<string, number> = {
  DestinationUnreachable: 1,
  PacketTooBig: 2,
  TimeExceeded: 3,
  ParameterProblem: 4,
  EchoRequest: 128,
  EchoReply: 129,
  MulticastListenerQuery: 130,
  MulticastListenerReport: 131,
  MulticastListenerDone: 132,
  RouterSolicitation: 133,
  RouterAdvertisement: 134,
  NeighborSolicitation: 135,
  NeighborAdvertisement: 136,
  RedirectMessage: 137,
  RouterRenumbering: 138,
  ICMPNodeInformationQuery: 139,
  ICMPNodeInformationResponse: 140,
  InverseNeighborDiscoverySolicitation: 141,
  InverseNeighborDiscoveryAdvertisement: 142,
  HomeAgentAddressDiscoveryRequest: 144,
  HomeAgentAddressDiscoveryReply: 145,
  MobilePrefixSolicitation: 146,
  MobilePrefixAdvertisement: 147,
  DuplicateAddressRequestCodeSuffix: 157,
  DuplicateAddressConfirmationCodeSuffix: 158,
  ExtendedEchoRequest: 160,
  ExtendedEchoReply: 161,
};

/** A CIDR or a bare address (CIDR.Validate accepts both; an address is a /32 or /128). */
function parseCidrOrIp(text: string): Cidr {
  const c = parseCidr(text);
  if (c.ok) return c;
  const ip = parseIp(text.trim());
  if (ip) {
    const full = parseCidr(`${text.trim()}/${ip.family === 4 ? 32 : 128}`);
    if (full.ok) return full;
  }
  throw new PolicyInvalidError(`"${text}": ${c.reason}`);
}

function compileCidrRule(r: CIDRRule): CidrPeer {
  const cidr = parseCidr(String(r.cidr ?? ""));
  if (!cidr.ok) throw new PolicyInvalidError(`unable to parse CIDRRule "${r.cidr}": ${cidr.reason}`);
  const except: Cidr[] = [];
  for (const e of r.except ?? []) {
    const ex = parseCidr(String(e));
    if (!ex.ok) throw new PolicyInvalidError(`except "${e}": ${ex.reason}`);
    // pkg/policy/api/rule_validation.go CIDRRule.Validate: the exception must lie inside the CIDR.
    if (ex.family !== cidr.family || ex.prefix < cidr.prefix || !sameNet(cidr, ex)) {
      throw new PolicyInvalidError(`allow CIDR prefix ${r.cidr} does not contain exclude CIDR prefix ${e}`);
    }
    except.push(ex);
  }
  const text = except.length
    ? `${cidr.canonical} except ${except.map((x) => x.canonical).join(",")}`
    : cidr.canonical;
  return { cidr, except, text };
}

function sameNet(outer: Cidr, inner: Cidr): boolean {
  const bits = outer.family === 4 ? 32 : 128;
  const shift = BigInt(bits - outer.prefix);
  return inner.network >> shift === outer.network >> shift;
}

const isSvcName = (s: string): boolean => /[a-zA-Z]/.test(s);

/**
 * IP protocols without ports a rule may name (pkg/policy/api/utils.go L4Proto.Validate): VRRP and IGMP in
 * both minors, the tunnel and IPsec protocols from 1.20. A flow the engine is asked about (TCP, UDP, SCTP,
 * ICMP) never matches them, yet the rule still switches default deny on.
 */
const EXTENDED_PROTOCOLS: Record<CiliumVersion, readonly string[]> = {
  "1.19": ["VRRP", "IGMP"],
  "1.20": ["VRRP", "IGMP", "GRE", "IPIP", "IPV6", "ESP", "AH"],
};

function parseProtocol(
  raw: string | undefined,
  ciliumVersion: CiliumVersion,
): "TCP" | "UDP" | "SCTP" | "ANY" | "EXTENDED" {
  const p = (raw ?? "").toUpperCase();
  if (p === "" || p === "ANY") return "ANY";
  if (p === "TCP" || p === "UDP" || p === "SCTP") return p;
  if (EXTENDED_PROTOCOLS[ciliumVersion].includes(p)) return "EXTENDED";
  // ICMP in toPorts is not supported: "Matching on ICMP is not supported" (docs, Layer 4 / PortProtocol).
  throw new PolicyInvalidError(
    `invalid protocol "${raw}" (TCP, UDP, SCTP, ${EXTENDED_PROTOCOLS[ciliumVersion].join(", ")} or ANY)`,
  );
}

function compileL7(pr: PortRule): L7 | undefined {
  const r = pr.rules;
  if (!r) return undefined;
  if (r.dns && r.dns.length > 0) {
    for (const d of r.dns) {
      const problem = fqdnSelectorProblem(d);
      if (problem) throw new PolicyInvalidError(`dns rule: ${problem}`);
    }
    return { kind: "dns", matchers: r.dns.map((d) => new FqdnMatcher(d)) };
  }
  if (r.http && r.http.length > 0) return { kind: "http" };
  if ((r.kafka && r.kafka.length > 0) || (r.l7proto && r.l7proto !== "")) return { kind: "other" };
  return undefined;
}

/**
 * toPorts. "ANY" (or empty) expands to TCP, UDP and SCTP, never ICMP (pkg/policy/rule.go mergeIngress /
 * mergeEgress: `if p.Protocol.IsAny()` -> ProtoTCP, ProtoUDP, ProtoSCTP). Port "0" means all ports.
 * Validation follows pkg/policy/api/rule_validation.go PortRule.Validate / PortProtocol.Validate.
 */
function compilePorts(
  rules: PortRule[],
  deny: boolean,
  ingress: boolean,
  hostPolicy: boolean,
  ciliumVersion: CiliumVersion,
): PortMatch[] {
  const out: PortMatch[] = [];
  for (const pr of rules) {
    const l7 = deny ? undefined : compileL7(pr);
    if (l7?.kind === "dns" && ingress) throw new PolicyInvalidError("DNS rules are not allowed on ingress");
    if (l7 && hostPolicy && ingress)
      throw new PolicyInvalidError("L7 policy is not supported on host ingress yet");
    if (l7?.kind === "http" && hostPolicy)
      throw new PolicyInvalidError("L7 protocol HTTP is not supported on host egress yet");
    if (l7?.kind === "dns" && (pr.ports ?? []).length === 0) {
      throw new PolicyInvalidError("port 53 must be specified for DNS rules");
    }
    for (const pp of pr.ports ?? []) {
      const rawPort = pp.port === undefined || pp.port === null ? "" : String(pp.port).trim();
      if (rawPort === "") throw new PolicyInvalidError("port must be specified");
      const proto = parseProtocol(pp.protocol, ciliumVersion);
      let port = 0;
      let portName: string | undefined;
      if (isSvcName(rawPort)) {
        portName = rawPort.toLowerCase();
      } else {
        // PortProtocol.sanitize: a protocol without ports takes port "0" only (or none, with
        // --enable-extended-ip-protocols, off by default: "port must be specified" above).
        if (proto === "EXTENDED" && rawPort !== "0") throw new PolicyInvalidError("port must be empty or 0");
        const parsed = parseUint16Base0(rawPort);
        if (parsed === undefined) throw new PolicyInvalidError(`unable to parse port "${rawPort}"`);
        port = parsed;
      }
      if (l7 && port === 0 && portName === undefined)
        throw new PolicyInvalidError("L7 rules can not be used when a port is 0");
      if (l7 && l7.kind !== "dns" && proto !== "TCP") {
        throw new PolicyInvalidError(`L7 rules can only apply to TCP (not ${proto}) except for DNS rules`);
      }
      // Port 0 with an endPort: the range 0..endPort in 1.19 (pkg/policy/portrange.go), every port in 1.20,
      // whose keysForRange (pkg/policy/l4.go) keeps one wildcard key when the port is 0.
      const endPort =
        pp.endPort !== undefined && pp.endPort > port && !(port === 0 && ciliumVersion === "1.20")
          ? pp.endPort
          : undefined;
      if (l7?.kind === "dns" && endPort !== undefined)
        throw new PolicyInvalidError("DNS rules do not support port ranges");
      // A protocol without ports matches no flow the engine is asked about.
      if (proto === "EXTENDED") continue;
      const protos: FlowProtocol[] = proto === "ANY" ? ["TCP", "UDP", "SCTP"] : [proto];
      for (const p of protos) {
        const m: PortMatch = { protocol: p, port };
        if (endPort !== undefined && portName === undefined) m.endPort = endPort;
        if (portName !== undefined) m.portName = portName;
        if (l7) m.l7 = l7;
        out.push(m);
      }
    }
  }
  return out;
}

/**
 * A port as the agent reads it: strconv.ParseUint(port, 0, 16) (pkg/policy/api/rule_validation.go,
 * PortProtocol.sanitize; pkg/policy/l4.go createL4Filter). Base 0 means Go's literal syntax: a leading 0
 * makes the rest octal ("0100" is 64), and underscores may separate digits. Prefixes with letters ("0x10")
 * never get here: they are IANA service names (named ports).
 */
export function parseUint16Base0(text: string): number | undefined {
  // Go's underscoreOK: underscores only between digits (or after the octal prefix "0").
  if (!/^\d+(_\d+)*$/.test(text)) return undefined;
  const digits = text.replace(/_/g, "");
  const octal = digits.length > 1 && digits.startsWith("0");
  if (octal && !/^[0-7]+$/.test(digits)) return undefined;
  const n = octal ? parseInt(digits.slice(1), 8) : Number(digits);
  return Number.isSafeInteger(n) && n <= 65535 ? n : undefined;
}

/**
 * An ICMP type as a policy may name it: a number up to 255 or one of Cilium's names (EchoRequest, ...;
 * pkg/policy/api/icmp.go). Undefined when it is neither.
 */
export function icmpTypeOf(protocol: "ICMP" | "ICMPv6", text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text) <= 255 ? Number(text) : undefined;
  return (protocol === "ICMPv6" ? ICMP6 : ICMP4)[text];
}

/** icmps: family IPv4 (default) -> ICMP, IPv6 -> ICMPv6; type by number or name (pkg/policy/api/icmp.go). */
function compileIcmps(rules: ICMPRule[]): IcmpMatch[] {
  const out: IcmpMatch[] = [];
  for (const r of rules) {
    for (const f of r.fields ?? []) {
      const family = f.family ?? "IPv4";
      if (family !== "IPv4" && family !== "IPv6")
        throw new PolicyInvalidError(`wrong family: ${String(family)}`);
      const names = family === "IPv6" ? ICMP6 : ICMP4;
      // ICMPField.PortProtocol (pkg/policy/api/icmp.go) turns the type into an L4 "port": a name becomes its
      // code, a number stays as written and the policy is accepted; above 255 it matches no ICMP packet, but
      // the rule still switches default deny on. (The CRD schema refuses it at the API server first:
      // verifier/crdSchema.ts.)
      let type: number;
      if (typeof f.type === "number" || /^\d+$/.test(String(f.type))) {
        type = Number(f.type);
        if (type > 65535) throw new PolicyInvalidError(`unable to parse port "${String(f.type)}"`);
      } else if (Object.prototype.hasOwnProperty.call(names, String(f.type))) {
        type = names[String(f.type)];
      } else {
        // ICMPField.UnmarshalJSON: a name must be one of the family's (the policy fails to parse).
        throw new PolicyInvalidError(`ICMP type ${String(f.type)} not found in ${family}`);
      }
      out.push({ protocol: family === "IPv6" ? "ICMPv6" : "ICMP", type });
    }
  }
  return out;
}

interface PeerFields {
  endpoints?: unknown;
  entities?: unknown;
  cidr?: unknown;
  cidrSet?: unknown;
  nodes?: unknown;
  fqdns?: unknown;
  groups?: unknown;
  services?: unknown;
}

function peerFields(item: IngressRule | EgressRule, direction: Direction): PeerFields {
  if (direction === "ingress") {
    const i = item as IngressRule;
    return {
      endpoints: i.fromEndpoints,
      entities: i.fromEntities,
      cidr: i.fromCIDR,
      cidrSet: i.fromCIDRSet,
      nodes: i.fromNodes,
      groups: i.fromGroups,
    };
  }
  const e = item as EgressRule;
  return {
    endpoints: e.toEndpoints,
    entities: e.toEntities,
    cidr: e.toCIDR,
    cidrSet: e.toCIDRSet,
    nodes: e.toNodes,
    fqdns: e.toFQDNs,
    groups: e.toGroups,
    services: e.toServices,
  };
}

const FIELD_NAMES: Record<keyof PeerFields, [string, string]> = {
  endpoints: ["FromEndpoints", "ToEndpoints"],
  entities: ["FromEntities", "ToEntities"],
  cidr: ["FromCIDR", "ToCIDR"],
  cidrSet: ["FromCIDRSet", "ToCIDRSet"],
  nodes: ["FromNodes", "ToNodes"],
  fqdns: ["FromFQDNs", "ToFQDNs"],
  groups: ["FromGroups", "ToGroups"],
  services: ["FromServices", "ToServices"],
};

function asList(v: unknown, what: string): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new PolicyInvalidError(`${what} must be a list`);
  return v;
}

interface CompileContext {
  namespace?: string;
  clusterName: string;
  subjectMatchesInit: boolean;
  hostPolicy: boolean;
  /** The Cilium minor whose semantics apply where versions differ (EngineOptions.ciliumVersion). */
  ciliumVersion: CiliumVersion;
  /** The cluster's Services, for toServices. */
  services: TopologyService[];
}

function compileEntry(
  rule: CompiledRule,
  item: IngressRule | EgressRule,
  section: CompiledEntry["section"],
  index: number,
  ctx: CompileContext,
): CompiledEntry {
  const direction: Direction = section.startsWith("ingress") ? "ingress" : "egress";
  const deny = section.endsWith("Deny");
  // A YAML list item written as a bare "-" is null: treat it like {}.
  const it: IngressRule | EgressRule = item ?? {};
  const fields = peerFields(it, direction);
  const dirIdx = direction === "ingress" ? 0 : 1;

  // "combining %s and %s is not supported yet" (pkg/policy/api/rule_validation.go
  // IngressCommonRule.Validate / EgressCommonRule.Validate; toFQDNs counts as an L3 member on egress).
  const used = (Object.keys(fields) as (keyof PeerFields)[]).filter((k) => {
    const v = fields[k];
    return Array.isArray(v) && v.length > 0;
  });
  if (used.length > 1) {
    throw new PolicyInvalidError(
      `combining ${FIELD_NAMES[used[0]][dirIdx]} and ${FIELD_NAMES[used[1]][dirIdx]} is not supported yet`,
    );
  }
  const nodes = asList(fields.nodes, FIELD_NAMES.nodes[dirIdx]);
  if (nodes && nodes.length > 0) {
    // ErrFromToNodesRequiresNodeSelectorOption: needs --enable-node-selector-labels, off by default.
    throw new PolicyInvalidError(
      `${FIELD_NAMES.nodes[dirIdx]} rules need the enable-node-selector-labels option`,
    );
  }

  const peers: Peers = { none: false, selectors: [], cidrs: [], fqdns: [], text: "" };
  const texts: string[] = [];
  let fieldsPresent = 0;
  const markEmpty = (v: unknown[] | undefined): void => {
    if (v === undefined) return;
    fieldsPresent++;
    if (v.length === 0) peers.none = true;
  };

  const endpoints = asList(fields.endpoints, FIELD_NAMES.endpoints[dirIdx]);
  markEmpty(endpoints);
  for (const sel of endpoints ?? []) {
    let es: EndpointSelector;
    try {
      es = EndpointSelector.fromK8s((sel ?? {}) as LabelSelector);
    } catch (e) {
      throw new PolicyInvalidError(`${FIELD_NAMES.endpoints[dirIdx]}: ${(e as Error).message}`);
    }
    const scoped = scopePeerSelector(es, ctx.namespace, ctx.subjectMatchesInit, ctx.clusterName);
    peers.selectors.push(scoped);
    // Shown with its namespace scope, without the local-cluster filter every such selector carries.
    texts.push(`endpoints {${scopePeerSelector(es, ctx.namespace, ctx.subjectMatchesInit).toString()}}`);
  }

  const entities = asList(fields.entities, FIELD_NAMES.entities[dirIdx]);
  markEmpty(entities);
  for (const ent of entities ?? []) {
    const name = String(ent);
    if (!isEntity(name) || (name === "cluster-mesh" && ctx.ciliumVersion === "1.19"))
      throw new PolicyInvalidError(`unsupported entity: ${name}`);
    peers.selectors.push(...entitySelectors(name, ctx.clusterName));
    texts.push(`entity ${name}`);
  }

  const cidrs = asList(fields.cidr, FIELD_NAMES.cidr[dirIdx]);
  markEmpty(cidrs);
  for (const c of cidrs ?? []) {
    const cidr = parseCidrOrIp(String(c));
    peers.cidrs.push({ cidr, except: [], text: cidr.canonical });
    texts.push(`cidr ${cidr.canonical}`);
  }

  const cidrSet = asList(fields.cidrSet, FIELD_NAMES.cidrSet[dirIdx]);
  markEmpty(cidrSet);
  for (const c of cidrSet ?? []) {
    const p = compileCidrRule((c ?? {}) as CIDRRule);
    peers.cidrs.push(p);
    texts.push(`cidr ${p.text}`);
  }

  if (!deny && direction === "egress") {
    const fqdns = asList(fields.fqdns, FIELD_NAMES.fqdns[dirIdx]);
    markEmpty(fqdns);
    for (const f of fqdns ?? []) {
      const sel = (f ?? {}) as FQDNSelector;
      const problem = fqdnSelectorProblem(sel);
      if (problem) throw new PolicyInvalidError(`toFQDNs: ${problem}`);
      const m = new FqdnMatcher(sel);
      peers.fqdns.push(m);
      texts.push(`fqdn ${m.text}`);
    }
  }

  // Groups (toGroups/fromGroups). 1.19 never gets here: the agent skips the whole policy
  // (DerivativePolicyError). 1.20 reads each group as a selector of the CiliumCIDRGroup a cloud provider's
  // controller would create (pkg/policy/api/groups.go GetAsEndpointSelector, pkg/policy/utils/parserules.go
  // mergeEndpointSelectors); without a cloud provider there is none, so the peers select nothing, yet the
  // rule still has L3 peers (it is no "every peer" rule). An empty list is no peer field at all.
  const groups = asList(fields.groups, FIELD_NAMES.groups[dirIdx]);
  if (groups && groups.length > 0) {
    fieldsPresent++;
    texts.push(
      `${groups.length === 1 ? "a cloud group" : `${groups.length} cloud groups`} (selects nothing without a cloud provider)`,
    );
  }

  // toServices (allow rules only): before parsing, the agent's policy watcher turns each Service a toServices
  // item names into generated peers (pkg/policy/k8s/service.go processRule): a Service with a selector
  // becomes a toEndpoints selector (its selector plus its namespace), one without becomes toCIDRSet of its
  // backends' addresses. An item whose namespace is empty matches Services of every namespace
  // (serviceRefMatches / serviceSelectorMatches). processRule walks rule.Egress only: toServices in
  // egressDeny is never translated. With no Service matched the rule keeps no peer field, so with toPorts it
  // admits every peer on those ports.
  if (direction === "egress" && !deny) {
    const services = asList(fields.services, FIELD_NAMES.services[dirIdx]) as ServiceSelector[] | undefined;
    let generated = false;
    for (const item of services ?? []) {
      for (const svc of servicesOf(item ?? {}, ctx.services)) {
        const where = `service ${svc.namespace}/${svc.name}`;
        if (svc.selector && Object.keys(svc.selector).length > 0) {
          const matchLabels: Record<string, string> = {
            [`${SOURCE_K8S}:${POD_NAMESPACE_LABEL}`]: svc.namespace,
          };
          for (const [k, v] of Object.entries(svc.selector)) matchLabels[`${SOURCE_K8S}:${k}`] = v;
          const generated = EndpointSelector.fromK8s({ matchLabels });
          peers.selectors.push(
            scopePeerSelector(generated, ctx.namespace, ctx.subjectMatchesInit, ctx.clusterName),
          );
          texts.push(`${where} (endpoints {${generated.toString()}})`);
        } else {
          for (const ip of svc.backends ?? []) {
            const cidr = parseCidrOrIp(ip);
            peers.cidrs.push({ cidr, except: [], text: cidr.canonical });
            texts.push(`${where} (backend ${cidr.canonical})`);
          }
        }
        generated = true;
      }
    }
    if (generated) fieldsPresent++;
  }

  const toPorts = asList(it.toPorts, "toPorts") as PortRule[] | undefined;
  const icmpRules = asList(it.icmps, "icmps") as ICMPRule[] | undefined;
  if ((icmpRules?.length ?? 0) > 0 && (toPorts?.length ?? 0) > 0) {
    // errUnsupportedICMPWithToPorts
    throw new PolicyInvalidError(
      "the ICMPs block may only be present without ToPorts. Define a separate rule to use ToPorts",
    );
  }
  const ports = compilePorts(toPorts ?? [], deny, direction === "ingress", ctx.hostPolicy, ctx.ciliumVersion);
  const icmps = compileIcmps(icmpRules ?? []);
  const hasL4 = (toPorts?.length ?? 0) > 0 || (icmpRules?.length ?? 0) > 0;
  const peerCount = peers.selectors.length + peers.cidrs.length + peers.fqdns.length;

  peers.text = peers.none ? "nothing (an empty peer list)" : texts.join(" | ");
  return {
    rule,
    text: `${rule.refText} ${section}[${index}]`,
    direction,
    deny,
    index,
    section,
    peers,
    // No peer field but ports/ICMP: every peer (rule.go: "an empty slice of EndpointSelector indicates
    // that the rule allows all at L3"). No peer field and no ports (`ingress: [{}]`): nothing at all.
    allPeers: !peers.none && fieldsPresent === 0 && hasL4,
    // Peers but no toPorts/icmps: "L3-only rule" = port 0, protocol ANY in the policy map, which lets
    // every protocol through, ICMP included (rule.go mergeIngress/mergeEgress;
    // https://docs.cilium.io/en/stable/security/policy/language/#layer-4-examples: "If no layer 4 policy is
    // specified for an endpoint, the endpoint is allowed to send and receive on all layer 4 ports and
    // protocols including ICMP").
    allL4: !hasL4 && peerCount > 0,
    ports,
    icmps,
    ...(deny ? {} : authOf((it as { authentication?: unknown }).authentication)),
  };
}

/** An allow item's explicit authentication (pkg/policy/l4.go getAuthType; other modes are not explicit). */
function authOf(a: unknown): { auth?: number } {
  const mode = (a as { mode?: unknown } | null | undefined)?.mode;
  if (mode === "disabled") return { auth: 0 };
  if (mode === "required") return { auth: 1 };
  if (mode === "test-always-fail") return { auth: 2 };
  return {};
}

/** The Services a toServices item names (pkg/policy/k8s/service.go serviceSelectorMatches / serviceRefMatches). */
function servicesOf(item: ServiceSelector, services: TopologyService[]): TopologyService[] {
  const bySelector = item.k8sServiceSelector;
  if (bySelector) {
    let sel: EndpointSelector;
    try {
      sel = EndpointSelector.fromK8s(bySelector.selector ?? {});
    } catch (e) {
      throw new PolicyInvalidError(`toServices k8sServiceSelector: ${(e as Error).message}`);
    }
    const ns = bySelector.namespace ?? "";
    // labelsMatcher ignores the label source: a Service's labels are matched by key.
    return services.filter(
      (s) =>
        (ns === "" || ns === s.namespace) &&
        sel.matches(
          new LabelSet(
            Object.entries(s.labels ?? {}).map(([key, value]) => ({ source: SOURCE_K8S, key, value })),
          ),
        ),
    );
  }
  const ref = item.k8sService;
  if (ref) {
    const ns = ref.namespace ?? "";
    return services.filter((s) => (ns === "" || ns === s.namespace) && ref.serviceName === s.name);
  }
  return [];
}

function compileRule(
  p: CiliumPolicyObject,
  ref: PolicyRef,
  spec: Rule,
  index: number,
  clusterName: string,
  ciliumVersion: CiliumVersion,
  services: TopologyService[],
): CompiledRule {
  const isCnp = p.kind === "CiliumNetworkPolicy";
  const namespace = isCnp ? (ref.namespace as string) : undefined;
  const hasEs = spec.endpointSelector !== undefined && spec.endpointSelector !== null;
  const hasNs = spec.nodeSelector !== undefined && spec.nodeSelector !== null;
  // pkg/policy/api/rule_validation.go Rule.Validate.
  if (!hasEs && !hasNs)
    throw new PolicyInvalidError("rule must have one of EndpointSelector or NodeSelector");
  if (hasEs && hasNs) throw new PolicyInvalidError("rule cannot have both EndpointSelector and NodeSelector");
  if (hasNs && isCnp) {
    // Host policies exist only cluster-wide (https://docs.cilium.io/en/stable/security/policy/language/#host-policies).
    throw new PolicyInvalidError("nodeSelector is only allowed in a CiliumClusterwideNetworkPolicy");
  }
  const len = (v: unknown[] | undefined | null): number => (Array.isArray(v) ? v.length : 0);
  const ingressSection = len(spec.ingress) + len(spec.ingressDeny) > 0;
  const egressSection = len(spec.egress) + len(spec.egressDeny) > 0;
  if (!ingressSection && !egressSection) {
    throw new PolicyInvalidError("rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny");
  }

  // The requires fields are deprecated with `+kubebuilder:validation:MaxItems=0` (pkg/policy/api/ingress.go
  // FromRequires, egress.go ToRequires, Cilium 1.19 and 1.20): the API server refuses any item.
  for (const [section, field] of [
    ["ingress", "fromRequires"],
    ["ingressDeny", "fromRequires"],
    ["egress", "toRequires"],
    ["egressDeny", "toRequires"],
  ] as const) {
    ((spec[section] ?? []) as Record<string, unknown>[]).forEach((r, i) => {
      if (len(r[field] as unknown[] | undefined) > 0)
        throw new CrdSchemaError(
          `${section}[${i}].${field} must have no items (deprecated since Cilium 1.19)`,
        );
    });
  }

  let selector: EndpointSelector;
  try {
    selector = EndpointSelector.fromK8s(hasEs ? spec.endpointSelector : spec.nodeSelector);
  } catch (e) {
    if (e instanceof SelectorError)
      throw new PolicyInvalidError(`${hasEs ? "endpointSelector" : "nodeSelector"}: ${e.message}`);
    throw e;
  }
  const subjectMatchesInit = selector.hasKey(SOURCE_RESERVED, RESERVED.init);
  if (hasEs) selector = scopeSubjectSelector(selector, namespace);

  // enableDefaultDeny (pkg/policy/api/rule_validation.go Rule.Sanitize): unset means "deny when the rule
  // has a section for that direction"; false keeps the rule from switching default deny on.
  const ingressDefaultDeny = ingressSection && spec.enableDefaultDeny?.ingress !== false;
  const egressDefaultDeny = egressSection && spec.enableDefaultDeny?.egress !== false;

  const rule: CompiledRule = {
    ref,
    refText: refText(ref),
    key: `${refKey(ref)}#${index}`,
    namespace,
    subject: { node: hasNs, selector },
    ingressSection,
    egressSection,
    ingressDefaultDeny,
    egressDefaultDeny,
    ingress: [],
    egress: [],
  };
  const ctx: CompileContext = {
    namespace,
    clusterName,
    subjectMatchesInit,
    hostPolicy: hasNs,
    ciliumVersion,
    services,
  };
  const sections: [CompiledEntry["section"], (IngressRule | EgressRule)[] | undefined][] = [
    ["ingress", spec.ingress],
    ["ingressDeny", spec.ingressDeny],
    ["egress", spec.egress],
    ["egressDeny", spec.egressDeny],
  ];
  for (const [section, items] of sections) {
    (asList(items, section) as (IngressRule | EgressRule)[] | undefined)?.forEach((item, i) => {
      const entry = compileEntry(rule, item, section, i, ctx);
      (entry.direction === "ingress" ? rule.ingress : rule.egress).push(entry);
    });
  }
  return rule;
}

export interface CompileResult {
  rules: CompiledRule[];
  /** Policies the API server or the agent would refuse, with the reason; they take no effect. */
  rejected: { ref: PolicyRef; reason: string; by: "api-server" | "agent" }[];
  /** Notes on how a policy is read that the user should see before a verdict (see notesOn). */
  unmodelled: string[];
}

/**
 * What the user should know about how a policy is read, beyond refusals: toServices items that name no
 * Service of the topology (Cilium then gives the rule no peer from them).
 */
function notesOn(ref: PolicyRef, specs: Rule[], services: TopologyService[]): string[] {
  const out: string[] = [];
  specs.forEach((spec, i) => {
    ((spec.egress ?? []) as EgressRule[]).forEach((r, j) => {
      ((r?.toServices ?? []) as ServiceSelector[]).forEach((item, k) => {
        if (servicesOf(item ?? {}, services).length === 0)
          out.push(
            `${refText(ref)} ${specs.length > 1 ? `specs[${i}].` : ""}egress[${j}].toServices[${k}] names no Service of the cluster model (${services.length ? services.map((s) => `${s.namespace}/${s.name}`).join(", ") : "none"}): Cilium gives the rule no peer from it${(r.toPorts ?? []).length > 0 ? ", so its toPorts admit every peer" : ""}`,
          );
      });
    });
  });
  return out;
}

/** pkg/policy/api/rule.go Rule.RequiresDerivative: any toGroups or fromGroups item, allow or deny. */
function requiresDerivative(specs: Rule[]): boolean {
  const has = (items: unknown, key: "toGroups" | "fromGroups"): boolean =>
    Array.isArray(items) &&
    items.some(
      (r) =>
        Array.isArray((r as Record<string, unknown> | null)?.[key]) &&
        (r as Record<string, unknown[]>)[key].length > 0,
    );
  return specs.some(
    (s) =>
      has(s.egress, "toGroups") ||
      has(s.egressDeny, "toGroups") ||
      has(s.ingress, "fromGroups") ||
      has(s.ingressDeny, "fromGroups"),
  );
}

/**
 * Compiles every policy. Like the agent, an invalid policy is refused as a whole (its status shows the
 * error and none of its rules are imported).
 */
export function compilePolicies(
  policies: CiliumPolicyObject[],
  clusterName: string,
  ciliumVersion: CiliumVersion = "1.19",
  services: TopologyService[] = [],
): CompileResult {
  const rules: CompiledRule[] = [];
  const rejected: CompileResult["rejected"] = [];
  const unmodelled: string[] = [];
  for (const p of policies) {
    const ref = policyRef(p);
    try {
      if (p.kind !== "CiliumNetworkPolicy" && p.kind !== "CiliumClusterwideNetworkPolicy") {
        throw new PolicyInvalidError(`unsupported kind ${String(p.kind)}`);
      }
      const specs: Rule[] = [];
      if (p.spec) specs.push(p.spec);
      if (Array.isArray(p.specs)) specs.push(...p.specs);
      if (specs.length === 0) throw new PolicyInvalidError("the policy has neither spec nor specs");
      const derivative = ciliumVersion === "1.19" && requiresDerivative(specs);
      let compiled: CompiledRule[] = [];
      try {
        compiled = specs.map((s, i) => compileRule(p, ref, s, i, clusterName, ciliumVersion, services));
      } catch (e) {
        // The API server refuses first; a policy it stores but the agent skips is never parsed.
        if (!derivative || e instanceof CrdSchemaError) throw e;
      }
      if (derivative)
        throw new DerivativePolicyError(
          "it has toGroups/fromGroups: the agent skips it and waits for a derivative policy, which the operator creates only with a cloud provider's groups (AWS); without one the policy never takes effect",
        );
      rules.push(...compiled);
      unmodelled.push(...notesOn(ref, specs, services));
    } catch (e) {
      if (e instanceof PolicyInvalidError || e instanceof SelectorError) {
        rejected.push({ ref, reason: e.message, by: e instanceof CrdSchemaError ? "api-server" : "agent" });
      } else {
        throw e;
      }
    }
  }
  return { rules, rejected, unmodelled };
}
