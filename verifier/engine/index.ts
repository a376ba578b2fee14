// Offline evaluator of CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy semantics.
export * from "./types";
export { PolicyEngine } from "./engine";
export {
  EndpointSelector,
  entitySelectors,
  ENTITIES,
  scopePeerSelector,
  scopeSubjectSelector,
} from "./selectors";
export type { Entity } from "./selectors";
export {
  LabelSet,
  isIdentityRelevantK8sKey,
  localHostIdentityLabels,
  parseSelectorKey,
  podIdentityLabels,
  remoteNodeIdentityLabels,
  worldIdentityLabels,
} from "./labels";
export { FqdnMatcher, patternToRegExp, toFqdn } from "./fqdn";
export { compilePolicies, icmpTypeOf, policyRef } from "./compile";
