// Every port the castle opens, once, with the reason it must be open.

/** SSH, for system management from the jumphosts only. */
export const SSH = 22;
/** Kubernetes API server. */
export const KUBE_APISERVER = 6443;
/** etcd client port: the API server talks to etcd here. */
export const ETCD_CLIENT = 2379;
/** etcd peer port: etcd members replicate here (several control planes). */
export const ETCD_PEER = 2380;
/** kubelet API: log streaming, exec and metrics, called by the API server and metrics-server. */
export const KUBELET = 10250;
/** cilium-health: agents probe each other's health over HTTP. */
export const CILIUM_HEALTH = 4240;
/** Cilium VXLAN overlay between nodes (tunnel routing mode, the chart's default). */
export const VXLAN = 8472;
/** Cilium WireGuard transparent encryption between nodes, when encryption is enabled. */
export const WIREGUARD = 51871;
/** Hubble peer service on each agent: hubble-relay collects flows here. */
export const HUBBLE_PEER = 4244;
/** HTTP into the ingress controller. */
export const HTTP = 80;
/** HTTPS into the ingress controller. */
export const HTTPS = 443;
/** The ingress-nginx admission webhook, called by the API server. */
export const INGRESS_ADMISSION_WEBHOOK = 8443;
/** metrics-server's own HTTPS port (the chart's containerPort), behind the metrics.k8s.io APIService. */
export const METRICS_SERVER_API = 10250;
/** DNS. */
export const DNS = 53;
/** ICMP echo request (ping), IPv4. */
export const ICMP_ECHO_REQUEST = 8;
