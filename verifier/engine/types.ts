// Public types of the offline CiliumNetworkPolicy evaluator. Pure data: no Pulumi, no Kubernetes client.
//
// The rule shape mirrors Cilium's policy API (pkg/policy/api/rule.go, ingress.go, egress.go, l4.go,
// icmp.go, fqdn.go) as it appears in a CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy manifest,
// so YAML parsed with the `yaml` package can be passed in as is.

/** A Kubernetes LabelSelector (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

export interface PortProtocol {
  /** A number (as string or number), "0" for all ports, or an IANA service name ("http"). */
  port?: string | number;
  endPort?: number;
  /** TCP, UDP, SCTP or ANY (empty means ANY). */
  protocol?: string;
}

export interface PortRuleDNS {
  matchName?: string;
  matchPattern?: string;
}

export interface PortRuleHTTP {
  method?: string;
  path?: string;
  host?: string;
  headers?: string[];
}

export interface L7Rules {
  dns?: PortRuleDNS[];
  http?: PortRuleHTTP[];
  kafka?: unknown[];
  l7proto?: string;
  l7?: unknown[];
}

export interface PortRule {
  ports?: PortProtocol[];
  rules?: L7Rules;
  serverNames?: string[];
}

export interface ICMPField {
  /** An ICMP type number or its CamelCase name ("EchoRequest"). */
  type: number | string;
  /** IPv4 (default) or IPv6. */
  family?: "IPv4" | "IPv6";
}

export interface ICMPRule {
  fields?: ICMPField[];
}

export interface CIDRRule {
  cidr: string;
  except?: string[];
}

export interface FQDNSelector {
  matchName?: string;
  matchPattern?: string;
}

/** Mutual authentication of a rule's traffic (pkg/policy/api/rule.go Authentication). */
export interface Authentication {
  mode: "disabled" | "required" | "test-always-fail";
}

/** A cloud provider group (pkg/policy/api/groups.go): only AWS exists. */
export interface Groups {
  aws?: {
    labels?: Record<string, string>;
    securityGroupsIds?: string[];
    securityGroupsNames?: string[];
    region?: string;
  };
}

/** A toServices item (pkg/policy/api/service.go): a Service by name, or Services by their labels. */
export interface ServiceSelector {
  k8sService?: { serviceName?: string; namespace?: string };
  k8sServiceSelector?: { selector: LabelSelector; namespace?: string };
}

export interface IngressRule {
  fromEndpoints?: LabelSelector[];
  fromEntities?: string[];
  fromCIDR?: string[];
  fromCIDRSet?: CIDRRule[];
  fromNodes?: LabelSelector[];
  fromGroups?: Groups[];
  toPorts?: PortRule[];
  icmps?: ICMPRule[];
  authentication?: Authentication;
}

export interface EgressRule {
  toEndpoints?: LabelSelector[];
  toEntities?: string[];
  toCIDR?: string[];
  toCIDRSet?: CIDRRule[];
  toNodes?: LabelSelector[];
  toFQDNs?: FQDNSelector[];
  toServices?: ServiceSelector[];
  toGroups?: Groups[];
  toPorts?: PortRule[];
  icmps?: ICMPRule[];
  authentication?: Authentication;
}

export interface Rule {
  endpointSelector?: LabelSelector;
  nodeSelector?: LabelSelector;
  ingress?: IngressRule[];
  ingressDeny?: IngressRule[];
  egress?: EgressRule[];
  egressDeny?: EgressRule[];
  enableDefaultDeny?: { ingress?: boolean; egress?: boolean };
  description?: string;
}

export type PolicyKind = "CiliumNetworkPolicy" | "CiliumClusterwideNetworkPolicy";

export interface CiliumPolicyObject {
  apiVersion: "cilium.io/v2";
  kind: PolicyKind;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Rule;
  specs?: Rule[];
}

export const UNLABELLED_LAYER = "unlabelled";

export type NodeRole = "control-plane" | "infra" | "worker";

export interface Endpoint {
  id: string;
  kind: "pod" | "host" | "world";
  /** Kubernetes labels without a source prefix, e.g. {"app.kubernetes.io/name": "ingress-nginx"}. */
  labels: Record<string, string>;
  /** Pods: their namespace (default "default"). */
  namespace?: string;
  /** Pods: the labels of their namespace. */
  namespaceLabels?: Record<string, string>;
  /** Pods: the service account (default "default"). */
  serviceAccount?: string;
  /** Pods: the node they run on. Hosts: their node name. */
  node?: string;
  ips?: string[];
  nodeRole?: NodeRole;
  /** Container ports by name, to resolve named ports ("http") in toPorts. */
  namedPorts?: Record<string, number>;
}

export interface TopologyNode {
  name: string;
  labels: Record<string, string>;
  ips?: string[];
  role: NodeRole;
}

export interface TopologyExternal {
  id: string;
  ip?: string;
  ips?: string[];
  cidrs?: string[];
  /** An external kube-apiserver (managed control plane): selected by the kube-apiserver entity. */
  kubeApiServer?: boolean;
}

/**
 * A Kubernetes Service, for toServices (pkg/policy/k8s/service.go processRule): one with a selector is
 * read as a toEndpoints selector (its selector plus its namespace); one without as toCIDRSet of its
 * backends' addresses.
 */
export interface TopologyService {
  name: string;
  namespace: string;
  /** The Service object's own labels (k8sServiceSelector matches these). */
  labels?: Record<string, string>;
  /** spec.selector; absent or empty for a Service whose endpoints are managed by hand. */
  selector?: Record<string, string>;
  /** The backends' addresses (EndpointSlices), used only when there is no selector. */
  backends?: string[];
}

export interface Topology {
  nodes: TopologyNode[];
  /** Pod endpoints (kind "pod"). */
  pods: Endpoint[];
  externals: TopologyExternal[];
  /** Nodes running kube-apiserver on their host network; default: the control-plane nodes. */
  kubeApiServerNodes?: string[];
  /** Cilium's cluster name (label io.cilium.k8s.policy.cluster); default "default". */
  clusterName?: string;
  /** The cluster's Services, for toServices; none when absent. */
  services?: TopologyService[];
}

export type FlowProtocol = "TCP" | "UDP" | "SCTP" | "ICMP" | "ICMPv6";

export interface Flow {
  /** Endpoint id: a pod id, a node name (its host endpoint; "host:<node>" also works), an external id. */
  from: string;
  to: string;
  protocol: FlowProtocol;
  port?: number;
  /** ICMP type; default echo request (8 for ICMP, 128 for ICMPv6). */
  icmpType?: number;
  /** The FQDN the client resolved before connecting, for toFQDNs peers. */
  dnsName?: string;
  /** The name asked in a DNS query carried by this flow, for DNS L7 rules. */
  dnsQuery?: string;
  /** A reply packet of a connection the other side opened. */
  isReply?: boolean;
}

/** A policy named in a verdict. Verdicts share these objects (and frozen empty lists): treat them as read-only. */
export interface PolicyRef {
  name: string;
  namespace?: string;
  kind: PolicyKind;
  layer: string;
}

export type Direction = "egress" | "ingress";

export interface DirectionResult {
  /** Default deny is on for this endpoint and direction. */
  enforced: boolean;
  allowed: boolean;
  allowedBy: PolicyRef[];
  deniedBy: PolicyRef[];
  /** The policies that switched default deny on. */
  enforcedBy: PolicyRef[];
  reason: string;
  /**
   * Set when the datapath decided, not the policy repository (scripts/conformance/datapathEffects.ts):
   * "self-traffic", "encap-prohibited", "auth-required".
   */
  datapathEffect?: string;
  /**
   * The authentication the policy map entry requires ("spire", "test-always-fail"; pkg/policy/types/auth.go),
   * when the policy allows the flow only after mutual authentication.
   */
  auth?: string;
}

export interface Verdict {
  verdict: "allowed" | "denied" | "audited";
  /** The direction(s) that dropped (denied/audited), or, for allowed flows, those that were enforced. */
  decidedBy: Direction[];
  egress: DirectionResult;
  ingress: DirectionResult;
  proxied?: "dns" | "http";
}

/** The Cilium minors whose semantics the engine knows; 1.19 unless a stack's ciliumVersion says 1.20. */
export type CiliumVersion = "1.19" | "1.20";

export interface EngineOptions {
  /** Where Cilium's versions differ (port 0 with an endPort), whose semantics apply. Default "1.19". */
  ciliumVersion?: CiliumVersion;
  /** Cilium's policy audit mode: would-be drops are reported as AUDIT and let through. */
  auditMode?: boolean;
  /** Known DNS answers: FQDN -> IPs, as the DNS proxy would have learnt them (for toFQDNs). */
  fqdnMap?: Record<string, string[]>;
  /** Host firewall on (hostFirewall.enabled=true); default true, as in the castle. */
  hostFirewall?: boolean;
  /** --allow-localhost; Kubernetes mode resolves "auto" to "always" (default). */
  allowLocalhost?: "always" | "policy";
  /** --policy-cidr-match-mode; "nodes" lets CIDR selectors match node IPs. Default "" (they don't). */
  policyCidrMatchMode?: "" | "nodes";
  /**
   * The Helm value routingMode: "tunnel" (the chart's default: VXLAN or Geneve between nodes) or "native".
   * In tunnel mode a host's traffic to a pod on another node carries reserved:remote-node only.
   */
  routingMode?: "tunnel" | "native";
  /** The tunnel's UDP port in tunnel routing (VXLAN 8472, the castle's; Geneve 6081). */
  tunnelPort?: number;
  /**
   * The Helm value authentication.mutual.spire.enabled: with it, rules with `authentication.mode: required`
   * admit their peers once SPIRE has authenticated them; without it (the castle's) Cilium drops them.
   */
  mutualAuth?: boolean;
}
