// castle: the verifier's command line. See README, "The castle verifier".

import * as fs from "fs";
import { parseArgs } from "util";
import { CastleConfigError } from "../config/castleConfig";
import { CastleInputs, fromRenderDir, fromStack, readYamlObjects, isCiliumPolicy } from "./sources";
import { buildMatrix, matrixTable } from "./matrix";
import { matrixHtml } from "./html";
import { checkCastle, formatCheck } from "./check";
import { explain } from "./why";
import { diffCastles, diffChanged, diffMarkdown, diffTable } from "./diff";
import { formatReplay, replay } from "./replay";

const USAGE = `usage: castle <command> [options]

  castle matrix --stack <name> [--format table|json|html] [--enforce] [--out <file>]
  castle why    --stack <name> --from <endpoint> --to <endpoint> --port <n>[/tcp|udp] [--enforce]
  castle check  --stack <name>
  castle replay --stack <name> <flows.json | -> [--format table|json|markdown]
  castle diff   <renderA> <renderB> [--format markdown|json|table]
                exit 0: no probed flow changes; 1: some do (or exist on one side only); 2: an error

  --stack <name>      a stack of this project, rendered offline from Pulumi.<name>.yaml
  --render <dir>      instead of --stack: a directory written by npm run render -- --out <dir>
  --policies <path>   with --render/--stack: replace the policies by the CNP/CCNP YAML files at <path>
  --enforce           evaluate as if policy audit mode were off
Endpoints: pod:<ns>/web, pod:<ns>/client, ns:<ns>, role:<infra role>, <node name>, node:<role>, world, jumphost:<cidr>
`;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  stdin: NodeJS.ReadableStream;
  isTTY: boolean;
}

async function loadInputs(values: Record<string, unknown>): Promise<CastleInputs> {
  let inputs: CastleInputs;
  if (typeof values.stack === "string") inputs = await fromStack(values.stack);
  else if (typeof values.render === "string") inputs = fromRenderDir(values.render);
  else throw new UsageError("--stack <name> or --render <dir> is required");
  if (typeof values.policies === "string") {
    const policies = readYamlObjects(values.policies).filter(isCiliumPolicy);
    if (policies.length === 0)
      throw new UsageError(
        `--policies ${values.policies}: no CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy found`,
      );
    inputs = { ...inputs, policies, source: `${inputs.source} with ${values.policies}` };
  }
  return inputs;
}

class UsageError extends Error {}

/** Runs one command; returns the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      stack: { type: "string" },
      render: { type: "string" },
      policies: { type: "string" },
      format: { type: "string" },
      out: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      port: { type: "string" },
      enforce: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  try {
    if (!command || command === "help" || values.help) {
      io.out(USAGE);
      return command ? 0 : 2;
    }
    switch (command) {
      case "matrix": {
        const format = values.format ?? "table";
        if (!["table", "json", "html"].includes(format))
          throw new UsageError(`--format ${format}: expected table, json or html`);
        const m = buildMatrix(await loadInputs(values), { enforce: values.enforce });
        const text =
          format === "json"
            ? JSON.stringify(m, null, 2) + "\n"
            : format === "html"
              ? matrixHtml(m)
              : matrixTable(m) + "\n";
        if (values.out) {
          fs.writeFileSync(values.out, text);
          io.err(`wrote ${values.out}\n`);
        } else io.out(text);
        return 0;
      }
      case "why": {
        if (!values.from || !values.to || !values.port)
          throw new UsageError("why needs --from, --to and --port");
        io.out(
          explain(await loadInputs(values), values.from, values.to, values.port, { enforce: values.enforce })
            .text + "\n",
        );
        return 0;
      }
      case "check": {
        const inputs = await loadInputs(values);
        const results = checkCastle(inputs);
        io.out(formatCheck(results, inputs.source) + "\n");
        return results.every((r) => r.holds) ? 0 : 1;
      }
      case "replay": {
        const file = positionals[0];
        if (!file) throw new UsageError("replay needs a flows file (hubble observe -o json), or - for stdin");
        const format = values.format ?? "table";
        if (!["table", "json", "markdown"].includes(format))
          throw new UsageError(`--format ${format}: expected table, json or markdown`);
        const inputs = await loadInputs(values);
        const input = file === "-" ? io.stdin : fs.createReadStream(file);
        const report = await replay(input, inputs, {
          progress: io.isTTY
            ? (n: number) => io.err(`\rreplayed ${n.toLocaleString("en-US")} lines`)
            : undefined,
        });
        if (io.isTTY) io.err("\n");
        io.out(formatReplay(report, format as "table" | "json" | "markdown") + "\n");
        return 0;
      }
      case "diff": {
        if (positionals.length !== 2)
          throw new UsageError("diff needs two render directories: castle diff <renderA> <renderB>");
        const format = values.format ?? "markdown";
        if (!["markdown", "json", "table"].includes(format))
          throw new UsageError(`--format ${format}: expected markdown, json or table`);
        const d = diffCastles(fromRenderDir(positionals[0]), fromRenderDir(positionals[1]));
        io.out(
          (format === "json"
            ? JSON.stringify(d, null, 2)
            : format === "table"
              ? diffTable(d)
              : diffMarkdown(d)) + "\n",
        );
        return diffChanged(d) ? 1 : 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`castle: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    io.err(`castle: ${e instanceof CastleConfigError ? e.message : (e as Error).message}\n`);
    // diff follows kubectl diff: 1 means "differences", so its errors are 2.
    return command === "diff" ? 2 : 1;
  }
}
