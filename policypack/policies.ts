// The pack's policies, one module per family. index.ts serves them; tests import this module directly,
// because constructing a PolicyPack starts a gRPC server.

import type { Policies } from "@pulumi/policy";
import { hostFirewallPolicies } from "./rules/hostFirewall";
import { schemaPolicies } from "./rules/policySchema";
import { namespacePolicies } from "./rules/namespaces";
import { clusterwidePolicies } from "./rules/clusterwide";
import { orderingPolicies } from "./rules/ordering";
import { castlePropertyPolicies } from "./rules/castleProperties";
import { stackViewPolicies } from "./stackView";

export const PACK_NAME = "cilium-castle";

export const policies: Policies = [
  ...hostFirewallPolicies,
  ...schemaPolicies,
  ...namespacePolicies,
  ...clusterwidePolicies,
  ...orderingPolicies,
  ...castlePropertyPolicies,
  ...stackViewPolicies,
];
