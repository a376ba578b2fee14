// Hubble flows for the dev stack, in `hubble observe -o json` form, for the benchmark: a mix of allowed,
// cross-namespace, world and host flows, replies and DNS, over a few hundred distinct pods.

import * as fs from "fs";

type Obj = Record<string, unknown>;

const pod = (ns: string, app: string, i: number, nsLabels: Record<string, string>): Obj => ({
  ID: 1000 + i,
  identity: 20000 + i,
  namespace: ns,
  pod_name: `${app}-${i}`,
  labels: [
    `k8s:app.kubernetes.io/name=${app}`,
    `k8s:io.kubernetes.pod.namespace=${ns}`,
    ...Object.entries(nsLabels).map(([k, v]) => `k8s:io.cilium.k8s.namespace.labels.${k}=${v}`),
    "k8s:io.cilium.k8s.policy.cluster=default",
    "k8s:io.cilium.k8s.policy.serviceaccount=default",
  ],
});

const SHOP = { exposed: "true", metrics: "true", "kubernetes.io/metadata.name": "demo-shop" };
const BATCH = { exposed: "false", metrics: "true", "kubernetes.io/metadata.name": "demo-batch" };
const INGRESS = { "kubernetes.io/metadata.name": "ingress-nginx" };
const DNS: Obj = {
  ID: 50,
  identity: 102,
  namespace: "kube-system",
  pod_name: "coredns-1",
  labels: [
    "k8s:k8s-app=kube-dns",
    "k8s:io.kubernetes.pod.namespace=kube-system",
    "k8s:io.cilium.k8s.namespace.labels.metrics=true",
  ],
};
const WORLD: Obj = { identity: 2, labels: ["reserved:world"] };
const HOST: Obj = { identity: 1, labels: ["reserved:host"] };

function flowLine(i: number): string {
  const k = i % 10;
  const shop = pod("demo-shop", k < 5 ? "demo-client" : "demo-web", i % 300, SHOP);
  const batch = pod("demo-batch", "demo-web", (i >> 3) % 300, BATCH);
  const nginx = pod("ingress-nginx", "ingress-nginx", i % 4, INGRESS);
  const [src, dst, proto, port, reply]: [Obj, Obj, "TCP" | "UDP", number, boolean] =
    k === 0
      ? [shop, batch, "TCP", 8080, false] // crosses a wall
      : k === 1
        ? [shop, DNS, "UDP", 53, false]
        : k === 2
          ? [nginx, shop, "TCP", 8080, false]
          : k === 3
            ? [shop, WORLD, "TCP", 443, false]
            : k === 4
              ? [WORLD, HOST, "TCP", 22, false]
              : k === 5
                ? [batch, shop, "TCP", 8080, true] // a reply
                : k === 6
                  ? [shop, shop, "TCP", 8080, false]
                  : k === 7
                    ? [batch, DNS, "UDP", 53, false]
                    : k === 8
                      ? [HOST, batch, "TCP", 8080, false]
                      : [nginx, batch, "TCP", 8080, false];
  const l4 =
    proto === "TCP"
      ? { TCP: { source_port: 40000 + (i % 20000), destination_port: port, flags: { SYN: true } } }
      : { UDP: { source_port: 40000 + (i % 20000), destination_port: port } };
  return JSON.stringify({
    flow: {
      time: new Date(Date.UTC(2026, 10, 24, 12, 0, 0) + i).toISOString(),
      verdict: k === 0 || k === 3 || k === 4 ? "AUDIT" : "FORWARDED",
      IP: { source: "10.244.1.5", destination: "10.244.2.7", ipVersion: "IPv4" },
      l4,
      source: src,
      destination: dst,
      Type: "L3_L4",
      node_name: "castle-worker",
      ...(reply ? { is_reply: true } : {}),
      traffic_direction: "EGRESS",
      Summary: `${proto} flow`,
    },
    node_name: "castle-worker",
    time: new Date(Date.UTC(2026, 10, 24, 12, 0, 0) + i).toISOString(),
  });
}

/** Writes `count` flow lines to `file`, in chunks, without holding them in memory. */
export function writeFlowFile(file: string, count: number): void {
  const fd = fs.openSync(file, "w");
  try {
    for (let i = 0; i < count; i += 10_000) {
      const chunk: string[] = [];
      for (let j = i; j < Math.min(count, i + 10_000); j++) chunk.push(flowLine(j));
      fs.writeSync(fd, chunk.join("\n") + "\n");
    }
  } finally {
    fs.closeSync(fd);
  }
}
