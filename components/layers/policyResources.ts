import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { CiliumPolicy } from "../../lib/cilium/policy";
import { ClusterPlacement, inCluster } from "../../lib/pulumi/inCluster";

/**
 * One CustomResource per policy, named after the component and the policy, each waiting for the Cilium
 * CRD gate (and for its namespace, when the layer creates it). Shared by the three layers.
 */
export function createPolicies(
  component: pulumi.ComponentResource,
  componentName: string,
  policies: CiliumPolicy[],
  placement: ClusterPlacement,
  crdGate: pulumi.Resource,
  namespaces: Map<string, pulumi.Resource> = new Map(),
  ignoreChanges: string[] = [],
): k8s.apiextensions.CustomResource[] {
  return policies.map((p) => {
    const ns = p.metadata.namespace;
    const resourceName = ns
      ? `${componentName}-${ns}-${p.metadata.name}`
      : `${componentName}-${p.metadata.name}`;
    const owner = ns ? namespaces.get(ns) : undefined;
    return new k8s.apiextensions.CustomResource(
      resourceName,
      { apiVersion: p.apiVersion, kind: p.kind, metadata: p.metadata, spec: p.spec },
      {
        ...inCluster(component, placement, [crdGate, ...(owner ? [owner] : [])]),
        ...(ignoreChanges.length > 0 ? { ignoreChanges } : {}),
      },
    );
  });
}
