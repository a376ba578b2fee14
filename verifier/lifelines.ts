// The cluster's lifelines: the flows the nodes must keep admitting, or the control plane, etcd, kubelets
// or the pod network stop once audit mode is off. One table for `castle check` and the policy pack's
// node-lifelines rule, both of which ask the engine about the flows it expands to.

import * as PORT from "../vocabulary/ports";
import type { Flow, Topology } from "./engine";

export interface Lifeline {
  /** What the lifeline is, as messages name it. */
  what: string;
  port: number;
  protocol: "TCP" | "UDP";
  /**
   * Who calls: the outside world, the API server (its control-plane nodes, or an external API server),
   * or the other nodes.
   */
  from: "world" | "kube-apiserver" | "remote-node";
  /** Which nodes must admit it. */
  to: "control-plane" | "every node";
}

// A node's traffic to itself (host to host on one node) is not subject to policy (the engine's
// self-traffic rule, bpf/bpf_host.c), so no lifeline is "from host": the VXLAN tunnel's own node is fine.
export const LIFELINES: Lifeline[] = [
  {
    what: "the Kubernetes API (6443/TCP) on control-plane nodes",
    port: PORT.KUBE_APISERVER,
    protocol: "TCP",
    from: "world",
    to: "control-plane",
  },
  {
    what: "etcd client (2379/TCP) from kube-apiserver",
    port: PORT.ETCD_CLIENT,
    protocol: "TCP",
    from: "kube-apiserver",
    to: "control-plane",
  },
  {
    what: "etcd peers (2380/TCP) from kube-apiserver",
    port: PORT.ETCD_PEER,
    protocol: "TCP",
    from: "kube-apiserver",
    to: "control-plane",
  },
  {
    what: "the kubelet (10250/TCP) from kube-apiserver",
    port: PORT.KUBELET,
    protocol: "TCP",
    from: "kube-apiserver",
    to: "every node",
  },
  {
    what: "Cilium health (4240/TCP) from remote-node",
    port: PORT.CILIUM_HEALTH,
    protocol: "TCP",
    from: "remote-node",
    to: "every node",
  },
  {
    what: "the VXLAN tunnel (8472/UDP) from remote-node",
    port: PORT.VXLAN,
    protocol: "UDP",
    from: "remote-node",
    to: "every node",
  },
];

/** The flows a lifeline stands for in a topology: from each caller to each node that must admit it. */
export function lifelineFlows(l: Lifeline, t: Topology): Flow[] {
  const cps = t.nodes.filter((n) => n.role === "control-plane").map((n) => n.name);
  const targets = l.to === "control-plane" ? cps : t.nodes.map((n) => n.name);
  const apiServers = [
    ...(t.kubeApiServerNodes ?? cps),
    ...t.externals.filter((x) => x.kubeApiServer).map((x) => x.id),
  ];
  const callers =
    l.from === "world" ? ["world"] : l.from === "kube-apiserver" ? apiServers : t.nodes.map((n) => n.name);
  return callers.flatMap((from) =>
    targets.filter((to) => to !== from).map((to) => ({ from, to, protocol: l.protocol, port: l.port })),
  );
}
