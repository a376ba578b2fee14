// Cilium policies must wait for the CRD gate, or the first `pulumi up` fails with "no matches for kind".

import { PolicyResource } from "@pulumi/policy";
import { CILIUM_COMPONENT, isCiliumPolicyType, policyId, violation } from "../lib";
import { stackPolicyOverInputs } from "../stackView";

const isCrdGate = (r: PolicyResource): boolean =>
  r.type === "command:local:Command" && r.name.endsWith("-crd-gate") && r.parent?.type === CILIUM_COMPONENT;

export const policiesAfterCrdGate = stackPolicyOverInputs({
  name: "cilium-policies-after-crd-gate",
  description: "Every Cilium policy depends, directly or through its parent, on the Cilium CRD gate.",
  enforcementLevel: "mandatory",
  // Decided on the engine's links (parent, dependencies), which it always shows; props only name the policy.
  validateStack: (args, report) => {
    const gates = new Set(args.resources.filter(isCrdGate).map((r) => r.urn));
    for (const r of args.resources.filter((x) => isCiliumPolicyType(x.type))) {
      let waits = false;
      for (let cur: PolicyResource | undefined = r; cur && !waits; cur = cur.parent) {
        waits = cur.dependencies.some((d) => gates.has(d.urn));
      }
      if (!waits) {
        report(
          violation(
            `${r.seen ? policyId(r.props) : `${r.name} (${r.type.split(":").pop()})`} does not depend on the Cilium CRD gate${gates.size === 0 ? " (the stack has none)" : ""}`,
            "the cilium-operator registers the policy CRDs after the Helm release, so a policy created before the gate fails with `no matches for kind`",
            "create it through a castle layer, or pass dependsOn: [cilium.crdGate] (or put it under a component that depends on it)",
          ),
          r.urn,
        );
      }
    }
  },
});

export const orderingPolicies = [policiesAfterCrdGate];
