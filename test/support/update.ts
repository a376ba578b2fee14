// An update of a stack that is up, as the engine plans it: the program's new inputs, with every
// ignoreChanges path reset to the old inputs before Check and before any policy sees them
// (pkg/resource/deploy/step_generator.go: continueStepsFromImport → processIgnoreChanges, only for a
// resource that has old state). The recorder keeps each resource's ignoreChanges.

import type { RawConfig } from "../../config/castleConfig";
import { buildStack, type RecordedResource, type Recording } from "../harness";
import { withResources } from "./mutate";
import type { Untyped, Untyped as Obj } from "../../lib/untyped";

export interface RecordedStack {
  rec: Recording;
  /** ignoreChanges paths by URN, as the program registered them. */
  ignoreChanges: Map<string, string[]>;
}

/** Records a stack with test/harness.ts buildStack, keeping each resource's ignoreChanges. */
export async function recordStack(raw: RawConfig, stack: string): Promise<RecordedStack> {
  const rec = await buildStack(raw, stack);
  const ignoreChanges = new Map<string, string[]>();
  for (const r of rec.resources) if (r.ignoreChanges.length > 0) ignoreChanges.set(r.urn, r.ignoreChanges);
  return { rec, ignoreChanges };
}

/** A Pulumi property path (`a.b["c.d"][0]`) as its keys. */
export function parsePropertyPath(path: string): (string | number)[] {
  const keys: (string | number)[] = [];
  const re = /\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|\.?([^.[\]]+)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < path.length && (m = re.exec(path)) !== null) {
    keys.push(m[1] !== undefined ? JSON.parse(`"${m[1]}"`) : m[2] !== undefined ? Number(m[2]) : m[3]);
  }
  if (re.lastIndex !== path.length) throw new Error(`cannot parse property path ${path}`);
  return keys;
}

/** Sets the value at `path` in `news` to the one in `olds` (removes it where `olds` has none). */
function resetPath(news: Obj, olds: Obj, path: (string | number)[]): void {
  let n: Untyped = news;
  let o: Untyped = olds;
  for (const k of path.slice(0, -1)) {
    n = n?.[k];
    o = o?.[k];
    // The engine only resets within containers both sides have ("cannot ignore changes in added or
    // removed elements").
    if (typeof n !== "object" || n === null || typeof o !== "object" || o === null) return;
  }
  const last = path[path.length - 1];
  if (o[last] === undefined) delete n[last];
  else n[last] = structuredClone(o[last]);
}

/**
 * The stack `next` as an update of `previous` (a stack that is up): each resource that existed before has
 * its ignoreChanges paths reset to its old inputs, as resource policies and the provider then see them.
 */
export function asUpdateOf(previous: RecordedStack, next: RecordedStack): Recording {
  return withResources(next.rec, (resources: RecordedResource[]) => {
    for (const r of resources) {
      const old = previous.rec.byUrn(r.urn);
      const paths = next.ignoreChanges.get(r.urn) ?? [];
      if (!old) continue;
      for (const p of paths) {
        resetPath(r.inputs, old.inputs, parsePropertyPath(p));
        resetPath(r.maskedInputs, old.maskedInputs, parsePropertyPath(p));
      }
    }
  });
}
