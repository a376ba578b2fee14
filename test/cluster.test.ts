import { strict as assert } from "assert";
import * as YAML from "yaml";
import { buildKindConfig, kindNodeNames, INFRA_ROLE_LABEL } from "../components/cluster/kindConfig";
import { DEFAULT_KIND_NODE_IMAGE } from "../config/castleConfig";
import { MASK } from "../lib/offline/recorder";
import { buildStack, byTypeName, one, Recording } from "./harness";

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

  it("is passed on stdin to kind create cluster --config -", () => {
    const create = kindCommand().inputs.create as string;
    assert.match(create, /kind create cluster --name "\$CASTLE_CLUSTER" --config -/);
    assert.deepEqual(kindCommand().inputs.environment, { CASTLE_CLUSTER: "moat" });
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

  it("adopts an existing cluster instead of failing", () => {
    const create = cmd().inputs.create as string;
    assert.match(create, /kind get clusters .*grep -qx "\$CASTLE_CLUSTER"/);
    assert.match(create, /kind get kubeconfig --name "\$CASTLE_CLUSTER"\n$/);
  });

  it("deletes the cluster, before any replacement, and is replaced when the kind config changes", () => {
    assert.match(cmd().inputs.delete as string, /kind delete cluster --name "\$CASTLE_CLUSTER"/);
    assert.equal(cmd().deleteBeforeReplace, true);
    assert.deepEqual(cmd().inputs.triggers, [cmd().inputs.stdin]);
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
    assert.equal(provider.inputs.clusterIdentifier, "kind-castle");
    assert.ok(provider.dependencies.includes(cmd().urn));
    assert.equal(provider.parent, one(rec, (r) => r.type === "castle:cluster:KindCluster", "cluster").urn);
  });

  it("puts every in-cluster resource on that provider and deletes it with the cluster", () => {
    const provider = one(rec, (r) => r.type === PROVIDER, "kubernetes provider");
    const inCluster = rec.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
    assert.ok(inCluster.length >= 2);
    for (const r of inCluster) {
      assert.ok(r.provider?.startsWith(provider.urn), `${r.name} uses the cluster provider`);
      assert.equal(r.deletedWith, cmd().urn, `${r.name} is deletedWith the cluster`);
    }
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
