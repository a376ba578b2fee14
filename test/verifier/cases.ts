// The conformance table of the offline policy evaluator. Each case: where it comes from (a Cilium
// documentation example, a semantic rule of the engine, or a statement of the talk), the policies, the
// topology, one flow and the exact expected verdict with the names of the policies that decided it.
//
// Policy names in expectations: "namespace/name" for a CiliumNetworkPolicy, "name" for a
// CiliumClusterwideNetworkPolicy. allowedBy / deniedBy are the union over both directions and are
// compared exactly (an omitted list means "none").

import type { CiliumPolicyObject, EngineOptions, Flow, Topology, Verdict } from "../../verifier/engine";
import { CLUSTER, HA_CLUSTER } from "./topology";

export interface ConformanceCase {
  id: string;
  source: string;
  description: string;
  /** YAML documents (several per string allowed, "---" separated) or objects. */
  policies: (string | CiliumPolicyObject)[];
  topology: Topology;
  options?: EngineOptions;
  flow: Flow;
  expected: {
    verdict: Verdict["verdict"];
    decidedBy?: Verdict["decidedBy"];
    allowedBy?: string[];
    deniedBy?: string[];
    /** Policies switching default deny on, union over both directions. */
    enforcedBy?: string[];
    proxied?: "dns" | "http" | null;
    /** Policies the engine must refuse as invalid. */
    rejected?: string[];
    /** A substring of the reason of the deciding direction. */
    reason?: string;
  };
}

const LANG = "https://docs.cilium.io/en/stable/security/policy/language/";
const K8S = "https://docs.cilium.io/en/stable/security/policy/kubernetes/";
const docs = (page: string, anchor: string): string => `cilium-docs ${page}#${anchor}`;

// ---------------------------------------------------------------------------------------------------
// Documentation examples (examples/policies/** in cilium/cilium, rendered on docs.cilium.io).
// ---------------------------------------------------------------------------------------------------

const L3_RULE = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "l3-rule"
spec:
  endpointSelector:
    matchLabels:
      role: backend
  ingress:
  - fromEndpoints:
    - matchLabels:
        role: frontend
`;

const INGRESS_ALLOW_ALL = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "allow-all-to-victim"
spec:
  endpointSelector:
    matchLabels:
      role: victim
  ingress:
  - fromEndpoints:
    - {}
`;

const L3_EGRESS = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "l3-egress-rule"
spec:
  endpointSelector:
    matchLabels:
      role: frontend
  egress:
  - toEndpoints:
    - matchLabels:
        role: backend
`;

const EGRESS_ALLOW_ALL = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "allow-all-from-frontend"
spec:
  endpointSelector:
    matchLabels:
      role: frontend
  egress:
  - toEndpoints:
    - {}
`;

const EGRESS_DEFAULT_DENY = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "deny-all-egress"
spec:
  endpointSelector:
    matchLabels:
      role: restricted
  egress:
  - {}
`;

const EGRESS_DENY = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "deny-egress-example"
spec:
  endpointSelector:
    matchLabels:
      role: frontend
  egress:
  - toEntities:
    - all
  egressDeny:
  - toEndpoints:
    - matchLabels:
        role: backend
`;

const APISERVER = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "dev-to-kube-apiserver"
spec:
  endpointSelector:
    matchLabels:
      env: dev
  egress:
    - toEntities:
      - kube-apiserver
`;

const DEV_TO_HOST = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "dev-to-host"
spec:
  endpointSelector:
    matchLabels:
      env: dev
  egress:
    - toEntities:
      - host
`;

const FROM_NODES = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "to-dev-from-nodes-in-cluster"
spec:
  endpointSelector:
    matchLabels:
      env: dev
  ingress:
    - fromEntities:
      - host
      - remote-node
`;

const FROM_WORLD = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "from-world-to-role-public"
spec:
  endpointSelector:
    matchLabels:
      role: public
  ingress:
    - fromEntities:
      - world
`;

const EXTERNAL_LOCKDOWN = `
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: "external-lockdown"
spec:
  endpointSelector: {}
  ingressDeny:
  - fromEntities:
    - "world"
  ingress:
  - fromEntities:
    - "all"
`;

const CIDR_RULE = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "cidr-rule"
spec:
  endpointSelector:
    matchLabels:
      app: myService
  egress:
  - toCIDR:
    - 20.1.1.1/32
  - toCIDRSet:
    - cidr: 10.0.0.0/8
      except:
      - 10.96.0.0/12
`;

const L4_RULE = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "l4-rule"
spec:
  endpointSelector:
    matchLabels:
      role: backend
  ingress:
  - fromEndpoints:
    - matchLabels:
        role: frontend
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
`;

const CIDR_L4_RULE = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "cidr-l4-rule"
spec:
  endpointSelector:
    matchLabels:
      role: crawler
  egress:
  - toCIDR:
    - 192.0.2.0/24
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
`;

const L4_PORT_RANGE = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "l4-port-range-rule"
spec:
  endpointSelector:
    matchLabels:
      app: myService
  egress:
    - toPorts:
      - ports:
        - port: "80"
          endPort: 444
          protocol: TCP
`;

const ICMP_RULE = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "icmp-rule"
spec:
  endpointSelector:
    matchLabels:
      app: myService
  egress:
  - icmps:
    - fields:
      - type: 8
        family: IPv4
      - type: EchoRequest
        family: IPv6
`;

const DNS_VISIBILITY = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: "tofqdn-dns-visibility"
spec:
  endpointSelector:
    matchLabels:
      any:org: alliance
  egress:
  - toEndpoints:
    - matchLabels:
       "k8s:io.kubernetes.pod.namespace": kube-system
       "k8s:k8s-app": kube-dns
    toPorts:
      - ports:
         - port: "53"
           protocol: ANY
        rules:
          dns:
            - matchName: "cilium.io"
            - matchPattern: "*.cilium.io"
            - matchPattern: "*.api.cilium.io"

  - toFQDNs:
      - matchName: "cilium.io"
      - matchName: "sub.cilium.io"
      - matchName: "service1.api.cilium.io"
      - matchPattern: "special*service.api.cilium.io"
    toPorts:
      - ports:
         - port: "80"
           protocol: TCP
`;

const TO_FQDN = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "to-fqdn"
spec:
  endpointSelector:
    matchLabels:
      app: test-app
  egress:
    - toEndpoints:
      - matchLabels:
          "k8s:io.kubernetes.pod.namespace": kube-system
          "k8s:k8s-app": kube-dns
      toPorts:
        - ports:
           - port: "53"
             protocol: ANY
          rules:
            dns:
              - matchPattern: "*"
    - toFQDNs:
        - matchName: "my-remote-service.com"
`;

const LOCK_DOWN_INGRESS = `
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
description: "Allow a minimum set of required ports on ingress of worker nodes"
metadata:
  name: "lock-down-ingress-worker-node"
spec:
  nodeSelector:
    matchLabels:
      type: worker
  ingress:
  - toPorts:
    - ports:
      - port: "6443"
        protocol: TCP
      - port: "22"
        protocol: TCP
      - port: "2379"
        protocol: TCP
      - port: "4240"
        protocol: TCP
      - port: "8472"
        protocol: UDP
`;

const ISOLATE_NAMESPACES = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "isolate-ns1"
  namespace: ns1
spec:
  endpointSelector:
    matchLabels:
      {}
  ingress:
  - fromEndpoints:
    - matchLabels:
        {}
---
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "isolate-ns1"
  namespace: ns2
spec:
  endpointSelector:
    matchLabels:
      {}
  ingress:
  - fromEndpoints:
    - matchLabels:
        {}
`;

const EXPOSE_ACROSS_NS = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "k8s-expose-across-namespace"
  namespace: ns1
spec:
  endpointSelector:
    matchLabels:
      name: leia
  ingress:
  - fromEndpoints:
    - matchLabels:
        k8s:io.kubernetes.pod.namespace: ns2
        name: luke
`;

const KUBEDNS_POLICY = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "allow-to-kubedns"
spec:
  endpointSelector:
    {}
  egress:
  - toEndpoints:
    - matchLabels:
        k8s:io.kubernetes.pod.namespace: kube-system
        k8s-app: kube-dns
    toPorts:
    - ports:
      - port: '53'
        protocol: UDP
`;

const WILDCARD_FROM_ENDPOINTS = `
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
description: "Policy for ingress allow to kube-dns from all Cilium managed endpoints in the cluster"
metadata:
  name: "wildcard-from-endpoints"
spec:
  endpointSelector:
    matchLabels:
      k8s:io.kubernetes.pod.namespace: kube-system
      k8s-app: kube-dns
  ingress:
  - fromEndpoints:
    - {}
    toPorts:
    - ports:
      - port: "53"
        protocol: UDP
`;

const CLUSTERSCOPE = `
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: "clusterwide-policy-example"
spec:
  description: "Policy for selective ingress allow to a pod from only a pod with given label"
  endpointSelector:
    matchLabels:
      name: leia
  ingress:
  - fromEndpoints:
    - matchLabels:
        name: luke
`;

const SERVICEACCOUNT = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "k8s-svc-account"
spec:
  endpointSelector:
    matchLabels:
      io.cilium.k8s.policy.serviceaccount: leia
  ingress:
  - fromEndpoints:
    - matchLabels:
        io.cilium.k8s.policy.serviceaccount: luke
`;

const NAMESPACE_LABELS = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "alliance-only"
spec:
  endpointSelector:
    matchLabels:
      name: rebel-base
  ingress:
  - fromEndpoints:
    - matchLabels:
        io.cilium.k8s.namespace.labels.faction: "alliance"
  egress:
  - toEndpoints:
    - matchLabels:
        io.cilium.k8s.namespace.labels.faction: "alliance"
`;

// The table of https://docs.cilium.io/en/stable/security/policy/language/#deny-policies : allow L3 client
// plus 80/81, deny 80.
const DENY_TABLE_ALLOW = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: allow-client
spec:
  endpointSelector:
    matchLabels:
      role: backend
  ingress:
  - fromEndpoints:
    - matchLabels:
        role: frontend
  - fromEndpoints:
    - matchLabels:
        role: frontend
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
      - port: "81"
        protocol: TCP
`;

const DENY_TABLE_DENY = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: deny-80
spec:
  endpointSelector:
    matchLabels:
      role: backend
  ingressDeny:
  - toPorts:
    - ports:
      - port: "80"
        protocol: TCP
`;

// ---------------------------------------------------------------------------------------------------
// The talk (shared/seed/castle-talk.txt), indentation repaired where the slides' PDF export broke it.
// ---------------------------------------------------------------------------------------------------

const HOST_CP = `
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: host-cp
spec:
  description: Cilium host policy set for CP nodes
  nodeSelector:
    matchLabels:
      node-role.kubernetes.io/control-plane: ""
  ingress:
    - toPorts:
        - ports:
            - port: "6443"
              protocol: TCP
    - fromEntities:
        - kube-apiserver
      toPorts:
        - ports:
            - port: "2379"
              protocol: TCP
            - port: "2380"
              protocol: TCP
`;

const HOST_INFRA = `
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: host-infra
spec:
  description: Cilium host policy set for infra nodes
  nodeSelector:
    matchLabels:
      node-role.kubernetes.io/infra: ""
  ingress:
    - toPorts:
        - ports:
            - port: "80"
              protocol: TCP
            - port: "443"
              protocol: TCP
`;

const HOST_ALL = `
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: host-all
spec:
  description: Cilium host policy for all nodes
  nodeSelector: {}
  ingress:
    - fromCIDR:
        - 10.1.101.110/32
      toPorts:
        - ports:
            - port: "22"
              protocol: TCP
    - icmps:
        - fields:
            - type: 8
              family: IPv4
    - fromEntities:
        - kube-apiserver
      toPorts:
        - ports:
            - port: "10250"
              protocol: TCP
    - fromEntities:
        - remote-node
      toPorts:
        - ports:
            - port: "4240"
              protocol: TCP
    - fromEntities:
        - host
        - remote-node
      toPorts:
        - ports:
            - port: "8472"
              protocol: UDP
            - port: "51871"
              protocol: UDP
    - fromEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-system
            k8s:app.kubernetes.io/name: hubble-relay
      toPorts:
        - ports:
            - port: "4244"
              protocol: TCP
    - fromEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: monitoring
            k8s:app.kubernetes.io/name: metrics-server
      toPorts:
        - ports:
            - port: "10250"
              protocol: TCP
`;

const allowWithinNamespace = (ns: string): string => `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: allow-within-namespace
  namespace: ${ns}
spec:
  description: Allow NS internal traffic, block everything else
  endpointSelector: {}
  ingress:
    - fromEndpoints:
        - {}
  egress:
    - toEndpoints:
        - {}
`;

const ALL_TO_NGINX = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: all-to-nginx
  namespace: ingress-nginx
spec:
  description: Allow accessing Nginx ingress controller from everywhere
  endpointSelector:
    matchLabels:
      k8s:app.kubernetes.io/name: ingress-nginx
  ingress:
    - fromEntities:
        - all
      toPorts:
        - ports:
            - port: "80"
              protocol: TCP
            - port: "443"
              protocol: TCP
`;

const NGINX_TO_KAPI = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: nginx-ingress-to-kapi
  namespace: ingress-nginx
spec:
  description: Allow Nginx ingress controller to reach KAPI
  endpointSelector:
    matchLabels:
      k8s:app.kubernetes.io/name: ingress-nginx
  egress:
    - toEntities:
        - kube-apiserver
      toPorts:
        - ports:
            - port: "6443"
              protocol: TCP
`;

const GLOBAL_INFRA_DNS = `
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: global-infra-dns
spec:
  description: Allow coredns access from everywhere
  endpointSelector: {}
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-system
            k8s:k8s-app: kube-dns
      toPorts:
        - ports:
            - port: "53"
              protocol: ANY
          rules:
            dns:
              - matchPattern: "*"
`;

const ALLOW_TO_COREDNS = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: allow-to-coredns
  namespace: kube-system
spec:
  description: Allow ingress to coredns from everywhere
  endpointSelector:
    matchLabels:
      k8s:io.kubernetes.pod.namespace: kube-system
      k8s:k8s-app: kube-dns
  ingress:
    - fromEntities:
        - all
      toPorts:
        - ports:
            - port: "53"
              protocol: ANY
`;

const NGINX_TO_SERVICES = `
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: nginx-to-services
spec:
  description: Allow Nginx to access svc of NS with exposed label
  endpointSelector:
    matchLabels:
      k8s:app.kubernetes.io/name: ingress-nginx
      k8s:io.kubernetes.pod.namespace: ingress-nginx
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.cilium.k8s.namespace.labels.exposed: "true"
`;

const GLOBAL_INFRA_NGINX = `
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: global-infra-nginx
spec:
  description: Allow connections from Nginx to labeled namespaces
  endpointSelector:
    matchLabels:
      k8s:io.cilium.k8s.namespace.labels.exposed: "true"
  ingress:
    - fromEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: ingress-nginx
            k8s:app.kubernetes.io/name: ingress-nginx
`;

const PROMETHEUS_TO_METRICS = `
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: prometheus-to-metrics
spec:
  description: Allow Prometheus to scrape metrics in NS with metrics label
  endpointSelector:
    matchLabels:
      k8s:app.kubernetes.io/name: prometheus
      k8s:io.kubernetes.pod.namespace: monitoring
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.cilium.k8s.namespace.labels.metrics: "true"
`;

const GLOBAL_INFRA_PROMETHEUS = `
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: global-infra-prometheus
spec:
  description: Allow connections from Prometheus to labeled namespaces
  endpointSelector:
    matchLabels:
      k8s:io.cilium.k8s.namespace.labels.metrics: "true"
  ingress:
    - fromEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: monitoring
            k8s:app.kubernetes.io/name: prometheus
`;

const NGINX_SET = [
  GLOBAL_INFRA_DNS,
  allowWithinNamespace("ingress-nginx"),
  NGINX_TO_SERVICES,
  GLOBAL_INFRA_NGINX,
  allowWithinNamespace("team-a"),
];
const PROMETHEUS_SET = [
  GLOBAL_INFRA_DNS,
  allowWithinNamespace("monitoring"),
  PROMETHEUS_TO_METRICS,
  GLOBAL_INFRA_PROMETHEUS,
  allowWithinNamespace("team-a"),
];

// ---------------------------------------------------------------------------------------------------
// Small policies for the semantic rules.
// ---------------------------------------------------------------------------------------------------

const cnp = (name: string, ns: string, spec: string): string => `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: ${name}
  namespace: ${ns}
spec:
${spec}`;

const ccnp = (name: string, spec: string): string => `
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: ${name}
spec:
${spec}`;

const tcp = (from: string, to: string, port: number, extra: Partial<Flow> = {}): Flow => ({
  from,
  to,
  protocol: "TCP",
  port,
  ...extra,
});
const udp = (from: string, to: string, port: number, extra: Partial<Flow> = {}): Flow => ({
  from,
  to,
  protocol: "UDP",
  port,
  ...extra,
});
const ping = (from: string, to: string, icmpType = 8): Flow => ({ from, to, protocol: "ICMP", icmpType });

const T = CLUSTER;

// Policies several semantics cases share.
const OCTAL_PORT = cnp(
  "backend-octal",
  "default",
  `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    toPorts: [{ports: [{port: "0100", protocol: TCP}]}]`,
);
const ZERO_RANGE = cnp(
  "backend-low-ports",
  "default",
  `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    toPorts: [{ports: [{port: "0", endPort: 1024, protocol: TCP}]}]`,
);
const FROM_KAPI = cnp(
  "backend-from-kapi",
  "default",
  `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEntities: [kube-apiserver]\n    toPorts: [{ports: [{port: "8443", protocol: TCP}]}]`,
);

const TO_BACKEND_SERVICE = cnp(
  "frontend-to-backend-svc",
  "default",
  `  endpointSelector: {matchLabels: {role: frontend}}\n  egress:\n  - toServices: [{k8sService: {serviceName: backend, namespace: default}}]`,
);
const TO_REMOTE_DB = cnp(
  "frontend-to-remote-db",
  "default",
  `  endpointSelector: {matchLabels: {role: frontend}}\n  egress:\n  - toServices: [{k8sService: {serviceName: remote-db, namespace: default}}]\n    toPorts: [{ports: [{port: "5432", protocol: TCP}]}]`,
);
const FRONTEND_GROUPS = cnp(
  "frontend-groups",
  "default",
  `  endpointSelector: {matchLabels: {role: frontend}}\n  egress:\n  - toGroups: [{aws: {securityGroupsIds: [sg-0123456789]}}]\n  - toEndpoints: [{matchLabels: {role: backend}}]`,
);
const AUTH_L3 = cnp(
  "backend-auth",
  "default",
  `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    authentication: {mode: required}`,
);
const AUTH_PORT_PLAIN = cnp(
  "backend-port-80",
  "default",
  `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    toPorts: [{ports: [{port: "80", protocol: TCP}]}]`,
);
const AUTH_PORT_DISABLED = cnp(
  "backend-port-80-no-auth",
  "default",
  `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    toPorts: [{ports: [{port: "80", protocol: TCP}]}]\n    authentication: {mode: disabled}`,
);
const AUTH_L4_ONLY = cnp(
  "backend-80-auth",
  "default",
  `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - toPorts: [{ports: [{port: "80", protocol: TCP}]}]\n    authentication: {mode: required}`,
);
const CLUSTER_MESH = cnp(
  "backend-from-mesh",
  "default",
  `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEntities: [cluster-mesh]`,
);
const NS_NOTIN = cnp(
  "frontend-to-other-namespaces",
  "default",
  `  endpointSelector: {matchLabels: {role: frontend}}\n  egress:\n  - toEndpoints: [{matchExpressions: [{key: io.kubernetes.pod.namespace, operator: NotIn, values: [default]}]}]`,
);
const L3_FRONTEND_TO_BACKEND = cnp(
  "backend-from-frontend",
  "default",
  `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]`,
);

export const CASES: ConformanceCase[] = [
  // ===================================== documentation examples =====================================
  {
    id: "docs-l3-ingress-allow",
    source: docs(LANG, "simple-ingress-allow"),
    description: "role=frontend may reach role=backend (ingress fromEndpoints)",
    policies: [L3_RULE],
    topology: T,
    flow: tcp("frontend", "backend", 80),
    expected: {
      verdict: "allowed",
      decidedBy: ["ingress"],
      allowedBy: ["default/l3-rule"],
      enforcedBy: ["default/l3-rule"],
    },
  },
  {
    id: "docs-l3-ingress-allow-other-denied",
    source: docs(LANG, "simple-ingress-allow"),
    description: "a pod without role=frontend is dropped at backend's ingress (default deny)",
    policies: [L3_RULE],
    topology: T,
    flow: tcp("other", "backend", 80),
    expected: {
      verdict: "denied",
      decidedBy: ["ingress"],
      enforcedBy: ["default/l3-rule"],
      reason: "default deny",
    },
  },
  {
    id: "docs-ingress-allow-all-endpoints",
    source: docs(LANG, "ingress-allow-all-endpoints"),
    description: "fromEndpoints [{}] allows every pod of the namespace",
    policies: [INGRESS_ALLOW_ALL],
    topology: T,
    flow: tcp("frontend", "victim", 443),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/allow-all-to-victim"] },
  },
  {
    id: "docs-ingress-allow-all-endpoints-not-world",
    source: docs(LANG, "ingress-allow-all-endpoints"),
    description: "an empty fromEndpoints selector selects pods of the namespace, never world",
    policies: [INGRESS_ALLOW_ALL],
    topology: T,
    flow: tcp("internet", "victim", 443),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "docs-ingress-allow-all-endpoints-other-namespace",
    source: docs(K8S, "namespaces"),
    description: "fromEndpoints [{}] in a CNP is confined to the policy's namespace",
    policies: [INGRESS_ALLOW_ALL],
    topology: T,
    flow: tcp("luke", "victim", 443),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "docs-l3-egress-allow",
    source: docs(LANG, "simple-egress-allow"),
    description: "role=frontend may send to role=backend",
    policies: [L3_EGRESS],
    topology: T,
    flow: tcp("frontend", "backend", 80),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/l3-egress-rule"] },
  },
  {
    id: "docs-l3-egress-allow-other-denied",
    source: docs(LANG, "simple-egress-allow"),
    description: "frontend may send nowhere else once egress is enforced",
    policies: [L3_EGRESS],
    topology: T,
    flow: tcp("frontend", "other", 80),
    expected: { verdict: "denied", decidedBy: ["egress"], enforcedBy: ["default/l3-egress-rule"] },
  },
  {
    id: "docs-egress-allow-all-same-namespace-only",
    source: docs(LANG, "egress-allow-all-endpoints"),
    description: "toEndpoints [{}] allows 'all other endpoints in the same namespace' only",
    policies: [EGRESS_ALLOW_ALL],
    topology: T,
    flow: tcp("frontend", "luke", 80),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "docs-egress-allow-all-same-namespace",
    source: docs(LANG, "egress-allow-all-endpoints"),
    description: "toEndpoints [{}] allows a pod of the same namespace",
    policies: [EGRESS_ALLOW_ALL],
    topology: T,
    flow: tcp("frontend", "victim", 8080),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/allow-all-from-frontend"] },
  },
  {
    id: "docs-egress-default-deny",
    source: docs(LANG, "ingress-egress-default-deny"),
    description: "egress: [{}] puts the endpoint in egress default deny without allowing anything",
    policies: [EGRESS_DEFAULT_DENY],
    topology: T,
    flow: tcp("restricted", "backend", 80),
    expected: { verdict: "denied", decidedBy: ["egress"], enforcedBy: ["default/deny-all-egress"] },
  },
  {
    id: "docs-egress-deny-wins",
    source: docs(LANG, "simple-egress-deny"),
    description: "egressDeny to role=backend wins over toEntities all",
    policies: [EGRESS_DENY],
    topology: T,
    flow: tcp("frontend", "backend", 80),
    expected: { verdict: "denied", decidedBy: ["egress"], deniedBy: ["default/deny-egress-example"] },
  },
  {
    id: "docs-egress-deny-rest-allowed",
    source: docs(LANG, "simple-egress-deny"),
    description: "everything but role=backend stays allowed by toEntities all",
    policies: [EGRESS_DENY],
    topology: T,
    flow: tcp("frontend", "internet", 443),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/deny-egress-example"] },
  },
  {
    id: "docs-kube-apiserver-entity",
    source: docs(LANG, "access-to-from-kube-apiserver"),
    description: "env=dev may reach the kube-apiserver (the control-plane host, a remote node for devpod)",
    policies: [APISERVER],
    topology: T,
    flow: tcp("devpod", "cp", 6443),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/dev-to-kube-apiserver"] },
  },
  {
    id: "docs-kube-apiserver-entity-not-other-nodes",
    source: docs(LANG, "access-to-from-kube-apiserver"),
    description: "kube-apiserver does not select worker nodes",
    policies: [APISERVER],
    topology: T,
    flow: tcp("devpod", "w2", 10250),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "docs-host-entity-local",
    source: docs(LANG, "access-to-from-local-host"),
    description: "toEntities host: the node serving the pod",
    policies: [DEV_TO_HOST],
    topology: T,
    flow: tcp("devpod", "w1", 10250),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/dev-to-host"] },
  },
  {
    id: "docs-host-entity-not-remote",
    source: docs(LANG, "access-to-from-local-host"),
    description: "toEntities host does not cover other nodes (remote-node)",
    policies: [DEV_TO_HOST],
    topology: T,
    flow: tcp("devpod", "w2", 10250),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "docs-remote-node-entity",
    source: docs(LANG, "access-to-from-all-nodes-in-the-cluster-or-clustermesh"),
    description: "fromEntities host + remote-node: any node may reach env=dev",
    policies: [FROM_NODES],
    topology: T,
    flow: tcp("w2", "devpod", 8080),
    expected: {
      verdict: "allowed",
      decidedBy: ["ingress"],
      allowedBy: ["default/to-dev-from-nodes-in-cluster"],
    },
  },
  {
    id: "docs-remote-node-entity-pods-denied",
    source: docs(LANG, "access-to-from-all-nodes-in-the-cluster-or-clustermesh"),
    description: "pods are neither host nor remote-node",
    policies: [FROM_NODES],
    topology: T,
    flow: tcp("frontend", "devpod", 8080),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "docs-world-entity",
    source: docs(LANG, "access-to-from-outside-cluster"),
    description: "fromEntities world: anything outside the cluster may reach role=public",
    policies: [FROM_WORLD],
    topology: T,
    flow: tcp("internet", "public", 443),
    expected: {
      verdict: "allowed",
      decidedBy: ["ingress"],
      allowedBy: ["default/from-world-to-role-public"],
    },
  },
  {
    id: "docs-world-entity-excludes-pods",
    source: docs(LANG, "access-to-from-outside-cluster"),
    description: "a pod is not world",
    policies: [FROM_WORLD],
    topology: T,
    flow: tcp("frontend", "public", 443),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "docs-deny-world-lockdown",
    source: docs(LANG, "deny-policies"),
    description: "CCNP external-lockdown: ingressDeny world beats ingress fromEntities all",
    policies: [EXTERNAL_LOCKDOWN],
    topology: T,
    flow: tcp("internet", "frontend", 443),
    expected: { verdict: "denied", decidedBy: ["ingress"], deniedBy: ["external-lockdown"] },
  },
  {
    id: "docs-deny-world-lockdown-cluster-allowed",
    source: docs(LANG, "deny-policies"),
    description: "'Existing inter-cluster policies will still be allowed': pod to pod passes",
    policies: [EXTERNAL_LOCKDOWN],
    topology: T,
    flow: tcp("luke", "frontend", 443),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["external-lockdown"] },
  },
  {
    id: "docs-deny-table-81-allowed",
    source: docs(LANG, "deny-policies"),
    description: "deny table column 2: curl to 81 is allowed (allow on 81, no deny there)",
    policies: [DENY_TABLE_ALLOW, DENY_TABLE_DENY],
    topology: T,
    flow: tcp("frontend", "backend", 81),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/allow-client"] },
  },
  {
    id: "docs-deny-table-80-denied",
    source: docs(LANG, "deny-policies"),
    description: "deny table column 2: curl to 80 is denied by the deny policy on that port",
    policies: [DENY_TABLE_ALLOW, DENY_TABLE_DENY],
    topology: T,
    flow: tcp("frontend", "backend", 80),
    expected: { verdict: "denied", decidedBy: ["ingress"], deniedBy: ["default/deny-80"] },
  },
  {
    id: "docs-deny-table-ping-allowed",
    source: docs(LANG, "deny-policies"),
    description: "deny table column 2: ping is allowed by the L3 allow and no deny",
    policies: [DENY_TABLE_ALLOW, DENY_TABLE_DENY],
    topology: T,
    flow: ping("frontend", "backend"),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/allow-client"] },
  },
  {
    id: "docs-deny-table-deny-only-default-deny",
    source: docs(LANG, "deny-policies"),
    description: "deny table last column: a deny-only policy still puts the pod in default deny (81 denied)",
    policies: [DENY_TABLE_DENY],
    topology: T,
    flow: tcp("frontend", "backend", 81),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["default/deny-80"] },
  },
  {
    id: "docs-cidr-toCIDR",
    source: docs(LANG, "allow-to-external-cidr-block"),
    description: "toCIDR 20.1.1.1/32",
    policies: [CIDR_RULE],
    topology: T,
    flow: tcp("myservice", "ext-20", 443),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/cidr-rule"] },
  },
  {
    id: "docs-cidr-toCIDRSet",
    source: docs(LANG, "allow-to-external-cidr-block"),
    description: "toCIDRSet 10.0.0.0/8 allows 10.1.2.3",
    policies: [CIDR_RULE],
    topology: T,
    flow: tcp("myservice", "ext-10", 443),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/cidr-rule"] },
  },
  {
    id: "docs-cidr-except",
    source: docs(LANG, "allow-to-external-cidr-block"),
    description: "but not 10.96.0.0/12 (except)",
    policies: [CIDR_RULE],
    topology: T,
    flow: tcp("myservice", "svc-range", 443),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "docs-cidr-does-not-select-pods",
    source: docs(LANG, "ip-cidr-based"),
    description:
      "'CIDR rules do not apply to traffic where both sides ... are managed by Cilium': a pod IP in 10/8 is not matched",
    policies: [CIDR_RULE],
    topology: T,
    flow: tcp("myservice", "backend", 8080),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "docs-l3-l4-combined",
    source: docs(LANG, "labels-dependent-layer-4-rule"),
    description: "frontend -> backend on TCP/80",
    policies: [L4_RULE],
    topology: T,
    flow: tcp("frontend", "backend", 80),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/l4-rule"] },
  },
  {
    id: "docs-l3-l4-combined-other-port",
    source: docs(LANG, "labels-dependent-layer-4-rule"),
    description: "'not ... on ports other than port 80'",
    policies: [L4_RULE],
    topology: T,
    flow: tcp("frontend", "backend", 8080),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "docs-l4-blocks-icmp",
    source: docs(LANG, "layer-4-examples"),
    description: "'If any layer 4 policy is specified, then ICMP will be blocked'",
    policies: [L4_RULE],
    topology: T,
    flow: ping("frontend", "backend"),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "docs-cidr-l4",
    source: docs(LANG, "cidr-dependent-layer-4-rule"),
    description: "crawler -> 192.0.2.0/24 on TCP/80",
    policies: [CIDR_L4_RULE],
    topology: T,
    flow: tcp("crawler", "crawl-target", 80),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/cidr-l4-rule"] },
  },
  {
    id: "docs-cidr-l4-other-port",
    source: docs(LANG, "cidr-dependent-layer-4-rule"),
    description: "crawler -> 192.0.2.0/24 on TCP/443 is not allowed",
    policies: [CIDR_L4_RULE],
    topology: T,
    flow: tcp("crawler", "crawl-target", 443),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "docs-port-range",
    source: docs(LANG, "example-port-ranges"),
    description: "port 80 endPort 444 includes 443, to any destination (no peer = all)",
    policies: [L4_PORT_RANGE],
    topology: T,
    flow: tcp("myservice", "internet", 443),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/l4-port-range-rule"] },
  },
  {
    id: "docs-port-range-outside",
    source: docs(LANG, "example-port-ranges"),
    description: "445 is outside 80-444",
    policies: [L4_PORT_RANGE],
    topology: T,
    flow: tcp("myservice", "internet", 445),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "docs-icmp-v4",
    source: docs(LANG, "example-icmp-icmpv6"),
    description: "ICMP type 8 to any destination",
    policies: [ICMP_RULE],
    topology: T,
    flow: ping("myservice", "internet", 8),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/icmp-rule"] },
  },
  {
    id: "docs-icmp-v6-by-name",
    source: docs(LANG, "example-icmp-icmpv6"),
    description: "ICMPv6 EchoRequest (type 128) by name",
    policies: [ICMP_RULE],
    topology: T,
    flow: { from: "myservice", to: "internet6", protocol: "ICMPv6", icmpType: 128 },
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/icmp-rule"] },
  },
  {
    id: "docs-icmp-only-blocks-tcp",
    source: docs(LANG, "example-icmp-icmpv6"),
    description: "'If any ICMP policy is specified, layer 4 and ICMP communication will be blocked'",
    policies: [ICMP_RULE],
    topology: T,
    flow: tcp("myservice", "internet", 80),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "docs-dns-proxy-allowed-query",
    source: docs(LANG, "dns-policy-and-ip-discovery"),
    description: "DNS to kube-dns goes through the DNS proxy; *.cilium.io is allowed",
    policies: [DNS_VISIBILITY],
    topology: T,
    flow: udp("alliance", "coredns", 53, { dnsQuery: "sub.cilium.io" }),
    expected: {
      verdict: "allowed",
      decidedBy: ["egress"],
      allowedBy: ["default/tofqdn-dns-visibility"],
      proxied: "dns",
    },
  },
  {
    id: "docs-dns-proxy-refused-query",
    source: docs(LANG, "dns-policy-and-ip-discovery"),
    description: "a query for a name no DNS rule allows is refused by the proxy",
    policies: [DNS_VISIBILITY],
    topology: T,
    flow: udp("alliance", "coredns", 53, { dnsQuery: "example.com" }),
    expected: {
      verdict: "denied",
      decidedBy: ["egress"],
      allowedBy: ["default/tofqdn-dns-visibility"],
      deniedBy: ["default/tofqdn-dns-visibility"],
      proxied: "dns",
      reason: "DNS proxy refused",
    },
  },
  {
    id: "docs-dns-pattern-one-label",
    source: docs(LANG, "dns-based"),
    description: "'*.cilium.io' matches one label only: 'a.b.cilium.io' is refused",
    policies: [DNS_VISIBILITY],
    topology: T,
    flow: udp("alliance", "coredns", 53, { dnsQuery: "a.b.cilium.io" }),
    expected: {
      verdict: "denied",
      decidedBy: ["egress"],
      allowedBy: ["default/tofqdn-dns-visibility"],
      deniedBy: ["default/tofqdn-dns-visibility"],
      proxied: "dns",
    },
  },
  {
    id: "docs-tofqdns-matchname",
    source: docs(LANG, "dns-based"),
    description: "toFQDNs matchName sub.cilium.io on TCP/80",
    policies: [DNS_VISIBILITY],
    topology: T,
    flow: tcp("alliance", "cilium-io", 80, { dnsName: "sub.cilium.io" }),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/tofqdn-dns-visibility"] },
  },
  {
    id: "docs-tofqdns-matchpattern",
    source: docs(LANG, "dns-based"),
    description: "'special*service.api.cilium.io' matches special-foo-service.api.cilium.io",
    policies: [DNS_VISIBILITY],
    topology: T,
    flow: tcp("alliance", "cilium-io", 80, { dnsName: "special-foo-service.api.cilium.io" }),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/tofqdn-dns-visibility"] },
  },
  {
    id: "docs-tofqdns-other-name",
    source: docs(LANG, "dns-based"),
    description: "a name no toFQDNs selector covers",
    policies: [DNS_VISIBILITY],
    topology: T,
    flow: tcp("alliance", "cilium-io", 80, { dnsName: "evil.example.com" }),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "docs-tofqdns-port",
    source: docs(LANG, "dns-based"),
    description: "toFQDNs with toPorts 80 does not allow 443",
    policies: [DNS_VISIBILITY],
    topology: T,
    flow: tcp("alliance", "cilium-io", 443, { dnsName: "cilium.io" }),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "docs-tofqdns-fqdnmap",
    source: docs(LANG, "dns-based"),
    description: "the IP learnt for my-remote-service.com is allowed on every port (no toPorts)",
    policies: [TO_FQDN],
    topology: T,
    options: { fqdnMap: { "my-remote-service.com": ["203.0.113.10"] } },
    flow: tcp("test-app", "remote-service", 443),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/to-fqdn"] },
  },
  {
    id: "docs-host-policy-lock-down",
    source: docs(LANG, "host-policies"),
    description: "host policy: SSH to a type=worker node is allowed",
    policies: [LOCK_DOWN_INGRESS],
    topology: T,
    flow: tcp("internet", "w1", 22),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["lock-down-ingress-worker-node"] },
  },
  {
    id: "docs-host-policy-lock-down-other-port",
    source: docs(LANG, "host-policies"),
    description: "host policy: port 80 of a worker is closed",
    policies: [LOCK_DOWN_INGRESS],
    topology: T,
    flow: tcp("internet", "w1", 80),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["lock-down-ingress-worker-node"] },
  },
  {
    id: "docs-host-policy-unselected-node",
    source: docs(LANG, "host-policies"),
    description: "host policies apply to the nodes their nodeSelector selects only",
    policies: [LOCK_DOWN_INGRESS],
    topology: T,
    flow: tcp("internet", "infra", 80),
    expected: { verdict: "allowed", decidedBy: [] },
  },
  {
    id: "docs-namespace-boundaries-inside",
    source: docs(K8S, "example-enforce-namespace-boundaries"),
    description: "ns1 pods may talk to each other",
    policies: [ISOLATE_NAMESPACES],
    topology: T,
    flow: tcp("ns1-other", "leia", 80),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["ns1/isolate-ns1"] },
  },
  {
    id: "docs-namespace-boundaries-across",
    source: docs(K8S, "example-enforce-namespace-boundaries"),
    description: "ns2 pods may not enter ns1",
    policies: [ISOLATE_NAMESPACES],
    topology: T,
    flow: tcp("luke", "leia", 80),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["ns1/isolate-ns1"] },
  },
  {
    id: "docs-expose-across-namespaces",
    source: docs(K8S, "example-expose-pods-across-namespaces"),
    description: "name=luke in ns2 may reach name=leia in ns1",
    policies: [EXPOSE_ACROSS_NS],
    topology: T,
    flow: tcp("luke", "leia", 80),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["ns1/k8s-expose-across-namespace"] },
  },
  {
    id: "docs-expose-across-namespaces-others",
    source: docs(K8S, "example-expose-pods-across-namespaces"),
    description: "another pod of ns2 may not",
    policies: [EXPOSE_ACROSS_NS],
    topology: T,
    flow: tcp("ns2-other", "leia", 80),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "docs-egress-to-kube-dns",
    source: docs(K8S, "example-allow-egress-to-kube-dns-in-kube-system-namespace"),
    description: "pods of the policy's namespace may reach kube-dns on UDP/53",
    policies: [KUBEDNS_POLICY],
    topology: T,
    flow: udp("frontend", "coredns", 53),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/allow-to-kubedns"] },
  },
  {
    id: "docs-egress-to-kube-dns-tcp",
    source: docs(K8S, "example-allow-egress-to-kube-dns-in-kube-system-namespace"),
    description: "TCP/53 is not in the rule",
    policies: [KUBEDNS_POLICY],
    topology: T,
    flow: tcp("frontend", "coredns", 53),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "docs-ccnp-wildcard-from-endpoints",
    source: docs(K8S, "example-allow-all-ingress-to-kube-dns"),
    description: "CCNP fromEndpoints [{}]: every pod of every namespace",
    policies: [WILDCARD_FROM_ENDPOINTS],
    topology: T,
    flow: udp("web-b", "coredns", 53),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["wildcard-from-endpoints"] },
  },
  {
    id: "docs-ccnp-wildcard-from-endpoints-not-hosts",
    source: docs(K8S, "example-allow-all-ingress-to-kube-dns"),
    description: "'all Cilium managed endpoints': a remote node (host) is not one of them",
    policies: [WILDCARD_FROM_ENDPOINTS],
    topology: T,
    flow: udp("w1", "coredns", 53),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "docs-clusterwide-policy",
    source: docs(K8S, "clusterwide-policies"),
    description: "CCNP: name=luke of any namespace may reach name=leia of any namespace",
    policies: [CLUSTERSCOPE],
    topology: T,
    flow: tcp("luke", "leia", 80),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["clusterwide-policy-example"] },
  },
  {
    id: "docs-serviceaccount",
    source: docs(K8S, "serviceaccounts"),
    description: "service account luke may reach service account leia",
    policies: [SERVICEACCOUNT],
    topology: T,
    flow: tcp("luke-sa", "leia-sa", 80),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/k8s-svc-account"] },
  },
  {
    id: "docs-serviceaccount-other",
    source: docs(K8S, "serviceaccounts"),
    description: "service account han may not",
    policies: [SERVICEACCOUNT],
    topology: T,
    flow: tcp("han-sa", "leia-sa", 80),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "docs-namespace-labels-in-cnp",
    source: docs(K8S, "namespaces"),
    description:
      "a CNP peer naming io.cilium.k8s.namespace.labels.* gets no namespace match (utils.go getEndpointSelector), so it reaches labelled namespaces",
    policies: [NAMESPACE_LABELS],
    topology: T,
    flow: tcp("xwing", "rebel-base", 80),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/alliance-only"] },
  },
  {
    id: "docs-namespace-labels-in-cnp-other-ns",
    source: docs(K8S, "namespaces"),
    description: "a namespace labelled faction=empire does not match",
    policies: [NAMESPACE_LABELS],
    topology: T,
    flow: tcp("tie", "rebel-base", 80),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },

  // ========================================== semantics ==========================================
  {
    id: "sem-enable-default-deny-false-allows-rest",
    source: "semantics",
    description: "enableDefaultDeny.ingress=false: the rule does not switch default deny on",
    policies: [
      cnp(
        "audit-frontend",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}
  enableDefaultDeny: {ingress: false}
  ingress:
  - fromEndpoints: [{matchLabels: {role: frontend}}]`,
      ),
    ],
    topology: T,
    flow: tcp("other", "backend", 80),
    expected: { verdict: "allowed", decidedBy: [], reason: "enableDefaultDeny" },
  },
  {
    id: "sem-enable-default-deny-false-allows-count",
    source: "semantics",
    description: "once another rule switches default deny on, the non-default-deny rule's allows still count",
    policies: [
      cnp(
        "audit-frontend",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}
  enableDefaultDeny: {ingress: false}
  ingress:
  - fromEndpoints: [{matchLabels: {role: frontend}}]`,
      ),
      cnp(
        "lock",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}
  ingress:
  - fromEndpoints: [{matchLabels: {role: victim}}]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "backend", 80),
    expected: {
      verdict: "allowed",
      decidedBy: ["ingress"],
      allowedBy: ["default/audit-frontend"],
      enforcedBy: ["default/lock"],
    },
  },
  {
    id: "sem-enable-default-deny-false-other-rule-locks",
    source: "semantics",
    description: "... and everything else is dropped by the default deny the other rule switched on",
    policies: [
      cnp(
        "audit-frontend",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}
  enableDefaultDeny: {ingress: false}
  ingress:
  - fromEndpoints: [{matchLabels: {role: frontend}}]`,
      ),
      cnp(
        "lock",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}
  ingress:
  - fromEndpoints: [{matchLabels: {role: victim}}]`,
      ),
    ],
    topology: T,
    flow: tcp("other", "backend", 80),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["default/lock"] },
  },
  {
    id: "sem-enable-default-deny-false-deny-still-applies",
    source: "semantics",
    description: "a deny rule in a non-default-deny policy still drops",
    policies: [
      cnp(
        "no-world",
        "default",
        `  endpointSelector: {}
  enableDefaultDeny: {egress: false}
  egressDeny:
  - toEntities: [world]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "internet", 443),
    expected: { verdict: "denied", decidedBy: ["egress"], deniedBy: ["default/no-world"] },
  },
  {
    id: "sem-ingress-empty-item",
    source: "semantics",
    description: "ingress: [{}] switches default deny on and allows nothing",
    policies: [
      cnp(
        "deny-all-ingress",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - {}`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "backend", 80),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["default/deny-all-ingress"] },
  },
  {
    id: "sem-explicit-empty-peer-list",
    source: "semantics",
    description:
      "an explicitly empty fromEndpoints list selects nothing, even with toPorts (utils.go mergeEndpointSelectors)",
    policies: [
      cnp(
        "empty-peers",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}
  ingress:
  - fromEndpoints: []
    toPorts: [{ports: [{port: "80", protocol: TCP}]}]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "backend", 80),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "sem-any-protocol-udp",
    source: "semantics",
    description: "protocol ANY covers UDP",
    policies: [ALLOW_TO_COREDNS],
    topology: T,
    flow: udp("web-a", "coredns", 53),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["kube-system/allow-to-coredns"] },
  },
  {
    id: "sem-any-protocol-sctp",
    source: "semantics",
    description: "protocol ANY covers SCTP",
    policies: [ALLOW_TO_COREDNS],
    topology: T,
    flow: { from: "web-a", to: "coredns", protocol: "SCTP", port: 53 },
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["kube-system/allow-to-coredns"] },
  },
  {
    id: "sem-any-protocol-not-icmp",
    source: "semantics",
    description: "protocol ANY never covers ICMP",
    policies: [ALLOW_TO_COREDNS],
    topology: T,
    flow: ping("web-a", "coredns"),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "sem-l3-only-allows-icmp",
    source: "semantics",
    description: "a peer rule without toPorts/icmps allows every protocol, ICMP included",
    policies: [L3_RULE],
    topology: T,
    flow: ping("frontend", "backend"),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/l3-rule"] },
  },
  {
    id: "sem-toports-without-peers-all",
    source: "semantics",
    description: "toPorts without a peer field allows the port from everyone, world included",
    policies: [
      cnp(
        "port-8080",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - toPorts: [{ports: [{port: "8080", protocol: TCP}]}]`,
      ),
    ],
    topology: T,
    flow: tcp("internet", "backend", 8080),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/port-8080"] },
  },
  {
    id: "sem-ccnp-to-endpoints-all-pods",
    source: "semantics",
    description: "a CCNP's toEndpoints [{}] means every pod of the cluster",
    policies: [
      ccnp("pods-only", `  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toEndpoints: [{}]`),
    ],
    topology: T,
    flow: tcp("web-a", "coredns", 53),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["pods-only"] },
  },
  {
    id: "sem-ccnp-to-endpoints-not-host",
    source: "semantics",
    description: "... never a host (io.kubernetes.pod.namespace Exists is added)",
    policies: [
      ccnp("pods-only", `  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toEndpoints: [{}]`),
    ],
    topology: T,
    flow: tcp("web-a", "w2", 10250),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "sem-ccnp-to-endpoints-not-world",
    source: "semantics",
    description: "... and never world",
    policies: [
      ccnp("pods-only", `  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toEndpoints: [{}]`),
    ],
    topology: T,
    flow: tcp("web-a", "internet", 443),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "sem-cnp-endpoint-selector-confined",
    source: "semantics",
    description: "a CNP cannot select pods of another namespace: its namespace match overrides the user's",
    policies: [
      cnp(
        "grab-team-b",
        "team-a",
        `  endpointSelector: {matchLabels: {"k8s:io.kubernetes.pod.namespace": team-b}}
  ingress:
  - {}`,
      ),
    ],
    topology: T,
    flow: tcp("web-a", "web-b", 80),
    expected: { verdict: "allowed", decidedBy: [] },
  },
  {
    id: "sem-cnp-endpoint-selector-own-namespace",
    source: "semantics",
    description: "... it selects its own namespace's pods instead",
    policies: [
      cnp(
        "grab-team-b",
        "team-a",
        `  endpointSelector: {matchLabels: {"k8s:io.kubernetes.pod.namespace": team-b}}
  ingress:
  - {}`,
      ),
    ],
    topology: T,
    flow: tcp("web-b", "db-a", 5432),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["team-a/grab-team-b"] },
  },
  {
    id: "sem-cnp-peer-explicit-namespace",
    source: "semantics",
    description: "a CNP peer naming io.kubernetes.pod.namespace (any: source) reaches that namespace",
    policies: [
      cnp(
        "from-team-b",
        "team-a",
        `  endpointSelector: {}
  ingress:
  - fromEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: team-b}}]`,
      ),
    ],
    topology: T,
    flow: tcp("web-b", "db-a", 5432),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["team-a/from-team-b"] },
  },
  {
    id: "sem-endpoint-selector-never-host",
    source: "semantics",
    description: "endpointSelector {} of a CCNP does not select host endpoints",
    policies: [ccnp("all-pods-locked", `  endpointSelector: {}\n  ingress:\n  - {}`)],
    topology: T,
    flow: tcp("internet", "w1", 22),
    expected: { verdict: "allowed", decidedBy: [] },
  },
  {
    id: "sem-endpoint-selector-all-pods",
    source: "semantics",
    description: "... while it selects every pod",
    policies: [ccnp("all-pods-locked", `  endpointSelector: {}\n  ingress:\n  - {}`)],
    topology: T,
    flow: tcp("frontend", "web-b", 80),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["all-pods-locked"] },
  },
  {
    id: "sem-node-selector-only-hosts",
    source: "semantics",
    description: "nodeSelector {} does not select pods",
    policies: [ccnp("all-nodes-locked", `  nodeSelector: {}\n  ingress:\n  - {}`)],
    topology: T,
    flow: tcp("frontend", "backend", 80),
    expected: { verdict: "allowed", decidedBy: [] },
  },
  {
    id: "sem-node-selector-selects-hosts",
    source: "semantics",
    description: "nodeSelector {} selects every host",
    policies: [ccnp("all-nodes-locked", `  nodeSelector: {}\n  ingress:\n  - {}`)],
    topology: T,
    flow: tcp("internet", "cp", 6443),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["all-nodes-locked"] },
  },
  {
    id: "sem-host-firewall-off",
    source: "semantics",
    description: "without the host firewall, host policies have no effect",
    policies: [ccnp("all-nodes-locked", `  nodeSelector: {}\n  ingress:\n  - {}`)],
    topology: T,
    options: { hostFirewall: false },
    flow: tcp("internet", "cp", 6443),
    expected: { verdict: "allowed", decidedBy: [], reason: "host firewall is off" },
  },
  {
    id: "sem-cluster-entity-remote-node",
    source: "semantics",
    description: "the cluster entity includes remote nodes",
    policies: [
      cnp(
        "to-cluster",
        "default",
        `  endpointSelector: {matchLabels: {role: frontend}}\n  egress:\n  - toEntities: [cluster]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "w2", 10250),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/to-cluster"] },
  },
  {
    id: "sem-cluster-entity-pods-other-namespace",
    source: "semantics",
    description: "the cluster entity includes pods of every namespace",
    policies: [
      cnp(
        "to-cluster",
        "default",
        `  endpointSelector: {matchLabels: {role: frontend}}\n  egress:\n  - toEntities: [cluster]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "web-b", 80),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/to-cluster"] },
  },
  {
    id: "sem-cluster-entity-not-world",
    source: "semantics",
    description: "the cluster entity excludes world",
    policies: [
      cnp(
        "to-cluster",
        "default",
        `  endpointSelector: {matchLabels: {role: frontend}}\n  egress:\n  - toEntities: [cluster]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "internet", 443),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "sem-all-entity-world",
    source: "semantics",
    description: "the all entity includes world",
    policies: [
      cnp(
        "to-all",
        "default",
        `  endpointSelector: {matchLabels: {role: frontend}}\n  egress:\n  - toEntities: [all]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "internet", 443),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/to-all"] },
  },
  {
    id: "sem-kube-apiserver-is-also-host",
    source: "semantics",
    description: "from a pod on the control-plane node, the API server host matches host and kube-apiserver",
    policies: [APISERVER, DEV_TO_HOST],
    topology: T,
    flow: tcp("devpod-cp", "cp", 6443),
    expected: {
      verdict: "allowed",
      decidedBy: ["egress"],
      allowedBy: ["default/dev-to-host", "default/dev-to-kube-apiserver"],
    },
  },
  {
    id: "sem-kube-apiserver-is-also-remote-node",
    source: "semantics",
    description: "from another node, the API server host is remote-node too",
    policies: [
      cnp(
        "to-nodes",
        "default",
        `  endpointSelector: {matchLabels: {env: dev}}\n  egress:\n  - toEntities: [remote-node]`,
      ),
    ],
    topology: T,
    flow: tcp("devpod", "cp", 6443),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/to-nodes"] },
  },
  {
    id: "sem-remote-node-not-local-host",
    source: "semantics",
    description: "remote-node does not include the pod's own node",
    policies: [
      cnp(
        "to-nodes",
        "default",
        `  endpointSelector: {matchLabels: {env: dev}}\n  egress:\n  - toEntities: [remote-node]`,
      ),
    ],
    topology: T,
    flow: tcp("devpod", "w1", 10250),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "sem-cidr-does-not-match-nodes",
    source: "semantics",
    description: "fromCIDR covering the node network does not match nodes by default",
    policies: [
      ccnp(
        "nodes-by-cidr",
        `  nodeSelector: {matchLabels: {"node-role.kubernetes.io/control-plane": ""}}\n  ingress:\n  - fromCIDR: [172.18.0.0/16]`,
      ),
    ],
    topology: T,
    flow: tcp("w1", "cp", 6443),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "sem-cidr-match-mode-nodes",
    source: "semantics",
    description: "with policy-cidr-match-mode=nodes it does",
    policies: [
      ccnp(
        "nodes-by-cidr",
        `  nodeSelector: {matchLabels: {"node-role.kubernetes.io/control-plane": ""}}\n  ingress:\n  - fromCIDR: [172.18.0.0/16]`,
      ),
    ],
    topology: T,
    options: { policyCidrMatchMode: "nodes" },
    flow: tcp("w1", "cp", 6443),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["nodes-by-cidr"] },
  },
  {
    id: "sem-world-cidr-zero",
    source: "semantics",
    description: "toCIDR 0.0.0.0/0 selects any IPv4 world peer",
    policies: [
      cnp(
        "to-v4",
        "default",
        `  endpointSelector: {matchLabels: {role: frontend}}\n  egress:\n  - toCIDR: [0.0.0.0/0]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "internet", 443),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/to-v4"] },
  },
  {
    id: "sem-tofqdns-only-world",
    source: "semantics",
    description: "toFQDNs never selects a pod, whatever name was resolved",
    policies: [
      cnp(
        "fqdn-any",
        "default",
        `  endpointSelector: {matchLabels: {role: frontend}}\n  egress:\n  - toFQDNs: [{matchPattern: "*"}]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "backend", 80, { dnsName: "backend.default.svc.cluster.local" }),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "sem-fqdn-star-not-apex",
    source: "semantics",
    description: "matchPattern *.cilium.io does not match cilium.io",
    policies: [
      cnp(
        "sub-only",
        "default",
        `  endpointSelector: {matchLabels: {role: frontend}}\n  egress:\n  - toFQDNs: [{matchPattern: "*.cilium.io"}]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "cilium-io", 443, { dnsName: "cilium.io" }),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "sem-fqdn-double-star",
    source: "semantics",
    description: "matchPattern **.cilium.io matches several labels",
    policies: [
      cnp(
        "deep",
        "default",
        `  endpointSelector: {matchLabels: {role: frontend}}\n  egress:\n  - toFQDNs: [{matchPattern: "**.cilium.io"}]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "cilium-io", 443, { dnsName: "docs.api.cilium.io" }),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/deep"] },
  },
  {
    id: "sem-dns-wildcarded-by-l3-rule",
    source: "semantics",
    description:
      "an L3-only allow to kube-dns wildcards the DNS rules of another policy (rule_slice.go wildcardL3L4Rules)",
    policies: [
      DNS_VISIBILITY,
      cnp(
        "alliance-to-dns",
        "default",
        `  endpointSelector: {matchLabels: {org: alliance}}
  egress:
  - toEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": kube-system, k8s-app: kube-dns}}]`,
      ),
    ],
    topology: T,
    flow: udp("alliance", "coredns", 53, { dnsQuery: "example.com" }),
    expected: {
      verdict: "allowed",
      decidedBy: ["egress"],
      allowedBy: ["default/alliance-to-dns", "default/tofqdn-dns-visibility"],
      proxied: "dns",
    },
  },
  {
    id: "sem-http-rules-proxied",
    source: "semantics",
    description: "HTTP rules allow the port and send the connection through the HTTP proxy",
    policies: [
      cnp(
        "get-only",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}
  ingress:
  - fromEndpoints: [{matchLabels: {role: frontend}}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http: [{method: GET, path: "/public"}]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "backend", 80),
    expected: {
      verdict: "allowed",
      decidedBy: ["ingress"],
      allowedBy: ["default/get-only"],
      proxied: "http",
    },
  },
  {
    id: "sem-named-port",
    source: "semantics",
    description: "a named port resolves against the destination pod's container ports",
    policies: [
      cnp(
        "named",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - toPorts: [{ports: [{port: http, protocol: TCP}]}]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "backend", 8080),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/named"] },
  },
  {
    id: "sem-named-port-other-number",
    source: "semantics",
    description: "... and does not mean port 80",
    policies: [
      cnp(
        "named",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - toPorts: [{ports: [{port: http, protocol: TCP}]}]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "backend", 80),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "sem-reply-allowed",
    source: "semantics",
    description: "a reply follows its connection: only the initiating direction is judged",
    policies: [EGRESS_DEFAULT_DENY, allowWithinNamespace("team-a")],
    topology: T,
    flow: tcp("restricted", "backend", 40312, { isReply: true }),
    expected: { verdict: "allowed", decidedBy: [], reason: "conntrack" },
  },
  {
    id: "sem-both-directions-drop",
    source: "semantics",
    description: "egress and ingress both drop: both are reported",
    policies: [EGRESS_DEFAULT_DENY, L3_RULE],
    topology: T,
    flow: tcp("restricted", "backend", 80),
    expected: {
      verdict: "denied",
      decidedBy: ["egress", "ingress"],
      enforcedBy: ["default/deny-all-egress", "default/l3-rule"],
    },
  },
  {
    id: "sem-audit-mode",
    source: "semantics",
    description: "in audit mode a default-deny drop is AUDIT",
    policies: [EGRESS_DEFAULT_DENY],
    topology: T,
    options: { auditMode: true },
    flow: tcp("restricted", "backend", 80),
    expected: { verdict: "audited", decidedBy: ["egress"], enforcedBy: ["default/deny-all-egress"] },
  },
  {
    id: "sem-audit-mode-deny-rule",
    source: "semantics",
    description: "in audit mode deny rules are audited too",
    policies: [EGRESS_DENY],
    topology: T,
    options: { auditMode: true },
    flow: tcp("frontend", "backend", 80),
    expected: { verdict: "audited", decidedBy: ["egress"], deniedBy: ["default/deny-egress-example"] },
  },
  {
    id: "sem-audit-mode-unenforced",
    source: "semantics",
    description: "a direction without policy never produces AUDIT",
    policies: [EGRESS_DEFAULT_DENY],
    topology: T,
    options: { auditMode: true },
    flow: tcp("frontend", "backend", 80),
    expected: { verdict: "allowed", decidedBy: [] },
  },
  {
    id: "sem-audit-mode-dns-proxy",
    source: "semantics",
    description: "the DNS proxy still refuses in audit mode",
    policies: [DNS_VISIBILITY],
    topology: T,
    options: { auditMode: true },
    flow: udp("alliance", "coredns", 53, { dnsQuery: "example.com" }),
    expected: {
      verdict: "denied",
      decidedBy: ["egress"],
      allowedBy: ["default/tofqdn-dns-visibility"],
      deniedBy: ["default/tofqdn-dns-visibility"],
      proxied: "dns",
    },
  },
  {
    id: "sem-pod-to-own-host-is-host-ingress",
    source: "semantics",
    description: "a pod reaching its own node passes the host's ingress policy",
    policies: [ccnp("nodes-from-remote", `  nodeSelector: {}\n  ingress:\n  - fromEntities: [remote-node]`)],
    topology: T,
    flow: tcp("frontend", "w1", 10250),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["nodes-from-remote"] },
  },
  {
    id: "sem-host-to-host-remote-node",
    source: "semantics",
    description: "... while another node is remote-node to it",
    policies: [ccnp("nodes-from-remote", `  nodeSelector: {}\n  ingress:\n  - fromEntities: [remote-node]`)],
    topology: T,
    flow: tcp("w2", "w1", 10250),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["nodes-from-remote"] },
  },
  {
    id: "sem-allow-localhost",
    source: "semantics",
    description: "the local host may always reach its pods (allow-localhost=always)",
    policies: [L3_RULE],
    topology: T,
    flow: tcp("w2", "backend", 8080),
    expected: { verdict: "allowed", decidedBy: ["ingress"], reason: "allow-localhost" },
  },
  {
    id: "sem-allow-localhost-remote-node-denied",
    source: "semantics",
    description: "... other nodes may not",
    policies: [L3_RULE],
    topology: T,
    flow: tcp("w1", "backend", 8080),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "sem-allow-localhost-policy",
    source: "semantics",
    description: "with allow-localhost=policy the local host needs a rule",
    policies: [L3_RULE],
    topology: T,
    options: { allowLocalhost: "policy" },
    flow: tcp("w2", "backend", 8080),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "sem-deny-across-policies",
    source: "semantics",
    description: "a CCNP deny beats a CNP allow",
    policies: [
      L3_RULE,
      ccnp(
        "no-frontend",
        `  endpointSelector: {}\n  ingressDeny:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "backend", 80),
    expected: { verdict: "denied", decidedBy: ["ingress"], deniedBy: ["no-frontend"] },
  },
  {
    id: "sem-invalid-policy-refused",
    source: "semantics",
    description: "a rule combining toEndpoints and toCIDR is refused and has no effect",
    policies: [
      cnp(
        "bad-mix",
        "default",
        `  endpointSelector: {matchLabels: {role: frontend}}
  egress:
  - toEndpoints: [{matchLabels: {role: backend}}]
    toCIDR: [1.1.1.1/32]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "internet", 443),
    expected: { verdict: "allowed", decidedBy: [], rejected: ["default/bad-mix"] },
  },
  {
    id: "sem-label-filter",
    source: "semantics",
    description: "pod-template-hash is not an identity label: a selector on it never matches",
    policies: [
      cnp(
        "by-hash",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {pod-template-hash: "5d4f8c7b9"}}]`,
      ),
    ],
    topology: T,
    flow: tcp("hashed", "backend", 80),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "sem-node-label-filter",
    source: "semantics",
    description:
      "kubernetes.io/os is filtered out of the host endpoint's labels: a nodeSelector on it selects no node",
    policies: [
      ccnp("linux-nodes", `  nodeSelector: {matchLabels: {kubernetes.io/os: linux}}\n  ingress:\n  - {}`),
    ],
    topology: T,
    flow: tcp("internet", "w1", 22),
    expected: { verdict: "allowed", decidedBy: [] },
  },
  {
    id: "sem-reserved-peer-not-namespaced",
    source: "semantics",
    description: "a CNP peer naming a reserved: label gets no namespace match",
    policies: [
      cnp(
        "from-nodes",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {"reserved:remote-node": ""}}]`,
      ),
    ],
    topology: T,
    flow: tcp("w1", "backend", 8080),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/from-nodes"] },
  },
  {
    id: "sem-k8s-source-does-not-match-reserved",
    source: "semantics",
    description: "a k8s:-prefixed key only matches k8s labels (remote-node is reserved:)",
    policies: [
      cnp(
        "wrong-source",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {"k8s:remote-node": ""}}]`,
      ),
    ],
    topology: T,
    flow: tcp("w1", "backend", 8080),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },

  // ============================================ the talk ============================================
  {
    id: "talk-ccnp-deny-all-within-namespace",
    source: "talk",
    description:
      "'Our CiliumClusterwideNetworkPolicy setup creates a deny-all behavior for all namespaces – even within the namespace'",
    policies: [GLOBAL_INFRA_DNS],
    topology: T,
    flow: tcp("web-a", "db-a", 5432),
    expected: { verdict: "denied", decidedBy: ["egress"], enforcedBy: ["global-infra-dns"] },
  },
  {
    id: "talk-allow-within-namespace",
    source: "talk",
    description: "'Add at least a CiliumNetworkPolicy to allow all namespace internal traffic'",
    policies: [GLOBAL_INFRA_DNS, allowWithinNamespace("team-a")],
    topology: T,
    flow: tcp("web-a", "db-a", 5432),
    expected: {
      verdict: "allowed",
      decidedBy: ["egress", "ingress"],
      allowedBy: ["team-a/allow-within-namespace"],
      enforcedBy: ["global-infra-dns", "team-a/allow-within-namespace"],
    },
  },
  {
    id: "talk-allow-within-namespace-not-across",
    source: "talk",
    description: "allow-within-namespace does not open other namespaces",
    policies: [GLOBAL_INFRA_DNS, allowWithinNamespace("team-a")],
    topology: T,
    flow: tcp("web-a", "web-b", 80),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "talk-coredns-from-everywhere",
    source: "talk",
    description: "global-infra-dns + allow-to-coredns: any pod resolves names through the DNS proxy",
    policies: [GLOBAL_INFRA_DNS, ALLOW_TO_COREDNS],
    topology: T,
    flow: udp("web-b", "coredns", 53, { dnsQuery: "api.github.com" }),
    expected: {
      verdict: "allowed",
      decidedBy: ["egress", "ingress"],
      allowedBy: ["global-infra-dns", "kube-system/allow-to-coredns"],
      proxied: "dns",
    },
  },
  {
    id: "talk-no-internet",
    source: "talk",
    description: "a tenant pod may not reach the internet",
    policies: [GLOBAL_INFRA_DNS, allowWithinNamespace("team-a")],
    topology: T,
    flow: tcp("web-a", "internet", 443),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "talk-nginx-to-exposed",
    source: "talk",
    description: "nginx may reach namespaces labelled exposed=true (CCNP with namespace labels, both sides)",
    policies: NGINX_SET,
    topology: T,
    flow: tcp("nginx", "web-a", 8080),
    expected: {
      verdict: "allowed",
      decidedBy: ["egress", "ingress"],
      allowedBy: ["global-infra-nginx", "nginx-to-services"],
    },
  },
  {
    id: "talk-nginx-not-to-unexposed",
    source: "talk",
    description: "nginx may not reach an unlabelled namespace",
    policies: NGINX_SET,
    topology: T,
    flow: tcp("nginx", "web-b", 8080),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "talk-nginx-only-from-nginx",
    source: "talk",
    description: "global-infra-nginx admits nginx only: prometheus is dropped at team-a's ingress",
    policies: [...NGINX_SET, allowWithinNamespace("monitoring"), PROMETHEUS_TO_METRICS],
    topology: T,
    flow: tcp("prometheus", "web-a", 8080),
    expected: { verdict: "denied", decidedBy: ["ingress"], allowedBy: ["prometheus-to-metrics"] },
  },
  {
    id: "talk-prometheus-to-metrics",
    source: "talk",
    description: "prometheus may scrape namespaces labelled metrics=true",
    policies: PROMETHEUS_SET,
    topology: T,
    flow: tcp("prometheus", "db-a", 9090),
    expected: {
      verdict: "allowed",
      decidedBy: ["egress", "ingress"],
      allowedBy: ["global-infra-prometheus", "prometheus-to-metrics"],
    },
  },
  {
    id: "talk-prometheus-not-unlabelled",
    source: "talk",
    description: "prometheus may not scrape an unlabelled namespace",
    policies: PROMETHEUS_SET,
    topology: T,
    flow: tcp("prometheus", "web-b", 9090),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "talk-all-to-nginx",
    source: "talk",
    description: "all-to-nginx: the world may reach nginx on 443",
    policies: [allowWithinNamespace("ingress-nginx"), ALL_TO_NGINX],
    topology: T,
    flow: tcp("internet", "nginx", 443),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["ingress-nginx/all-to-nginx"] },
  },
  {
    id: "talk-all-to-nginx-other-port",
    source: "talk",
    description: "... but not on other ports",
    policies: [allowWithinNamespace("ingress-nginx"), ALL_TO_NGINX],
    topology: T,
    flow: tcp("internet", "nginx", 22),
    expected: {
      verdict: "denied",
      decidedBy: ["ingress"],
      enforcedBy: ["ingress-nginx/all-to-nginx", "ingress-nginx/allow-within-namespace"],
    },
  },
  {
    id: "talk-nginx-to-kapi",
    source: "talk",
    description: "nginx-ingress-to-kapi: nginx may reach the API server on 6443",
    policies: [allowWithinNamespace("ingress-nginx"), NGINX_TO_KAPI],
    topology: T,
    flow: tcp("nginx", "cp", 6443),
    expected: {
      verdict: "allowed",
      decidedBy: ["egress"],
      allowedBy: ["ingress-nginx/nginx-ingress-to-kapi"],
    },
  },
  {
    id: "talk-nginx-to-kapi-not-etcd",
    source: "talk",
    description: "... not etcd on the same host",
    policies: [allowWithinNamespace("ingress-nginx"), NGINX_TO_KAPI],
    topology: T,
    flow: tcp("nginx", "cp", 2379),
    expected: { verdict: "denied", decidedBy: ["egress"] },
  },
  {
    id: "talk-host-cp-api-from-everywhere",
    source: "talk",
    description: "host-cp: 'Kubernetes control plane connectivity from everywhere' (toPorts without peers)",
    policies: [HOST_CP],
    topology: T,
    flow: tcp("internet", "cp", 6443),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["host-cp"] },
  },
  {
    id: "talk-host-cp-etcd-not-from-world",
    source: "talk",
    description: "host-cp: etcd only from kube-apiserver",
    policies: [HOST_CP],
    topology: T,
    flow: tcp("internet", "cp", 2379),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["host-cp"] },
  },
  {
    id: "talk-host-cp-etcd-not-from-worker",
    source: "talk",
    description: "host-cp: a worker node is remote-node, not kube-apiserver",
    policies: [HOST_CP],
    topology: T,
    flow: tcp("w1", "cp", 2379),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "talk-host-cp-etcd-peer",
    source: "talk",
    description:
      "host-cp: 'ETCD control plane connectivity from nodes' — another control-plane node is kube-apiserver",
    policies: [HOST_CP],
    topology: HA_CLUSTER,
    flow: tcp("cp2", "cp", 2380),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["host-cp"] },
  },
  {
    id: "sem-self-traffic",
    source: "semantics",
    description: "an endpoint talking to itself is not judged, even in default deny",
    policies: [
      cnp(
        "deny-all-ingress",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - {}`,
      ),
    ],
    topology: T,
    flow: tcp("backend", "backend", 8080),
    expected: { verdict: "allowed", decidedBy: [], reason: "itself" },
  },
  {
    id: "sem-port-octal",
    source: "semantics",
    description: 'port "0100" is octal to the agent (strconv.ParseUint base 0): port 64',
    policies: [OCTAL_PORT],
    topology: T,
    flow: tcp("frontend", "backend", 64),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/backend-octal"] },
  },
  {
    id: "sem-port-octal-not-decimal",
    source: "semantics",
    description: 'port "0100" does not open port 100',
    policies: [OCTAL_PORT],
    topology: T,
    flow: tcp("frontend", "backend", 100),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["default/backend-octal"] },
  },
  {
    id: "sem-port-zero-range-inside",
    source: "semantics",
    description: 'port "0" with endPort 1024 is the range 0-1024 (pkg/policy/portrange.go): 443 is in it',
    policies: [ZERO_RANGE],
    topology: T,
    flow: tcp("frontend", "backend", 443),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/backend-low-ports"] },
  },
  {
    id: "sem-port-zero-range-outside",
    source: "semantics",
    description: 'port "0" with endPort 1024 is not every port: 8080 is outside it',
    policies: [ZERO_RANGE],
    topology: T,
    flow: tcp("frontend", "backend", 8080),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["default/backend-low-ports"] },
  },
  {
    id: "sem-port-zero-range-1.20",
    source: "semantics",
    description:
      'Cilium 1.20: port "0" with endPort 1024 is every port (pkg/policy/l4.go keysForRange keeps one wildcard key)',
    policies: [ZERO_RANGE],
    topology: T,
    options: { ciliumVersion: "1.20" },
    flow: tcp("frontend", "backend", 8080),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/backend-low-ports"] },
  },
  {
    id: "sem-icmp-type-out-of-range",
    source: "semantics",
    description:
      "an ICMP type above 255 does not refuse the policy (ICMPField.PortProtocol keeps it as written): it matches no packet, and default deny holds",
    policies: [
      cnp(
        "backend-icmp-300",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    icmps: [{fields: [{type: 300}]}]`,
      ),
    ],
    topology: T,
    flow: { from: "frontend", to: "backend", protocol: "ICMP", icmpType: 8 },
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["default/backend-icmp-300"] },
  },
  {
    id: "sem-icmp-type-unknown-name",
    source: "semantics",
    description:
      "an ICMP type name the family does not have refuses the policy (ICMPField.UnmarshalJSON), so it switches nothing on",
    policies: [
      cnp(
        "backend-icmp-typo",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    icmps: [{fields: [{type: EchoRequst}]}]`,
      ),
    ],
    topology: T,
    flow: { from: "frontend", to: "backend", protocol: "ICMP", icmpType: 8 },
    expected: { verdict: "allowed", decidedBy: [], rejected: ["default/backend-icmp-typo"] },
  },
  {
    id: "sem-tunnel-apiserver-to-pod",
    source: "semantics",
    description:
      "tunnel routing: the API server's host reaches a pod on another node as remote-node only (bpf/lib/encap.h), so fromEntities kube-apiserver does not admit it",
    policies: [FROM_KAPI],
    topology: T,
    flow: tcp("cp", "backend", 8443),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["default/backend-from-kapi"] },
  },
  {
    id: "sem-native-apiserver-to-pod",
    source: "semantics",
    description:
      "native routing: the receiving node looks the API server's node up in the ipcache: kube-apiserver",
    policies: [FROM_KAPI],
    topology: T,
    options: { routingMode: "native" },
    flow: tcp("cp", "backend", 8443),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/backend-from-kapi"] },
  },
  {
    id: "sem-from-requires-refused",
    source: "semantics",
    description:
      "fromRequires is deprecated with maxItems 0 (pkg/policy/api/ingress.go): the API server refuses the policy, which then takes no effect",
    policies: [
      cnp(
        "backend-requires",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    fromRequires: [{matchLabels: {env: prod}}]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "backend", 8080),
    expected: { verdict: "allowed", decidedBy: [], rejected: ["default/backend-requires"] },
  },
  {
    id: "sem-encap-prohibited",
    source: "semantics",
    description:
      "tunnel routing: a pod's UDP to the VXLAN port is dropped before any policy, even in audit mode (DROP_ENCAP_PROHIBITED)",
    policies: [],
    topology: T,
    options: { auditMode: true },
    flow: { from: "frontend", to: "w1", protocol: "UDP", port: 8472 },
    expected: { verdict: "denied", decidedBy: ["egress"], reason: "DROP_ENCAP_PROHIBITED" },
  },
  {
    id: "talk-host-all-ssh-jumphost",
    source: "talk",
    description: "host-all: SSH from the jumphost 10.1.101.110/32",
    policies: [HOST_ALL],
    topology: T,
    flow: tcp("jumphost", "w1", 22),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["host-all"] },
  },
  {
    id: "talk-host-all-ssh-other",
    source: "talk",
    description: "host-all: SSH from another address is dropped",
    policies: [HOST_ALL],
    topology: T,
    flow: tcp("other-admin", "w1", 22),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["host-all"] },
  },
  {
    id: "talk-host-all-ping",
    source: "talk",
    description: "host-all: 'Allow ping to hosts' (icmps without peers)",
    policies: [HOST_ALL],
    topology: T,
    flow: ping("internet", "w2", 8),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["host-all"] },
  },
  {
    id: "talk-host-all-icmp-timestamp",
    source: "talk",
    description: "host-all: other ICMP types stay closed",
    policies: [HOST_ALL],
    topology: T,
    flow: ping("internet", "w2", 13),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "talk-host-all-kubelet-from-apiserver",
    source: "talk",
    description: "host-all: kubelet 10250 from kube-apiserver (the control-plane node)",
    policies: [HOST_ALL],
    topology: T,
    flow: tcp("cp", "w1", 10250),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["host-all"] },
  },
  {
    id: "talk-host-all-kubelet-not-from-worker",
    source: "talk",
    description: "host-all: kubelet 10250 not from another worker",
    policies: [HOST_ALL],
    topology: T,
    flow: tcp("w2", "w1", 10250),
    expected: { verdict: "denied", decidedBy: ["ingress"] },
  },
  {
    id: "talk-host-all-metrics-server",
    source: "talk",
    description: "host-all: metrics-server may reach kubelet metrics",
    policies: [HOST_ALL],
    topology: T,
    flow: tcp("metrics-server", "w1", 10250),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["host-all"] },
  },
  {
    id: "talk-host-all-vxlan",
    source: "talk",
    description: "host-all: VXLAN between nodes",
    policies: [HOST_ALL],
    topology: T,
    flow: udp("w2", "w1", 8472),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["host-all"] },
  },
  {
    id: "talk-host-all-health",
    source: "talk",
    description: "host-all: Cilium health checks from remote nodes",
    policies: [HOST_ALL],
    topology: T,
    flow: tcp("w2", "w1", 4240),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["host-all"] },
  },
  {
    id: "talk-host-all-hubble-relay",
    source: "talk",
    description: "host-all: hubble-relay may reach the agents' Hubble peer port",
    policies: [HOST_ALL],
    topology: T,
    flow: tcp("hubble-relay", "w2", 4244),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["host-all"] },
  },
  {
    id: "talk-host-infra-https",
    source: "talk",
    description: "host-infra: HTTPS to the infra node (host-all selects it too)",
    policies: [HOST_ALL, HOST_INFRA],
    topology: T,
    flow: tcp("internet", "infra", 443),
    expected: {
      verdict: "allowed",
      decidedBy: ["ingress"],
      allowedBy: ["host-infra"],
      enforcedBy: ["host-all", "host-infra"],
    },
  },
  {
    id: "talk-host-infra-only-infra",
    source: "talk",
    description: "host-infra does not open 443 on workers",
    policies: [HOST_ALL, HOST_INFRA],
    topology: T,
    flow: tcp("internet", "w1", 443),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["host-all"] },
  },
  {
    id: "talk-audit-mode",
    source: "talk",
    description: "'Always keep an eye on DROPPED connections' — in audit mode the deny-all shows up as AUDIT",
    policies: [GLOBAL_INFRA_DNS],
    topology: T,
    options: { auditMode: true },
    flow: tcp("web-a", "db-a", 5432),
    expected: { verdict: "audited", decidedBy: ["egress"], enforcedBy: ["global-infra-dns"] },
  },
  // toServices (pkg/policy/k8s/service.go processRule), over the Services of topology.ts.
  {
    id: "sem-toservices-selector",
    source: "semantics",
    description:
      "toServices naming a Service with a selector is its pods: the agent adds a generated toEndpoints of the selector and the Service's namespace",
    policies: [TO_BACKEND_SERVICE],
    topology: T,
    flow: tcp("frontend", "backend", 8080),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/frontend-to-backend-svc"] },
  },
  {
    id: "sem-toservices-selector-others",
    source: "semantics",
    description: "toServices opens the Service's pods only: another pod stays behind default deny",
    policies: [TO_BACKEND_SERVICE],
    topology: T,
    flow: tcp("frontend", "other", 8080),
    expected: { verdict: "denied", decidedBy: ["egress"], enforcedBy: ["default/frontend-to-backend-svc"] },
  },
  {
    id: "sem-toservices-any-namespace",
    source: "semantics",
    description:
      "a k8sService without a namespace matches Services of every namespace, not the policy's own (serviceRefMatches)",
    policies: [
      cnp(
        "leia-to-backend",
        "ns1",
        `  endpointSelector: {matchLabels: {name: leia}}\n  egress:\n  - toServices: [{k8sService: {serviceName: backend}}]`,
      ),
    ],
    topology: T,
    flow: tcp("leia", "backend", 8080),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["ns1/leia-to-backend"] },
  },
  {
    id: "sem-toservices-service-selector",
    source: "semantics",
    description: "k8sServiceSelector matches Services by their own labels (tier=api is the backend Service)",
    policies: [
      cnp(
        "frontend-to-api-tier",
        "default",
        `  endpointSelector: {matchLabels: {role: frontend}}\n  egress:\n  - toServices: [{k8sServiceSelector: {selector: {matchLabels: {tier: api}}, namespace: default}}]\n    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "backend", 8080),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/frontend-to-api-tier"] },
  },
  {
    id: "sem-toservices-backends",
    source: "semantics",
    description:
      "a Service without a selector is its backends' addresses: a generated toCIDRSet (remote-db is 203.0.113.10)",
    policies: [TO_REMOTE_DB],
    topology: T,
    flow: tcp("frontend", "remote-service", 5432),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/frontend-to-remote-db"] },
  },
  {
    id: "sem-toservices-kubernetes",
    source: "semantics",
    description:
      "toServices to default/kubernetes is a CIDR of the API server's node address, and CIDR peers never select nodes: the API server stays closed (use toEntities kube-apiserver)",
    policies: [
      cnp(
        "frontend-to-kubernetes-svc",
        "default",
        `  endpointSelector: {matchLabels: {role: frontend}}\n  egress:\n  - toServices: [{k8sService: {serviceName: kubernetes, namespace: default}}]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "cp", 6443),
    expected: {
      verdict: "denied",
      decidedBy: ["egress"],
      enforcedBy: ["default/frontend-to-kubernetes-svc"],
    },
  },
  {
    id: "sem-toservices-unknown-with-ports",
    source: "semantics",
    description:
      "toServices naming no Service leaves the rule without peers, so its toPorts admit every peer, the internet included",
    policies: [
      cnp(
        "frontend-to-missing-svc",
        "default",
        `  endpointSelector: {matchLabels: {role: frontend}}\n  egress:\n  - toServices: [{k8sService: {serviceName: missing, namespace: default}}]\n    toPorts: [{ports: [{port: "443", protocol: TCP}]}]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "internet", 443),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/frontend-to-missing-svc"] },
  },
  {
    id: "sem-toservices-with-toendpoints",
    source: "semantics",
    description:
      "toServices beside a written toEndpoints is refused by the agent (combining ToEndpoints and ToServices)",
    policies: [
      cnp(
        "frontend-svc-and-endpoints",
        "default",
        `  endpointSelector: {matchLabels: {role: frontend}}\n  egress:\n  - toServices: [{k8sService: {serviceName: backend, namespace: default}}]\n    toEndpoints: [{matchLabels: {role: other}}]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "other", 8080),
    expected: { verdict: "allowed", rejected: ["default/frontend-svc-and-endpoints"] },
  },
  {
    id: "sem-toservices-egressdeny",
    source: "semantics",
    description:
      "toServices in egressDeny is never translated (processRule walks rule.Egress only): with toPorts the deny covers every peer on the port",
    policies: [
      cnp(
        "frontend-deny-backend-svc",
        "default",
        `  endpointSelector: {matchLabels: {role: frontend}}\n  egress:\n  - toEntities: [all]\n  egressDeny:\n  - toServices: [{k8sService: {serviceName: backend, namespace: default}}]\n    toPorts: [{ports: [{port: "443", protocol: TCP}]}]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "internet", 443),
    expected: { verdict: "denied", decidedBy: ["egress"], deniedBy: ["default/frontend-deny-backend-svc"] },
  },
  // Cloud groups (toGroups/fromGroups): kind has no cloud provider.
  {
    id: "sem-togroups-1.19-skipped",
    source: "semantics",
    description:
      "Cilium 1.19: a policy with toGroups is skipped by the agent, which waits for the operator's derivative policy; without a cloud provider there is none, so the whole policy takes no effect",
    policies: [FRONTEND_GROUPS],
    topology: T,
    flow: tcp("frontend", "other", 8080),
    expected: { verdict: "allowed", rejected: ["default/frontend-groups"] },
  },
  {
    id: "sem-togroups-1.20-nothing",
    source: "semantics",
    description:
      "Cilium 1.20: toGroups is a selector of the CiliumCIDRGroup a cloud provider's controller creates; without one it selects nothing, and the policy's default deny holds",
    policies: [FRONTEND_GROUPS],
    topology: T,
    options: { ciliumVersion: "1.20" },
    flow: tcp("frontend", "internet", 443),
    expected: { verdict: "denied", decidedBy: ["egress"], enforcedBy: ["default/frontend-groups"] },
  },
  {
    id: "sem-togroups-1.20-rest",
    source: "semantics",
    description: "Cilium 1.20: the policy's other rules apply beside a toGroups rule",
    policies: [FRONTEND_GROUPS],
    topology: T,
    options: { ciliumVersion: "1.20" },
    flow: tcp("frontend", "backend", 8080),
    expected: { verdict: "allowed", decidedBy: ["egress"], allowedBy: ["default/frontend-groups"] },
  },
  // Mutual authentication (pkg/policy/mapstate.go authPreferredInsert, lookup; bpf/lib/policy.h).
  {
    id: "sem-auth-required",
    source: "semantics",
    description:
      "authentication.mode required: the allow entry asks for SPIRE authentication, and without mutual auth Cilium drops it (DROP_POLICY_AUTH_REQUIRED)",
    policies: [AUTH_L3],
    topology: T,
    flow: tcp("frontend", "backend", 8080),
    expected: {
      verdict: "denied",
      decidedBy: ["ingress"],
      allowedBy: ["default/backend-auth"],
      reason: "DROP_POLICY_AUTH_REQUIRED",
    },
  },
  {
    id: "sem-auth-required-audit",
    source: "semantics",
    description: "the authentication drop is a policy drop: audit mode lets it through",
    policies: [AUTH_L3],
    topology: T,
    options: { auditMode: true },
    flow: tcp("frontend", "backend", 8080),
    expected: { verdict: "audited", decidedBy: ["ingress"], allowedBy: ["default/backend-auth"] },
  },
  {
    id: "sem-auth-required-mutual",
    source: "semantics",
    description: "with mutual authentication (SPIRE) the authenticated peer is allowed",
    policies: [AUTH_L3],
    topology: T,
    options: { mutualAuth: true },
    flow: tcp("frontend", "backend", 8080),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/backend-auth"] },
  },
  {
    id: "sem-auth-always-fail",
    source: "semantics",
    description: "authentication.mode test-always-fail drops even with mutual authentication",
    policies: [
      cnp(
        "backend-auth-fail",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    authentication: {mode: test-always-fail}`,
      ),
    ],
    topology: T,
    options: { mutualAuth: true },
    flow: tcp("frontend", "backend", 8080),
    expected: { verdict: "denied", decidedBy: ["ingress"], allowedBy: ["default/backend-auth-fail"] },
  },
  {
    id: "sem-auth-derived",
    source: "semantics",
    description:
      "a port rule without authentication inherits it from the covering L3-only entry of the same peer (authPreferredInsert)",
    policies: [AUTH_L3, AUTH_PORT_PLAIN],
    topology: T,
    flow: tcp("frontend", "backend", 80),
    expected: {
      verdict: "denied",
      decidedBy: ["ingress"],
      allowedBy: ["default/backend-auth", "default/backend-port-80"],
      reason: "DROP_POLICY_AUTH_REQUIRED",
    },
  },
  {
    id: "sem-auth-explicit-disabled",
    source: "semantics",
    description:
      "an explicit mode disabled on the more specific port entry wins over the covering entry's required",
    policies: [AUTH_L3, AUTH_PORT_DISABLED],
    topology: T,
    flow: tcp("frontend", "backend", 80),
    expected: {
      verdict: "allowed",
      decidedBy: ["ingress"],
      allowedBy: ["default/backend-auth", "default/backend-port-80-no-auth"],
    },
  },
  {
    id: "sem-auth-l4-only-wins",
    source: "semantics",
    description:
      "an L4-only entry (every peer) with required beats the peer's L3-only entry on its port: the more specific port wins the lookup",
    policies: [AUTH_L4_ONLY, L3_FRONTEND_TO_BACKEND],
    topology: T,
    flow: tcp("frontend", "backend", 80),
    expected: {
      verdict: "denied",
      decidedBy: ["ingress"],
      allowedBy: ["default/backend-80-auth", "default/backend-from-frontend"],
      reason: "DROP_POLICY_AUTH_REQUIRED",
    },
  },
  {
    id: "sem-auth-l4-only-other-port",
    source: "semantics",
    description: "on another port only the L3-only entry matches, and it asks no authentication",
    policies: [AUTH_L4_ONLY, L3_FRONTEND_TO_BACKEND],
    topology: T,
    flow: tcp("frontend", "backend", 81),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/backend-from-frontend"] },
  },
  // Protocols without ports and the 1.20 entity cluster-mesh.
  {
    id: "sem-vrrp-port-zero",
    source: "semantics",
    description:
      'toPorts with protocol VRRP and port "0" is accepted (pkg/policy/api/utils.go L4Proto.Validate): it matches no TCP flow, and default deny holds',
    policies: [
      cnp(
        "backend-vrrp",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    toPorts: [{ports: [{port: "0", protocol: VRRP}]}]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "backend", 80),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["default/backend-vrrp"] },
  },
  {
    id: "sem-vrrp-port-nonzero",
    source: "semantics",
    description: "VRRP with a port is refused by the agent: port must be empty or 0",
    policies: [
      cnp(
        "backend-vrrp-112",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    toPorts: [{ports: [{port: "112", protocol: VRRP}]}]`,
      ),
    ],
    topology: T,
    flow: tcp("frontend", "backend", 80),
    expected: { verdict: "allowed", rejected: ["default/backend-vrrp-112"] },
  },
  {
    id: "sem-gre-1.20",
    source: "semantics",
    description: "Cilium 1.20 accepts GRE (port 0) in toPorts; it matches no TCP flow",
    policies: [
      cnp(
        "backend-gre",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    toPorts: [{ports: [{port: "0", protocol: GRE}]}]`,
      ),
    ],
    topology: T,
    options: { ciliumVersion: "1.20" },
    flow: tcp("frontend", "backend", 80),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["default/backend-gre"] },
  },
  {
    id: "sem-cluster-mesh-1.20",
    source: "semantics",
    description:
      "Cilium 1.20's entity cluster-mesh selects the endpoints of every cluster (a cluster label, whatever its value)",
    policies: [CLUSTER_MESH],
    topology: T,
    options: { ciliumVersion: "1.20" },
    flow: tcp("frontend", "backend", 80),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/backend-from-mesh"] },
  },
  {
    id: "sem-cluster-mesh-1.20-world",
    source: "semantics",
    description: "cluster-mesh does not select the world",
    policies: [CLUSTER_MESH],
    topology: T,
    options: { ciliumVersion: "1.20" },
    flow: tcp("internet", "backend", 80),
    expected: { verdict: "denied", decidedBy: ["ingress"], enforcedBy: ["default/backend-from-mesh"] },
  },
  {
    id: "sem-cluster-mesh-1.19",
    source: "semantics",
    description: "Cilium 1.19 does not know the entity cluster-mesh: the agent refuses the policy",
    policies: [CLUSTER_MESH],
    topology: T,
    flow: tcp("internet", "backend", 80),
    expected: { verdict: "allowed", rejected: ["default/backend-from-mesh"] },
  },
  // The local-cluster filter on a selector its namespace key leaves unscoped.
  {
    id: "sem-cluster-filter-namespace-notin-world",
    source: "semantics",
    description:
      "a peer selector with a namespace key is not scoped to the policy's namespace, but still to the local cluster (addClusterFilterByDefault): NotIn selects no world identity",
    policies: [NS_NOTIN],
    topology: T,
    flow: tcp("frontend", "internet", 443),
    expected: {
      verdict: "denied",
      decidedBy: ["egress"],
      enforcedBy: ["default/frontend-to-other-namespaces"],
    },
  },
  {
    id: "sem-cluster-filter-namespace-notin-node",
    source: "semantics",
    description: "nor a node's identity",
    policies: [NS_NOTIN],
    topology: T,
    flow: tcp("frontend", "w1", 443),
    expected: {
      verdict: "denied",
      decidedBy: ["egress"],
      enforcedBy: ["default/frontend-to-other-namespaces"],
    },
  },
  {
    id: "sem-cluster-filter-namespace-notin-pods",
    source: "semantics",
    description: "but the pods of every other namespace of the cluster",
    policies: [NS_NOTIN],
    topology: T,
    flow: tcp("frontend", "web-a", 443),
    expected: {
      verdict: "allowed",
      decidedBy: ["egress"],
      allowedBy: ["default/frontend-to-other-namespaces"],
    },
  },
  {
    id: "sem-icmp-type-zero-every-type",
    source: "semantics",
    description:
      "icmps type 0 (EchoReply) admits every ICMP type: ICMPField.PortProtocol makes the type the port, and port 0 is every port",
    policies: [
      cnp(
        "backend-echo-reply",
        "default",
        `  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    icmps: [{fields: [{type: EchoReply}]}]`,
      ),
    ],
    topology: T,
    flow: ping("frontend", "backend", 3),
    expected: { verdict: "allowed", decidedBy: ["ingress"], allowedBy: ["default/backend-echo-reply"] },
  },
];
