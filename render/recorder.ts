// Runs a Pulumi program under the SDK's mocks and records what the engine would be asked to create: type,
// name, inputs, parent, dependencies and options. The offline render, the tests and the policy-pack
// harness all stand on this: no CLI, no cluster, no network.

import * as pulumi from "@pulumi/pulumi";
import type { RegisterResourceRequest } from "@pulumi/pulumi/proto/resource_pb";
// Internal SDK modules: the mock monitor sees each RegisterResourceRequest whole (parent, dependencies,
// deletedWith), which MockResourceArgs does not carry.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings");

export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
export const MASK = "[secret]";

export interface RecordedResource {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  parent?: string;
  /** Explicit and implicit dependencies, as URNs, as the engine would receive them. */
  dependencies: string[];
  provider?: string;
  deletedWith?: string;
  /** URNs whose replacement replaces this resource too (the `replaceWith` option). */
  replaceWith: string[];
  /** The `retainOnDelete` option: Pulumi forgets the object instead of deleting it. */
  retainOnDelete?: boolean;
  /** The `ignoreChanges` property paths. */
  ignoreChanges: string[];
  deleteBeforeReplace: boolean;
  additionalSecretOutputs: string[];
  /** Inputs with secrets unwrapped (what a provider or a policy sees). */
  inputs: Record<string, unknown>;
  /** Inputs with every secret replaced by "[secret]" (what a reviewer may see). */
  maskedInputs: Record<string, unknown>;
}

export interface Recording {
  resources: RecordedResource[];
  /** The value the program returned, with outputs resolved and secrets masked. */
  outputs: unknown;
  byUrn(urn: string): RecordedResource | undefined;
  ofType(type: string): RecordedResource[];
}

export interface RecordOptions {
  project?: string;
  stack?: string;
  /** State a mocked resource returns besides its inputs, by type (e.g. a command's stdout). */
  outputsByType?: Record<string, (inputs: Record<string, unknown>, name: string) => Record<string, unknown>>;
  /** Answers of the provider functions the program may call, by token; any other call fails the run. */
  calls?: Record<string, (args: Record<string, unknown>) => Record<string, unknown>>;
}

function isSecret(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

function isResourceRef(v: unknown): v is { urn: string } {
  return (
    typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG_KEY] === RESOURCE_SIG
  );
}

/** Walks a serialized property value, unwrapping secrets either to their value or to the mask. */
export function unwrap(v: unknown, mask: boolean): unknown {
  if (isSecret(v)) return mask ? MASK : unwrap(v.value, false);
  if (isResourceRef(v)) return { resource: v.urn };
  if (Array.isArray(v)) return v.map((x) => unwrap(x, mask));
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x, mask)]));
  }
  return v;
}

let running = false;

/**
 * Runs `program` under mocks and returns every resource it registered. A provider function call (invoke)
 * not answered in `opts.calls` fails the run: an unexpected one would need a live cluster.
 */
export async function recordProgram(program: () => unknown, opts: RecordOptions = {}): Promise<Recording> {
  if (running) throw new Error("recordProgram: one recording at a time (the Pulumi runtime is global)");
  running = true;
  try {
    const resources: RecordedResource[] = [];
    const failures: Error[] = [];
    const mocks: pulumi.runtime.Mocks = {
      newResource(args) {
        const extra = opts.outputsByType?.[args.type]?.(args.inputs, args.name) ?? {};
        return { id: `${args.name}-id`, state: { ...args.inputs, ...extra } };
      },
      call(args) {
        const answer = opts.calls?.[args.token];
        if (answer) return answer(args.inputs);
        const err = new Error(
          `unexpected invoke of ${args.token}: the castle program must not call provider functions offline`,
        );
        failures.push(err);
        throw err;
      },
    };
    await pulumi.runtime.setMocks(mocks, opts.project ?? "cilium-castle", opts.stack ?? "test", false);
    const monitor = settings.getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: RegisterResourceRequest, callback: Parameters<typeof register>[1]) => {
      const type: string = req.getType();
      const name: string = req.getName();
      const parent: string = req.getParent();
      const raw = req.getObject()?.toJavaScript() ?? {};
      const propDeps: string[] = [];
      req.getPropertydependenciesMap().forEach((v) => propDeps.push(...v.getUrnsList()));
      resources.push({
        urn: monitor.newUrn(parent, type, name),
        type,
        name,
        custom: req.getCustom(),
        ...(parent ? { parent } : {}),
        dependencies: [...new Set<string>([...req.getDependenciesList(), ...propDeps])].sort(),
        ...(req.getProvider() ? { provider: req.getProvider() } : {}),
        ...(req.getDeletedwith() ? { deletedWith: req.getDeletedwith() } : {}),
        replaceWith: req.getReplaceWithList(),
        ignoreChanges: req.getIgnorechangesList(),
        ...(req.getRetainondelete() ? { retainOnDelete: true } : {}),
        deleteBeforeReplace: req.getDeletebeforereplace(),
        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        inputs: unwrap(raw, false) as Record<string, unknown>,
        maskedInputs: unwrap(raw, true) as Record<string, unknown>,
      });
      return register(req, callback);
    };

    const result = program();
    const outputs = await resolveMasked(result);
    // Every registration is an RPC; the queue drains when the last one has reached the monitor.
    await settings.waitForRPCs();
    if (failures.length > 0) throw failures[0];
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    return {
      resources,
      outputs,
      byUrn: (urn) => byUrn.get(urn),
      ofType: (type) => resources.filter((r) => r.type === type),
    };
  } finally {
    running = false;
  }
}

/** Resolves outputs in a value (deeply), masking secrets. */
async function resolveMasked(v: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(v)) {
    const o = v as pulumi.Output<unknown>;
    const secret = await pulumi.isSecret(o);
    const value = await new Promise<unknown>((resolve) => o.apply((x) => resolve(x)));
    return secret ? MASK : resolveMasked(value);
  }
  // The SDK keeps a resource's name in `__name` (resource.ts); a resource passed as a value prints by it.
  if (pulumi.Resource.isInstance(v)) return { resource: (v as unknown as { __name?: string }).__name };
  if (v instanceof Promise) return resolveMasked(await v);
  if (Array.isArray(v)) return Promise.all(v.map(resolveMasked));
  if (typeof v === "object" && v !== null) {
    const entries = await Promise.all(
      Object.entries(v).map(async ([k, x]) => [k, await resolveMasked(x)] as const),
    );
    return Object.fromEntries(entries);
  }
  return v;
}
