// castle: the verifier's command line. See README, "The castle verifier".
//
// Conventions of kubectl, cilium and hubble: `castle <command> --help`, `castle --version`, strict flags
// per command (an unknown or misplaced flag is one line and that command's usage, exit 2), `-o/--output`
// for the format, results on stdout and errors on stderr, no stack trace unless --debug.

import * as fs from "fs";
import { parseArgs, ParseArgsConfig } from "util";
import { CastleConfigError } from "../config/errors";
import { projectRoot } from "../lib/projectRoot";
import type { CastleInputs } from "../verifier/objects";

/* eslint-disable @typescript-eslint/no-require-imports */
// Loaded on first use: `castle --help` pays for none of it, and only --stack loads the Pulumi SDK
// (sources.ts renders the stack under mocks); a render directory needs objects.ts alone.
const lazy = {
  objects: (): typeof import("../verifier/objects") => require("../verifier/objects"),
  sources: (): typeof import("./sources") => require("./sources"),
  matrix: (): typeof import("../verifier/matrix") => require("../verifier/matrix"),
  html: (): typeof import("../verifier/html") => require("../verifier/html"),
  why: (): typeof import("../verifier/why") => require("../verifier/why"),
  check: (): typeof import("../verifier/check") => require("../verifier/check"),
  replay: (): typeof import("../verifier/replay") => require("../verifier/replay"),
  diff: (): typeof import("../verifier/diff") => require("../verifier/diff"),
  warnings: (): typeof import("../verifier/warnings") => require("../verifier/warnings"),
  crdSchema: (): typeof import("../verifier/crdSchema") => require("../verifier/crdSchema"),
  schemaCache: (): typeof import("./schemaCache") => require("./schemaCache"),
};
/* eslint-enable @typescript-eslint/no-require-imports */

type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

const SOURCE_OPTIONS: OptionSpec = {
  stack: { type: "string" },
  render: { type: "string" },
  policies: { type: "string" },
};

const SOURCE_HELP = `  --stack <name>      a stack of this project, rendered offline from Pulumi.<name>.yaml
  --render <dir>      instead of --stack: a directory written by npm run render -- --out <dir>
  --policies <path>   replace the policies by the CNP/CCNP YAML files at <path>`;

const ENDPOINTS =
  "Endpoints: pod:<ns>/web, pod:<ns>/client, ns:<ns>, role:<infra role>, <node name>, node:<role>, world, jumphost:<cidr>";

interface Command {
  summary: string;
  usage: string;
  options: OptionSpec;
  positionals: [min: number, max: number];
  run: (values: Values, positionals: string[], io: Io) => Promise<number>;
}

type Values = Record<string, string | boolean | string[] | undefined>;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  stdin: NodeJS.ReadableStream;
  isTTY: boolean;
}

/** A user's mistake on the command line: one line, the command's usage, exit 2. */
export class UsageError extends Error {}

const VERSION = (): string => {
  const pkg = JSON.parse(fs.readFileSync(`${projectRoot()}/package.json`, "utf8")) as { version: string };
  return `castle ${pkg.version}`;
};

function format(values: Values, allowed: string[], fallback: string): string {
  const f = (values.output as string | undefined) ?? fallback;
  const flag = values.format !== undefined ? "--format" : "--output";
  if (!allowed.includes(f))
    throw new UsageError(`${flag} ${f}: expected ${allowed.slice(0, -1).join(", ")} or ${allowed.at(-1)}`);
  return f;
}

/** The inputs of a command, with the refused policies and unmodelled fields told first, on stderr. */
async function loadInputs(values: Values, io: Io): Promise<CastleInputs> {
  const read = await readInputs(values);
  // What the API server refuses never reaches the cluster: left out of every verdict, and said.
  // The CRD of the stack's Cilium minor judges them (the engine reads them with that minor's semantics).
  const schema = await lazy
    .crdSchema()
    .withoutSchemaRefusals(read.policies, read.ciliumVersion, lazy.schemaCache().cachedSchemaErrors());
  const inputs = { ...read, policies: schema.policies };
  for (const w of [...schema.warnings, ...lazy.warnings().policyWarnings(inputs)])
    io.err(`castle: warning: ${w}\n`);
  return inputs;
}

async function readInputs(values: Values): Promise<CastleInputs> {
  const objects = lazy.objects();
  if (values.stack !== undefined && values.render !== undefined)
    throw new UsageError("--stack and --render name two sources: give one");
  let inputs: CastleInputs;
  if (typeof values.stack === "string") inputs = await lazy.sources().fromStack(values.stack);
  else if (typeof values.render === "string") inputs = objects.fromRenderDir(values.render);
  else throw new UsageError("--stack <name> or --render <dir> is required");
  if (typeof values.policies === "string") {
    const policies = objects.readYamlObjects(values.policies).filter(objects.isCiliumPolicy);
    if (policies.length === 0)
      throw new UsageError(
        `--policies ${values.policies}: no CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy found`,
      );
    inputs = { ...inputs, policies, source: `${inputs.source} with ${values.policies}` };
  }
  return inputs;
}

/** --node-map a=b (repeatable, or comma-separated) as ReplayOptions.nodeMap. */
function nodeMapOf(v: unknown): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  const map: Record<string, string> = {};
  for (const item of (v as string[]).flatMap((x) => x.split(","))) {
    const m = /^([^=\s]+)=([^=\s]+)$/.exec(item.trim());
    if (!m) throw new UsageError(`--node-map ${item}: expected <hubble node>=<node of the stack>`);
    map[m[1]!] = m[2]!;
  }
  return map;
}

const COMMANDS: Record<string, Command> = {
  matrix: {
    summary: "the reachability matrix of the castle's endpoint classes",
    usage: `castle matrix (--stack <name> | --render <dir>) [-o table|json|html] [--enforce] [--out <file>]

${SOURCE_HELP}
  -o, --output        table (default), json or html
  --enforce           evaluate as if policy audit mode were off
  --out <file>        write to <file> instead of stdout`,
    options: { ...SOURCE_OPTIONS, enforce: { type: "boolean" }, out: { type: "string" } },
    positionals: [0, 0],
    run: async (values, _p, io) => {
      const f = format(values, ["table", "json", "html"], "table");
      const { buildMatrix, matrixTable } = lazy.matrix();
      const m = buildMatrix(await loadInputs(values, io), { enforce: values.enforce === true });
      let text: string;
      if (f === "json") text = JSON.stringify(m, null, 2) + "\n";
      else if (f === "html") text = lazy.html().matrixHtml(m);
      else text = matrixTable(m) + "\n";
      if (typeof values.out === "string") {
        fs.writeFileSync(values.out, text);
        io.err(`wrote ${values.out}\n`);
      } else io.out(text);
      return 0;
    },
  },
  why: {
    summary: "why one flow is allowed or dropped, policy by policy",
    usage: `castle why (--stack <name> | --render <dir>) --from <endpoint> --to <endpoint> --port <port> [--enforce]

${SOURCE_HELP}
  --port <port>       <n>[/tcp|udp|sctp], or icmp/<type>[/<code>] and icmpv6/<type> (a number or a
                      name such as EchoRequest; policies match the type only)
  --dns-name <fqdn>   the name the client resolved before connecting (for toFQDNs rules)
  --dns-query <name>  the name a DNS query on this flow asks (for DNS rules, through the proxy)
  --enforce           evaluate as if policy audit mode were off
${ENDPOINTS}`,
    options: {
      ...SOURCE_OPTIONS,
      from: { type: "string" },
      to: { type: "string" },
      port: { type: "string" },
      "dns-name": { type: "string" },
      "dns-query": { type: "string" },
      enforce: { type: "boolean" },
    },
    positionals: [0, 0],
    run: async (values, _p, io) => {
      const missing = ["from", "to", "port"].filter((k) => typeof values[k] !== "string");
      if (missing.length) throw new UsageError(`why needs ${missing.map((m) => `--${m}`).join(", ")}`);
      const { explain } = lazy.why();
      const inputs = await loadInputs(values, io);
      io.out(
        explain(inputs, values.from as string, values.to as string, values.port as string, {
          enforce: values.enforce === true,
          ...(typeof values["dns-name"] === "string" ? { dnsName: values["dns-name"] } : {}),
          ...(typeof values["dns-query"] === "string" ? { dnsQuery: values["dns-query"] } : {}),
        }).text + "\n",
      );
      return 0;
    },
  },
  check: {
    summary: "the castle's properties, evaluated as enforced (exit 1 when one breaks)",
    usage: `castle check (--stack <name> | --render <dir>)

${SOURCE_HELP}`,
    options: { ...SOURCE_OPTIONS },
    positionals: [0, 0],
    run: async (values, _p, io) => {
      const { checkCastle, formatCheck } = lazy.check();
      const inputs = await loadInputs(values, io);
      const results = checkCastle(inputs);
      io.out(formatCheck(results, inputs.source) + "\n");
      return results.every((r) => r.holds) ? 0 : 1;
    },
  },
  replay: {
    summary: "what enforcement would drop of a Hubble capture (hubble observe -o json)",
    usage: `castle replay (--stack <name> | --render <dir>) <flows.json[.gz] | -> [-o table|json|markdown]

${SOURCE_HELP}
  -o, --output        table (default), json or markdown
  --node-map <hubble node>=<node>
                      judge a Hubble node's host traffic as this node of the stack (repeatable)
Reads hubble observe -o json output (one flow per line), gzip-compressed or not.`,
    options: { ...SOURCE_OPTIONS, "node-map": { type: "string", multiple: true } },
    positionals: [1, 1],
    run: async (values, positionals, io) => {
      const f = format(values, ["table", "json", "markdown"], "table");
      const { checkReplayInput, formatReplay, replay } = lazy.replay();
      const inputs = await loadInputs(values, io);
      const file = positionals[0]!;
      const input = file === "-" ? io.stdin : fs.createReadStream(file);
      const report = await replay(input, inputs, {
        progress: io.isTTY
          ? (n: number) => io.err(`\rreplayed ${n.toLocaleString("en-US")} lines`)
          : undefined,
        nodeMap: nodeMapOf(values["node-map"]),
      });
      if (io.isTTY) io.err("\n");
      checkReplayInput(report, file === "-" ? "stdin" : file);
      io.out(formatReplay(report, f as "table" | "json" | "markdown") + "\n");
      return 0;
    },
  },
  diff: {
    summary: "the probe flows whose verdict changes between two renders (exit 1 when some do)",
    usage: `castle diff <renderA> <renderB> [-o markdown|json|table]

  -o, --output        markdown (default), json or table
  exit 0: no probed flow changes; 1: some do (or exist on one side only); 2: an error`,
    options: {},
    positionals: [2, 2],
    run: async (values, positionals, io) => {
      const f = format(values, ["markdown", "json", "table"], "markdown");
      const { diffCastles, diffChanged, diffMarkdown, diffTable } = lazy.diff();
      const { fromRenderDir } = lazy.objects();
      const d = diffCastles(fromRenderDir(positionals[0]!), fromRenderDir(positionals[1]!));
      io.out(
        (f === "json" ? JSON.stringify(d, null, 2) : f === "table" ? diffTable(d) : diffMarkdown(d)) + "\n",
      );
      return diffChanged(d) ? 1 : 0;
    },
  },
};

const GLOBAL_OPTIONS: OptionSpec = {
  help: { type: "boolean", short: "h" },
  debug: { type: "boolean" },
};

const OUTPUT_OPTIONS: OptionSpec = {
  output: { type: "string", short: "o" },
  // --format: the name these commands had first.
  format: { type: "string" },
};

function commandUsage(name: string): string {
  const c = COMMANDS[name]!;
  return `castle ${name}: ${c.summary}

usage: ${c.usage}
  -h, --help          this help
  --debug             print a stack trace with an error
`;
}

export const USAGE = `usage: castle <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([n, c]) => `  ${n.padEnd(8)}${c.summary}`)
  .join("\n")}

Run castle <command> --help for a command's options. castle --version prints the version.
`;

/** Edit distance, to suggest the flag a typo meant. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
  return d[a.length]![b.length]!;
}

function hint(name: string, flag: string): string {
  const own = Object.keys({ ...COMMANDS[name]!.options, ...GLOBAL_OPTIONS });
  const near = own.find((o) => distance(o, flag) <= 2);
  if (near) return `: did you mean --${near}?`;
  const other = Object.entries(COMMANDS).find(([n, c]) => n !== name && c.options[flag])?.[0];
  return other ? `: --${flag} is an option of castle ${other}` : "";
}

function parseCommand(name: string, args: string[]): { values: Values; positionals: string[] } {
  const c = COMMANDS[name]!;
  const withOutput = ["matrix", "replay", "diff"].includes(name);
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { ...c.options, ...GLOBAL_OPTIONS, ...(withOutput ? OUTPUT_OPTIONS : {}) },
    }) as { values: Values; positionals: string[] };
  } catch (e) {
    // Node's messages name the flag: "Unknown option '--stak'", "Option '--port <value>' argument missing".
    const message = (e as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    const flag = /Unknown option '-{1,2}([\w-]+)'/.exec(message)?.[1];
    throw new UsageError(flag ? `${message}${hint(name, flag)}` : message);
  }
  if (parsed.values.format !== undefined) {
    if (parsed.values.output !== undefined) throw new UsageError("give --output (-o) or --format, not both");
    parsed.values.output = parsed.values.format;
  }
  const [min, max] = c.positionals;
  if (!parsed.values.help && (parsed.positionals.length < min || parsed.positionals.length > max)) {
    throw new UsageError(
      max === 0
        ? `unexpected argument '${parsed.positionals[0]}'`
        : name === "diff"
          ? "diff needs two render directories: castle diff <renderA> <renderB>"
          : parsed.positionals.length < min
            ? "replay needs a flows file (hubble observe -o json), or - for stdin"
            : `unexpected argument '${parsed.positionals[max]}'`,
    );
  }
  return parsed;
}

/** Runs one command; returns the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const debug = argv.includes("--debug");
  const [name, ...rest] = argv;
  if (name === "--version" || name === "version") {
    io.out(VERSION() + "\n");
    return 0;
  }
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    const topic = name === "help" ? rest[0] : undefined;
    if (topic && COMMANDS[topic]) io.out(commandUsage(topic));
    else io.out(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`castle: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    const { values, positionals } = parseCommand(name, rest);
    if (values.help) {
      io.out(commandUsage(name));
      return 0;
    }
    return await command.run(values, positionals, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`castle ${name}: ${e.message}\n\n${commandUsage(name)}`);
      return 2;
    }
    const message = e instanceof CastleConfigError ? e.message : (e as Error).message;
    io.err(`castle ${name}: ${message}\n${debug && (e as Error).stack ? `${(e as Error).stack}\n` : ""}`);
    // diff follows kubectl diff: 1 means "differences", so its errors are 2.
    return name === "diff" ? 2 : 1;
  }
}
