// Pure: a user namespace entry in, its Namespace and its one policy out. The rule set is static: nothing
// else in the castle changes when a namespace is added.

import { CiliumPolicy, cnp } from "../../../lib/cilium/policy";
import type { UserNamespaceConfig } from "../../../config/castleConfig";
import { Layer } from "../../../vocabulary/labels";

/** The namespace labels infra roles look for; values are always "true" or "false". */

/** The talk's default rule: everything inside a namespace may talk, nothing else. */
export function allowWithinNamespace(layer: Layer, namespace: string): CiliumPolicy {
  return cnp(layer, namespace, "allow-within-namespace", {
    description: "Allow NS internal traffic, block everything else",
    endpointSelector: {},
    ingress: [{ fromEndpoints: [{}] }],
    egress: [{ toEndpoints: [{}] }],
  });
}

export interface NamespaceObject {
  apiVersion: "v1";
  kind: "Namespace";
  metadata: { name: string; labels: Record<string, string> };
}

export function userNamespaceObject(ns: UserNamespaceConfig): NamespaceObject {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: ns.name,
      labels: {
        // global-infra-nginx admits the ingress controller only where exposed is "true".
        exposed: String(ns.exposed),
        // global-infra-prometheus admits Prometheus only where metrics is "true".
        metrics: String(ns.metrics),
      },
    },
  };
}

export function userNamespacePolicies(ns: UserNamespaceConfig): CiliumPolicy[] {
  return [allowWithinNamespace("user", ns.name)];
}
