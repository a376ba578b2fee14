// What kind of rule a CNP/CCNP rule is, as Cilium reads it: a host rule or an endpoint rule, and whether
// its subject selector selects every endpoint.

import { EndpointSelector } from "./selectors";
import type { LabelSelector, Rule } from "./types";

/**
 * A rule with a nodeSelector applies to nodes' host endpoints (pkg/policy/api/rule.go, Rule.NodeSelector:
 * "mutually exclusive with EndpointSelector"); only a CiliumClusterwideNetworkPolicy may carry one.
 */
export const isHostRule = (rule: Rule): boolean =>
  rule.nodeSelector !== undefined && rule.nodeSelector !== null;

/**
 * Whether a subject selector selects every endpoint: it states no requirement (`{}`, or empty
 * matchLabels and matchExpressions). A missing selector selects nothing here: the rule is then a host
 * rule or invalid. An unparsable selector selects nothing either (the agent refuses the policy).
 */
export function selectsEveryEndpoint(sel: LabelSelector | undefined | null): boolean {
  if (!sel) return false;
  try {
    return EndpointSelector.fromK8s(sel).isWildcard();
  } catch {
    return false;
  }
}
