// Every label key the castle writes or selects on, once. Cilium's own label model (sources, reserved
// identities) is the engine's (verifier/engine/labels.ts); these are the keys every layer shares.

/** Which castle layer owns a policy: read by reviewers, the policy pack and the verifier. */
export const LAYER_LABEL = "castle.cilium.io/layer";
export type Layer = "node" | "infra" | "user";

/** Kubernetes (1.21+) labels every Namespace with its own name, overwriting any other value. */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/** Cilium labels every pod's identity with its namespace (pkg/k8s/apis/cilium.io/const.go). */
export const POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace";
/** The same label with its source, as selectors written into policies carry it. */
export const K8S_POD_NAMESPACE_LABEL = `k8s:${POD_NAMESPACE_LABEL}`;

/** Node role labels: the castle's infra nodes, and the control plane's (set by kubeadm). */
export const INFRA_ROLE_LABEL = "node-role.kubernetes.io/infra";
export const CONTROL_PLANE_ROLE_LABEL = "node-role.kubernetes.io/control-plane";

/** A user namespace's opt-ins, each a namespace label with value "true". */
export const USER_NAMESPACE_LABELS = ["exposed", "metrics"] as const;
