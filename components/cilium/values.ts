// Pure: stack config in, Cilium Helm values out. Every value says why it is there; test/cilium.test.ts
// checks each key path against the chart's values.yaml so a typo cannot pass silently.

import type { CastleConfig } from "../../config/castleConfig";
import { deepMerge, HelmValues, isPlainValues } from "../../lib/helm/values";

export interface CiliumValuesInput {
  config: Pick<
    CastleConfig,
    "clusterName" | "clusterProvider" | "policyAuditMode" | "ciliumDevices" | "ciliumValues" | "kindNodes"
  >;
  /** Where agents reach the API server without kube-proxy; required for kind. */
  apiServer?: { host: string; port: number };
}

export function buildCiliumValues(input: CiliumValuesInput): HelmValues {
  const { config, apiServer } = input;
  const kind = config.clusterProvider === "kind";
  const values: HelmValues = {
    // The castle's first wall: host policies (CCNP with nodeSelector) are enforced only when the host
    // firewall is on.
    hostFirewall: { enabled: true },
    // Audit mode reports would-be drops as AUDIT instead of dropping them, so a fresh host firewall
    // cannot lock the operators out; switch it off once Hubble shows no false positives.
    policyAuditMode: config.policyAuditMode,
    // kind runs without kube-proxy (kubeProxyMode: none); Cilium's eBPF replacement serves Services,
    // and the host firewall docs recommend it.
    kubeProxyReplacement: true,
    // The agent labels every pod's identity io.cilium.k8s.policy.cluster=<cluster.name> and scopes every
    // peer selector of a policy to it (addClusterFilterByDefault, pkg/k8s/apis/cilium.io/utils/utils.go); unset it is
    // "default". Named after the stack's cluster, so the castle model, the verifier and Hubble's labels all
    // say the same cluster. The chart allows at most 32 characters (templates/validate.yaml).
    cluster: { name: config.clusterName },
    // The chart's default routing, written out because two things depend on it: the host firewall's VXLAN
    // lifeline (8472/UDP between nodes), and what a pod sees of a host on another node (through the
    // tunnel only reserved:remote-node, never kube-apiserver: bpf/lib/encap.h, __encap_with_nodeid).
    routingMode: "tunnel",
    tunnelProtocol: "vxlan",
    // Without kube-proxy the agent cannot use the kubernetes Service to find the API server: it needs
    // the real endpoint.
    ...(apiServer ? { k8sServiceHost: apiServer.host, k8sServicePort: apiServer.port } : {}),
    // kind's kubeadm allocates a PodCIDR per node; Cilium's kind guide uses that instead of its own pool.
    ...(kind ? { ipam: { mode: "kubernetes" } } : {}),
    operator: {
      // The operator spreads replicas one per node (anti-affinity on hostname): never ask for more
      // replicas than there are nodes, or one stays Pending.
      replicas: kind ? Math.min(2, totalNodes(config.kindNodes)) : 2,
    },
    hubble: {
      enabled: true,
      // Relay and UI make `hubble observe` and the service map work: the castle's audit workflow.
      relay: { enabled: true },
      ui: { enabled: true },
    },
    // Devices the host firewall and NodePort attach to; auto-detected unless the stack names them.
    ...(config.ciliumDevices.length > 0 ? { devices: config.ciliumDevices } : {}),
  };
  // Extra values from stack config win: an operator can tune the chart without a code change. The policy
  // pack still refuses a release that turns the host firewall off.
  return deepMerge(values, config.ciliumValues);
}

export type RoutingMode = "tunnel" | "native";

/** The routing mode the values select: "native" only when set so (the chart's default is the tunnel). */
export function routingModeOf(values: HelmValues): RoutingMode {
  return values.routingMode === "native" ? "native" : "tunnel";
}

function totalNodes(n: { controlPlane: number; infra: number; workers: number }): number {
  return n.controlPlane + n.infra + n.workers;
}

/** Every leaf key path of a values object, e.g. `hubble.relay.enabled`. */
export function valuePaths(values: HelmValues, prefix = ""): string[] {
  return Object.entries(values).flatMap(([k, v]) =>
    isPlainValues(v) && Object.keys(v).length > 0 ? valuePaths(v, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}
