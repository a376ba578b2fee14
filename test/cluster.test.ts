import { strict as assert } from "assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { buildKindConfig, clusterIdentity, kindContainerNames } from "../components/cluster/kindConfig";
import { DEFAULT_KIND_NODE_IMAGE } from "../config/castleConfig";
import { MASK } from "../render/recorder";
import { buildStack, byTypeName, devRawConfig, one, Recording } from "./harness";
import { parseCastleConfig } from "../config/castleConfig";
import { MOCK_KUBECONFIG, recordCastle, withProjectDefaults } from "../render/render";
import { LIST_CLUSTERS } from "../components/cluster/kindCluster";
import { INFRA_ROLE_LABEL } from "../vocabulary/labels";
import { kindNodeNames } from "../vocabulary/nodes";

const COMMAND = "command:local:Command";
const PROVIDER = "pulumi:providers:kubernetes";

describe("cluster: kind config", () => {
  let rec: Recording;
  before(async () => {
    rec = await buildStack({ kindNodes: { controlPlane: 1, infra: 2, workers: 3 }, clusterName: "moat" });
  });

  const kindCommand = (): ReturnType<typeof one> =>
    one(rec, byTypeName(COMMAND, "moat-kind"), "kind command");
  const parsedConfig = (): any => YAML.parse(kindCommand().inputs.stdin as string);

  it("is passed on stdin to the create script, which hands it to kind create cluster", () => {
    const create = kindCommand().inputs.create as string;
    assert.match(create, /kind create cluster --name "\$CASTLE_CLUSTER" --config "\$scratch\/kind.yaml"/);
    const env = kindCommand().inputs.environment as Record<string, string>;
    assert.equal(env.CASTLE_CLUSTER, "moat");
    assert.equal(
      env.CASTLE_NODES,
      "moat-control-plane moat-worker moat-worker2 moat-worker3 moat-worker4 moat-worker5",
    );
  });

  it("has one control plane, N tainted infra nodes and M workers", () => {
    const cfg = parsedConfig();
    assert.equal(cfg.kind, "Cluster");
    assert.equal(cfg.apiVersion, "kind.x-k8s.io/v1alpha4");
    assert.equal(cfg.name, "moat");
    const roles = cfg.nodes.map((n: any) => n.role);
    assert.deepEqual(roles, ["control-plane", "worker", "worker", "worker", "worker", "worker"]);
    const infra = cfg.nodes.slice(1, 3);
    for (const n of infra) {
      const patch = YAML.parse(n.kubeadmConfigPatches[0]);
      assert.deepEqual(patch, {
        kind: "JoinConfiguration",
        nodeRegistration: { taints: [{ key: "node-role.kubernetes.io/infra", effect: "NoSchedule" }] },
      });
      // kind applies `labels` through the kubelet, which may not set node-role labels on itself.
      assert.equal(n.labels, undefined);
    }
    for (const n of cfg.nodes.slice(3)) assert.equal(n.kubeadmConfigPatches, undefined);
  });

  it("disables the default CNI and kube-proxy", () => {
    assert.deepEqual(parsedConfig().networking, { disableDefaultCNI: true, kubeProxyMode: "none" });
  });

  it("maps host ports 80 and 443 to the first infra node only", () => {
    const nodes = parsedConfig().nodes;
    assert.deepEqual(nodes[1].extraPortMappings, [
      { containerPort: 80, hostPort: 80, protocol: "TCP" },
      { containerPort: 443, hostPort: 443, protocol: "TCP" },
    ]);
    assert.ok(nodes.every((n: any, i: number) => i === 1 || n.extraPortMappings === undefined));
  });

  it("pins the node image on every node, overridable in config", async () => {
    assert.ok(parsedConfig().nodes.every((n: any) => n.image === DEFAULT_KIND_NODE_IMAGE));
    assert.match(DEFAULT_KIND_NODE_IMAGE, /^kindest\/node:v1\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
    const other =
      "kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d";
    const cfg = buildKindConfig("c", { controlPlane: 1, infra: 1, workers: 1 }, other);
    assert.ok(cfg.nodes.every((n) => n.image === other));
  });

  it("labels the infra nodes with the infra role through the API", () => {
    const patches = rec.ofType("kubernetes:core/v1:NodePatch");
    assert.deepEqual(
      patches.map((p) => (p.inputs.metadata as any).name),
      ["moat-worker", "moat-worker2"],
    );
    for (const p of patches) {
      assert.deepEqual((p.inputs.metadata as any).labels, { [INFRA_ROLE_LABEL]: "" });
      assert.equal(p.deletedWith, kindCommand().urn);
    }
  });

  it("names nodes as kind does", () => {
    assert.deepEqual(kindNodeNames("c", { controlPlane: 3, infra: 1, workers: 2 }), [
      { name: "c-control-plane", role: "control-plane" },
      { name: "c-control-plane2", role: "control-plane" },
      { name: "c-control-plane3", role: "control-plane" },
      { name: "c-worker", role: "infra" },
      { name: "c-worker2", role: "worker" },
      { name: "c-worker3", role: "worker" },
    ]);
  });
});

describe("cluster: the kind command's lifecycle", () => {
  let rec: Recording;
  before(async () => {
    rec = await buildStack({});
  });
  const cmd = (): ReturnType<typeof one> => one(rec, byTypeName(COMMAND, "castle-kind"), "kind command");

  const hash = (): string => (cmd().inputs.environment as Record<string, string>).CASTLE_CONFIG_HASH!;

  it("marks each cluster it builds with its owner (project/stack) and its config's hash", () => {
    assert.equal((cmd().inputs.environment as Record<string, string>).CASTLE_OWNER, "cilium-castle/test");
    assert.match(hash(), /^[0-9a-f]{16}$/);
    const run = runWithStubKind(cmd(), { clusters: [], nodes: [] });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, kubeconfigWithCa("NEW"));
    const create = run.calls.find((c) => c.startsWith("kind create cluster"));
    assert.match(
      create ?? "",
      /^kind create cluster --name castle --config \/\S+\/kind\.yaml --kubeconfig \/\S+\/kubeconfig$/,
    );
    assert.equal(run.config, cmd().inputs.stdin, "kind got the generated config");
    assert.ok(
      run.calls.some(
        (c) =>
          c.startsWith(`kubectl --kubeconfig`) &&
          c.includes(
            `create configmap castle-kind --from-literal=owner=cilium-castle/test --from-literal=configHash=${hash()}`,
          ),
      ),
    );
    assert.ok(!fs.existsSync(path.dirname(create!.split(" ").pop()!)), "the scratch kubeconfig is removed");
  });

  it("adopts its own cluster built from this config (a failed up re-run)", () => {
    const run = runWithStubKind(cmd(), {
      clusters: ["castle"],
      nodes: [],
      marker: { owner: "cilium-castle/test", configHash: hash() },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /already exists with this config; adopting it/);
    assert.ok(!run.calls.some((c) => c.startsWith("kind create") || c.startsWith("kind delete")));
  });

  it("replaces its own cluster built from another config: kind cannot change a cluster's nodes", () => {
    const run = runWithStubKind(cmd(), {
      clusters: ["castle"],
      nodes: [],
      marker: { owner: "cilium-castle/test", configHash: "0123456789abcdef" },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /was built by this stack from another config; replacing it/);
    const order = run.calls
      .filter((c) => /^kind (create|delete)/.test(c))
      .map((c) => c.split(" ").slice(0, 2).join(" "));
    assert.deepEqual(order, ["kind delete", "kind create"]);
    assert.equal(run.stdout, kubeconfigWithCa("NEW"));
  });

  it("refuses a cluster another stack built, whatever its config, and touches nothing", () => {
    for (const configHash of [hash(), "0123456789abcdef"]) {
      const run = runWithStubKind(cmd(), {
        clusters: ["castle"],
        nodes: kindContainerNames("castle", DEV_NODES),
        marker: { owner: "cilium-castle/dev", configHash },
      });
      assert.equal(run.status, 1);
      assert.equal(run.stdout, "", "no kubeconfig: nothing may be created on that cluster");
      assert.equal(
        run.stderr.trim(),
        "cilium-castle: kind cluster castle belongs to stack cilium-castle/dev. Give this stack a cluster of its own (pulumi config set clusterName <name>), or destroy that stack first.",
      );
      assert.ok(!run.calls.some((c) => /^kind (create|delete)|apply -f/.test(c)), run.calls.join("\n"));
    }
  });

  it("stops when it cannot read a cluster's marker, rather than taking the cluster for unmarked", () => {
    const run = runWithStubKind(cmd(), {
      clusters: ["castle"],
      nodes: kindContainerNames("castle", DEV_NODES),
      kubectl: "failing",
    });
    assert.equal(run.status, 1);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /The connection to the server 127\.0\.0\.1:1 was refused/);
    assert.ok(!run.calls.some((c) => /^kind (create|delete)/.test(c)));
  });

  it("says kubectl is missing before it creates anything", () => {
    const run = runWithStubKind(cmd(), { clusters: [], nodes: [], kubectl: "missing" });
    assert.equal(run.status, 1);
    assert.equal(
      run.stderr.trim(),
      "cilium-castle: kubectl is not on PATH: the castle marks and checks its kind clusters with it (see README, Prerequisites)",
    );
    assert.deepEqual(run.calls, [], "neither kind nor kubectl was run");
  });

  it("adopts someone else's cluster only with the configured nodes, and marks it", () => {
    const run = runWithStubKind(cmd(), {
      clusters: ["castle"],
      nodes: kindContainerNames("castle", DEV_NODES),
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /already exists with the configured nodes; adopting it/);
    assert.ok(!run.calls.some((c) => c.startsWith("kind create")), "kind create is not called");
    assert.ok(run.calls.some((c) => c.includes("create configmap castle-kind")));
  });

  it("refuses someone else's cluster whose nodes differ from kindNodes, naming both", () => {
    const run = runWithStubKind(cmd(), {
      clusters: ["castle"],
      nodes: ["castle-control-plane", "castle-worker"],
    });
    assert.equal(run.status, 1);
    assert.equal(run.stdout, "", "no kubeconfig: nothing may be created on that cluster");
    assert.match(
      run.stderr,
      /kind cluster castle already exists with nodes \[ castle-control-plane castle-worker \] but this stack's kindNodes give \[ castle-control-plane castle-worker castle-worker2 castle-worker3 \]\. Delete it with 'kind delete cluster --name castle', or set kindNodes to match it/,
    );
    assert.ok(!run.calls.some((c) => c.startsWith("kind delete") || c.startsWith("kind create")));
  });

  it("deletes the cluster it created, through a scratch kubeconfig", () => {
    const run = runWithStubKind(
      cmd(),
      { clusters: ["castle"], nodes: [], ca: "OLD" },
      "delete",
      kubeconfigWithCa("OLD"),
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.calls.join("\n"), /^kind delete cluster --name castle --kubeconfig \/\S+\/kubeconfig$/m);
  });

  it("leaves a newer cluster of the same name (the one that replaced it)", () => {
    const run = runWithStubKind(
      cmd(),
      { clusters: ["castle"], nodes: [], ca: "NEW" },
      "delete",
      kubeconfigWithCa("OLD"),
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /is a newer cluster than the one this resource created; leaving it/);
    assert.ok(!run.calls.some((c) => c.startsWith("kind delete")));
  });

  it("does not delete a cluster it cannot identify (kind get kubeconfig fails)", () => {
    const run = runWithStubKind(
      cmd(),
      { clusters: ["castle"], nodes: [], ca: "" },
      "delete",
      kubeconfigWithCa("OLD"),
    );
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /kind cluster castle exists but 'kind get kubeconfig' fails: not deleting a cluster this resource cannot identify\. Delete it by hand \(kind delete cluster --name castle\) if it is yours\./,
    );
    assert.ok(!run.calls.some((c) => c.startsWith("kind delete")));
  });

  it("is replaced when the kind config changes, the new cluster before the old command's delete", () => {
    assert.deepEqual(cmd().inputs.triggers, [cmd().inputs.stdin]);
    // Not delete-before-replace: the engine would delete every object of the old cluster one by one
    // first, in an order it does not keep for replaceWith and with a provider it has already closed.
    assert.equal(cmd().deleteBeforeReplace, false);
  });

  it("keeps the kubeconfig secret and off the logs", () => {
    assert.equal(cmd().inputs.logging, "stderr");
    assert.deepEqual(cmd().additionalSecretOutputs, ["stdout"]);
    const provider = one(rec, (r) => r.type === PROVIDER, "kubernetes provider");
    assert.equal(provider.maskedInputs.kubeconfig, MASK);
    assert.equal(rec.outputs && (rec.outputs as any).kubeconfig, MASK);
  });

  it("gives the Kubernetes provider a clusterIdentifier and the kubeconfig", () => {
    const provider = one(rec, (r) => r.type === PROVIDER, "kubernetes provider");
    // The identifier names the cluster instance (a hash of its CA): a recreated cluster replaces the
    // provider, and the engine every object on it.
    assert.equal(provider.inputs.clusterIdentifier, `kind-castle-${clusterIdentity(MOCK_KUBECONFIG)}`);
    assert.ok(provider.dependencies.includes(cmd().urn));
    assert.equal(provider.parent, one(rec, (r) => r.type === "castle:cluster:KindCluster", "cluster").urn);
  });

  it("puts every in-cluster resource on that provider and deletes it with the cluster", () => {
    const provider = one(rec, (r) => r.type === PROVIDER, "kubernetes provider");
    const inCluster = rec.resources.filter(
      (r) =>
        r.custom && (r.type.startsWith("kubernetes:") || r.name.endsWith("-crd-gate")) && r.type !== PROVIDER,
    );
    assert.ok(inCluster.length >= 2);
    for (const r of inCluster) {
      if (r.type.startsWith("kubernetes:"))
        assert.ok(r.provider?.startsWith(provider.urn), `${r.name} uses the cluster provider`);
      assert.equal(r.deletedWith, cmd().urn, `${r.name} is deletedWith the cluster`);
      // Not replaceWith: the engine orders those deletes by map iteration (findResourcesReplacedWith).
      assert.deepEqual(r.replaceWith, [], `${r.name} is replaced through the provider`);
    }
  });
});

describe("cluster: identity and names", () => {
  const kubeconfig = (ca: string, user: string): string =>
    YAML.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        { name: "kind-castle", cluster: { server: "https://127.0.0.1:1", "certificate-authority-data": ca } },
      ],
      users: [{ name: "kind-castle", user: { token: user } }],
    });

  it("is the cluster's CA: a new cluster of the same name is a new identity, a new client key is not", () => {
    assert.equal(clusterIdentity(kubeconfig("Q0Ex", "a")), clusterIdentity(kubeconfig("Q0Ex", "b")));
    assert.notEqual(clusterIdentity(kubeconfig("Q0Ex", "a")), clusterIdentity(kubeconfig("Q0Ey", "a")));
    assert.match(clusterIdentity(kubeconfig("Q0Ex", "a")), /^[0-9a-f]{12}$/);
  });

  it("lists kind's load balancer among the nodes of a cluster with several control planes", () => {
    assert.deepEqual(kindContainerNames("c", { controlPlane: 2, infra: 1, workers: 1 }), [
      "c-control-plane",
      "c-control-plane2",
      "c-external-load-balancer",
      "c-worker",
      "c-worker2",
    ]);
  });
});

describe("cluster: existing clusters", () => {
  it("skips kind and uses the ambient kubeconfig", async () => {
    const rec = await buildStack({ clusterProvider: "existing", clusterName: "prod-eu" });
    assert.equal(rec.resources.filter((r) => r.type === COMMAND && r.name.endsWith("-kind")).length, 0);
    assert.equal(rec.resources.filter((r) => r.type === "castle:cluster:KindCluster").length, 0);
    const provider = one(rec, (r) => r.type === PROVIDER, "kubernetes provider");
    assert.deepEqual(provider.inputs, { clusterIdentifier: "prod-eu" });
    for (const r of rec.resources.filter((x) => x.custom && x.type.startsWith("kubernetes:"))) {
      assert.equal(r.deletedWith, undefined, "an existing cluster is not deleted with anything");
    }
  });

  it("uses a kubeconfig secret from config, kept secret", async () => {
    const rec = await buildStack({
      clusterProvider: "existing",
      kubeconfig: "apiVersion: v1\nkind: Config\n",
    });
    const provider = one(rec, (r) => r.type === PROVIDER, "kubernetes provider");
    assert.equal(provider.inputs.kubeconfig, "apiVersion: v1\nkind: Config\n");
    assert.equal(provider.maskedInputs.kubeconfig, MASK);
  });
});

const DEV_NODES = { controlPlane: 1, infra: 1, workers: 2 };
const kubeconfigWithCa = (ca: string): string =>
  `apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: ${ca}\n    server: https://127.0.0.1:1\n  name: kind-castle\n`;

/** A folder on PATH with the shell utilities the scripts use and nothing else (no kubectl). */
function coreutilsOnly(dir: string): string {
  const bin = path.join(dir, "core");
  fs.mkdirSync(bin);
  for (const tool of ["cat", "mktemp", "rm", "grep", "sed", "head", "sort", "tr", "cp", "dirname"]) {
    const found = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    if (found) fs.symlinkSync(found, path.join(bin, tool));
  }
  return bin;
}

/**
 * Runs a kind command resource's create (or delete) script with bash, and a stub `kind` and `kubectl` on
 * PATH: kind answers `get clusters`, `get nodes` and `get kubeconfig` (a cluster whose CA is `ca`, "NEW"
 * by default) from the given state, kubectl answers the castle's marker ConfigMap; both record every call.
 */
function runWithStubKind(
  resource: { inputs: Record<string, unknown> },
  state: {
    clusters: string[];
    nodes: string[];
    marker?: { owner: string; configHash: string };
    ca?: string;
    kubectl?: "missing" | "failing";
  },
  script: "create" | "delete" = "create",
  previousStdout?: string,
): { status: number | null; stdout: string; stderr: string; calls: string[]; config: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "castle-stub-kind-"));
  try {
    const calls = path.join(dir, "calls");
    const configFile = path.join(dir, "config");
    fs.writeFileSync(
      path.join(dir, "kind"),
      `#!/usr/bin/env bash
echo "kind $*" >> "${calls}"
case "$1 $2" in
  "get clusters") printf '%s\\n' ${state.clusters.join(" ")} ;;
  "get nodes") printf '%s\\n' ${state.nodes.join(" ")} ;;
  "get kubeconfig") ${state.ca === "" ? `echo 'ERROR: failed to get cluster internal kubeconfig' >&2; exit 1` : `printf '%s' "${kubeconfigWithCa(state.ca ?? "NEW")}"`} ;;
  "create cluster") cp "$6" "${configFile}"; echo "Creating cluster" >&2 ;;
  "delete cluster") echo "Deleting cluster" >&2 ;;
esac
`,
      { mode: 0o755 },
    );
    fs.writeFileSync(
      path.join(dir, state.kubectl === "missing" ? "not-kubectl" : "kubectl"),
      `#!/usr/bin/env bash
echo "kubectl $*" >> "${calls}"
${state.kubectl === "failing" ? `echo 'The connection to the server 127.0.0.1:1 was refused' >&2; exit 1` : ""}
case "$*" in
  *"get configmap castle-kind --ignore-not-found -o jsonpath={.data.owner}") printf '%s' "${state.marker?.owner ?? ""}" ;;
  *"get configmap castle-kind --ignore-not-found -o jsonpath={.data.configHash}") printf '%s' "${state.marker?.configHash ?? ""}" ;;
  *"create configmap"*) echo "kind: ConfigMap" ;;
  *"apply -f -"*) cat > /dev/null; echo "configmap/castle-kind created" ;;
esac
`,
      { mode: 0o755 },
    );
    const inputs = resource.inputs;
    const res = spawnSync("/bin/bash", ["-c", inputs[script] as string], {
      input: script === "create" ? ((inputs.stdin as string | undefined) ?? "") : "",
      encoding: "utf8",
      env: {
        PATH: state.kubectl === "missing" ? `${dir}:${coreutilsOnly(dir)}` : `${dir}:${process.env.PATH}`,
        // Node's stdio pipes are sockets: without SHLVL bash takes itself for an rsh session and reads
        // ~/.bashrc (bash's shell.c, run_startup_files), which would write to stderr.
        SHLVL: "1",
        ...(inputs.environment as Record<string, string>),
        ...(previousStdout !== undefined ? { PULUMI_COMMAND_STDOUT: previousStdout } : {}),
      },
    });
    return {
      status: res.status,
      stdout: res.stdout,
      stderr: res.stderr,
      calls: fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : [],
      config: fs.existsSync(configFile) ? fs.readFileSync(configFile, "utf8") : "",
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("cluster: a kind cluster deleted outside Pulumi", () => {
  const dev = (): ReturnType<typeof parseCastleConfig> =>
    parseCastleConfig(withProjectDefaults(devRawConfig()));

  it("stops the run before anything reaches the cluster, naming it and what to do", async () => {
    await assert.rejects(
      recordCastle(dev(), "dev", { "command:local:run": () => ({ stdout: "other\n", stderr: "" }) }),
      (e: Error) => {
        assert.ok(pulumi.RunError.isInstance(e), "a user-facing error, printed without a stack trace");
        assert.match(
          e.message,
          // The SDK prefixes the property it was serializing (runtime/rpc.ts); the message stays whole.
          /kind cluster castle no longer exists: it was deleted outside Pulumi \(kind delete cluster, a Docker reset\), and every object in it with it\. Run `npm run down` to clear the stack \(nothing is left to delete\), then `npm run up` to build the castle again\.$/,
        );
        return true;
      },
    );
    await assert.rejects(
      recordCastle(dev(), "prod", {
        "command:local:run": () => ({ stdout: "No kind clusters found.\n", stderr: "" }),
      }),
      /Run `STACK=prod npm run down`/,
    );
  });

  it("stops the run when a cluster of that name is another one (its CA changed)", async () => {
    await assert.rejects(
      recordCastle(dev(), "dev", {
        "command:local:run": () => ({ stdout: "castle\ncastle:ca:T1RIRVI=\n", stderr: "" }),
      }),
      (e: Error) => {
        assert.ok(pulumi.RunError.isInstance(e));
        assert.match(
          e.message,
          /kind cluster castle is not the one this stack created: it was deleted and created again outside Pulumi \(its certificate authority changed\), without this stack's objects\. Run `npm run down` to clear the stack/,
        );
        return true;
      },
    );
    // kind could list the cluster but not give its kubeconfig: nothing to compare, the run goes on.
    const rec = await recordCastle(dev(), "dev", {
      "command:local:run": () => ({ stdout: "castle\ncastle:ca:\n", stderr: "" }),
    });
    assert.ok(rec.resources.length > 10);
  });

  it("goes on when kind cannot tell (no kind on PATH, no Docker)", async () => {
    const rec = await recordCastle(dev(), "dev", {
      "command:local:run": () => ({ stdout: "castle:cannot-tell: kind is not on PATH\n", stderr: "" }),
    });
    assert.ok(rec.resources.length > 10);
  });

  it("asks kind with a script that says when it cannot tell", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "castle-no-kind-"));
    const script = LIST_CLUSTERS;
    const noKind = spawnSync("/bin/bash", ["-c", script], { encoding: "utf8", env: { PATH: dir } });
    assert.equal(noKind.stdout, "castle:cannot-tell: kind is not on PATH\n");
    fs.writeFileSync(
      path.join(dir, "kind"),
      "#!/bin/bash\necho 'ERROR: failed to list clusters: docker not running' >&2; exit 1\n",
      { mode: 0o755 },
    );
    const noDocker = spawnSync("/bin/bash", ["-c", script], {
      encoding: "utf8",
      env: { PATH: `${dir}:/usr/bin:/bin` },
    });
    assert.equal(noDocker.stdout, "castle:cannot-tell: ERROR: failed to list clusters: docker not running\n");
    fs.writeFileSync(
      path.join(dir, "kind"),
      `#!/bin/bash\ncase "$1 $2" in\n  "get clusters") printf 'castle\\nother\\n' ;;\n  "get kubeconfig") printf '%s' "${kubeconfigWithCa("Q0FEQVRB")}" ;;\nesac\n`,
      { mode: 0o755 },
    );
    const found = spawnSync("/bin/bash", ["-c", script], {
      encoding: "utf8",
      env: { PATH: `${dir}:/usr/bin:/bin`, CASTLE_CLUSTER: "castle" },
    });
    assert.equal(found.stdout, "castle\nother\ncastle:ca:Q0FEQVRB\n", found.stderr);
    const absent = spawnSync("/bin/bash", ["-c", script], {
      encoding: "utf8",
      env: { PATH: `${dir}:/usr/bin:/bin`, CASTLE_CLUSTER: "prod" },
    });
    assert.equal(absent.stdout, "castle\nother\n", "no CA line for a cluster that is not there");
  });
});
