import { NAMESPACE_NAME_LABEL, POD_NAMESPACE_LABEL } from "../../vocabulary/labels";
// Cilium's label model: every label has a source ("k8s", "reserved", "any" in selectors, ...), a key and a
// value. Identities are label sets; selectors match label sets. See pkg/labels/labels.go (Label,
// parseSource, GetExtendedKeyFrom) and pkg/labels/arraylist.go (LabelArray.Has/Get: "The key can be of
// source "any", in which case the source is ignored. The inverse, however, is not true.").

export const SOURCE_ANY = "any";
export const SOURCE_K8S = "k8s";
export const SOURCE_RESERVED = "reserved";

// Well-known label keys, pkg/k8s/apis/cilium.io/const.go.
export const POD_NAMESPACE_META_LABELS_PREFIX = "io.cilium.k8s.namespace.labels.";
export const POLICY_LABEL_SERVICEACCOUNT = "io.cilium.k8s.policy.serviceaccount";
export const POLICY_LABEL_CLUSTER = "io.cilium.k8s.policy.cluster";

// Reserved identity names, pkg/labels/labels.go (IDNameHost, IDNameWorld, ...).
export const RESERVED = {
  host: "host",
  remoteNode: "remote-node",
  world: "world",
  worldIPv4: "world-ipv4",
  worldIPv6: "world-ipv6",
  kubeApiServer: "kube-apiserver",
  health: "health",
  init: "init",
  ingress: "ingress",
  unmanaged: "unmanaged",
  none: "none",
} as const;

export interface Label {
  source: string;
  key: string;
  value: string;
}

export function labelToString(l: Label): string {
  return l.value === "" ? `${l.source}:${l.key}` : `${l.source}:${l.key}=${l.value}`;
}

/**
 * Splits a selector key into source and key, as Cilium's GetExtendedKeyFrom/parseSource do
 * (pkg/labels/labels.go): "k8s:app" -> (k8s, app); "app" -> (any, app); "$host" and "reserved.host"
 * (no colon) -> (reserved, host). Only the first colon separates the source, so "k8s:a:b" keeps "a:b".
 */
export function parseSelectorKey(raw: string): { source: string; key: string } {
  if (raw.startsWith("$")) return { source: SOURCE_RESERVED, key: raw.slice(1) };
  const i = raw.indexOf(":");
  if (i < 0) {
    if (raw.startsWith(`${SOURCE_RESERVED}.`)) {
      return { source: SOURCE_RESERVED, key: raw.slice(SOURCE_RESERVED.length + 1) };
    }
    return { source: SOURCE_ANY, key: raw };
  }
  return { source: raw.slice(0, i), key: raw.slice(i + 1) };
}

/** An immutable identity label set with a by-key index (selectors look labels up by key). */
export class LabelSet {
  readonly labels: readonly Label[];
  /** Canonical text: sorted "source:key=value" joined by ",". Equal sets have equal ids. */
  readonly id: string;
  private readonly byKey = new Map<string, Label[]>();

  constructor(labels: Iterable<Label>) {
    const uniq = new Map<string, Label>();
    for (const l of labels) uniq.set(`${l.source}:${l.key}`, l);
    this.labels = [...uniq.values()].sort((a, b) => cmp(labelToString(a), labelToString(b)));
    for (const l of this.labels) {
      const list = this.byKey.get(l.key);
      if (list) list.push(l);
      else this.byKey.set(l.key, [l]);
    }
    this.id = this.labels.map(labelToString).join(",");
  }

  /** Labels with this key; source "any" accepts every source, any other source only itself. */
  lookup(source: string, key: string): Label[] {
    const list = this.byKey.get(key);
    if (!list) return [];
    if (source === SOURCE_ANY) return list;
    return list.filter((l) => l.source === source);
  }

  has(source: string, key: string): boolean {
    return this.lookup(source, key).length > 0;
  }

  /** The value of the first matching label, or undefined. */
  get(source: string, key: string): string | undefined {
    return this.lookup(source, key)[0]?.value;
  }

  toStrings(): string[] {
    return this.labels.map(labelToString);
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------
// Identity-relevant label filter. Cilium drops "noise" labels before it allocates an identity, so a
// selector on e.g. kubernetes.io/hostname or pod-template-hash never matches. Default list from
// pkg/labelsfilter/filter.go defaultLabelPrefixCfg(); documented at
// https://docs.cilium.io/en/stable/operations/performance/scalability/identity-relevant-labels/ .
// A prefix matches when its regexp matches at the start of the key; the label is kept when no ignore
// prefix matches, or when the longest include match is longer than the shortest ignore match.
// The same filter applies to the node labels of the host endpoint (cilium/cilium#10994,
// pkg/endpointmanager/host.go: labels.Map2Labels(node labels, LabelSourceK8s) + labelsfilter.Filter), so a
// nodeSelector on kubernetes.io/os or kubernetes.io/hostname never matches (seen in the field:
// tuist/tuist#12565 "kubernetes.io/os is not on the host endpoint, so the os: linux matchLabel never matches").
// ---------------------------------------------------------------------------------------------------

interface LabelPrefix {
  ignore: boolean;
  expr: RegExp;
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

const DEFAULT_LABEL_PREFIXES: LabelPrefix[] = [
  { ignore: false, expr: new RegExp(`^${esc(POD_NAMESPACE_LABEL)}`) },
  { ignore: false, expr: new RegExp(`^${esc("io.cilium.k8s.namespace.labels")}`) },
  { ignore: false, expr: new RegExp(`^${esc("app.kubernetes.io")}`) },
  { ignore: false, expr: new RegExp(`^${esc(POLICY_LABEL_CLUSTER)}`) },
  { ignore: true, expr: /^io\.kubernetes/ },
  { ignore: true, expr: /^kubernetes\.io/ },
  { ignore: true, expr: new RegExp(`^${esc("statefulset.kubernetes.io/pod-name")}`) },
  { ignore: true, expr: new RegExp(`^${esc("apps.kubernetes.io/pod-index")}`) },
  { ignore: true, expr: new RegExp(`^${esc("batch.kubernetes.io/job-completion-index")}`) },
  { ignore: true, expr: /^.*beta\.kubernetes\.io/ },
  { ignore: true, expr: /^k8s\.io/ },
  { ignore: true, expr: /^pod-template-generation/ },
  { ignore: true, expr: /^pod-template-hash/ },
  { ignore: true, expr: /^controller-revision-hash/ },
  { ignore: true, expr: /^annotation.*/ },
  { ignore: true, expr: /^etcd_node/ },
];

/** True when Cilium's default label filter keeps this k8s label key in the identity. */
export function isIdentityRelevantK8sKey(key: string): boolean {
  let included = 0;
  let ignored = 0;
  for (const p of DEFAULT_LABEL_PREFIXES) {
    const m = p.expr.exec(key);
    if (!m) continue;
    const len = m[0].length;
    if (p.ignore) {
      if (ignored === 0 || len < ignored) ignored = len;
    } else if (len > included) {
      included = len;
    }
  }
  // The default configuration has no user-supplied include prefixes, so it is not a whitelist.
  return ignored === 0 || included > ignored;
}

function k8sLabels(map: Record<string, string> | undefined, filter: boolean): Label[] {
  const out: Label[] = [];
  for (const [key, value] of Object.entries(map ?? {})) {
    if (filter && !isIdentityRelevantK8sKey(key)) continue;
    out.push({ source: SOURCE_K8S, key, value: String(value) });
  }
  return out;
}

export function reserved(name: string): Label {
  return { source: SOURCE_RESERVED, key: name, value: "" };
}

export interface PodIdentityInput {
  labels: Record<string, string>;
  namespace: string;
  namespaceLabels?: Record<string, string>;
  serviceAccount?: string;
  clusterName: string;
}

/**
 * The security identity labels of a pod, as the agent derives them (pkg/k8s/utils/utils.go
 * GetPodMetadata / pkg/k8s/watchers/pod.go): its k8s labels, k8s:io.kubernetes.pod.namespace,
 * k8s:io.cilium.k8s.namespace.labels.<key> for every namespace label, the service account and the
 * cluster name. Namespace labels include kubernetes.io/metadata.name, which the API server sets.
 */
export function podIdentityLabels(p: PodIdentityInput): LabelSet {
  const nsLabels: Record<string, string> = {
    [NAMESPACE_NAME_LABEL]: p.namespace,
    ...(p.namespaceLabels ?? {}),
  };
  const labels: Label[] = k8sLabels(p.labels, true);
  labels.push({ source: SOURCE_K8S, key: POD_NAMESPACE_LABEL, value: p.namespace });
  for (const [k, v] of Object.entries(nsLabels)) {
    labels.push({ source: SOURCE_K8S, key: POD_NAMESPACE_META_LABELS_PREFIX + k, value: String(v) });
  }
  labels.push({ source: SOURCE_K8S, key: POLICY_LABEL_SERVICEACCOUNT, value: p.serviceAccount ?? "default" });
  labels.push({ source: SOURCE_K8S, key: POLICY_LABEL_CLUSTER, value: p.clusterName });
  return new LabelSet(labels);
}

/**
 * The local host identity (reserved:host, ID 1) as seen by its own agent: reserved:host, the node's k8s
 * labels (filtered) and, when kube-apiserver runs on this host, reserved:kube-apiserver — pkg/ipcache
 * metadata.go resolveIdentity: "If additional labels are associated with the IPs of the host, add those
 * extra labels into the host identity". It is also the subject label set nodeSelector matches.
 */
export function localHostIdentityLabels(
  nodeLabels: Record<string, string>,
  kubeApiServer: boolean,
): LabelSet {
  const labels = [reserved(RESERVED.host), ...k8sLabels(nodeLabels, true)];
  if (kubeApiServer) labels.push(reserved(RESERVED.kubeApiServer));
  return new LabelSet(labels);
}

/**
 * Another node as seen from this agent: reserved:remote-node, or the kube-apiserver identity
 * (ReservedIdentityKubeAPIServer = {reserved:kube-apiserver, reserved:remote-node}, pkg/identity/numericidentity.go).
 * Node labels are dropped unless per-node identities are enabled (ipcache metadata.go, PerNodeLabelsEnabled).
 */
export function remoteNodeIdentityLabels(kubeApiServer: boolean): LabelSet {
  const labels = [reserved(RESERVED.remoteNode)];
  if (kubeApiServer) labels.push(reserved(RESERVED.kubeApiServer));
  return new LabelSet(labels);
}

/**
 * Anything outside the cluster: reserved:world plus the per-family world identity (world-ipv4 /
 * world-ipv6, pkg/identity/numericidentity.go). An external kube-apiserver also carries
 * reserved:kube-apiserver. CIDR selectors are matched on the addresses, not on labels.
 */
export function worldIdentityLabels(families: Set<4 | 6>, kubeApiServer: boolean): LabelSet {
  const labels = [reserved(RESERVED.world)];
  if (families.has(4)) labels.push(reserved(RESERVED.worldIPv4));
  if (families.has(6)) labels.push(reserved(RESERVED.worldIPv6));
  if (kubeApiServer) labels.push(reserved(RESERVED.kubeApiServer));
  return new LabelSet(labels);
}
