// The real tier, part 2: the kind stack through the real engine. `kind` on PATH is the fake of
// test/real/fakes (kind v0.33.0's own code judges each config; a simulated cluster stands in for the node
// containers), so KindCluster's create, adoption, node labelling, replacement and delete all run through
// the real Pulumi CLI and command provider.

import { strict as assert } from "assert";
import { ChildProcess, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { DEFAULT_KIND_NODE_IMAGE } from "../../config/castleConfig";
import { SimCluster } from "../../scripts/real/simCluster";
import { listClusters, readCluster } from "./fakes/kind";
import {
  devConfig,
  livePolicies,
  policyKey,
  renderedPolicies,
  SIMULATED_DEMO_VALUES,
  startCrdRegistrar,
  startIngressStatusWriter,
  stopProcess,
} from "./support/castleStacks";
import { chartMirrorDir, previewSteps, RunResult, toolsBin, Workspace } from "../../scripts/real/workspace";

const STACK = "dev";

/** A client for the fake kind cluster's simulated control plane. */
function clusterOf(ws: Workspace, name = "castle"): SimCluster {
  const c = readCluster(ws.kindState, name);
  assert.ok(c, `kind cluster ${name} exists`);
  const doc = YAML.parse(c.kubeconfig) as {
    clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
    users: { user: { token: string } }[];
  };
  const kubeconfigPath = path.join(ws.dir, `kubeconfig-${name}`);
  fs.writeFileSync(kubeconfigPath, c.kubeconfig, { mode: 0o600 });
  return new SimCluster(
    c.simDir,
    doc.clusters[0]!.cluster.server,
    kubeconfigPath,
    doc.users[0]!.user.token,
    Buffer.from(doc.clusters[0]!.cluster["certificate-authority-data"], "base64").toString(),
    true,
  );
}

describe("real tier: the kind stack", () => {
  let ws: Workspace;
  let bin: string;
  let registrar: ChildProcess | undefined;
  let stopIngressStatus: (() => void) | undefined;
  let config: Record<string, unknown>;

  before(async () => {
    bin = toolsBin();
    ws = new Workspace(bin);
    config = {
      ...devConfig(),
      chartMirror: chartMirrorDir(ws.dir),
      demoChartValues: SIMULATED_DEMO_VALUES,
    };
    await ws.initStack(STACK, config);
    stopIngressStatus = startIngressStatusWriter(() =>
      readCluster(ws.kindState, "castle") ? clusterOf(ws) : undefined,
    );
  });

  after(async () => {
    stopIngressStatus?.();
    stopProcess(registrar);
    // Whatever the steps left: the fake kind's clusters.
    for (const name of listClusters(ws.kindState)) {
      execFileSync(path.join(__dirname, "fakes", "bin", "kind"), ["delete", "cluster", "--name", name], {
        env: ws.env,
        stdio: "ignore",
      });
    }
    ws?.remove();
  });

  /**
   * `pulumi up`, with Cilium's CRD registration started on the kind cluster as soon as the fake kind has
   * created it (the operator would start there). Returns when the up does.
   */
  async function upWithRegistrar(created: () => boolean, log: string): Promise<RunResult> {
    let done = false;
    const up = ws.stack(STACK, ["up", "--yes", "--skip-preview"], { pack: true }).finally(() => {
      done = true;
    });
    while (!done && !created()) await new Promise((r) => setTimeout(r, 500));
    if (created()) registrar = startCrdRegistrar(bin, clusterOf(ws).kubeconfigPath, path.join(ws.dir, log));
    return up;
  }

  it("pins the node image kind v0.33.0 accepts, at a Kubernetes minor Cilium 1.19 is tested on", () => {
    // kind v0.33.0's own default image is newer (v1.37) than Cilium 1.19's tested range (1.32-1.35,
    // Documentation/network/kubernetes/compatibility.rst in the cilium module): the pin is deliberate.
    const kindDefault = execFileSync(path.join(bin, "castle-kind-defaults"), ["image"], {
      encoding: "utf8",
    }).trim();
    assert.match(kindDefault, /^kindest\/node:v1\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
    const minor = /^kindest\/node:v1\.(\d+)\./.exec(DEFAULT_KIND_NODE_IMAGE)![1];
    const ciliumDocs = execFileSync("go", ["list", "-m", "-f", "{{.Dir}}", "github.com/cilium/cilium"], {
      cwd: path.join(__dirname, "..", "..", "tools", "go", "cilium"),
      encoding: "utf8",
    }).trim();
    const compat = fs.readFileSync(
      path.join(ciliumDocs, "Documentation/network/kubernetes/compatibility.rst"),
      "utf8",
    );
    const tested = /\|\s*([\d., ]+)\s*\|\s*\* `networking\.k8s\.io\/v1`_/
      .exec(compat)![1]!
      .split(",")
      .map((v) => v.trim());
    assert.ok(tested.includes(`1.${minor}`), `1.${minor} is in Cilium's tested list ${tested.join(", ")}`);
  });

  it("1. pulumi preview of a brand-new kind dev stack passes the policy pack (kind does not run)", async () => {
    const preview = await ws.stack(STACK, ["preview", "--json"], { pack: true });
    assert.equal(preview.code, 0, preview.output);
    const doc = JSON.parse(preview.stdout) as { diagnostics?: { severity: string; message: string }[] };
    const mandatory = (doc.diagnostics ?? []).filter((d) => d.severity === "error");
    assert.deepEqual(mandatory, [], "no mandatory violation");
    assert.deepEqual(listClusters(ws.kindState), [], "a preview creates no cluster");
    assert.ok(
      previewSteps(preview.stdout).some((s) => s.op === "create" && s.type === "command:local:Command"),
    );
  });

  it("6a. pulumi up creates the kind cluster, labels its infra node and builds the castle on it", async () => {
    // The operator's CRD registration, against whichever cluster the fake kind creates.
    registrar = undefined;
    const result = await upWithRegistrar(
      () => readCluster(ws.kindState, "castle") !== undefined,
      "crd-registrar.log",
    );
    assert.equal(result.code, 0, result.output);
    const calls = fs
      .readFileSync(path.join(ws.kindState, "calls.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const create = calls.find((c) => c.argv[0] === "create");
    assert.ok(create, "kind create cluster ran");
    assert.deepEqual(create.argv.slice(0, 5), ["create", "cluster", "--name", "castle", "--config"]);
    const plan = readCluster(ws.kindState, "castle")!.plan;
    assert.deepEqual(
      plan.map((n) => [n.name, n.publish.filter((p) => !p.endsWith(":6443/TCP"))]),
      [
        ["castle-control-plane", []],
        ["castle-worker", ["0.0.0.0:80:80/TCP", "0.0.0.0:443:443/TCP"]],
        ["castle-worker2", []],
        ["castle-worker3", []],
      ],
      "kind planned the nodes and the ingress host ports on the infra node",
    );
    const c = clusterOf(ws);
    const infra = await c.get("/api/v1/nodes/castle-worker");
    assert.equal(infra.metadata.labels["node-role.kubernetes.io/infra"], "");
    const rendered = await renderedPolicies(config, STACK);
    const live = new Map((await livePolicies(c)).map((p) => [policyKey(p), p]));
    for (const want of rendered)
      assert.deepEqual(live.get(policyKey(want))?.spec, want.spec, policyKey(want));
    const nodes = (await c.get("/api/v1/nodes")).items.map(
      (n: { metadata: { name: string } }) => n.metadata.name,
    );
    assert.deepEqual(
      nodes.sort(),
      ["castle-control-plane", "castle-worker", "castle-worker2", "castle-worker3"],
      "no phantom node",
    );
  });

  it("6b. a topology change replaces the cluster and every object in it, on the new cluster", async () => {
    const oldSim = readCluster(ws.kindState, "castle")!.simDir;
    config = { ...config, kindNodes: { controlPlane: 1, infra: 1, workers: 3 } };
    ws.writeConfig(STACK, config);
    const preview = await ws.stack(STACK, ["preview", "--json"], { pack: true });
    assert.equal(preview.code, 0, preview.output);
    const steps = previewSteps(preview.stdout);
    const policySteps = steps.filter((s) => s.type.startsWith("kubernetes:cilium.io"));
    assert.ok(policySteps.length > 10);
    assert.ok(
      policySteps.every(
        (s) => s.op === "replace" || s.op === "create-replacement" || s.op === "delete-replaced",
      ),
      `every policy is replaced: ${[...new Set(policySteps.map((s) => s.op))].join(", ")}`,
    );
    stopProcess(registrar);
    const result = await upWithRegistrar(() => {
      const c = readCluster(ws.kindState, "castle");
      return c !== undefined && c.simDir !== oldSim;
    }, "crd-registrar2.log");
    assert.equal(result.code, 0, result.output);
    const c = clusterOf(ws);
    const nodes = (await c.get("/api/v1/nodes")).items.map(
      (n: { metadata: { name: string } }) => n.metadata.name,
    );
    assert.equal(nodes.length, 5);
    const rendered = await renderedPolicies(config, STACK);
    const live = new Map((await livePolicies(c)).map((p) => [policyKey(p), p]));
    for (const want of rendered)
      assert.deepEqual(live.get(policyKey(want))?.spec, want.spec, `${policyKey(want)} on the new cluster`);
    assert.ok(!fs.existsSync(oldSim), "the old cluster is gone");
    const again = await ws.stack(STACK, ["preview", "--expect-no-changes"], { pack: true });
    assert.equal(again.code, 0, again.output);
  });

  it("8b. a kind cluster deleted outside Pulumi is reported clearly and quickly, with what to do", async () => {
    stopProcess(registrar);
    execFileSync(path.join(__dirname, "fakes", "bin", "kind"), ["delete", "cluster", "--name", "castle"], {
      env: ws.env,
      stdio: "ignore",
    });
    const started = Date.now();
    const up = await ws.stack(STACK, ["up", "--yes", "--skip-preview"], { pack: true, timeoutMs: 300_000 });
    const seconds = (Date.now() - started) / 1000;
    assert.notEqual(up.code, 0);
    assert.ok(seconds < 180, `reported in ${seconds}s, not after the CRD gate's 600 s`);
    assert.match(up.output, /kind cluster castle (no longer exists|was deleted)/, up.output);
  });

  it("6c. pulumi destroy deletes the kind cluster and empties the stack", async () => {
    stopProcess(registrar);
    const destroy = await ws.stack(STACK, ["destroy", "--yes", "--skip-preview"]);
    assert.equal(destroy.code, 0, destroy.output);
    assert.deepEqual(listClusters(ws.kindState), []);
    assert.deepEqual((await ws.exportStack(STACK)).resources, []);
  });
});
