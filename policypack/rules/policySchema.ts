// Every Cilium policy must be one the API server stores as written and the agent accepts.

import { ResourceValidationPolicy } from "@pulumi/policy";
import { checkCiliumPolicy } from "../../verifier/engine/checkCiliumRule";
import { CNP_KIND } from "../../lib/cilium/policy";
import { isCiliumPolicyType, Obj, policyId, rulesOf, violation } from "../lib";

/** The CRD schema as Cilium ships it, through @kubernetes-models/cilium (ESM-only: loaded with import()). */
export async function crdModelErrors(props: Obj): Promise<string[]> {
  // The models' constructors take their own typed shape; the props are checked by validate() below.
  const model =
    props.kind === CNP_KIND
      ? await import("@kubernetes-models/cilium/cilium.io/v2/CiliumNetworkPolicy").then(
          ({ CiliumNetworkPolicy: M }) => new M(props as ConstructorParameters<typeof M>[0]),
        )
      : await import("@kubernetes-models/cilium/cilium.io/v2/CiliumClusterwideNetworkPolicy").then(
          ({ CiliumClusterwideNetworkPolicy: M }) => new M(props as ConstructorParameters<typeof M>[0]),
        );
  try {
    model.validate();
    return [];
  } catch (e) {
    return [String((e as Error).message)];
  }
}

export const policySchema: ResourceValidationPolicy = {
  name: "cilium-policy-schema",
  description:
    "Every CiliumNetworkPolicy/CiliumClusterwideNetworkPolicy passes the CRD schema and the agent's checks.",
  enforcementLevel: "mandatory",
  validateResource: async (args, report) => {
    if (!isCiliumPolicyType(args.type)) return;
    const id = policyId(args.props);
    for (const e of await crdModelErrors(args.props)) {
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
