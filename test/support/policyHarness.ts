// Does offline what the Pulumi engine does with a policy pack: resolves each policy's enforcement level
// and config (configSchema defaults, the `all` entry, per-policy entries, validation against the schema),
// then runs resource policies on every recorded resource and stack policies on the whole stack.

import Ajv from "ajv";
import type {
  EnforcementLevel,
  Policies,
  PolicyResource,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { Recording, RecordedResource } from "../harness";

export interface Violation {
  policy: string;
  level: EnforcementLevel;
  message: string;
  urn?: string;
}

export type PackConfig = Record<
  string,
  EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)
>;

interface Resolved {
  level: EnforcementLevel;
  config: Record<string, unknown>;
}

/** The engine's config resolution: defaults < `all` < the policy's own entry; props validated. */
export function resolvePolicyConfig(
  policy: ResourceValidationPolicy | StackValidationPolicy,
  packLevel: EnforcementLevel,
  config: PackConfig = {},
): Resolved {
  let level: EnforcementLevel = policy.enforcementLevel ?? packLevel;
  const props: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(policy.configSchema?.properties ?? {})) {
    if ((s as { default?: unknown }).default !== undefined)
      props[k] = structuredClone((s as { default?: unknown }).default);
  }
  for (const key of ["all", policy.name]) {
    const entry = config[key];
    if (entry === undefined) continue;
    if (typeof entry === "string") level = entry;
    else {
      const { enforcementLevel, ...rest } = entry;
      if (enforcementLevel) level = enforcementLevel;
      if (key === policy.name) Object.assign(props, rest);
    }
  }
  if (policy.configSchema) {
    const validate = new Ajv({ strict: false }).compile({ type: "object", ...policy.configSchema });
    if (!validate(props)) {
      throw new Error(
        `invalid config for policy ${policy.name}: ${(validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`).join("; ")}`,
      );
    }
  }
  return { level, config: props };
}

function options(r: RecordedResource) {
  return {
    protect: false,
    ignoreChanges: [],
    deleteBeforeReplace: r.deleteBeforeReplace,
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: r.additionalSecretOutputs,
    ...(r.parent ? { parent: r.parent } : {}),
  };
}

const unsupported = (): never => {
  throw new Error("isType/asType need SDK classes; the castle's policies match on args.type");
};

function providerOf(rec: Recording, r: RecordedResource) {
  if (!r.provider) return undefined;
  const p = rec.byUrn(r.provider.replace(/::[^:]*$/, ""));
  return p ? { type: p.type, props: p.inputs, urn: p.urn, name: p.name } : undefined;
}

function resourceArgs(
  pr: PolicyResource,
): Omit<PolicyResource, "parent" | "dependencies" | "propertyDependencies"> {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { parent, dependencies, propertyDependencies, ...rest } = pr;
  return rest;
}

/** Runs the pack over a recorded stack and returns every violation with its effective enforcement level. */
export async function runPack(
  policies: Policies,
  rec: Recording,
  config: PackConfig = {},
  packLevel: EnforcementLevel = "advisory",
): Promise<Violation[]> {
  const out: Violation[] = [];
  const stackTags = new Map<string, string>();

  // Stack resources are linked like the engine links them: parent and dependency objects.
  const stackResources = new Map<string, PolicyResource>();
  for (const r of rec.resources) {
    stackResources.set(r.urn, {
      type: r.type,
      props: r.inputs,
      urn: r.urn,
      name: r.name,
      opts: options(r),
      provider: providerOf(rec, r),
      dependencies: [],
      propertyDependencies: {},
      isType: unsupported,
      asType: unsupported,
    } as unknown as PolicyResource);
  }
  for (const r of rec.resources) {
    const pr = stackResources.get(r.urn)! as { parent?: PolicyResource; dependencies: PolicyResource[] };
    if (r.parent) pr.parent = stackResources.get(r.parent);
    pr.dependencies = r.dependencies
      .map((d) => stackResources.get(d))
      .filter((d): d is PolicyResource => !!d);
  }

  for (const policy of policies) {
    const { level, config: props } = resolvePolicyConfig(policy, packLevel, config);
    if (level === "disabled") continue;
    const report =
      (urn?: string) =>
      (message: string, at?: string): void => {
        out.push({
          policy: policy.name,
          level: level === "remediate" ? "mandatory" : level,
          message,
          urn: at ?? urn,
        });
      };
    const getConfig = <T extends object>(): T => props as T;
    if ("validateResource" in policy && policy.validateResource) {
      const validators = Array.isArray(policy.validateResource)
        ? policy.validateResource
        : [policy.validateResource];
      for (const r of rec.resources) {
        for (const v of validators) {
          await v(
            {
              // What the engine hands a resource policy: no parent or dependency objects.
              ...resourceArgs(stackResources.get(r.urn)!),
              stackTags,
              getConfig,
              notApplicable: (reason?: string): never => {
                throw new Error(`not applicable: ${reason ?? ""}`);
              },
            } as any,
            report(r.urn),
          );
        }
      }
    }
    if ("validateStack" in policy && policy.validateStack) {
      await policy.validateStack(
        { resources: [...stackResources.values()], stackTags, getConfig, notApplicable: unsupported } as any,
        report(),
      );
    }
  }
  return out;
}

export const mandatory = (vs: Violation[]): Violation[] => vs.filter((v) => v.level === "mandatory");
