// The castle's modelled world, derived from stack config: nodes by role, one pod per infra role, pods in
// every user namespace, the jumphosts and the internet. Endpoint ids are what `castle why` accepts.

import type { ConfigForTopology } from "../config/model";
import { kindNodeNames } from "../vocabulary/nodes";
import { infraNamespaceLabels } from "../vocabulary/roles";
import { parseCidr, formatIp } from "../lib/net/cidr";
import type { Endpoint, NodeRole, Topology, TopologyNode } from "./engine";
import { CONTROL_PLANE_ROLE_LABEL, INFRA_ROLE_LABEL, K8S_POD_NAMESPACE_LABEL } from "../vocabulary/labels";

/** An address the examples use for "somewhere on the internet" (TEST-NET-3, RFC 5737). */
export const WORLD_IP = "203.0.113.10";
/** The port a user workload serves in the model (the demo app's). */
export const WORKLOAD_PORT = 8080;

export function nodeLabels(name: string, role: NodeRole): Record<string, string> {
  return {
    "kubernetes.io/hostname": name,
    "kubernetes.io/os": "linux",
    ...(role === "control-plane" ? { [CONTROL_PLANE_ROLE_LABEL]: "" } : {}),
    ...(role === "infra" ? { [INFRA_ROLE_LABEL]: "" } : {}),
  };
}

/** Kubernetes labels every namespace with its name (kubernetes.io/metadata.name, since 1.21). */
export const namespaceLabelsOf = (ns: string, labels: Record<string, string>): Record<string, string> => ({
  "kubernetes.io/metadata.name": ns,
  ...labels,
});

export function castleTopology(config: ConfigForTopology): Topology {
  const names =
    config.clusterProvider === "kind"
      ? kindNodeNames(config.clusterName, config.kindNodes)
      : (["control-plane", "infra", "worker"] as const).map((role) => ({
          name: `${config.clusterName}-${role}`,
          role,
        }));
  const nodes: TopologyNode[] = names.map((n, i) => ({
    name: n.name,
    role: n.role,
    labels: nodeLabels(n.name, n.role),
    ips: [`172.18.0.${2 + i}`],
  }));
  const firstOf = (role: NodeRole): string => (nodes.find((n) => n.role === role) ?? nodes[0]).name;

  const pods: Endpoint[] = [];
  const nsLabels = infraNamespaceLabels(config.roles);
  config.roles.forEach((role) => {
    const labels = Object.fromEntries(
      Object.entries(role.podLabels).filter(([k]) => `k8s:${k}` !== K8S_POD_NAMESPACE_LABEL),
    );
    pods.push({
      id: `role:${role.name}`,
      kind: "pod",
      labels,
      namespace: role.namespace,
      namespaceLabels: namespaceLabelsOf(role.namespace, nsLabels.get(role.namespace) ?? {}),
      // Infra components run on the infra nodes; kube-system's on the workers.
      node: role.namespace === "kube-system" ? firstOf("worker") : firstOf("infra"),
      ips: [`10.244.1.${10 + pods.length}`],
      // As the charts create them: the identity carries the service account, named ports resolve.
      ...(role.serviceAccount ? { serviceAccount: role.serviceAccount } : {}),
      ...(role.containerPorts ? { namedPorts: role.containerPorts } : {}),
    });
  });
  config.userNamespaces.forEach((ns, i) => {
    const labels = { exposed: String(ns.exposed), metrics: String(ns.metrics) };
    for (const name of ["web", "client"]) {
      pods.push({
        id: `pod:${ns.name}/${name}`,
        kind: "pod",
        labels: { "app.kubernetes.io/name": `demo-${name}` },
        namespace: ns.name,
        namespaceLabels: namespaceLabelsOf(ns.name, labels),
        node: firstOf("worker"),
        ips: [`10.${100 + Math.floor(i / 250)}.${i % 250}.${name === "web" ? 10 : 11}`],
      });
    }
  });
  const externals = [
    { id: "world", ip: WORLD_IP },
    ...config.jumphostCidrs.map((c) => {
      const p = parseCidr(c);
      return {
        id: `jumphost:${c}`,
        ip: p.ok ? formatIp(p.family, p.network + (p.prefix >= (p.family === 4 ? 31 : 127) ? 0n : 1n)) : c,
      };
    }),
  ];
  const controlPlane = nodes.filter((n) => n.role === "control-plane");
  return {
    clusterName: config.clusterName,
    nodes,
    pods,
    externals,
    kubeApiServerNodes: controlPlane.map((n) => n.name),
    // The Services every cluster has, for toServices: `kubernetes`, without a selector, whose backends are
    // the API servers (k8s.io/kubernetes pkg/controlplane/controller/kubernetesservice/controller.go, with
    // its labels), and kubeadm's `kube-dns` (cmd/kubeadm/app/phases/addons/dns/manifests.go).
    services: [
      {
        name: "kubernetes",
        namespace: "default",
        labels: { provider: "kubernetes", component: "apiserver" },
        backends: controlPlane.flatMap((n) => n.ips ?? []),
      },
      {
        name: "kube-dns",
        namespace: "kube-system",
        labels: {
          "k8s-app": "kube-dns",
          "kubernetes.io/cluster-service": "true",
          "kubernetes.io/name": "CoreDNS",
        },
        selector: { "k8s-app": "kube-dns" },
      },
    ],
  };
}
