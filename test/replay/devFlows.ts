// Hubble flows for the dev stack (Pulumi.dev.yaml), written the way `hubble observe -o json` prints them
// (cilium v1.18 flow.proto, proto field names), for the replay tests.

import * as path from "path";
import { shared } from "../harness";

type Obj = Record<string, any>;

/** ../shared/hubble, or $CASTLE_SHARED_DIR/hubble. */
export const HUBBLE_DIR = shared("hubble");
export const capture = (name: string): string => path.join(HUBBLE_DIR, name);

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

export const WORLD_IP = "93.184.216.34";
export const SSH_IPS = ["198.51.100.7", "198.51.100.8"];
export const JUMPHOST_IP = "10.1.101.110";

const t = (s: number): string => `2026-11-24T12:00:${String(s).padStart(2, "0")}.000000000Z`;

/** The scenario of the tests: every kind of flow the brief lists, each a known number of times. */
export function scenarioLines(): string[] {
  const lines: string[] = [];
  // 1. allowed, inside a namespace (x2)
  for (let i = 0; i < 2; i++)
    lines.push(
      flowLine({ src: EP.shopClient(i), dst: EP.shopWeb(), proto: "TCP", port: 8080, time: t(1 + i) }),
    );
  // 2. across user namespaces: would drop at both ends, user layer (x3, Hubble says AUDIT)
  for (let i = 0; i < 3; i++)
    lines.push(
      flowLine({
        src: EP.shopClient(i),
        dst: EP.batchWeb(),
        proto: "TCP",
        port: 8080,
        srcPort: 41000 + i,
        verdict: "AUDIT",
        time: t(10 + i),
      }),
    );
  // 3. ingress-nginx -> the exposed namespace: allowed (observed on the infra node)
  lines.push(
    flowLine({
      src: EP.nginx(),
      dst: EP.shopWeb(),
      proto: "TCP",
      port: 8080,
      node: "castle-worker",
      time: t(20),
    }),
  );
  // 4. a pod -> the internet on 443: would drop at egress (x2, with the name the DNS proxy saw)
  for (let i = 0; i < 2; i++)
    lines.push(
      flowLine({
        src: EP.batchClient(),
        dst: EP.world(),
        dstIp: WORLD_IP,
        proto: "TCP",
        port: 443,
        srcPort: 42000 + i,
        destinationNames: ["example.com"],
        verdict: "AUDIT",
        time: t(30 + i),
      }),
    );
  // 5. a reply: not judged
  lines.push(
    flowLine({
      src: EP.batchWeb(),
      dst: EP.shopClient(),
      proto: "TCP",
      port: 41000,
      srcPort: 8080,
      syn: false,
      isReply: true,
      time: t(40),
    }),
  );
  // 6. a pod -> kube-dns 53/UDP, and the DNS request the proxy saw: allowed
  lines.push(flowLine({ src: EP.batchClient(), dst: EP.coredns(), proto: "UDP", port: 53, time: t(41) }));
  lines.push(
    flowLine({
      src: EP.batchClient(),
      dst: EP.coredns(),
      proto: "UDP",
      port: 53,
      dnsQuery: "example.com.",
      time: t(42),
    }),
  );
  // 7. SSH from the internet to a worker: would drop at the node (x4 from two addresses) ...
  for (let i = 0; i < 4; i++)
    lines.push(
      flowLine({
        src: EP.world(),
        dst: EP.host(),
        srcIp: SSH_IPS[i % 2],
        dstIp: "172.18.0.4",
        proto: "TCP",
        port: 22,
        srcPort: 50000 + i,
        verdict: "AUDIT",
        time: t(50 + i),
      }),
    );
  // ... but from the jumphost it is allowed.
  lines.push(
    flowLine({
      src: EP.world(),
      dst: EP.host(),
      srcIp: JUMPHOST_IP,
      dstIp: "172.18.0.4",
      proto: "TCP",
      port: 22,
      time: t(55),
    }),
  );
  // 8. zero fields omitted (no verdict, no source port, no identity) and the old `reply` field
  lines.push(
    JSON.stringify({
      flow: {
        IP: { source: "10.244.2.10", destination: "10.244.2.11", ipVersion: "IPv4" },
        l4: { ICMPv4: {} },
        source: { namespace: "demo-shop", labels: EP.shopWeb().labels },
        destination: { namespace: "demo-shop", labels: EP.shopClient().labels },
        node_name: "castle-worker2",
        reply: true,
      },
    }),
  );
  lines.push(
    JSON.stringify({
      flow: {
        time: t(58),
        l4: { TCP: { destination_port: 8080, flags: { SYN: true } } },
        source: { namespace: "demo-batch", labels: EP.batchClient().labels },
        destination: { namespace: "demo-batch", labels: EP.batchWeb().labels, pod_name: "demo-web-8a21-0" },
        node_name: "castle-worker2",
      },
    }),
  );
  // 9. not flows, and the health checks replay leaves out
  lines.push(
    JSON.stringify({
      lost_events: { source: "HUBBLE_RING_BUFFER", num_events_lost: 12, cpu: { value: 1 } },
      node_name: "castle-worker2",
      time: t(59),
    }),
  );
  lines.push(
    JSON.stringify({ node_status: { state_change: "NODE_CONNECTED", node_names: ["castle-worker"] } }),
  );
  lines.push("");
  lines.push(
    flowLine({
      src: EP.remoteNode(),
      dst: EP.health(),
      proto: "TCP",
      port: 4240,
      srcPort: 45000,
      time: t(59),
    }),
  );
  return lines;
}
