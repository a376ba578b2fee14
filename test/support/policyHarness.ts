// Does offline what the Pulumi engine does with a policy pack: resolves each policy's enforcement level
// and config (configSchema defaults, the `all` entry, per-policy entries, validation against the schema),
// then runs resource policies on every recorded resource and stack policies on the whole stack, each fed
// what the engine feeds it in the chosen run (engineView.ts): resource policies the inputs, stack policies
// the outputs ({} under an unconfigured provider, live objects, unknowns), through @pulumi/policy's own
// deserialization and unknown-checking proxy.

import * as path from "path";
import Ajv, { type ValidateFunction } from "ajv";
import type {
  EnforcementLevel,
  Policies,
  PolicyResource,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { Recording, RecordedResource } from "../harness";
import { EngineRun, engineView, providerOf } from "./engineView";
import type { Untyped } from "../../lib/untyped";

// @pulumi/policy's internals, as its gRPC server uses them (their .d.ts files are stripped).
/* eslint-disable @typescript-eslint/no-require-imports */
const { Struct } = require("google-protobuf/google/protobuf/struct_pb") as {
  Struct: { fromJavaScript(o: Record<string, unknown>): { toJavaScript(): Record<string, unknown> } };
};
const { deserializeProperties } = require("@pulumi/policy/deserialize") as {
  deserializeProperties(s: unknown, proxySecrets: boolean): Untyped;
};
const { unknownCheckingProxy, UnknownValueError } = require("@pulumi/policy/proxy") as {
  unknownCheckingProxy<T>(o: T): T;
  UnknownValueError: new (...args: never[]) => Error;
};
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * What a Struct of these properties gives back (its toJavaScript()), by their JSON: the protobuf conversion
 * is a function of the content, and most of the pack's runs in the tests see the same resources again.
 */
const structs = new Map<string, Record<string, unknown>>();

/**
 * Props as a policy receives them: sent over gRPC, deserialized (secrets unwrapped), behind the proxy.
 * `wire` goes through a Struct once, as the engine sends each resource's properties once, in one request
 * (WeakMap: per wire object, that is per resource and run); like the server, each policy then
 * deserializes its own copy of that Struct. deserializeProperties reads the Struct only through
 * toJavaScript() and copies every object and array it reads, never writing to them: the plain object of
 * one toJavaScript() serves every policy, and protobuf's conversion (most of a pack run) runs once.
 */
function receiver(): (wire: Record<string, unknown>) => Untyped {
  const sent = new WeakMap<Record<string, unknown>, Record<string, unknown>>();
  return (wire) => {
    if (!sent.has(wire)) {
      const key = JSON.stringify(wire);
      if (!structs.has(key)) structs.set(key, Struct.fromJavaScript(wire).toJavaScript());
      sent.set(wire, structs.get(key)!);
    }
    const js = sent.get(wire)!;
    return unknownCheckingProxy(deserializeProperties({ toJavaScript: () => js }, false));
  };
}

/** The policy pack's folder: its own package, with its own node_modules. */
export const PACK_DIR = path.resolve(__dirname, "..", "..", "policypack");

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

// One compile per schema: a fresh Ajv per policy and run compiled its meta-schema each time, a fifth of a run.
const ajv = new Ajv({ strict: false });
const validators = new WeakMap<object, ValidateFunction>();
function validatorOf(schema: NonNullable<ResourceValidationPolicy["configSchema"]>): ValidateFunction {
  if (!validators.has(schema)) validators.set(schema, ajv.compile({ type: "object", ...schema }));
  return validators.get(schema)!;
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
    const validate = validatorOf(policy.configSchema);
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

export interface RunOptions {
  /** The engine run the harness stands for (see engineView.ts); a configured preview unless told. */
  engine?: EngineRun;
  /**
   * Resources no resource policy sees in this run, as for one the program no longer registers but a
   * targeted run leaves in state: stack policies still get their outputs.
   */
  notAnalyzed?: (r: RecordedResource) => boolean;
}

/** Runs the pack over a recorded stack and returns every violation with its effective enforcement level. */
export async function runPack(
  policies: Policies,
  rec: Recording,
  config: PackConfig = {},
  packLevel: EnforcementLevel = "advisory",
  opts: RunOptions = {},
): Promise<Violation[]> {
  const out: Violation[] = [];
  const stackTags = new Map<string, string>();
  const view = engineView(rec, opts.engine ?? "configured-preview");
  const received = receiver();
  const analyzed = rec.resources.filter((r) => !opts.notAnalyzed?.(r));
  // The engine hands a provider's inputs along with both kinds of request.
  const provider = (r: RecordedResource) => {
    const p = providerOf(rec, r);
    return p
      ? { type: p.type, props: received(view.get(p.urn)!.analyzed), urn: p.urn, name: p.name }
      : undefined;
  };

  // Stack resources are linked like the engine links them: parent and dependency objects. As the server
  // does, each stack policy gets its own deserialized copy.
  const stackResources = (): PolicyResource[] => {
    const byUrn = new Map<string, PolicyResource>();
    for (const r of rec.resources) {
      byUrn.set(r.urn, {
        type: r.type,
        props: received(view.get(r.urn)!.outputs),
        urn: r.urn,
        name: r.name,
        opts: options(r),
        provider: provider(r),
        dependencies: [],
        propertyDependencies: {},
        isType: unsupported,
        asType: unsupported,
      } as unknown as PolicyResource);
    }
    for (const r of rec.resources) {
      const pr = byUrn.get(r.urn)! as { parent?: PolicyResource; dependencies: PolicyResource[] };
      if (r.parent) pr.parent = byUrn.get(r.parent);
      pr.dependencies = r.dependencies.map((d) => byUrn.get(d)).filter((d): d is PolicyResource => !!d);
    }
    return [...byUrn.values()];
  };

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
    // The server's handling of a policy that reads an unknown value: one advisory, the policy's run ends.
    const guarded = async (run: () => unknown, urn?: string): Promise<void> => {
      try {
        await run();
      } catch (e) {
        if (!(e instanceof UnknownValueError)) throw e;
        out.push({
          policy: policy.name,
          level: "advisory",
          message: `can't run policy '${policy.name}' during preview: ${e.message}`,
          urn,
        });
      }
    };
    if ("validateResource" in policy && policy.validateResource) {
      const validators = Array.isArray(policy.validateResource)
        ? policy.validateResource
        : [policy.validateResource];
      for (const r of analyzed) {
        for (const v of validators) {
          await guarded(
            () =>
              v(
                {
                  // What the engine hands a resource policy: its inputs, no parent or dependency objects.
                  type: r.type,
                  props: received(view.get(r.urn)!.analyzed),
                  urn: r.urn,
                  name: r.name,
                  opts: options(r),
                  provider: provider(r),
                  stackTags,
                  getConfig,
                  isType: unsupported,
                  asType: unsupported,
                  notApplicable: (reason?: string): never => {
                    throw new Error(`not applicable: ${reason ?? ""}`);
                  },
                } as unknown as Parameters<typeof v>[0],
                report(r.urn),
              ),
            r.urn,
          );
        }
      }
    }
    if ("validateStack" in policy && policy.validateStack) {
      const validateStack = policy.validateStack;
      await guarded(() =>
        validateStack(
          {
            resources: stackResources(),
            stackTags,
            getConfig,
            notApplicable: unsupported,
          } as unknown as Parameters<typeof validateStack>[0],
          report(),
        ),
      );
    }
  }
  return out;
}

export const mandatory = (vs: Violation[]): Violation[] => vs.filter((v) => v.level === "mandatory");
