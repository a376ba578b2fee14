// The `kind` the real tier puts on PATH: there is no container engine here, so it stands in for kind,
// while kind v0.33.0's own code still judges every config it is given.
//
// `kind create cluster` first runs the real kind v0.33.0 binary (scripts/tools.sh builds it) against a
// `docker` that answers kind's queries and refuses to run containers (fakes/docker.js): kind parses,
// defaults and validates the config with its own code and plans one `docker run` per node, which the
// fake records. A config kind refuses fails here with kind's own message. Then the config is strictly
// decoded with kind's public API types (castle-kind-defaults decode), and a simulated cluster with the
// nodes kind planned starts (scripts/real/simCluster.ts) and keeps running after this process exits, as
// kind's containers do. `delete`, `get clusters|kubeconfig|nodes` and `version` answer from that state.
//
// Environment: CASTLE_FAKE_KIND_STATE (a folder for the clusters and calls.jsonl, the record of every
// call), CASTLE_TOOLS_BIN (the tools' bin folder).

import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import type { KindClusterConfig } from "../../../components/cluster/kindConfig";
import { nodesFromKindConfig, startSimCluster, stopDetached } from "../../../scripts/real/simCluster";

export interface PlannedNode {
  name: string;
  image: string;
  /** `--publish` arguments kind planned for the node's port mappings. */
  publish: string[];
  labels: string[];
}

export interface FakeKindCluster {
  name: string;
  config: string;
  plan: PlannedNode[];
  simDir: string;
  kubeconfig: string;
  nodes: string[];
}

function env(name: string): string {
  const v = process.env[name];
  if (!v) {
    process.stderr.write(`fake kind: ${name} is not set\n`);
    process.exit(2);
  }
  return v;
}

function flag(args: string[], name: string, fallback?: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i]!.startsWith(`${name}=`)) return args[i]!.slice(name.length + 1);
  }
  return fallback;
}

/** kind's node containers, as its docker provider planned them (provision.go: runArgsForNode). */
export function plannedNodes(dockerCalls: string[][]): PlannedNode[] {
  return dockerCalls
    .filter((a) => a[0] === "run")
    .map((a) => {
      const name = flag(a, "--name") ?? "";
      return {
        name,
        image: a[a.length - 1]!,
        publish: a.filter((x) => x.startsWith("--publish=")).map((x) => x.slice("--publish=".length)),
        labels: a.filter((x) => x.startsWith("--label=")).map((x) => x.slice("--label=".length)),
      };
    })
    .sort((x, y) => x.name.localeCompare(y.name));
}

/** Runs the real kind against the fake docker; returns kind's plan, or kind's refusal. */
function judgeWithKind(
  toolsBin: string,
  name: string,
  configFile: string,
  expectedNodes: number,
): { plan?: PlannedNode[]; error?: string } {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "castle-fake-docker-"));
  try {
    const shim = path.join(work, "bin");
    fs.mkdirSync(shim);
    fs.symlinkSync(path.join(__dirname, "docker.js"), path.join(shim, "docker"));
    const log = path.join(work, "docker.jsonl");
    const res = spawnSync(
      path.join(toolsBin, "kind"),
      [
        "create",
        "cluster",
        "--name",
        name,
        "--config",
        configFile,
        "--kubeconfig",
        path.join(work, "kubeconfig"),
      ],
      {
        encoding: "utf8",
        env: {
          ...process.env,
          PATH: `${shim}:${process.env.PATH}`,
          KIND_EXPERIMENTAL_PROVIDER: "docker",
          CASTLE_FAKE_DOCKER_LOG: log,
        },
      },
    );
    const calls = (): string[][] =>
      fs.existsSync(log)
        ? fs
            .readFileSync(log, "utf8")
            .trim()
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as string[])
        : [];
    let plan = plannedNodes(calls());
    if (plan.length === 0) return { error: (res.stderr || res.stdout || `kind exited ${res.status}`).trim() };
    // kind ran the nodes' containers at once; a late sibling may still be recording its run.
    for (let i = 0; i < 50 && plan.length < expectedNodes; i++) {
      spawnSync("sleep", ["0.1"]);
      plan = plannedNodes(calls());
    }
    if (plan.length !== expectedNodes) {
      return {
        error: `fake kind: kind planned ${plan.length} node containers, the config has ${expectedNodes}`,
      };
    }
    return { plan };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function clusterFile(state: string, name: string): string {
  return path.join(state, "clusters", `${name}.json`);
}

export function readCluster(state: string, name: string): FakeKindCluster | undefined {
  const f = clusterFile(state, name);
  return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, "utf8")) as FakeKindCluster) : undefined;
}

export function listClusters(state: string): string[] {
  const dir = path.join(state, "clusters");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -".json".length))
    .sort();
}

/** Deletes a fake kind cluster: stops its simulated control plane and forgets it. */
export async function deleteCluster(state: string, name: string): Promise<boolean> {
  const c = readCluster(state, name);
  if (!c) return false;
  await stopDetached(c.simDir);
  fs.rmSync(clusterFile(state, name), { force: true });
  return true;
}

async function main(argv: string[]): Promise<number> {
  const state = env("CASTLE_FAKE_KIND_STATE");
  const toolsBin = env("CASTLE_TOOLS_BIN");
  fs.mkdirSync(path.join(state, "clusters"), { recursive: true });
  const [verb, noun, ...rest] = argv;
  const name = flag(rest, "--name", "kind")!;
  const configArg = flag(rest, "--config");
  const config =
    verb === "create" && configArg !== undefined
      ? fs.readFileSync(configArg === "-" ? 0 : configArg, "utf8")
      : undefined;
  fs.appendFileSync(
    path.join(state, "calls.jsonl"),
    JSON.stringify({ argv, ...(config ? { config } : {}) }) + "\n",
  );

  if (verb === "version") {
    process.stdout.write(execFileSync(path.join(toolsBin, "kind"), ["version"], { encoding: "utf8" }));
    return 0;
  }
  if (verb === "get" && noun === "clusters") {
    const names = listClusters(state);
    if (names.length === 0) process.stderr.write("No kind clusters found.\n");
    for (const n of names) process.stdout.write(`${n}\n`);
    return 0;
  }
  if (verb === "get" && (noun === "kubeconfig" || noun === "nodes")) {
    const c = readCluster(state, name);
    if (!c) {
      if (noun === "nodes") {
        process.stderr.write(`No kind nodes found for cluster "${name}".\n`);
        return 0;
      }
      // kind's message (pkg/cluster/internal/kubeconfig: KubeConfig)
      process.stderr.write(
        `ERROR: could not locate any control plane nodes for cluster named '${name}'. Use the --name option to select a different cluster\n`,
      );
      return 1;
    }
    process.stdout.write(noun === "kubeconfig" ? c.kubeconfig : c.nodes.map((n) => `${n}\n`).join(""));
    return 0;
  }
  if (verb === "delete" && noun === "cluster") {
    process.stderr.write(`Deleting cluster "${name}" ...\n`);
    await deleteCluster(state, name);
    const kc = flag(rest, "--kubeconfig");
    if (kc) fs.rmSync(kc, { force: true });
    return 0;
  }
  if (verb === "create" && noun === "cluster") {
    if (config === undefined) {
      process.stderr.write("fake kind: the real tier always passes --config\n");
      return 2;
    }
    if (readCluster(state, name)) {
      // kind's message (pkg/cluster/internal/create/create.go: alreadyExists)
      process.stderr.write(
        `ERROR: failed to create cluster: node(s) already exist for a cluster with the name "${name}"\n`,
      );
      return 1;
    }
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "castle-kind-config-"));
    const configFile = path.join(work, "kind.yaml");
    fs.writeFileSync(configFile, config);
    const parsed = YAML.parse(config) as KindClusterConfig;
    const controlPlanes = parsed.nodes.filter((n) => n.role === "control-plane").length;
    // kind adds a load balancer container in front of several control planes.
    const judged = judgeWithKind(
      toolsBin,
      name,
      configFile,
      parsed.nodes.length + (controlPlanes > 1 ? 1 : 0),
    );
    if (!judged.plan) {
      process.stderr.write(`${judged.error}\n`);
      fs.rmSync(work, { recursive: true, force: true });
      return 1;
    }
    const decoded = spawnSync(path.join(toolsBin, "castle-kind-defaults"), ["decode"], {
      input: config,
      encoding: "utf8",
    });
    fs.rmSync(work, { recursive: true, force: true });
    if (decoded.status !== 0) {
      process.stderr.write(decoded.stderr);
      return 1;
    }
    process.stderr.write(`Creating cluster "${name}" ...\n`);
    const sim = await startSimCluster({
      binDir: toolsBin,
      nodes: nodesFromKindConfig({ ...parsed, name }),
      dir: fs.mkdtempSync(path.join(os.tmpdir(), `castle-kind-${name}-`)),
    });
    // kind's installstorage action applies the node image's /kind/manifests/default-storage.yaml
    // (pkg/cluster/internal/create/actions/installstorage/storage.go): the local-path-storage namespace
    // and its provisioner. The castle's policies for that namespace need it to exist, as on kind.
    const ns = await sim.request("POST", "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "local-path-storage" },
    });
    if (ns.status !== 201) throw new Error(`fake kind: local-path-storage: HTTP ${ns.status}`);
    sim.detach();
    const record: FakeKindCluster = {
      name,
      config,
      plan: judged.plan,
      simDir: sim.dir,
      kubeconfig: sim.kubeconfig,
      nodes: judged.plan.map((n) => n.name),
    };
    fs.writeFileSync(clusterFile(state, name), JSON.stringify(record, null, 2));
    const kc = flag(rest, "--kubeconfig");
    if (kc) fs.writeFileSync(kc, sim.kubeconfig, { mode: 0o600 });
    process.stderr.write(` ✓ Ensuring node image (${judged.plan[0]!.image}) 🖼\n ✓ Preparing nodes\n`);
    return 0;
  }
  process.stderr.write(`fake kind: unsupported command: ${argv.join(" ")}\n`);
  return 2;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`fake kind: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
