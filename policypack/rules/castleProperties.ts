// The castle's reachability properties, evaluated by the verifier's policy engine over the stack's own
// objects: the same check as `castle check`.

import { checkCastle } from "../../verifier/check";
import { MODEL_CONFIGMAP } from "../../config/model";
import { fromObjects } from "../../verifier/objects";
import { Obj, RELEASE_TYPE, violation } from "../lib";
import { STACK_CONTENT_TYPES, stackPolicyOverInputs, unseen } from "../stackView";

/** The stack's Kubernetes objects as a render holds them; a Helm release contributes its chart and values. */
export function stackObjects(resources: { type: string; props: Obj }[]): Obj[] {
  return resources.flatMap((r) => {
    if (r.type === RELEASE_TYPE)
      return [
        {
          release: r.props.name,
          namespace: r.props.namespace,
          chart: r.props.chart,
          // The chart version says whose semantics apply (verifier/objects.ts ciliumVersionOf).
          version: r.props.version,
          values: r.props.values ?? {},
        },
      ];
    if (r.type.startsWith("kubernetes:") && typeof r.props.kind === "string" && r.props.metadata)
      return [r.props];
    return [];
  });
}

export const castlePropertiesHold = stackPolicyOverInputs({
  name: "castle-properties-hold",
  description:
    "The castle properties hold, evaluated as enforced: tenants isolated, only the right roles reach labelled namespaces, DNS for every pod, SSH only from jumphosts, lifelines open.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    // The properties are about the whole castle: no verdict on part of it (stack-content-visible says so).
    if (unseen(args.resources, STACK_CONTENT_TYPES).length > 0) return;
    const objects = stackObjects(args.resources);
    const hasModel = objects.some((o) => o.kind === "ConfigMap" && o.metadata?.name === MODEL_CONFIGMAP.name);
    if (!hasModel) return;
    for (const r of checkCastle(fromObjects(objects, "this stack"))) {
      if (r.holds) continue;
      report(
        violation(
          `Castle property broken: ${r.property}: ${r.failures.slice(0, 3).join("; ")}${r.failures.length > 3 ? ` (and ${r.failures.length - 3} more)` : ""}`,
          "the property is what the castle promises; once audit mode is off the broken flows are really open or really cut",
          "run `npx castle check --stack <stack>` and `npx castle why` on a listed flow to find the policy to change",
        ),
      );
    }
  },
});

export const castlePropertyPolicies = [castlePropertiesHold];
