// npm run bench: the verifier's speed and scale, as figures (not a timed test).
//   1. castle replay throughput in flows/s, and its ratio to a bare JSON.parse loop over the same lines;
//   2. castle matrix time for 10, 100 and 1,000 user namespaces, and how it grows;
//   3. peak memory while replaying 1,000,000 flows (in a child process, so its peak is its own);
//   4. the castle command's start: `castle --help`, `castle why --render <dir>` and `castle why --stack dev`
//      with a warm render cache, each as a ratio to `node -e 0` in the same run (best of 5);
//   5. the real engine's `pulumi preview`, with the policy pack, of the dev stack and of a 1,000-namespace
//      stack (when the real tier's tools are built: scripts/tools.sh build);
//   6. the engine beside Cilium's own policy code (the oracle, scripts/tools.sh build cilium-oracle-1.19)
//      on the same flows: the dev stack's full matrix, and 10,000 random flows over 1,000 namespaces.

import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { parseCastleConfig } from "../config/castleConfig";
import { readStackFile, recordCastle, renderedObjects, withProjectDefaults } from "../render/render";
import { fromObjects, fromStack } from "../cli/sources";
import { buildMatrix } from "../verifier/matrix";
import type { CastleInputs } from "../verifier/objects";
import {
  compareFlows,
  matrixProbes,
  OracleInput,
  OracleOutput,
  ProbeFlow,
  runOracle,
} from "./conformance/compare";
import { randomFlows, rng } from "./conformance/random";
import { readLines, replay } from "../verifier/replay";
import { writeFlowFile } from "./benchFlows";
import { chartMirrorDir, toolsBin, Workspace } from "./real/workspace";

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

// The baseline reads the same file with the same line splitter as replay, so the ratio is what judging a
// flow costs on top of parsing it.
async function jsonParseLoop(file: string): Promise<number> {
  let n = 0;
  await readLines(fs.createReadStream(file), (line) => {
    if (line) {
      JSON.parse(line);
      n++;
    }
  });
  return n;
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, (performance.now() - t0) / 1000];
}

async function replayThroughput(dir: string): Promise<void> {
  const inputs = await fromStack("dev");
  const file = path.join(dir, "flows-200k.json");
  writeFlowFile(file, 200_000);
  // Warm both paths once (JIT, file cache), then take the best of three.
  await jsonParseLoop(file);
  await replay(fs.createReadStream(file), inputs, {});
  let bestParse = Infinity;
  let bestReplay = Infinity;
  for (let i = 0; i < 3; i++) {
    bestParse = Math.min(bestParse, (await timed(() => jsonParseLoop(file)))[1]);
    bestReplay = Math.min(bestReplay, (await timed(() => replay(fs.createReadStream(file), inputs, {})))[1]);
  }
  const parseRate = 200_000 / bestParse;
  const replayRate = 200_000 / bestReplay;
  console.log("replay throughput (200,000 flows, best of 3)");
  console.log(`  bare JSON.parse loop : ${fmt(parseRate)} lines/s`);
  console.log(`  castle replay        : ${fmt(replayRate)} flows/s`);
  console.log(`  ratio                : ${fmt(replayRate / parseRate, 2)} (target >= 0.50)`);
}

async function matrixScale(): Promise<void> {
  console.log("castle matrix (render under mocks, then matrix; user namespaces in 3 label classes)");
  let previous: number | undefined;
  for (const n of [10, 100, 1000]) {
    const raw = {
      ...readStackFile("dev"),
      installDemo: false,
      userNamespaces: Array.from({ length: n }, (_, i) => ({
        name: `team-${i}`,
        exposed: i % 3 === 0,
        metrics: i % 3 !== 2,
      })),
    };
    const [objects, renderS] = await timed(async () =>
      renderedObjects(await recordCastle(parseCastleConfig(withProjectDefaults(raw)), "bench")).map(
        (o) => o.object,
      ),
    );
    const [m, matrixS] = await timed(async () => buildMatrix(fromObjects(objects, `${n} namespaces`)));
    const growth = previous === undefined ? "" : `  x${fmt(matrixS / previous, 1)} for x10 namespaces`;
    console.log(
      `  ${String(n).padStart(5)} namespaces: matrix ${fmt(matrixS * 1000, 1)} ms (${m.cells.length} cells), render ${fmt(renderS, 2)} s${growth}`,
    );
    previous = matrixS;
  }
}

function replayMemory(dir: string): void {
  const file = path.join(dir, "flows-1m.json");
  writeFlowFile(file, 1_000_000);
  const size = fs.statSync(file).size;
  const child = spawnSync(
    process.execPath,
    [
      "-r",
      require.resolve("ts-node/register/transpile-only"),
      path.join(__dirname, "benchReplayChild.ts"),
      file,
    ],
    { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
  );
  if (child.status !== 0) throw new Error(`replay child failed: ${child.stderr}`);
  const r = JSON.parse(child.stdout.trim().split("\n").pop()!);
  console.log("replay of 1,000,000 flows (child process)");
  console.log(`  input file           : ${fmt(size / 1024 / 1024, 1)} MiB`);
  console.log(`  time                 : ${fmt(r.seconds, 2)} s (${fmt(1_000_000 / r.seconds)} flows/s)`);
  console.log(
    `  peak RSS             : ${fmt(r.maxRssMiB, 1)} MiB (baseline before replay ${fmt(r.baselineRssMiB, 1)} MiB)`,
  );
  console.log(`  would-drop groups    : ${r.groups}`);
}

/** `pulumi preview --policy-pack` of a new kind stack: the program, the engine and the pack, no cluster. */
async function realPreview(): Promise<void> {
  let bin: string;
  try {
    bin = toolsBin();
  } catch (e) {
    console.log(`real engine preview: skipped (${(e as Error).message})`);
    return;
  }
  const ws = new Workspace(bin);
  try {
    console.log("real engine preview (pulumi preview --policy-pack, new kind stack, best of 2)");
    const dev = readStackFile("dev");
    const stacks: [string, Record<string, unknown>][] = [
      ["dev", { ...dev, chartMirror: chartMirrorDir(ws.dir) }],
      [
        "ns1000",
        {
          ...dev,
          installDemo: false,
          chartMirror: chartMirrorDir(ws.dir),
          userNamespaces: Array.from({ length: 1000 }, (_, i) => ({
            name: `team-${i}`,
            exposed: i % 2 === 0,
            metrics: i % 3 === 0,
          })),
        },
      ],
    ];
    for (const [stack, config] of stacks) {
      await ws.initStack(stack, config);
      let best = Infinity;
      let resources = 0;
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now();
        const res = await ws.stack(stack, ["preview", "--json"], { pack: true });
        best = Math.min(best, (performance.now() - t0) / 1000);
        if (res.code !== 0) throw new Error(`preview of ${stack} failed:\n${res.output}`);
        resources = (JSON.parse(res.stdout).steps ?? []).length;
      }
      console.log(`  ${stack.padEnd(7)}: ${fmt(best, 1)} s for ${fmt(resources)} resources`);
    }
  } finally {
    ws.remove();
  }
}

/** Best of n wall-clock seconds of a command. */
function bestOf(n: number, cmd: string, args: string[]): number {
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = spawnSync(cmd, args, { stdio: "ignore", cwd: path.join(__dirname, "..") });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}`);
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return best;
}

async function cliStart(dir: string): Promise<void> {
  const castle = path.join(__dirname, "..", "cli", "castle.js");
  const render = path.join(dir, "render-dev");
  spawnSync("npm", ["run", "-s", "render", "--", "--stack", "dev", "--out", render], { stdio: "ignore" });
  const why = ["why", "--from", "world", "--to", "node:worker", "--port", "22"];
  // Warm the render cache once (and the compiled CLI, if npm run prepare has not built it yet).
  spawnSync(process.execPath, [castle, ...why, "--stack", "dev"], { stdio: "ignore" });
  const base = bestOf(5, process.execPath, ["-e", "0"]);
  const rows: [string, string[], number][] = [
    ["castle --help", ["--help"], 3],
    ["castle why --render <dir>", [...why, "--render", render], 5],
    ["castle why --stack dev (warm cache)", [...why, "--stack", "dev"], 5],
  ];
  console.log("castle command start (best of 5, as a ratio to node -e 0)");
  console.log(`  node -e 0                           : ${fmt(base, 3)} s`);
  for (const [label, args, target] of rows) {
    const t = bestOf(5, process.execPath, [castle, ...args]);
    console.log(`  ${label.padEnd(36)}: ${fmt(t, 3)} s, x${fmt(t / base, 1)} (target <= x${target})`);
  }
}

/**
 * The engine and Cilium's policy code on the same directional verdicts (compareFlows asks both). The
 * engine's part is timed with an oracle that answers at once; the oracle's is the rest of a real run,
 * its process start, JSON and policy repository included. Best of 3 each.
 */
async function engineBesideOracle(): Promise<void> {
  const built = spawnSync("bash", [path.join(__dirname, "tools.sh"), "build", "cilium-oracle-1.19"], {
    encoding: "utf8",
  });
  if (built.status !== 0) {
    console.log(
      "engine beside Cilium: skipped (the oracle does not build here: scripts/tools.sh build cilium-oracle-1.19)",
    );
    return;
  }
  const bin = built.stdout.trim();
  const instant = (input: OracleInput): OracleOutput => ({
    cilium: "none",
    refused: [],
    results: input.flows.map(() => ({ verdict: "allowed", reason: "" })),
  });
  const real = (input: OracleInput): OracleOutput => runOracle(bin, "1.19", input);
  const best = async (f: () => unknown): Promise<number> => {
    let t = Infinity;
    for (let i = 0; i < 3; i++) t = Math.min(t, (await timed(async () => f()))[1]);
    return t;
  };
  const dev = await fromStack("dev");
  const big = fromObjects(
    renderedObjects(
      await recordCastle(
        parseCastleConfig(
          withProjectDefaults({
            ...readStackFile("dev"),
            userNamespaces: Array.from({ length: 1000 }, (_, i) => ({
              name: `team-${i}`,
              exposed: i % 2 === 0,
            })),
          }),
        ),
        "bench",
      ),
    ).map((o) => o.object),
    "1,000 namespaces",
  );
  const cases: [string, CastleInputs, ProbeFlow[]][] = [
    ["dev stack, full matrix", dev, matrixProbes(dev)],
    ["1,000 namespaces, 10,000 random flows", big, randomFlows(rng(1), big.topology, 10_000)],
  ];
  console.log("engine beside Cilium 1.19's policy code (same directional verdicts, best of 3)");
  for (const [what, inputs, probes] of cases) {
    const subject = { ...inputs, options: { routingMode: inputs.routingMode } };
    const engineOnly = await best(() => compareFlows(subject, probes, instant));
    const both = await best(() => compareFlows(subject, probes, real));
    const oracle = Math.max(both - engineOnly, 0);
    const r = compareFlows(subject, probes, real);
    console.log(
      `  ${what}: ${fmt(r.compared)} verdicts, engine ${fmt(engineOnly * 1000)} ms, Cilium ${fmt(oracle * 1000)} ms, ratio Cilium/engine ${fmt(oracle / engineOnly, 1)}x (${r.disagreements.length} disagree)`,
    );
  }
}

async function mainBench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "castle-bench-"));
  try {
    console.log(
      `cilium-castle benchmark on ${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, node ${process.version}\n`,
    );
    // npm run bench -- [section...]: replay, matrix, memory, cli, preview, oracle (all by default).
    const only = process.argv.slice(2);
    const sections: [string, () => Promise<void> | void][] = [
      ["replay", () => replayThroughput(dir)],
      ["matrix", () => matrixScale()],
      ["memory", () => replayMemory(dir)],
      ["cli", () => cliStart(dir)],
      ["preview", () => realPreview()],
      ["oracle", () => engineBesideOracle()],
    ];
    for (const [, run] of sections.filter(([n]) => only.length === 0 || only.includes(n))) {
      await run();
      console.log();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

mainBench().catch((e) => {
  console.error(e);
  process.exit(1);
});
