// Cilium policy objects as the layers build them: typed with @kubernetes-models/cilium (ESM-only, so only
// its types are imported here; tests load its validate() with a dynamic import()).

import type { IRule } from "@kubernetes-models/cilium/policy/api/Rule" with { "resolution-mode": "import" };
import type { IComGithubCiliumCiliumPkgPolicyApiEndpointSelector as IEndpointSelector } from "@kubernetes-models/cilium/policy/api/EndpointSelector" with {
  "resolution-mode": "import",
};
import type { IComGithubCiliumCiliumPkgPolicyApiPortProtocol as IPortProtocol } from "@kubernetes-models/cilium/policy/api/PortProtocol" with {
  "resolution-mode": "import",
};
import { K8S_POD_NAMESPACE_LABEL, LAYER_LABEL, Layer } from "../../vocabulary/labels";

export type CiliumRule = IRule;
export type EndpointSelector = IEndpointSelector;
export type CiliumPortProtocol = IPortProtocol;

export const CILIUM_API_VERSION = "cilium.io/v2";
export const CNP_KIND = "CiliumNetworkPolicy";
export const CCNP_KIND = "CiliumClusterwideNetworkPolicy";
export const CNP_TYPE = `kubernetes:${CILIUM_API_VERSION}:${CNP_KIND}`;
export const CCNP_TYPE = `kubernetes:${CILIUM_API_VERSION}:${CCNP_KIND}`;

/**
 * On a host policy: whether Cilium was in audit mode when the policy was first created. Written once
 * (the program ignores later changes to it), so the policy pack can tell a host policy that has been
 * through audit mode from one that would be enforced on its first day.
 */
export const INTRODUCED_IN_AUDIT_MODE = "castle.cilium.io/introduced-in-audit-mode";

export interface CiliumPolicy {
  apiVersion: typeof CILIUM_API_VERSION;
  kind: typeof CNP_KIND | typeof CCNP_KIND;
  metadata: {
    name: string;
    namespace?: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: CiliumRule & { description: string };
}

export function cnp(
  layer: Layer,
  namespace: string,
  name: string,
  spec: CiliumRule & { description: string },
): CiliumPolicy {
  return {
    apiVersion: CILIUM_API_VERSION,
    kind: CNP_KIND,
    metadata: { name, namespace, labels: { [LAYER_LABEL]: layer } },
    spec,
  };
}

export function ccnp(layer: Layer, name: string, spec: CiliumRule & { description: string }): CiliumPolicy {
  return {
    apiVersion: CILIUM_API_VERSION,
    kind: CCNP_KIND,
    metadata: { name, labels: { [LAYER_LABEL]: layer } },
    spec,
  };
}

/** Kubernetes labels as a Cilium selector on the `k8s:` source, which is where pod labels live. */
export function k8sLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(labels).map(([k, v]) => [k.startsWith("k8s:") ? k : `k8s:${k}`, v]),
  );
}

export const NAMESPACE_LABELS_PREFIX = "k8s:io.cilium.k8s.namespace.labels.";

/** A selector for pods with `labels` in `namespace`: usable in CCNPs and, across namespaces, in CNPs. */
export function podsIn(namespace: string, labels: Record<string, string>): EndpointSelector {
  return { matchLabels: { [K8S_POD_NAMESPACE_LABEL]: namespace, ...k8sLabels(labels) } };
}

/** A selector for every pod whose namespace carries `label: "true"`. */
export function podsInNamespacesLabelled(label: string): EndpointSelector {
  return { matchLabels: { [`${NAMESPACE_LABELS_PREFIX}${label}`]: "true" } };
}

export function tcp(...ports: number[]): CiliumPortProtocol[] {
  return ports.map((port) => ({ port: String(port), protocol: "TCP" as const }));
}

export function udp(...ports: number[]): CiliumPortProtocol[] {
  return ports.map((port) => ({ port: String(port), protocol: "UDP" as const }));
}
