// The CRD schema's verdict on each policy, cached by the policy's content, the Cilium minor whose CRD
// judges it, the schema models' version and the check's own sources (node_modules/.cache/castle/schema),
// so a warm `castle why` loads neither the ESM models nor their validator, and an edited check never
// answers from a stale entry. CASTLE_RENDER_CACHE=off turns it off with the render cache.

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../lib/projectRoot";
import type { Untyped } from "../lib/untyped";
import { crdSchemaErrors } from "../verifier/crdSchema";
import type { CiliumVersion } from "../verifier/engine";

const MODELS = "@kubernetes-models/cilium";
/** What decides a verdict besides the models and the policy. */
const CHECK_SOURCES = ["verifier/crdSchema.ts", "verifier/crdVersions.ts"];

export function schemaCacheDir(root = projectRoot()): string {
  return path.join(root, "node_modules", ".cache", "castle", "schema");
}

/** crdSchemaErrors, answered from the cache when this policy was checked for this version before. */
export function cachedSchemaErrors(
  root = projectRoot(),
): (p: Untyped, v: CiliumVersion) => Promise<string[]> {
  if (process.env.CASTLE_RENDER_CACHE === "off") return crdSchemaErrors;
  // The package's exports hide package.json from require(): read it as a file.
  const models = (
    JSON.parse(fs.readFileSync(path.join(root, "node_modules", MODELS, "package.json"), "utf8")) as {
      version: string;
    }
  ).version;
  const check = createHash("sha256");
  for (const f of CHECK_SOURCES) {
    const file = path.join(root, f);
    check
      .update(f)
      .update("\0")
      .update(fs.existsSync(file) ? fs.readFileSync(file) : "")
      .update("\0");
  }
  const prefix = `${MODELS}@${models}\0${check.digest("hex")}`;
  const dir = schemaCacheDir(root);
  return async (p, v) => {
    const key = createHash("sha256")
      .update(`${prefix}\0cilium ${v}\0${JSON.stringify(p)}`)
      .digest("hex");
    const file = path.join(dir, `${key.slice(0, 32)}.json`);
    try {
      return JSON.parse(fs.readFileSync(file, "utf8")) as string[];
    } catch {
      const errors = await crdSchemaErrors(p, v);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(file, JSON.stringify(errors));
      return errors;
    }
  };
}
