// Pure: infra roles in, the infrastructure layer's Cilium policies out.

import {
  ccnp,
  CiliumPolicy,
  cnp,
  k8sLabels,
  CiliumPortProtocol,
  podsIn,
  podsInNamespacesLabelled,
} from "../../../lib/cilium/policy";
import * as PORT from "../../../vocabulary/ports";
import { EGRESS_TO_ALL_NAMESPACES, InfraRole, infraNamespaces, PortSpec } from "../../../vocabulary/roles";
import { allowWithinNamespace } from "../user/namespacePolicies";
import type { RoutingMode } from "../../cilium/values";

export function portList(ports: PortSpec[]): CiliumPortProtocol[] {
  return ports.map((p) => ({ port: String(p.port), protocol: p.protocol }));
}

/**
 * Who the API server's calls into a pod come from. Its packets leave a control-plane node's host; in tunnel
 * routing a pod on another node sees them as reserved:remote-node only, since the sending node writes
 * remote-node into the tunnel key for anything from its host (bpf/lib/encap.h, __encap_with_nodeid) and
 * the receiving node takes the identity from the tunnel. kube-apiserver then matches only an API server
 * outside the cluster (a managed control plane); remote-node admits the cluster's own, on the role's
 * webhook or API port only. In native routing the receiving node looks the source up in the ipcache,
 * where a control-plane node carries kube-apiserver.
 */
export function apiServerCallers(routing: RoutingMode): ("kube-apiserver" | "remote-node")[] {
  return routing === "tunnel" ? ["kube-apiserver", "remote-node"] : ["kube-apiserver"];
}

/** The infrastructure layer: namespace-internal rules, the roles' rules, and Cilium's own health checks. */
export function buildInfraPolicies(roles: InfraRole[], routing: RoutingMode = "tunnel"): CiliumPolicy[] {
  const policies: CiliumPolicy[] = [];
  for (const ns of infraNamespaces(roles)) {
    policies.push(allowWithinNamespace("infra", ns));
    if (EGRESS_TO_ALL_NAMESPACES.includes(ns)) {
      policies.push(
        cnp("infra", ns, "allow-to-everywhere", {
          description:
            "Allow egress from kube-system to everywhere: cluster plumbing has no enumerable destinations",
          endpointSelector: {},
          egress: [{ toEntities: ["all"] }],
        }),
      );
    }
  }
  policies.push(
    ccnp("infra", "global-infra-cilium-health", {
      description: "Allow Cilium health checks",
      endpointSelector: {},
      ingress: [
        // cilium-health probes endpoints over HTTP from the other nodes.
        {
          fromEntities: ["remote-node"],
          toPorts: [{ ports: [{ port: String(PORT.CILIUM_HEALTH), protocol: "TCP" }] }],
        },
        // ... and with ICMP echo; icmps may not share a rule with toPorts.
        {
          fromEntities: ["remote-node"],
          icmps: [{ fields: [{ type: PORT.ICMP_ECHO_REQUEST, family: "IPv4" }] }],
        },
      ],
    }),
  );
  for (const role of roles) policies.push(...rolePolicies(role, routing));
  return policies;
}

export function rolePolicies(role: InfraRole, routing: RoutingMode = "tunnel"): CiliumPolicy[] {
  const out: CiliumPolicy[] = [];
  const self = { matchLabels: k8sLabels(role.podLabels) };
  const selfAnywhere = podsIn(role.namespace, role.podLabels);
  if (role.kubeApiServer) {
    out.push(
      cnp("infra", role.namespace, role.kubeApiServer.name, {
        description: role.kubeApiServer.description,
        endpointSelector: self,
        egress: [
          {
            toEntities: ["kube-apiserver"],
            toPorts: [{ ports: [{ port: String(PORT.KUBE_APISERVER), protocol: "TCP" }] }],
          },
        ],
      }),
    );
  }
  if (role.servesAll) {
    out.push(
      cnp("infra", role.namespace, role.servesAll.name, {
        description: role.servesAll.description,
        endpointSelector: self,
        ingress: [{ fromEntities: ["all"], toPorts: [{ ports: portList(role.servesAll.ports) }] }],
      }),
    );
  }
  if (role.egressFromEveryPod) {
    const ports = portList(role.servesAll?.ports ?? []);
    out.push(
      ccnp("infra", role.egressFromEveryPod.name, {
        description: role.egressFromEveryPod.description,
        endpointSelector: {},
        egress: [
          {
            toEndpoints: [selfAnywhere],
            // The DNS rule sends lookups through Cilium's DNS proxy: Hubble then shows the names,
            // and toFQDNs rules elsewhere can learn their IPs.
            toPorts: [
              { ports, ...(role.egressFromEveryPod.dns ? { rules: { dns: [{ matchPattern: "*" }] } } : {}) },
            ],
          },
        ],
      }),
    );
  }
  if (role.servesKubeApiServer) {
    out.push(
      cnp("infra", role.namespace, role.servesKubeApiServer.name, {
        description: role.servesKubeApiServer.description,
        endpointSelector: self,
        ingress: [
          {
            fromEntities: apiServerCallers(routing),
            toPorts: [{ ports: portList(role.servesKubeApiServer.ports) }],
          },
        ],
      }),
    );
  }
  if (role.reachesLabelledNamespaces) {
    const { label, egress, ingress } = role.reachesLabelledNamespaces;
    // Cluster-wide, because only a CCNP sees namespace labels on the other side and applies to every
    // labelled namespace without a rule inside it: the rule set stays static as namespaces come and go.
    out.push(
      ccnp("infra", egress.name, {
        description: egress.description,
        endpointSelector: selfAnywhere,
        egress: [{ toEndpoints: [podsInNamespacesLabelled(label)] }],
      }),
      ccnp("infra", ingress.name, {
        description: ingress.description,
        endpointSelector: podsInNamespacesLabelled(label),
        ingress: [{ fromEndpoints: [selfAnywhere] }],
      }),
    );
  }
  if (role.nodePorts) {
    out.push(
      cnp("infra", role.namespace, role.nodePorts.name, {
        description: role.nodePorts.description,
        endpointSelector: self,
        egress: [
          { toEntities: ["host", "remote-node"], toPorts: [{ ports: portList(role.nodePorts.ports) }] },
        ],
      }),
    );
  }
  return out;
}
