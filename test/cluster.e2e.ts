// The kind command's scripts run by bash, with a stub kind and kubectl on PATH: what they create, adopt,
// refuse and delete. The recorded resources themselves are tested in process in cluster.test.ts.

import { strict as assert } from "assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { kindContainerNames } from "../components/cluster/kindConfig";
import { LIST_CLUSTERS } from "../components/cluster/kindCluster";
import { buildStack, byTypeName, one, Recording } from "./harness";

const COMMAND = "command:local:Command";

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
});

describe("cluster: a kind cluster deleted outside Pulumi", () => {
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
