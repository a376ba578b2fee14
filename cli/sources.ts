// Where the verifier's inputs come from: objects (objects.ts), or a stack of this project rendered
// offline under Pulumi mocks.
//
// A stack's render is cached, keyed by a hash of its config file and of every source the render reads
// (the program, its components, config and lib, the lock file), so a second `castle why --stack dev`
// neither loads the Pulumi SDK nor runs the program. CASTLE_RENDER_CACHE=off turns the cache off.

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../lib/projectRoot";
import { CastleInputs, fromObjects } from "../verifier/objects";

export * from "../verifier/objects";

/** What a render reads besides the stack file: a change to any of it makes a new key. */
const RENDER_SOURCES = [
  "castle.ts",
  "index.ts",
  "Pulumi.yaml",
  "package-lock.json",
  "components",
  "config",
  "lib",
  "render",
  "vocabulary",
];

function filesUnder(p: string): string[] {
  if (!fs.existsSync(p)) return [];
  if (fs.statSync(p).isFile()) return [p];
  return fs
    .readdirSync(p, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(p, e.name)) : [path.join(p, e.name)]))
    .filter((f) => /\.(ts|json|ya?ml)$/.test(f));
}

/** The cache key of a stack's render. */
export function renderKey(stack: string, root = projectRoot()): string {
  const h = createHash("sha256");
  for (const f of [
    path.join(root, `Pulumi.${stack}.yaml`),
    ...RENDER_SOURCES.flatMap((s) => filesUnder(path.join(root, s))),
  ]) {
    h.update(path.relative(root, f)).update("\0").update(fs.readFileSync(f)).update("\0");
  }
  return h.digest("hex").slice(0, 24);
}

export function renderCacheDir(root = projectRoot()): string {
  return path.join(root, "node_modules", ".cache", "castle", "renders");
}

/** A stack, rendered offline with its config file (or read from the render cache). */
export async function fromStack(stack: string): Promise<CastleInputs> {
  const root = projectRoot();
  const useCache =
    process.env.CASTLE_RENDER_CACHE !== "off" &&
    /^[\w.-]+$/.test(stack) &&
    fs.existsSync(path.join(root, `Pulumi.${stack}.yaml`));
  const file = useCache ? path.join(renderCacheDir(root), `${stack}-${renderKey(stack, root)}.json`) : "";
  if (useCache && fs.existsSync(file)) {
    return fromObjects(
      JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>[],
      `stack ${stack}`,
    );
  }
  // The Pulumi SDK is loaded here only: a cached render never needs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const render = require("../render/render") as typeof import("../render/render");
  const rec = await render.recordCastle(render.loadStackConfig(stack), stack);
  const objects = render.renderedObjects(rec).map((o) => o.object);
  if (useCache) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(objects));
    fs.renameSync(tmp, file);
  }
  return fromObjects(objects, `stack ${stack}`);
}
