// The CRD schema's verdict on each policy, cached by the policy's content and the schema models' version
// (node_modules/.cache/castle/schema), so a warm `castle why` loads neither the ESM models nor their
// validator. CASTLE_RENDER_CACHE=off turns it off with the render cache.

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../lib/projectRoot";
import type { Untyped } from "../lib/untyped";
import { crdSchemaErrors } from "../verifier/crdSchema";

const MODELS = "@kubernetes-models/cilium";

export function schemaCacheDir(root = projectRoot()): string {
  return path.join(root, "node_modules", ".cache", "castle", "schema");
}

/** crdSchemaErrors, answered from the cache when this policy was checked with these models before. */
export function cachedSchemaErrors(root = projectRoot()): (p: Untyped) => Promise<string[]> {
  if (process.env.CASTLE_RENDER_CACHE === "off") return crdSchemaErrors;
  // The package's exports hide package.json from require(): read it as a file.
  const version = (
    JSON.parse(fs.readFileSync(path.join(root, "node_modules", MODELS, "package.json"), "utf8")) as {
      version: string;
    }
  ).version;
  const dir = schemaCacheDir(root);
  return async (p) => {
    const key = createHash("sha256")
      .update(`${MODELS}@${version}\0${JSON.stringify(p)}`)
      .digest("hex");
    const file = path.join(dir, `${key.slice(0, 32)}.json`);
    try {
      return JSON.parse(fs.readFileSync(file, "utf8")) as string[];
    } catch {
      const errors = await crdSchemaErrors(p);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(file, JSON.stringify(errors));
      return errors;
    }
  };
}
