// Every Cilium policy must be one the API server stores as written and the agent accepts.
//
// The resource half runs the agent's checks that hold for every Cilium minor (checkCiliumRule: unknown
// fields, combinations, ports) on each policy as the engine hands it over. The stack half reads the
// stack's Cilium minor from the Cilium release's chart, as castle-properties-hold does through
// fromObjects, from the inputs the resource half recorded (stackView.ts), and judges with it: the CRD
// schema (verifier/crdVersions.ts), then the agent as the engine reads it (compilePolicies, checked against
// Cilium's own code), for what the minors treat differently.

import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { isCiliumRelease, releaseChartVersion } from "../../lib/helm/charts";
import { checkCiliumPolicy } from "../../verifier/engine/checkCiliumRule";
import { crdSchemaErrors, fieldPath, storedAs } from "../../verifier/crdSchema";
import { CILIUM_VERSIONS } from "../../verifier/crdVersions";
import type { CiliumPolicyObject, CiliumVersion } from "../../verifier/engine";
import { compilePolicies } from "../../verifier/engine/compile";
import { ciliumVersionOf } from "../../verifier/objects";
import { isCiliumPolicyType, Obj, policyId, RELEASE_TYPE, rulesOf, violation } from "../lib";
import { stackPolicyOverInputs, StackResource } from "../stackView";

/**
 * The Cilium minor whose CRDs the stack installs: its Cilium release's chart version. Undefined when no
 * Cilium release is in sight (none, or one this run did not show the pack) or its chart names no version.
 */
export function stackCiliumVersion(resources: StackResource[]): CiliumVersion | undefined {
  const release = resources.find(
    (r) => r.type === RELEASE_TYPE && r.seen !== undefined && isCiliumRelease(r.props as Obj),
  );
  const chartVersion = release ? releaseChartVersion(release.props as Obj) : undefined;
  return chartVersion === undefined ? undefined : ciliumVersionOf(chartVersion);
}

const crdSchema = stackPolicyOverInputs({
  name: "cilium-policy-schema",
  description:
    "Every CiliumNetworkPolicy/CiliumClusterwideNetworkPolicy passes the CRD schema of the stack's Cilium version and the agent's checks.",
  enforcementLevel: "mandatory",
  validateStack: async (args, report) => {
    const known = stackCiliumVersion(args.resources);
    // Without the release in sight, a policy is refused only when every version the engine knows refuses it.
    const versions = known ? [known] : CILIUM_VERSIONS;
    const which = `Cilium ${versions.join(" and ")}'s CRD schema`;
    for (const r of args.resources) {
      if (!isCiliumPolicyType(r.type) || r.seen === undefined) continue;
      const id = policyId(r.props);
      const verdicts = await Promise.all(versions.map((v) => crdSchemaErrors(r.props, v)));
      if (verdicts.every((errors) => errors.length > 0)) {
        for (const e of new Set(verdicts.flat()))
          report(
            violation(
              `${id} does not pass ${which}: ${e}`,
              "the API server rejects it, and the update fails halfway",
              "correct the field the schema names",
            ),
            r.urn,
          );
        continue;
      }
      // What the agent makes of it, asked of the engine (whose reading is checked against Cilium's own
      // code): the version's refusals and skips (a policy with toGroups on 1.19, cluster-mesh on 1.19, a
      // protocol 1.19 does not know). Told only when the agent's checks of the resource half found nothing
      // to say, so one mistake is not reported twice.
      if (checkCiliumPolicy(r.props).length === 0) {
        const refusals = versions.map(
          (v) =>
            compilePolicies([storedAs(r.props, v).object as unknown as CiliumPolicyObject], "default", v)
              .rejected[0],
        );
        const refusal = refusals[0];
        if (refusal && refusals.every((x) => x !== undefined && x.by === "agent")) {
          report(
            violation(
              `${id} is refused by ${versions.length === 1 ? `Cilium ${versions[0]}'s` : "the Cilium"} agent: ${refusal.reason}`,
              "the agent imports none of its rules, so the policy is not enforced at all",
              "rewrite the rule as the message says (Cilium's pkg/policy/api/rule_validation.go has the exact rules)",
            ),
            r.urn,
          );
        }
      }
      // Stored, without the fields the version's CRD does not have: an unknown field, as the agent's
      // checks call every other (checkCiliumRule's unknownFields).
      if (!known) continue;
      for (const d of storedAs(r.props, known).dropped)
        report(
          violation(
            `${id} ${fieldPath(d)}: not a field of Cilium ${known}'s CRD: the API server would drop it silently`,
            "the Cilium agent rejects or silently changes such a rule, so the policy would not be enforced as written",
            `remove it: Cilium ${known} has no such rule (see verifier/crdVersions.ts for what changed)`,
          ),
          r.urn,
        );
    }
  },
});

function agentChecks(args: ResourceValidationArgs, report: ReportViolation): void {
  if (!isCiliumPolicyType(args.type)) return;
  const id = policyId(args.props);
  for (const f of checkCiliumPolicy(args.props)) {
    report(
      violation(
        `${id} ${f.path}: ${f.message}`,
        "the Cilium agent rejects or silently changes such a rule, so the policy would not be enforced as written",
        "rewrite the rule as the message says (Cilium's pkg/policy/api/rule_validation.go has the exact rules)",
      ),
    );
  }
}

export const policySchema = {
  ...crdSchema,
  validateResource: (args: ResourceValidationArgs, report: ReportViolation): void => {
    crdSchema.validateResource(args, report);
    agentChecks(args, report);
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
