// npm run -s render -- --stack <name> [--out <dir>] [--inventory]
// Runs the castle offline under Pulumi mocks with the stack's config file. Without --out it prints the
// resource inventory as JSON on stdout; with --out it writes every Kubernetes object it would create as
// YAML and prints a one-line summary on stderr (and the inventory too with --inventory). `-s` keeps npm's
// banner off stdout, so `npm run -s render -- --stack dev > inventory.json` is JSON.

import { parseArgs } from "util";
import { CastleConfigError } from "../config/castleConfig";
import { inventory, loadStackConfig, recordCastle, renderedObjects, writeRender } from "../render/render";

async function main(): Promise<number> {
  const usage = "usage: npm run -s render -- --stack <name> [--out <dir>] [--inventory]\n";
  let values: { stack?: string; out?: string; inventory?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        stack: { type: "string" },
        out: { type: "string" },
        inventory: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(
      `render: ${(e as Error).message.replace(/\. To specify a positional.*$/s, "")}\n${usage}`,
    );
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (!values.stack) {
    process.stderr.write(`render: --stack <name> is required\n${usage}`);
    return 2;
  }
  const config = loadStackConfig(values.stack);
  const rec = await recordCastle(config, values.stack);
  if (!values.out || values.inventory) process.stdout.write(JSON.stringify(inventory(rec), null, 2) + "\n");
  if (values.out) {
    const objects = renderedObjects(rec);
    writeRender(values.out, objects);
    process.stderr.write(
      `render: wrote ${objects.length} objects of stack ${values.stack} to ${values.out}\n`,
    );
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // A config error or a missing stack file is the user's: its message, no stack trace.
    const message = err instanceof Error ? err.message : String(err);
    const user = err instanceof CastleConfigError || /^no stack file /.test(message);
    process.stderr.write(`${user ? message : String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  },
);
