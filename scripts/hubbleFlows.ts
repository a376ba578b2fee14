// Hubble flows for the dev stack (Pulumi.dev.yaml), written the way `hubble observe -o json` prints them
// (cilium v1.18 flow.proto, proto field names): the replay tests' flows and `npm run sample-flows`.

import type { Untyped as Obj } from "../lib/untyped";

let nextIdentity = 20000;
const identities = new Map<string, number>();

/** A pod endpoint as Hubble prints it: identity labels with the k8s: source, namespace, pod name. */
export function pod(
  namespace: string,
  labels: Record<string, string>,
  podName: string,
  opts: { namespaceLabels?: Record<string, string>; serviceAccount?: string } = {},
): Obj {
  const nsLabels = { "kubernetes.io/metadata.name": namespace, ...(opts.namespaceLabels ?? {}) };
  const all = [
    ...Object.entries(labels).map(([k, v]) => `k8s:${k}=${v}`),
    ...Object.entries(nsLabels).map(([k, v]) => `k8s:io.cilium.k8s.namespace.labels.${k}=${v}`),
    "k8s:io.cilium.k8s.policy.cluster=castle",
    `k8s:io.cilium.k8s.policy.serviceaccount=${opts.serviceAccount ?? "default"}`,
    `k8s:io.kubernetes.pod.namespace=${namespace}`,
  ].sort();
  const key = all.join(",");
  let identity = identities.get(key);
  if (identity === undefined) {
    identity = nextIdentity++;
    identities.set(key, identity);
  }
  return { ID: 100 + (identity % 1000), identity, namespace, labels: all, pod_name: podName };
}

const SHOP_NS = { exposed: "true", metrics: "true" };
const BATCH_NS = { exposed: "false", metrics: "true" };

export const EP = {
  shopClient: (i = 0): Obj =>
    pod("demo-shop", { "app.kubernetes.io/name": "demo-client" }, `demo-client-7c9f-${i}`, {
      namespaceLabels: SHOP_NS,
    }),
  shopWeb: (i = 0): Obj =>
    pod("demo-shop", { "app.kubernetes.io/name": "demo-web" }, `demo-web-5d4b-${i}`, {
      namespaceLabels: SHOP_NS,
    }),
  batchClient: (i = 0): Obj =>
    pod("demo-batch", { "app.kubernetes.io/name": "demo-client" }, `demo-client-66f8-${i}`, {
      namespaceLabels: BATCH_NS,
    }),
  batchWeb: (i = 0): Obj =>
    pod("demo-batch", { "app.kubernetes.io/name": "demo-web" }, `demo-web-8a21-${i}`, {
      namespaceLabels: BATCH_NS,
    }),
  nginx: (i = 0): Obj =>
    pod(
      "ingress-nginx",
      {
        "app.kubernetes.io/component": "controller",
        "app.kubernetes.io/instance": "ingress-nginx",
        "app.kubernetes.io/name": "ingress-nginx",
      },
      `ingress-nginx-controller-6b8d-${i}`,
      { serviceAccount: "ingress-nginx" },
    ),
  coredns: (i = 0): Obj =>
    pod("kube-system", { "k8s-app": "kube-dns" }, `coredns-668d6bf9bc-${i}`, {
      namespaceLabels: { metrics: "true" },
      serviceAccount: "coredns",
    }),
  world: (): Obj => ({ identity: 2, labels: ["reserved:world"] }),
  host: (): Obj => ({ identity: 1, labels: ["reserved:host"] }),
  remoteNode: (): Obj => ({ identity: 6, labels: ["reserved:remote-node"] }),
  health: (): Obj => ({ ID: 3, identity: 4, labels: ["reserved:health"] }),
};

export interface FlowSpec {
  src: Obj;
  dst: Obj;
  srcIp?: string;
  dstIp?: string;
  proto: "TCP" | "UDP" | "ICMPv4" | "ICMPv6";
  port?: number;
  srcPort?: number;
  icmpType?: number;
  isReply?: boolean;
  verdict?: string;
  node?: string;
  time?: string;
  syn?: boolean;
  destinationNames?: string[];
  dnsQuery?: string;
}

/** One `hubble observe -o json` line (a GetFlowsResponse). */
export function flowLine(s: FlowSpec): string {
  const l4 =
    s.proto === "TCP"
      ? {
          TCP: {
            source_port: s.srcPort ?? 40000,
            destination_port: s.port,
            flags: s.syn === false ? { ACK: true } : { SYN: true },
          },
        }
      : s.proto === "UDP"
        ? { UDP: { source_port: s.srcPort ?? 40000, destination_port: s.port } }
        : { [s.proto]: s.icmpType ? { type: s.icmpType } : {} };
  const node = s.node ?? "castle-worker2";
  const time = s.time ?? "2026-11-24T12:00:00.000000000Z";
  const flow: Obj = {
    time,
    verdict: s.verdict ?? "FORWARDED",
    IP: { source: s.srcIp ?? "10.244.2.11", destination: s.dstIp ?? "10.244.2.10", ipVersion: "IPv4" },
    l4,
    source: s.src,
    destination: s.dst,
    Type: s.dnsQuery ? "L7" : "L3_L4",
    node_name: node,
    ...(s.destinationNames ? { destination_names: s.destinationNames } : {}),
    ...(s.dnsQuery ? { l7: { type: "REQUEST", dns: { query: s.dnsQuery, qtypes: ["A"] } } } : {}),
    event_type: { type: s.verdict === "AUDIT" ? 5 : 4 },
    traffic_direction: "EGRESS",
    is_reply: s.isReply ?? false,
    Summary: `${s.proto} flow`,
  };
  return JSON.stringify({ flow, node_name: node, time });
}
