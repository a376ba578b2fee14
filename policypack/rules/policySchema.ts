// Every Cilium policy must be one the API server stores as written and the agent accepts.

import { ResourceValidationPolicy } from "@pulumi/policy";
import { checkCiliumPolicy } from "../../verifier/engine/checkCiliumRule";
import { crdSchemaErrors } from "../../verifier/crdSchema";
import { isCiliumPolicyType, policyId, rulesOf, violation } from "../lib";

export const policySchema: ResourceValidationPolicy = {
  name: "cilium-policy-schema",
  description:
    "Every CiliumNetworkPolicy/CiliumClusterwideNetworkPolicy passes the CRD schema and the agent's checks.",
  enforcementLevel: "mandatory",
  validateResource: async (args, report) => {
    if (!isCiliumPolicyType(args.type)) return;
    const id = policyId(args.props);
    for (const e of await crdSchemaErrors(args.props)) {
      report(
        violation(
          `${id} does not pass the Cilium CRD schema: ${e}`,
          "the API server rejects it, and the update fails halfway",
          "correct the field the schema names",
        ),
      );
    }
    for (const f of checkCiliumPolicy(args.props)) {
      report(
        violation(
          `${id} ${f.path}: ${f.message}`,
          "the Cilium agent rejects or silently changes such a rule, so the policy would not be enforced as written",
          "rewrite the rule as the message says (Cilium's pkg/policy/api/rule_validation.go has the exact rules)",
        ),
      );
    }
  },
};

export const policyDescription: ResourceValidationPolicy = {
  name: "cilium-policy-description",
  description: "Advisory: every Cilium policy has a spec.description.",
  enforcementLevel: "advisory",
  validateResource: (args, report) => {
    if (!isCiliumPolicyType(args.type)) return;
    if (rulesOf(args.props).some((r) => typeof r.description !== "string" || r.description.trim() === "")) {
      report(
        violation(
          `${policyId(args.props)} has no spec.description`,
          "reviewers and Hubble users read the description to know what a policy is for",
          "add spec.description saying what the policy allows",
        ),
      );
    }
  },
};

export const schemaPolicies = [policySchema, policyDescription];
