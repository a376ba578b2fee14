// The real tier, part 1: the castle on an existing cluster, through the real Pulumi CLI, the real
// kubernetes provider and a real API server with simulated nodes (README: "The real tier").
//
// Steps run in order and each builds on the one before (mocha --bail).

import { strict as assert } from "assert";
import { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { SimCluster } from "../../scripts/real/simCluster";
import {
  devConfig,
  livePolicies,
  policyKey,
  renderedPolicies,
  SIMULATED_DEMO_VALUES,
  startCrdRegistrar,
  startDevCluster,
  startIngressStatusWriter,
  stopProcess,
} from "./support/castleStacks";
import { chartMirrorDir, previewSteps, toolsBin, Workspace } from "../../scripts/real/workspace";
import { parseCastleConfig, RawConfig } from "../../config/castleConfig";
import {
  recordCastle,
  renderedObjects,
  withProjectDefaults,
  writeRender,
  PROJECT_DIR,
} from "../../render/render";
import { buildComment } from "../../scripts/pr-preview/comment";
import { parsePreview } from "../../scripts/pr-preview/preview";
import { checkCastle } from "../../verifier/check";
import { diffCastles } from "../../verifier/diff";
import { fromRenderDir } from "../../cli/sources";

const STACK = "sim";

describe("real tier: the castle on an existing cluster", () => {
  let ws: Workspace;
  let cluster: SimCluster;
  let registrar: ChildProcess | undefined;
  let stopIngressStatus: (() => void) | undefined;
  let config: Record<string, unknown>;

  before(async () => {
    const bin = toolsBin();
    ws = new Workspace(bin);
    cluster = await startDevCluster(bin);
    registrar = startCrdRegistrar(bin, cluster.kubeconfigPath, path.join(ws.dir, "crd-registrar.log"));
    stopIngressStatus = startIngressStatusWriter(() => cluster);
    config = {
      ...devConfig(),
      clusterProvider: "existing",
      chartMirror: chartMirrorDir(ws.dir),
      demoChartValues: SIMULATED_DEMO_VALUES,
    };
    await ws.initStack(STACK, config, { kubeconfig: cluster.kubeconfig });
  });

  after(async () => {
    stopIngressStatus?.();
    stopProcess(registrar);
    await cluster?.stop();
    ws?.remove();
  });

  it("2. pulumi up creates the castle: the CRD gate waits for the CRDs, every policy is live as rendered", async () => {
    const up = await ws.stack(STACK, ["up", "--yes", "--skip-preview"], { pack: true });
    assert.equal(up.code, 0, up.output);

    // Every CNP/CCNP is live with the spec the offline render gives: nothing pruned by the API server.
    const rendered = await renderedPolicies({ ...config, kubeconfig: "" }, STACK);
    const live = new Map((await livePolicies(cluster)).map((p) => [policyKey(p), p]));
    assert.ok(rendered.length > 10);
    for (const want of rendered) {
      const got = live.get(policyKey(want));
      assert.ok(got, `${policyKey(want)} is live`);
      assert.deepEqual(got.spec, want.spec, `${policyKey(want)}: the live spec equals the render`);
      assert.deepEqual(
        Object.fromEntries(Object.entries(got.metadata.labels ?? {})),
        want.metadata.labels ?? {},
        `${policyKey(want)}: labels`,
      );
    }
    assert.equal(live.size, rendered.length, "no other policy");

    const ciliumConfig = await cluster.get("/api/v1/namespaces/kube-system/configmaps/cilium-config");
    assert.equal(ciliumConfig.data["enable-host-firewall"], "true");
    assert.equal(ciliumConfig.data["policy-audit-mode"], "true");
    const model = await cluster.get("/api/v1/namespaces/kube-system/configmaps/castle-model");
    const castleModel = JSON.parse(model.data["model.json"]);
    assert.equal(castleModel.policyAuditMode, true, "the castle model is there");
    assert.deepEqual(castleModel.jumphostCidrs, ["10.1.101.110/32"]);

    for (const ns of ["demo-shop", "demo-batch"]) {
      const live = await cluster.get(`/api/v1/namespaces/${ns}`);
      const want = (config.userNamespaces as { name: string; exposed: boolean; metrics: boolean }[]).find(
        (n) => n.name === ns,
      )!;
      assert.equal(live.metadata.labels.exposed === "true", want.exposed, `${ns} exposed label`);
      assert.equal(live.metadata.labels.metrics === "true", want.metrics, `${ns} metrics label`);
    }
    const crdLog = fs.readFileSync(path.join(ws.dir, "crd-registrar.log"), "utf8");
    assert.match(crdLog, /cilium CRDs registered/);
  });

  it("3. a second preview changes nothing", async () => {
    const preview = await ws.stack(STACK, ["preview", "--expect-no-changes"], { pack: true });
    assert.equal(preview.code, 0, preview.output);
  });

  it("4. onboarding a namespace previews as exactly its namespace, policy and component, and applies", async () => {
    const users = [
      ...(config.userNamespaces as object[]),
      { name: "team-new", exposed: false, metrics: true },
    ];
    config = { ...config, userNamespaces: users };
    ws.writeConfig(STACK, config);
    const preview = await ws.stack(STACK, ["preview", "--json"], { pack: true });
    assert.equal(preview.code, 0, preview.output);
    // The demo is on: its apps in the new namespace (and the demo clients' target lists) are the
    // Workshop's business, checked apart.
    const steps = previewSteps(preview.stdout).filter((s) => s.op !== "same");
    const demo = steps.filter((s) => s.urn.includes("castle:demo:Workshop$"));
    const creates = steps
      .filter((s) => !s.urn.includes("castle:demo:Workshop$"))
      .map((s) => `${s.op} ${s.type}`)
      .sort();
    assert.deepEqual(
      demo.map((s) => `${s.op} ${s.urn.split("::").pop()}`).sort(),
      [
        "create castle-demo-team-new-client",
        "create castle-demo-team-new-web",
        "create castle-demo-team-new-web",
        "update castle-demo-demo-batch-client",
        "update castle-demo-demo-shop-client",
      ],
      "the demo adds its apps to the new namespace and tells the other clients about it",
    );
    assert.deepEqual(creates, [
      "create castle:policy:UserNamespace",
      "create kubernetes:cilium.io/v2:CiliumNetworkPolicy",
      "create kubernetes:core/v1:Namespace",
    ]);
    const up = await ws.stack(STACK, ["up", "--yes", "--skip-preview"], { pack: true });
    assert.equal(up.code, 0, up.output);
    const ns = await cluster.get("/api/v1/namespaces/team-new");
    assert.equal(ns.metadata.labels.metrics, "true");
  });

  it("4b. a pull-request preview comment from a real pulumi preview: the SSH widening and a new namespace", async () => {
    const head = {
      ...config,
      jumphostCidrs: ["10.0.0.0/8"],
      userNamespaces: [
        ...(config.userNamespaces as object[]),
        { name: "team-pr", exposed: true, metrics: false },
      ],
    };
    const render = async (raw: Record<string, unknown>, name: string): Promise<string> => {
      const dir = path.join(ws.dir, "pr-renders", name);
      const rec = await recordCastle(
        parseCastleConfig(withProjectDefaults({ ...raw, kubeconfig: "" } as RawConfig)),
        STACK,
      );
      writeRender(dir, renderedObjects(rec));
      return dir;
    };
    const baseDir = await render(config, "base");
    const headDir = await render(head, "head");
    ws.writeConfig(STACK, head);
    const events = path.join(ws.dir, "preview-events.jsonl");
    // The dev stack's pack config: SSH only from the talk's jumphost network (10.1.101.0/24).
    const preview = await ws.stack(
      STACK,
      [
        "preview",
        "--json",
        "--event-log",
        events,
        "--policy-pack-config",
        path.join(PROJECT_DIR, "policypack", "config.dev.json"),
      ],
      // --event-log exists only with PULUMI_DEBUG_COMMANDS (cmd/pulumi/operations/preview.go), which
      // Pulumi's own Automation API sets for the same purpose (automation/stack.ts).
      { pack: true, env: { PULUMI_DEBUG_COMMANDS: "true" } },
    );
    ws.writeConfig(STACK, config);
    const report = parsePreview(preview.stdout, fs.readFileSync(events, "utf8"));
    const { body } = buildComment({
      stack: STACK,
      diff: diffCastles(
        { ...fromRenderDir(baseDir), source: "base" },
        { ...fromRenderDir(headDir), source: "head" },
      ),
      check: checkCastle(fromRenderDir(headDir)),
      preview: { ran: true, report, exitCode: preview.code ?? 1 },
    });
    // The README's picture of a comment is taken of this one (npm run pr-preview-picture).
    if (process.env.CASTLE_PR_COMMENT_OUT) fs.writeFileSync(process.env.CASTLE_PR_COMMENT_OUT, body);
    assert.notEqual(preview.code, 0, "the pack refuses the widening");
    // The CLI's JSON has the steps; its event log has the pack's verdict (the JSON drops policy events).
    assert.ok(
      report.layers
        .find((l) => l.layer === "node layer")
        ?.steps.some((s) => s.op === "update" && s.name === "castle-nodes-host-all"),
      body,
    );
    assert.ok(
      report.layers
        .find((l) => l.layer === "user layer")
        ?.steps.some((s) => s.op === "create" && s.type === "kubernetes:core/v1:Namespace"),
      body,
    );
    assert.deepEqual(
      [...new Set(report.violations.map((v) => `${v.level} ${v.policy}`))],
      ["mandatory no-open-ssh"],
    );
    assert.match(body, /^<!-- castle-preview stack=sim -->/);
    assert.match(
      body,
      /\*\*✗ fails\*\* · reachability: \d+ became allowed, 0 became denied, 1 namespace added · Pulumi: \d+ to create, \d+ to update/,
    );
    assert.match(body, /- \*\*the policy pack refuses: no-open-ssh\*\*/);
    assert.match(body, /allows SSH \(22\/TCP\) from 10\.0\.0\.0\/8, outside the allowed jumphost CIDRs/);
    assert.match(
      body,
      /\| `ip:10\.0\.0\.0` \| `node:control-plane` \| 22\/tcp \| denied \| allowed \| `host-all` \|/,
    );
    assert.match(body, /#### Namespace `team-pr` added: \d+ probed flows/);
    const same = await ws.stack(STACK, ["preview", "--expect-no-changes"], { pack: true });
    assert.equal(same.code, 0, `the stack is as it was\n${same.output}`);
  });

  it("5. changes that break an invariant are refused by the pack in preview, and nothing changes", async () => {
    const before = await ws.exportStack(STACK);
    const refused = async (
      what: string,
      edit: Record<string, unknown>,
      rule: string,
      message: RegExp,
      opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
    ): Promise<void> => {
      ws.writeConfig(STACK, { ...config, ...edit });
      const preview = await ws.stack(STACK, ["preview"], { pack: true, ...opts });
      assert.notEqual(preview.code, 0, `${what}: the preview fails`);
      assert.match(
        preview.output,
        new RegExp(`\\[mandatory\\]\\s+${rule}`),
        `${what}: ${rule} refuses it\n${preview.output}`,
      );
      assert.match(preview.output, message, what);
    };
    await refused(
      "the host firewall switched off",
      { ciliumValues: { hostFirewall: { enabled: false } } },
      "cilium-host-firewall-enabled",
      /hostFirewall/,
    );
    // /0 itself is refused by the config; two /1 ranges are the same internet.
    await refused(
      "SSH opened to the internet through the node layer's policy",
      { jumphostCidrs: ["0.0.0.0/1", "128.0.0.0/1"] },
      "no-open-ssh",
      /allows SSH \(22\/TCP\) from 0\.0\.0\.0\/1, outside the allowed jumphost CIDRs/,
    );
    const mutant = ws.scratchProject(path.join(__dirname, "fixtures", "mutant.ts"));
    await refused(
      "a user namespace's labels changed in the program",
      {},
      "user-namespace-walls",
      /User namespace demo-shop carries label tier=gold, which is not allowed/,
      { cwd: mutant, env: { CASTLE_REAL_MUTATION: "user-namespace-label" } },
    );
    ws.writeConfig(STACK, config);
    const after = await ws.exportStack(STACK);
    assert.deepEqual(
      after.resources.map((r) => r.urn),
      before.resources.map((r) => r.urn),
      "nothing changed",
    );
    const same = await ws.stack(STACK, ["preview", "--expect-no-changes"], { pack: true });
    assert.equal(same.code, 0, same.output);
  });

  it("8a. the API server stopped in the middle of an up gives a clear error, and the re-run converges", async () => {
    const more = ["fault-a", "fault-b", "fault-c", "fault-d"].map((name) => ({
      name,
      exposed: true,
      metrics: false,
    }));
    config = { ...config, userNamespaces: [...(config.userNamespaces as object[]), ...more] };
    ws.writeConfig(STACK, config);
    const up = ws.stack(STACK, ["up", "--yes", "--skip-preview"], { pack: true });
    // Stop the API server as soon as the first new namespace is live.
    let stopped = false;
    for (let i = 0; i < 600 && !stopped; i++) {
      const res = await cluster.request("GET", "/api/v1/namespaces/fault-a").catch(() => undefined);
      if (res?.status === 200) {
        await cluster.stopComponent("kube-apiserver");
        stopped = true;
      } else await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(stopped, "the up reached the cluster");
    const failed = await up;
    assert.notEqual(failed.code, 0, "the up fails");
    assert.match(failed.output, /connection refused|unreachable/i, "says the cluster cannot be reached");
    assert.doesNotMatch(failed.output, /at .*\.ts:\d+:\d+\)/, "no stack trace of the program");
    await cluster.restartComponent("kube-apiserver");
    const again = await ws.stack(STACK, ["up", "--yes", "--skip-preview"], { pack: true });
    assert.equal(again.code, 0, again.output);
    for (const ns of ["fault-a", "fault-b", "fault-c", "fault-d"]) {
      const live = await cluster.get(`/api/v1/namespaces/${ns}`);
      assert.equal(live.metadata.labels.exposed, "true");
    }
    const same = await ws.stack(STACK, ["preview", "--expect-no-changes"], { pack: true });
    assert.equal(same.code, 0, same.output);
  });

  it("7. pulumi destroy leaves no castle object in the cluster and an empty stack", async () => {
    const destroy = await ws.stack(STACK, ["destroy", "--yes", "--skip-preview"]);
    assert.equal(destroy.code, 0, destroy.output);
    assert.deepEqual(await livePolicies(cluster), []);
    for (const ns of ["demo-shop", "demo-batch", "team-new", "fault-a", "fault-d"]) {
      const res = await cluster.request("GET", `/api/v1/namespaces/${ns}`);
      assert.ok(res.status === 404 || res.body?.status?.phase === "Terminating", `${ns} is gone or going`);
    }
    const model = await cluster.request("GET", "/api/v1/namespaces/kube-system/configmaps/castle-model");
    assert.equal(model.status, 404);
    const state = await ws.exportStack(STACK);
    assert.deepEqual(state.resources, []);
  });
});
