// A small kind-like cluster shared by the conformance cases: the castle's four nodes (1 control-plane,
// 1 infra, 2 workers), the infra pods of the talk, two tenant namespaces and the pods the Cilium
// documentation examples talk about, plus a handful of addresses outside the cluster.

import type { Endpoint, Topology, TopologyNode } from "../../verifier/engine";

export const NODES: TopologyNode[] = [
  {
    name: "cp",
    role: "control-plane",
    labels: {
      "node-role.kubernetes.io/control-plane": "",
      "kubernetes.io/hostname": "cp",
      "kubernetes.io/os": "linux",
    },
    ips: ["172.18.0.2"],
  },
  {
    name: "infra",
    role: "infra",
    labels: {
      "node-role.kubernetes.io/infra": "",
      "kubernetes.io/hostname": "infra",
      "kubernetes.io/os": "linux",
    },
    ips: ["172.18.0.3"],
  },
  {
    name: "w1",
    role: "worker",
    labels: { type: "worker", "kubernetes.io/hostname": "w1", "kubernetes.io/os": "linux" },
    ips: ["172.18.0.4"],
  },
  {
    name: "w2",
    role: "worker",
    labels: { type: "worker", "kubernetes.io/hostname": "w2", "kubernetes.io/os": "linux" },
    ips: ["172.18.0.5"],
  },
];

const NAMESPACE_LABELS: Record<string, Record<string, string>> = {
  "team-a": { exposed: "true", metrics: "true" },
  "team-b": {},
  "alliance-ns": { faction: "alliance" },
  "empire-ns": { faction: "empire" },
};

let nextIp = 10;

function pod(
  id: string,
  namespace: string,
  labels: Record<string, string>,
  node: string,
  extra: Partial<Endpoint> = {},
): Endpoint {
  const subnet = { cp: 0, infra: 3, w1: 1, w2: 2 }[node] ?? 9;
  return {
    id,
    kind: "pod",
    namespace,
    namespaceLabels: NAMESPACE_LABELS[namespace] ?? {},
    labels,
    node,
    ips: [`10.244.${subnet}.${nextIp++}`],
    ...extra,
  };
}

export const PODS: Endpoint[] = [
  // Pods of the documentation examples, namespace "default".
  pod("frontend", "default", { role: "frontend" }, "w1"),
  pod("backend", "default", { role: "backend" }, "w2", { namedPorts: { http: 8080 } }),
  pod("other", "default", { role: "other" }, "w1"),
  pod("victim", "default", { role: "victim" }, "w2"),
  pod("restricted", "default", { role: "restricted" }, "w1"),
  pod("devpod", "default", { env: "dev" }, "w1"),
  pod("devpod-cp", "default", { env: "dev" }, "cp"),
  pod("public", "default", { role: "public" }, "w2"),
  pod("myservice", "default", { app: "myService" }, "w1"),
  pod("crawler", "default", { role: "crawler" }, "w1"),
  pod("test-app", "default", { app: "test-app" }, "w1"),
  pod("alliance", "default", { org: "alliance" }, "w2"),
  pod("rebel-base", "default", { name: "rebel-base" }, "w2"),
  pod("leia-sa", "default", { app: "leia" }, "w2", { serviceAccount: "leia" }),
  pod("luke-sa", "default", { app: "luke" }, "w1", { serviceAccount: "luke" }),
  pod("han-sa", "default", { app: "han" }, "w1", { serviceAccount: "han" }),
  pod("hashed", "default", { app: "hashed", "pod-template-hash": "5d4f8c7b9" }, "w1"),
  pod("leia", "ns1", { name: "leia" }, "w1"),
  pod("ns1-other", "ns1", { name: "r2d2" }, "w2"),
  pod("luke", "ns2", { name: "luke" }, "w2"),
  pod("ns2-other", "ns2", { name: "han" }, "w1"),
  pod("xwing", "alliance-ns", { app: "xwing" }, "w1"),
  pod("tie", "empire-ns", { app: "tie" }, "w1"),
  // The castle's infra components (the talk).
  pod("coredns", "kube-system", { "k8s-app": "kube-dns" }, "cp"),
  pod("hubble-relay", "kube-system", { "app.kubernetes.io/name": "hubble-relay" }, "w1"),
  pod("nginx", "ingress-nginx", { "app.kubernetes.io/name": "ingress-nginx" }, "infra"),
  pod("prometheus", "monitoring", { "app.kubernetes.io/name": "prometheus" }, "infra"),
  pod("metrics-server", "monitoring", { "app.kubernetes.io/name": "metrics-server" }, "infra"),
  // Tenants: team-a is labelled exposed/metrics, team-b is not.
  pod("web-a", "team-a", { app: "web" }, "w1"),
  pod("db-a", "team-a", { app: "db" }, "w2"),
  pod("web-b", "team-b", { app: "web" }, "w2"),
];

export const CLUSTER: Topology = {
  nodes: NODES,
  pods: PODS,
  externals: [
    { id: "internet", ip: "8.8.8.8" },
    { id: "internet6", ip: "2001:db8::8" },
    { id: "jumphost", ip: "10.1.101.110" },
    { id: "other-admin", ip: "10.1.101.111" },
    { id: "ext-20", ip: "20.1.1.1" },
    { id: "ext-10", ip: "10.1.2.3" },
    { id: "svc-range", ip: "10.96.0.10" },
    { id: "crawl-target", ip: "192.0.2.10" },
    { id: "remote-service", ip: "203.0.113.10" },
    { id: "cilium-io", ip: "104.198.14.52" },
  ],
  // Services for toServices: two with a selector (pods), two without (their backends' addresses).
  services: [
    {
      name: "kubernetes",
      namespace: "default",
      labels: { component: "apiserver", provider: "kubernetes" },
      backends: ["172.18.0.2"],
    },
    {
      name: "kube-dns",
      namespace: "kube-system",
      labels: { "k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS" },
      selector: { "k8s-app": "kube-dns" },
    },
    { name: "backend", namespace: "default", labels: { tier: "api" }, selector: { role: "backend" } },
    { name: "remote-db", namespace: "default", labels: { tier: "external" }, backends: ["203.0.113.10"] },
  ],
};

/** The same cluster with a second control-plane node (an HA control plane: etcd peers on two hosts). */
export const HA_CLUSTER: Topology = {
  ...CLUSTER,
  nodes: [
    ...NODES,
    {
      name: "cp2",
      role: "control-plane",
      labels: { "node-role.kubernetes.io/control-plane": "", "kubernetes.io/hostname": "cp2" },
      ips: ["172.18.0.6"],
    },
  ],
};
