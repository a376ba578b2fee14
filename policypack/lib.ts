// Reading Cilium policies as the pack sees them (plain props), and the message shape every rule uses.

import { CCNP_TYPE, CNP_TYPE } from "../lib/cilium/policy";
import { LAYER_LABEL } from "../vocabulary/labels";

export type Obj = Record<string, any>;

export const CILIUM_POLICY_TYPES = [CNP_TYPE, CCNP_TYPE];
export const RELEASE_TYPE = "kubernetes:helm.sh/v3:Release";
export const NAMESPACE_TYPE = "kubernetes:core/v1:Namespace";
export const NAMESPACE_PATCH_TYPE = "kubernetes:core/v1:NamespacePatch";
export const CONFIGMAP_TYPE = "kubernetes:core/v1:ConfigMap";
export const USER_NAMESPACE_COMPONENT = "castle:policy:UserNamespace";
export const CILIUM_COMPONENT = "castle:cilium:Cilium";

/** Every violation says the rule, why it exists and how to fix it. */
export function violation(rule: string, why: string, fix: string): string {
  return `${rule}. Why: ${why}. Fix: ${fix}.`;
}

export const isCiliumPolicyType = (type: string): boolean => CILIUM_POLICY_TYPES.includes(type);
export const isClusterwide = (type: string): boolean => type === CCNP_TYPE;

/** The rules of a CNP/CCNP: `spec` and every entry of `specs`. */
export function rulesOf(props: Obj): Obj[] {
  return [...(props.spec ? [props.spec] : []), ...(Array.isArray(props.specs) ? props.specs : [])];
}

/** A host policy selects nodes: a CCNP rule with a nodeSelector. */
export const isHostRule = (rule: Obj): boolean =>
  rule.nodeSelector !== undefined && rule.nodeSelector !== null;

export function policyId(props: Obj): string {
  const m = props.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name}` : String(m.name);
}

export function layerOf(props: Obj): string | undefined {
  return props.metadata?.labels?.[LAYER_LABEL];
}

/** A selector that selects everything: absent matchLabels and matchExpressions, or both empty. */
export function selectsAll(sel: Obj | undefined): boolean {
  if (!sel) return false;
  return Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;
}

const PEER_FIELDS = [
  "fromEndpoints",
  "fromCIDR",
  "fromCIDRSet",
  "fromEntities",
  "fromNodes",
  "fromGroups",
  "fromRequires",
];

const hasAny = (r: Obj, key: string): boolean => Array.isArray(r[key]) && r[key].length > 0;
const hasPeers = (r: Obj): boolean => PEER_FIELDS.some((k) => hasAny(r, k));

/**
 * Whether an ingress rule admits every peer: no peer field, but ports or ICMP types. An entirely empty
 * rule (`ingress: [{}]`) admits nothing: it only switches on default deny (Cilium's "Ingress Default
 * Deny" example).
 */
export const admitsEveryPeer = (r: Obj): boolean =>
  !hasPeers(r) && (hasAny(r, "toPorts") || hasAny(r, "icmps"));

/** Whether an ingress rule's L4 part admits port/protocol (a peer rule without toPorts/icmps: every port). */
export function admitsPort(r: Obj, port: number, protocol: "TCP" | "UDP"): boolean {
  if (!hasAny(r, "toPorts")) return !hasAny(r, "icmps") && hasPeers(r);
  return r.toPorts.some((pr: Obj) =>
    (pr.ports ?? []).some((p: Obj) => {
      const proto = String(p.protocol ?? "ANY").toUpperCase();
      if (proto !== protocol && proto !== "ANY") return false;
      const from = Number(p.port);
      if (!Number.isInteger(from)) return false;
      if (from === 0) return true; // port 0 means every port
      const to = p.endPort !== undefined ? Number(p.endPort) : from;
      return port >= from && port <= to;
    }),
  );
}

/** Entities that contain `entity`, per Cilium's pkg/policy/api/entity.go. */
export function entitiesCovering(entity: string): string[] {
  const cluster = ["host", "remote-node", "kube-apiserver", "health", "init", "ingress", "unmanaged"];
  const out = ["all", entity];
  if (cluster.includes(entity)) out.push("cluster");
  if (entity === "world-ipv4" || entity === "world-ipv6") out.push("world");
  return out;
}

/** Whether an ingress rule admits traffic from the entity (by an entity peer or by naming no peer). */
export function admitsEntity(r: Obj, entity: string): boolean {
  if (admitsEveryPeer(r)) return true;
  const covering = entitiesCovering(entity);
  return (r.fromEntities ?? []).some((e: string) => covering.includes(e));
}
