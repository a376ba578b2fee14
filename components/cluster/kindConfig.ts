// Pure: stack config in, kind cluster config out. No Pulumi, so tests parse and assert it directly.

import { createHash } from "node:crypto";
import * as YAML from "yaml";
import { KindNodes, kindNodeNames } from "../../vocabulary/nodes";
import * as PORT from "../../vocabulary/ports";

import { INFRA_ROLE_LABEL } from "../../vocabulary/labels";

/** Host ports mapped to the first infra node, so `curl http://localhost` reaches the ingress controller. */
export const INGRESS_HOST_PORTS = [PORT.HTTP, PORT.HTTPS] as const;

export interface KindNodeConfig {
  role: "control-plane" | "worker";
  image: string;
  labels?: Record<string, string>;
  kubeadmConfigPatches?: string[];
  extraPortMappings?: { containerPort: number; hostPort: number; protocol: "TCP" }[];
}

export interface KindClusterConfig {
  kind: "Cluster";
  apiVersion: "kind.x-k8s.io/v1alpha4";
  name: string;
  networking: { disableDefaultCNI: true; kubeProxyMode: "none" };
  nodes: KindNodeConfig[];
}

// A taint at registration is allowed to the kubelet, unlike a node-role label: NodeRestriction makes the
// kubelet refuse `node-role.kubernetes.io/*` in --node-labels (kubernetes-sigs/kind#3536), which is how
// kind applies `labels`. The infra role label is therefore set after creation by a NodePatch
// (see KindCluster), and the kind config carries only the taint.
const INFRA_TAINT_PATCH = YAML.stringify({
  kind: "JoinConfiguration",
  nodeRegistration: { taints: [{ key: INFRA_ROLE_LABEL, effect: "NoSchedule" }] },
});

export function buildKindConfig(clusterName: string, nodes: KindNodes, image: string): KindClusterConfig {
  const list: KindNodeConfig[] = [];
  for (let i = 0; i < nodes.controlPlane; i++) list.push({ role: "control-plane", image });
  for (let i = 0; i < nodes.infra; i++) {
    list.push({
      role: "worker",
      image,
      kubeadmConfigPatches: [INFRA_TAINT_PATCH],
      ...(i === 0
        ? {
            extraPortMappings: INGRESS_HOST_PORTS.map((port) => ({
              containerPort: port,
              hostPort: port,
              protocol: "TCP" as const,
            })),
          }
        : {}),
    });
  }
  for (let i = 0; i < nodes.workers; i++) list.push({ role: "worker", image });
  return {
    kind: "Cluster",
    apiVersion: "kind.x-k8s.io/v1alpha4",
    name: clusterName,
    // Cilium is the CNI and replaces kube-proxy: kind must install neither kindnet nor kube-proxy.
    networking: { disableDefaultCNI: true, kubeProxyMode: "none" },
    nodes: list,
  };
}

export function kindConfigYaml(config: KindClusterConfig): string {
  return YAML.stringify(config, { lineWidth: 0 });
}

/**
 * Where pods and agents reach the API server from inside the kind network: the control-plane container,
 * or kind's load balancer container when there are several control planes. Both listen on 6443.
 */
export function kindApiServerEndpoint(clusterName: string, nodes: KindNodes): { host: string; port: number } {
  return {
    host: nodes.controlPlane > 1 ? `${clusterName}-external-load-balancer` : `${clusterName}-control-plane`,
    port: 6443,
  };
}

/**
 * The names `kind get nodes` lists for a cluster: its nodes, plus the external load balancer kind puts in
 * front of several control planes (pkg/cluster/internal/create/actions/loadbalancer).
 */
export function kindContainerNames(clusterName: string, nodes: KindNodes): string[] {
  const names = kindNodeNames(clusterName, nodes).map((n) => n.name);
  if (nodes.controlPlane > 1) names.push(`${clusterName}-external-load-balancer`);
  return names.sort();
}

/**
 * A short identity of the cluster a kubeconfig points at: a hash of its certificate authority, which kind
 * generates anew for every cluster it creates (and which a new client key or port leaves alone).
 */
export function clusterIdentity(kubeconfig: string): string {
  let ca = "";
  try {
    const doc = YAML.parse(kubeconfig) as { clusters?: { cluster?: Record<string, string> }[] } | null;
    ca = doc?.clusters?.[0]?.cluster?.["certificate-authority-data"] ?? "";
  } catch {
    ca = "";
  }
  return caIdentity(ca || kubeconfig);
}

/** The identity of a cluster whose certificate-authority-data is `ca` (see clusterIdentity). */
export function caIdentity(ca: string): string {
  return createHash("sha256").update(ca).digest("hex").slice(0, 12);
}
