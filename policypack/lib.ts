// Reading Cilium policies as the pack sees them (plain props), and the message shape every rule uses.
// What a policy means (which peers and ports a rule admits, which endpoints it selects) is the engine's
// (verifier/engine): the pack asks it and keeps no reading of Cilium of its own.

import { CCNP_TYPE, CNP_TYPE } from "../lib/cilium/policy";
import { LAYER_LABEL } from "../vocabulary/labels";
import type { Untyped } from "../lib/untyped";

export type Obj = Untyped;

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

export function policyId(props: Obj): string {
  const m = props.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name}` : String(m.name);
}

export function layerOf(props: Obj): string | undefined {
  return props.metadata?.labels?.[LAYER_LABEL];
}
