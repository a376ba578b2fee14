// The reusable test harness: build a stack from a config object under mocks and query what it recorded.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { strict as assert } from "assert";
import { CastleConfig, CastleConfigError, parseCastleConfig, RawConfig } from "../config/castleConfig";
import { recordCastle, withProjectDefaults, readStackFile } from "../render/render";
import type { Recording, RecordedResource, RecordOptions } from "../render/recorder";
import { MODEL_CONFIGMAP } from "../config/model";

export type { Recording, RecordedResource };

/** ../shared, or wherever CASTLE_SHARED_DIR points. */
export const SHARED_DIR = process.env.CASTLE_SHARED_DIR ?? path.resolve(__dirname, "..", "..", "shared");
export const shared = (...p: string[]): string => path.join(SHARED_DIR, ...p);

/** A new, empty directory under the system's temporary directory. */
export const tempDir = (prefix: string): string => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/**
 * Runs a render with Error.stackTraceLimit at 0 and V8's own trace format. The Pulumi SDK reads a stack
 * trace for every promise it makes (runtime/debuggable.js keeps one for its leak report) and one more per
 * resource, unlimited, for its source position (Resource.callsites), and ts-node's source-map-support maps
 * each frame: four fifths of a render's time under mocha. Nothing recorded depends on them (the recorder
 * keeps no source position). An error thrown meanwhile keeps its message, without frames.
 */
export async function withoutTraces<T>(run: () => Promise<T>): Promise<T> {
  const { stackTraceLimit, prepareStackTrace } = Error;
  Error.stackTraceLimit = 0;
  (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;
  try {
    return await run();
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
    Error.prepareStackTrace = prepareStackTrace;
  }
}

/** A recording of its own: the caller may edit it without touching the memoised one. */
function copyOf(rec: Recording): Recording {
  const resources = structuredClone(rec.resources);
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  return {
    resources,
    outputs: structuredClone(rec.outputs),
    byUrn: (urn) => byUrn.get(urn),
    ofType: (type) => resources.filter((r) => r.type === type),
  };
}

/** Successful renders by stack and config: the same stack is rendered by many tests in one process. */
const renders = new Map<string, Promise<Recording>>();

/**
 * recordCastle for the tests: each caller gets its own copy of a render memoised per stack and config.
 * With `calls` (functions, no key), it renders every time.
 */
export async function record(
  config: CastleConfig,
  stack = "test",
  calls?: RecordOptions["calls"],
): Promise<Recording> {
  if (calls) return withoutTraces(() => recordCastle(config, stack, calls));
  const key = JSON.stringify([stack, config]);
  let rendered = renders.get(key);
  if (!rendered) {
    rendered = withoutTraces(() => recordCastle(config, stack));
    renders.set(key, rendered);
    rendered.catch(() => renders.delete(key));
  }
  return copyOf(await rendered);
}

/** Builds the castle from raw config values (as a stack file holds them), under mocks. */
export async function buildStack(raw: RawConfig, stack = "test"): Promise<Recording> {
  return record(parseCastleConfig(withProjectDefaults(raw)), stack);
}

export function devRawConfig(): RawConfig {
  return readStackFile("dev");
}

export function one(rec: Recording, pred: (r: RecordedResource) => boolean, what: string): RecordedResource {
  const found = rec.resources.filter(pred);
  if (found.length !== 1) throw new Error(`expected exactly one ${what}, found ${found.length}`);
  return found[0];
}

export const byTypeName =
  (type: string, name: string) =>
  (r: RecordedResource): boolean =>
    r.type === type && r.name === name;

/** Every ancestor of a resource, nearest first. */
export function ancestors(rec: Recording, r: RecordedResource): RecordedResource[] {
  const out: RecordedResource[] = [];
  let cur = r.parent ? rec.byUrn(r.parent) : undefined;
  while (cur) {
    out.push(cur);
    cur = cur.parent ? rec.byUrn(cur.parent) : undefined;
  }
  return out;
}

/** The problems parseCastleConfig reports for a raw config it must refuse. */
export function problemsOf(raw: RawConfig): string[] {
  try {
    parseCastleConfig(raw);
  } catch (e) {
    assert.ok(e instanceof CastleConfigError, `expected CastleConfigError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail("expected the config to be refused");
}

/**
 * The castle-model ConfigMap of a small kind cluster (one control plane, one worker, no infra roles), as
 * the program writes it, for tests that build the verifier's inputs from objects (fromObjects).
 */
export function smallModelConfigMap(overrides: { policyAuditMode?: boolean } = {}): Record<string, unknown> {
  return {
    kind: "ConfigMap",
    metadata: { name: MODEL_CONFIGMAP.name, namespace: MODEL_CONFIGMAP.namespace },
    data: {
      [MODEL_CONFIGMAP.key]: JSON.stringify({
        clusterName: "castle",
        clusterProvider: "kind",
        kindNodes: { controlPlane: 1, infra: 0, workers: 1 },
        roles: [],
        jumphostCidrs: [],
        policyAuditMode: overrides.policyAuditMode ?? true,
      }),
    },
  };
}
