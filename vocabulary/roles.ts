import * as PORT from "./ports";

// Infrastructure components are data: a role says where the component runs, how to select its pods and
// what it may reach. The infra and node layers turn roles into policies, so adding a component is a config
// entry (`infraRoles`), not code.

export type Protocol = "TCP" | "UDP" | "ANY";

export interface PortSpec {
  port: number;
  protocol: Protocol;
}

/** A generated policy's name and description (descriptions are the talk's where the talk shows one). */
export interface PolicyName {
  name: string;
  description: string;
}

export interface InfraRole {
  /** Identifier of the role, e.g. `ingress-nginx`. */
  name: string;
  namespace: string;
  /** Kubernetes labels of the role's pods. */
  podLabels: Record<string, string>;
  /** Where the labels come from (chart template), so a chart upgrade can be checked against it. */
  evidence: string;
  /** Egress to the Kubernetes API server on 6443. */
  kubeApiServer?: PolicyName;
  /** Ports the role serves to everyone, in and outside the cluster (ingress from entity `all`). */
  servesAll?: PolicyName & { ports: PortSpec[] };
  /**
   * A passive component every pod must reach (the talk's CoreDNS): a cluster-wide egress rule from every
   * endpoint to the role on its `servesAll` ports, with a DNS proxy rule when `dns` is set.
   */
  egressFromEveryPod?: PolicyName & { dns?: boolean };
  /** Ports the API server calls on the role: admission webhooks, aggregated APIs. */
  servesKubeApiServer?: PolicyName & { ports: PortSpec[] };
  /**
   * The namespace label (value "true") whose namespaces the role may reach: `exposed` for the ingress
   * controller, `metrics` for Prometheus. Yields an egress CCNP from the role and an ingress CCNP into
   * every such namespace, so user namespaces need no rule of their own.
   */
  reachesLabelledNamespaces?: { label: string; egress: PolicyName; ingress: PolicyName };
  /** Ports the role calls on the nodes (host firewall); e.g. metrics-server scrapes kubelets on 10250. */
  nodePorts?: PolicyName & { ports: PortSpec[] };
  /** Labels the role's namespace must carry, e.g. `metrics: "true"` so that Prometheus scrapes it. */
  namespaceLabels?: Record<string, string>;
  /** The service account the chart runs the pods as: their identity carries it, policies may select it. */
  serviceAccount?: string;
  /** The pods' named container ports, so a policy's named port ("webhook") resolves as on the cluster. */
  containerPorts?: Record<string, number>;
}

/** Namespaces that exist before the castle: patched, never created or deleted by it. */
export const PREEXISTING_NAMESPACES = ["kube-system"];

/** Namespaces a kind cluster has from its first minute (its node image applies them), patched like kube-system. */
export const KIND_NAMESPACES = ["local-path-storage"];

/** kube-system runs cluster plumbing (CoreDNS upstreams, relay, operators) whose egress is not enumerable. */
export const EGRESS_TO_ALL_NAMESPACES = ["kube-system"];

export const INGRESS_ROLE = "ingress-nginx";
export const PROMETHEUS_ROLE = "prometheus";

const TCP = (port: number): PortSpec => ({ port, protocol: "TCP" });

/** The talk's infrastructure, with the labels the pinned charts really put on their pods. */
export const DEFAULT_INFRA_ROLES: InfraRole[] = [
  {
    name: "coredns",
    namespace: "kube-system",
    // The talk pins the namespace in allow-to-coredns's selector too; harmless in a CNP.
    podLabels: { "io.kubernetes.pod.namespace": "kube-system", "k8s-app": "kube-dns" },
    evidence:
      "kubeadm's CoreDNS Deployment labels its pods k8s-app: kube-dns (kubernetes/kubernetes cmd/kubeadm/app/phases/addons/dns/manifests.go); kind uses kubeadm",
    // kubeadm's CoreDNS Deployment (cmd/kubeadm/app/phases/addons/dns/manifests.go).
    serviceAccount: "coredns",
    containerPorts: { dns: 53, "dns-tcp": 53, metrics: 9153 },
    servesAll: {
      name: "allow-to-coredns",
      description: "Allow ingress to coredns from everywhere",
      ports: [{ port: PORT.DNS, protocol: "ANY" }],
    },
    egressFromEveryPod: {
      name: "global-infra-dns",
      description: "Allow coredns access from everywhere",
      dns: true,
    },
    // The kube-dns Service carries prometheus.io/scrape annotations (kubeadm): Prometheus scrapes CoreDNS.
    namespaceLabels: { metrics: "true" },
  },
  {
    name: "hubble-relay",
    namespace: "kube-system",
    podLabels: { "app.kubernetes.io/name": "hubble-relay" },
    evidence:
      "cilium chart install/kubernetes/cilium/templates/hubble-relay/deployment.yaml: pods carry k8s-app: hubble-relay and app.kubernetes.io/name: hubble-relay",
    // cilium chart values.yaml serviceAccounts.relay.name.
    serviceAccount: "hubble-relay",
    nodePorts: {
      name: "hubble-relay-to-nodes",
      description: "Allow hubble-relay to reach the Hubble peer service of every agent",
      ports: [TCP(PORT.HUBBLE_PEER)],
    },
  },
  {
    name: INGRESS_ROLE,
    namespace: "ingress-nginx",
    podLabels: { "app.kubernetes.io/name": "ingress-nginx" },
    evidence:
      "ingress-nginx chart 4.15.1 templates/_helpers.tpl selectorLabels: app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/instance: <release>, plus app.kubernetes.io/component: controller on the controller Deployment",
    // Chart 4.15.1: the release's service account, controller.containerPort {http: 80, https: 443} and
    // the admission webhook's port (controller.admissionWebhooks.port).
    serviceAccount: "ingress-nginx",
    containerPorts: { http: 80, https: 443, webhook: 8443 },
    kubeApiServer: {
      name: "nginx-ingress-to-kapi",
      description: "Allow Nginx ingress controller to reach KAPI",
    },
    servesAll: {
      name: "all-to-nginx",
      description: "Allow accessing Nginx ingress controller from everywhere",
      ports: [TCP(PORT.HTTP), TCP(PORT.HTTPS)],
    },
    servesKubeApiServer: {
      name: "kapi-to-nginx-admission",
      description: "Allow the API server to call the ingress-nginx admission webhook",
      ports: [TCP(PORT.INGRESS_ADMISSION_WEBHOOK)],
    },
    reachesLabelledNamespaces: {
      label: "exposed",
      egress: {
        name: "nginx-to-services",
        description: "Allow Nginx to access svc of NS with exposed label",
      },
      ingress: {
        name: "global-infra-nginx",
        description: "Allow connections from Nginx to labeled namespaces",
      },
    },
  },
  {
    name: PROMETHEUS_ROLE,
    namespace: "monitoring",
    podLabels: { "app.kubernetes.io/name": "prometheus" },
    evidence:
      "prometheus-community chart prometheus 27.42.2 server Deployment: app.kubernetes.io/name: prometheus, app.kubernetes.io/component: server; kube-prometheus-stack's operator-made pods carry the same name label",
    // Kubelets and cAdvisor are scraped through the API server's node proxy in the chart's default
    // scrape config, so Prometheus needs 6443 and no node port.
    kubeApiServer: {
      name: "prometheus-to-kapi",
      description: "Allow Prometheus to discover targets and scrape nodes through KAPI",
    },
    reachesLabelledNamespaces: {
      label: "metrics",
      egress: {
        name: "prometheus-to-metrics",
        description: "Allow Prometheus to scrape metrics in NS with metrics label",
      },
      ingress: {
        name: "global-infra-prometheus",
        description: "Allow connections from Prometheus to labeled namespaces",
      },
    },
  },
  {
    name: "metrics-server",
    namespace: "monitoring",
    podLabels: { "app.kubernetes.io/name": "metrics-server" },
    evidence:
      "kubernetes-sigs metrics-server chart 3.13.0 templates/_helpers.tpl selectorLabels: app.kubernetes.io/name: metrics-server, app.kubernetes.io/instance: <release>",
    // Chart 3.13.0: serviceAccount metrics-server, container port "https" on containerPort 10250.
    serviceAccount: "metrics-server",
    containerPorts: { https: 10250 },
    kubeApiServer: { name: "metrics-server-to-kapi", description: "Allow metrics-server to access KAPI" },
    servesKubeApiServer: {
      name: "kapi-to-metrics-server",
      description: "Allow the API server to call the metrics.k8s.io aggregated API",
      ports: [TCP(PORT.METRICS_SERVER_API)],
    },
    nodePorts: {
      name: "metrics-server-to-kubelet-metrics",
      description: "Allow metrics-server to scrape Kubelet metrics",
      ports: [TCP(PORT.KUBELET)],
    },
  },
  {
    name: "grafana",
    namespace: "monitoring",
    podLabels: { "app.kubernetes.io/name": "grafana" },
    evidence:
      "grafana chart templates/_helpers.tpl selectorLabels: app.kubernetes.io/name: grafana, app.kubernetes.io/instance: <release>",
    kubeApiServer: {
      name: "grafana-to-kapi",
      description: "Allow Grafana to reach KAPI (to get dashboard and datasource CMs)",
    },
  },
  {
    name: "alertmanager",
    namespace: "monitoring",
    podLabels: { "app.kubernetes.io/name": "alertmanager" },
    evidence:
      "prometheus chart's alertmanager subchart: app.kubernetes.io/name: alertmanager, app.kubernetes.io/instance: <release>",
    // Prometheus reaches it inside monitoring; receivers outside the cluster (Slack, PagerDuty) are
    // per-installation FQDN rules, added as a role of their own.
  },
];

/** Every namespace the infra layer owns: the roles' namespaces and the pre-existing ones. */
export function infraNamespaces(roles: InfraRole[]): string[] {
  return [...new Set([...PREEXISTING_NAMESPACES, ...roles.map((r) => r.namespace)])].sort();
}

/** Labels each infra namespace must carry, merged over its roles. */
export function infraNamespaceLabels(roles: InfraRole[]): Map<string, Record<string, string>> {
  const labels = new Map<string, Record<string, string>>(infraNamespaces(roles).map((ns) => [ns, {}]));
  for (const r of roles) Object.assign(labels.get(r.namespace)!, r.namespaceLabels ?? {});
  return labels;
}

/**
 * What kind runs besides kubeadm's pods: the local-path provisioner behind its default StorageClass
 * ("standard"). It watches PersistentVolumeClaims and creates PersistentVolumes through the API server, so
 * once the castle's cluster-wide DNS rule turns egress default deny on for every pod, it needs its own way
 * to the API server or no volume is ever provisioned.
 */
export const KIND_INFRA_ROLES: InfraRole[] = [
  {
    name: "local-path-provisioner",
    namespace: "local-path-storage",
    podLabels: { app: "local-path-provisioner" },
    evidence:
      "kind v0.33.0 pkg/build/nodeimage/const_storage.go: Deployment local-path-provisioner in namespace local-path-storage, pods labelled app: local-path-provisioner, service account local-path-provisioner-service-account",
    serviceAccount: "local-path-provisioner-service-account",
    kubeApiServer: {
      name: "local-path-provisioner-to-kapi",
      description: "Allow kind's local-path provisioner to reach KAPI (it watches PVCs and creates PVs)",
    },
  },
];
