// What kind of rule a CNP/CCNP rule is, as Cilium reads it: a host rule or an endpoint rule, and whether
// a cluster-wide rule's subject selector reaches the pods of every namespace.

import { NAMESPACE_NAME_LABEL, POD_NAMESPACE_LABEL } from "../../vocabulary/labels";
import { PolicyEngine } from "./engine";
import { POD_NAMESPACE_META_LABELS_PREFIX } from "./labels";
import { freshValue } from "./namespaceProbe";
import { EndpointSelector, SelectorError } from "./selectors";
import type { LabelSelector, Rule } from "./types";

/**
 * A rule with a nodeSelector applies to nodes' host endpoints (pkg/policy/api/rule.go, Rule.NodeSelector:
 * "mutually exclusive with EndpointSelector"); only a CiliumClusterwideNetworkPolicy may carry one.
 */
export const isHostRule = (rule: Rule): boolean =>
  rule.nodeSelector !== undefined && rule.nodeSelector !== null;

/**
 * Whether a CiliumClusterwideNetworkPolicy's endpointSelector selects the pods of every namespace: asked of
 * the engine on a pod without labels in each of two namespaces the selector does not name. `{}` does, and
 * so does any selector that asks nothing of a pod but that it has a namespace (`io.kubernetes.pod.namespace
 * Exists`, a NotIn list of namespaces) or that it lacks a label (DoesNotExist). A selector naming the pods'
 * labels or the namespaces' labels does not: it selects only the pods and namespaces that carry them. A
 * missing selector selects no pod (the rule is a host rule, or invalid); nor does one the agent refuses.
 */
export function selectsPodsOfEveryNamespace(sel: LabelSelector | undefined | null): boolean {
  if (!sel) return false;
  let parsed: EndpointSelector;
  try {
    parsed = EndpointSelector.fromK8s(sel);
  } catch (e) {
    if (e instanceof SelectorError) return false;
    throw e;
  }
  // Namespaces the selector names, by name or by their name label, are not "any namespace".
  const named = new Set<string>();
  for (const r of parsed.requirements)
    if (r.key === POD_NAMESPACE_LABEL || r.key === POD_NAMESPACE_META_LABELS_PREFIX + NAMESPACE_NAME_LABEL)
      for (const v of r.values) named.add(v);
  const first = freshValue(named, "castle-any-namespace-a");
  const second = freshValue(new Set([...named, first]), "castle-any-namespace-b");
  const node = "subject-probe-node";
  const engine = new PolicyEngine(
    [
      {
        apiVersion: "cilium.io/v2",
        kind: "CiliumClusterwideNetworkPolicy",
        metadata: { name: "subject-probe" },
        // An ingress item that admits nothing: the rule only needs a section to select its subjects.
        spec: { endpointSelector: sel, ingress: [{}] },
      },
    ],
    {
      nodes: [
        { name: node, role: "worker", labels: { "kubernetes.io/hostname": node }, ips: ["198.18.0.1"] },
      ],
      pods: [first, second].map((ns, i) => ({
        id: `${ns}/subject-probe`,
        kind: "pod" as const,
        namespace: ns,
        labels: {},
        namespaceLabels: { [NAMESPACE_NAME_LABEL]: ns },
        node,
        ips: [`198.18.1.${i + 1}`],
      })),
      externals: [],
    },
  );
  if (engine.rejected.length > 0) return false;
  return [first, second].every(
    (ns) => engine.selectingPolicies(`${ns}/subject-probe`, "ingress").selecting.length > 0,
  );
}
