import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { buildKindConfig, clusterIdentity, kindContainerNames } from "../components/cluster/kindConfig";
import { DEFAULT_KIND_NODE_IMAGE } from "../config/castleConfig";
import { MASK } from "../render/recorder";
import { buildStack, byTypeName, devRawConfig, one, record, Recording } from "./harness";
import { parseCastleConfig } from "../config/castleConfig";
import { MOCK_KUBECONFIG, withProjectDefaults } from "../render/render";
import { INFRA_ROLE_LABEL } from "../vocabulary/labels";
import { kindNodeNames } from "../vocabulary/nodes";
import type { Untyped } from "../lib/untyped";

const COMMAND = "command:local:Command";
const PROVIDER = "pulumi:providers:kubernetes";

describe("cluster: kind config", () => {
  let rec: Recording;
  before(async () => {
    rec = await buildStack({ kindNodes: { controlPlane: 1, infra: 2, workers: 3 }, clusterName: "moat" });
  });

  const kindCommand = (): ReturnType<typeof one> =>
    one(rec, byTypeName(COMMAND, "moat-kind"), "kind command");
  const parsedConfig = (): Untyped => YAML.parse(kindCommand().inputs.stdin as string);

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
    const roles = cfg.nodes.map((n: Untyped) => n.role);
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
    assert.ok(nodes.every((n: Untyped, i: number) => i === 1 || n.extraPortMappings === undefined));
  });

  it("pins the node image on every node, overridable in config", async () => {
    assert.ok(parsedConfig().nodes.every((n: Untyped) => n.image === DEFAULT_KIND_NODE_IMAGE));
    assert.match(DEFAULT_KIND_NODE_IMAGE, /^kindest\/node:v1\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
    const other =
      "kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d";
    const cfg = buildKindConfig("c", { controlPlane: 1, infra: 1, workers: 1 }, other);
    assert.ok(cfg.nodes.every((n) => n.image === other));
  });

  it("labels the infra nodes with the infra role through the API", () => {
    const patches = rec.ofType("kubernetes:core/v1:NodePatch");
    assert.deepEqual(
      patches.map((p) => (p.inputs.metadata as Untyped).name),
      ["moat-worker", "moat-worker2"],
    );
    for (const p of patches) {
      assert.deepEqual((p.inputs.metadata as Untyped).labels, { [INFRA_ROLE_LABEL]: "" });
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
    assert.equal(rec.outputs && (rec.outputs as Untyped).kubeconfig, MASK);
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

describe("cluster: a kind cluster deleted outside Pulumi", () => {
  const dev = (): ReturnType<typeof parseCastleConfig> =>
    parseCastleConfig(withProjectDefaults(devRawConfig()));

  it("stops the run before anything reaches the cluster, naming it and what to do", async () => {
    await assert.rejects(
      record(dev(), "dev", { "command:local:run": () => ({ stdout: "other\n", stderr: "" }) }),
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
      record(dev(), "prod", {
        "command:local:run": () => ({ stdout: "No kind clusters found.\n", stderr: "" }),
      }),
      /Run `STACK=prod npm run down`/,
    );
  });

  it("stops the run when a cluster of that name is another one (its CA changed)", async () => {
    await assert.rejects(
      record(dev(), "dev", {
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
    const rec = await record(dev(), "dev", {
      "command:local:run": () => ({ stdout: "castle\ncastle:ca:\n", stderr: "" }),
    });
    assert.ok(rec.resources.length > 10);
  });

  it("goes on when kind cannot tell (no kind on PATH, no Docker)", async () => {
    const rec = await record(dev(), "dev", {
      "command:local:run": () => ({ stdout: "castle:cannot-tell: kind is not on PATH\n", stderr: "" }),
    });
    assert.ok(rec.resources.length > 10);
  });
});
