// Pure: jumphosts and infra roles in, the host-firewall policies out (CCNPs with nodeSelector).
//
// The talk's companion set also lets kube-dns and Prometheus reach every host on any port. The castle
// leaves both out on kind, from Cilium's semantics:
// - kube-dns: a host rule matters only when CoreDNS's upstream is the node itself (a node-local dnsmasq).
//   On kind the upstream is the Docker network gateway, which kind's entrypoint DNATs to Docker's embedded
//   DNS (images/base/files/usr/local/bin/entrypoint, fix_dns): the packet leaves the pod towards `world`,
//   so it is judged by CoreDNS's egress (kube-system's allow-to-everywhere), never by the host firewall.
// - Prometheus: the pinned chart scrapes kubelets and cAdvisor through the API server's node proxy
//   (kubernetes-nodes jobs), and node-exporter is off, so no pod of it dials a node. Roles that do dial
//   nodes declare `nodePorts` (metrics-server: 10250, hubble-relay: 4244), and get exactly those.

import { ccnp, CiliumPolicy, podsIn, tcp, udp } from "../../../lib/cilium/policy";
import * as PORT from "../../../vocabulary/ports";
import { INGRESS_HOST_PORTS } from "../../cluster/kindConfig";
import type { InfraRole } from "../../../vocabulary/roles";
import { portList } from "../infra/infraPolicies";
import { CONTROL_PLANE_ROLE_LABEL, INFRA_ROLE_LABEL } from "../../../vocabulary/labels";

export interface NodeLayerInput {
  jumphostCidrs: string[];
  roles: InfraRole[];
}

export function buildNodePolicies(input: NodeLayerInput): CiliumPolicy[] {
  const ingress = [
    // System management: SSH only from the jumphosts; with none, no SSH rule at all.
    ...(input.jumphostCidrs.length > 0
      ? [{ fromCIDR: [...input.jumphostCidrs], toPorts: [{ ports: tcp(PORT.SSH) }] }]
      : []),
    // System monitoring: ping to hosts.
    { icmps: [{ fields: [{ type: PORT.ICMP_ECHO_REQUEST, family: "IPv4" as const }] }] },
    // The API server streams logs and runs exec through the kubelet.
    { fromEntities: ["kube-apiserver" as const], toPorts: [{ ports: tcp(PORT.KUBELET) }] },
    // Cilium agents' HTTP health checks of each other.
    { fromEntities: ["remote-node" as const], toPorts: [{ ports: tcp(PORT.CILIUM_HEALTH) }] },
    // Data plane between nodes: the VXLAN tunnel and, with encryption, WireGuard.
    {
      fromEntities: ["host" as const, "remote-node" as const],
      toPorts: [{ ports: udp(PORT.VXLAN, PORT.WIREGUARD) }],
    },
    // Infra components that call the nodes, each on its own ports.
    ...input.roles
      .filter((r) => r.nodePorts)
      .map((r) => ({
        fromEndpoints: [podsIn(r.namespace, r.podLabels)],
        toPorts: [{ ports: portList(r.nodePorts!.ports) }],
      })),
  ];
  return [
    ccnp("node", "host-all", { description: "Cilium host policy for all nodes", nodeSelector: {}, ingress }),
    ccnp("node", "host-cp", {
      description: "Cilium host policy set for CP nodes",
      nodeSelector: { matchLabels: { [CONTROL_PLANE_ROLE_LABEL]: "" } },
      ingress: [
        // The Kubernetes API from everywhere; pods still need an egress rule to reach it.
        { toPorts: [{ ports: tcp(PORT.KUBE_APISERVER) }] },
        // etcd, for the API server (and etcd peers on the other control planes).
        { fromEntities: ["kube-apiserver"], toPorts: [{ ports: tcp(PORT.ETCD_CLIENT, PORT.ETCD_PEER) }] },
      ],
    }),
    ccnp("node", "host-infra", {
      description: "Cilium host policy set for infra nodes",
      nodeSelector: { matchLabels: { [INFRA_ROLE_LABEL]: "" } },
      // The ingress controller's host ports, from everywhere.
      ingress: [{ toPorts: [{ ports: tcp(...INGRESS_HOST_PORTS) }] }],
    }),
  ];
}
