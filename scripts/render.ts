// npm run render -- --stack <name> [--out <dir>]
// Runs the castle offline under Pulumi mocks with the stack's config file: prints the resource inventory
// as JSON and, with --out, writes every Kubernetes object it would create as YAML.

import { parseArgs } from "util";
import { CastleConfigError } from "../config/castleConfig";
import {
  inventory,
  loadStackConfig,
  recordCastle,
  renderedObjects,
  writeRender,
} from "../lib/offline/render";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { stack: { type: "string" }, out: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help || !values.stack) {
    process.stderr.write("usage: npm run render -- --stack <name> [--out <dir>]\n");
    return values.help ? 0 : 2;
  }
  const config = loadStackConfig(values.stack);
  const rec = await recordCastle(config, values.stack);
  process.stdout.write(JSON.stringify(inventory(rec), null, 2) + "\n");
  if (values.out) {
    const objects = renderedObjects(rec);
    writeRender(values.out, objects);
    process.stderr.write(`wrote ${objects.length} objects to ${values.out}\n`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `${err instanceof CastleConfigError ? err.message : String((err as Error)?.stack ?? err)}\n`,
    );
    process.exit(1);
  },
);
