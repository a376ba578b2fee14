// What a stack policy can see of the resources it checks.
//
// The engine hands resource policies each resource's inputs (pkg/resource/deploy/step_generator.go:
// analyzeAll, `Properties: inputs`, after the provider's Check and with ignoreChanges applied) but stack
// policies each resource's outputs (AnalyzeResources, `Properties: v.Outputs`). For the castle's
// Kubernetes resources those outputs are `{}` in a preview whose Kubernetes provider is not configured yet
// (a new kind stack: its kubeconfig is the output of a command that has not run, and the engine's Create
// then returns no properties: sdk/go/common/resource/plugin/provider_plugin.go), and the API server's
// object otherwise (server-set metadata; every Namespace carries kubernetes.io/metadata.name).
//
// So each castle stack policy is also a resource policy: that half records the inputs the engine shows
// it, and the stack half reads them. Both halves run in the one policy-pack process, and the engine
// analyzes every resource the program registers while it plans, before it calls AnalyzeStack once every
// step has run. A resource no resource policy saw in this run (one left in state by a targeted run) is read
// from its outputs; one whose outputs are empty too is unseen, and a stack policy gives no verdict that
// depends on it (stack-content-visible says so, as an advisory).

import type {
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { CCNP_TYPE, CNP_TYPE } from "../lib/cilium/policy";
import { CONFIGMAP_TYPE, NAMESPACE_PATCH_TYPE, NAMESPACE_TYPE, Obj, RELEASE_TYPE, violation } from "./lib";

/** Where a stack policy's view of a resource comes from; undefined: it cannot see the resource's content. */
export type SeenFrom = "inputs" | "outputs" | undefined;

/** A resource as a castle stack policy reads it: the engine's resource, with the props it can see. */
export type StackResource = PolicyResource & { seen: SeenFrom };

export interface CastleStackArgs extends Omit<StackValidationArgs, "resources"> {
  resources: StackResource[];
}

export interface CastleStackPolicy extends Omit<StackValidationPolicy, "validateStack"> {
  validateStack: (args: CastleStackArgs, report: ReportViolation) => Promise<void> | void;
}

/** A stack policy with a resource half that records the inputs the engine shows resource policies. */
export type StackPolicyOverInputs = StackValidationPolicy & {
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => void;
};

/**
 * The inputs as the castle means them. The kubernetes provider's Check gives a custom resource whose CRD it
 * cannot find yet the provider's default namespace ("assume it is namespaced, and correct if required
 * during the Create step": pulumi-kubernetes provider/pkg/provider/provider.go, Check). A
 * CiliumClusterwideNetworkPolicy registered while Cilium's operator is still registering the CRDs so
 * reaches the pack with metadata.namespace "default", though it is cluster-wide (and created as such).
 */
function providerNormalized(type: string, props: Obj): Obj {
  if (type !== CCNP_TYPE || props?.metadata?.namespace === undefined) return props;
  const { namespace: _ignored, ...metadata } = props.metadata as Obj;
  void _ignored;
  return { ...props, metadata };
}

function seenAs(r: PolicyResource, inputs: Map<string, Obj>): StackResource {
  const seen = inputs.get(r.urn);
  if (seen !== undefined) return { ...r, props: seen, seen: "inputs" };
  // Keys only: reading a value could hit an unknown.
  if (Object.keys(r.props ?? {}).length > 0) return { ...r, seen: "outputs" };
  return { ...r, props: {}, seen: undefined };
}

/**
 * Makes a stack policy read what the resource policies of the same run saw (inputs), falling back to the
 * outputs the engine hands stack policies. The record is the policy's own, so it is kept exactly when the
 * policy is enabled, and it is cleared once the stack half has run (the plugin host may reuse the process
 * for the update after the preview: that run records every resource it registers again).
 */
export function stackPolicyOverInputs(policy: CastleStackPolicy): StackPolicyOverInputs {
  const inputs = new Map<string, Obj>();
  return {
    ...policy,
    validateResource: (args) => {
      inputs.set(args.urn, providerNormalized(args.type, args.props));
    },
    validateStack: async (args, report) => {
      try {
        await policy.validateStack(
          { ...args, resources: args.resources.map((r) => seenAs(r, inputs)) },
          report,
        );
      } finally {
        inputs.clear();
      }
    },
  };
}

/** The resources of these types whose content the stack policy cannot see. */
export const unseen = (resources: StackResource[], types: string[]): StackResource[] =>
  resources.filter((r) => r.seen === undefined && types.includes(r.type));

/** The types whose content the castle's stack policies read. */
export const STACK_CONTENT_TYPES = [
  CNP_TYPE,
  CCNP_TYPE,
  NAMESPACE_TYPE,
  NAMESPACE_PATCH_TYPE,
  RELEASE_TYPE,
  CONFIGMAP_TYPE,
];

export const stackContentVisible = stackPolicyOverInputs({
  name: "stack-content-visible",
  description:
    "Advisory: the stack policies can see every Cilium policy, Namespace, Helm release and ConfigMap they check (inputs analyzed in this run, or outputs the engine shows).",
  enforcementLevel: "advisory",
  validateStack: (args, report) => {
    const hidden = unseen(args.resources, STACK_CONTENT_TYPES);
    if (hidden.length === 0) return;
    const names = hidden.map((r) => `${r.type.split(":").pop()} ${r.name}`);
    report(
      violation(
        `The stack policies cannot see ${hidden.length} resource(s): ${names.slice(0, 10).join(", ")}${names.length > 10 ? ` (and ${names.length - 10} more)` : ""}; no resource policy saw their inputs in this run and the engine shows no outputs for them`,
        "stack policies receive outputs, which are {} while a resource's provider is not configured; the castle's stack policies give no verdict that depends on a resource they cannot see, so these were not checked",
        "check the stack offline (`npm run render -- --stack <stack>`, `npx castle check --stack <stack>`), and preview again once the cluster exists",
      ),
    );
  },
});

export const stackViewPolicies = [stackContentVisible];
