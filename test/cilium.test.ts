import { strict as assert } from "assert";
import * as fs from "fs";
import Ajv, { type ValidateFunction } from "ajv";
import { buildCiliumValues, valuePaths } from "../components/cilium/values";
import { deepMerge } from "../lib/helm/values";
import { CILIUM_POLICY_CRDS } from "../components/cilium/crdGate";
import { parseCastleConfig } from "../config/castleConfig";
import { ancestors, buildStack, byTypeName, devRawConfig, one, Recording, shared } from "./harness";
import { loadChartValues } from "./support/valuesPaths";
import type { Untyped } from "../lib/untyped";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const chartValues = loadChartValues(shared("cilium", "chart-1.19.5", "values.yaml"));
const schema = JSON.parse(fs.readFileSync(shared("cilium", "chart-1.19.5", "values.schema.json"), "utf8"));

// Compiled once, on first use: the chart's schema takes longer to compile than the tests take to run.
let chartSchema: ValidateFunction | undefined;

function validateAgainstChartSchema(values: unknown): string[] {
  chartSchema ??= new Ajv({ strict: false, allErrors: true }).compile(schema);
  const validate = chartSchema;
  return validate(values) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

describe("cilium: Helm release", () => {
  let rec: Recording;
  before(async () => {
    rec = await buildStack(devRawConfig());
  });
  const release = (): ReturnType<typeof one> =>
    one(rec, (r) => r.type === RELEASE && r.inputs.name === "cilium", "cilium release");

  it("installs chart cilium from helm.cilium.io into kube-system as release cilium, at the configured version", async () => {
    const i = release().inputs;
    assert.equal(i.chart, "cilium");
    assert.equal(i.name, "cilium");
    assert.equal(i.namespace, "kube-system");
    assert.equal(i.version, "1.19.5");
    assert.deepEqual(i.repositoryOpts, { repo: "https://helm.cilium.io/" });
    const other = await buildStack({ ciliumVersion: "1.18.4" });
    assert.equal(
      one(other, (r) => r.type === RELEASE && r.inputs.name === "cilium", "release").inputs.version,
      "1.18.4",
    );
  });

  it("sets the castle's values on kind", () => {
    const v = release().inputs.values as Untyped;
    assert.deepEqual(v.hostFirewall, { enabled: true });
    assert.equal(v.policyAuditMode, true);
    assert.equal(v.kubeProxyReplacement, true);
    assert.equal(v.k8sServiceHost, "castle-control-plane");
    assert.equal(v.k8sServicePort, 6443);
    assert.deepEqual(v.ipam, { mode: "kubernetes" });
    assert.equal(v.operator.replicas, 2);
    assert.equal(v.hubble.relay.enabled, true);
    assert.equal(v.hubble.ui.enabled, true);
    assert.equal(v.devices, undefined, "devices are auto-detected unless configured");
  });

  it("passes the chart's values.schema.json", () => {
    assert.deepEqual(validateAgainstChartSchema(release().inputs.values), []);
  });

  it("uses only key paths that exist in the chart's values.yaml", () => {
    const paths = valuePaths(release().inputs.values as Record<string, unknown>);
    assert.ok(paths.includes("policyAuditMode"));
    for (const p of paths) assert.ok(chartValues.has(p), `${p} is not a value of the cilium 1.19.5 chart`);
  });

  it("the key-path check catches a typo and accepts the commented keys", () => {
    assert.equal(chartValues.has("hostFirewal.enabled"), false);
    assert.equal(chartValues.has("hostFirewall.enable"), false);
    assert.equal(chartValues.has("hubble.relay.enabled"), true);
    assert.equal(chartValues.has("policyAuditMode"), true);
    assert.equal(chartValues.has("devices"), true);
    assert.equal(chartValues.has("hubble.devices"), false);
    // The schema alone accepts unknown keys: this is why the path check exists.
    assert.deepEqual(validateAgainstChartSchema({ hostFirewal: { enabled: true } }), []);
  });

  it("audit mode, devices and extra values come from config", () => {
    const base = parseCastleConfig({});
    const v = buildCiliumValues({
      config: {
        ...base,
        policyAuditMode: false,
        ciliumDevices: ["eth0", "eth1"],
        ciliumValues: { hubble: { ui: { enabled: false } }, debug: { enabled: true } },
      },
    }) as Untyped;
    assert.equal(v.policyAuditMode, false);
    assert.deepEqual(v.devices, ["eth0", "eth1"]);
    assert.equal(v.hubble.ui.enabled, false);
    assert.equal(v.hubble.relay.enabled, true, "merging keeps sibling values");
    assert.equal(v.debug.enabled, true);
    assert.deepEqual(validateAgainstChartSchema(v), []);
    for (const p of valuePaths(v)) assert.ok(chartValues.has(p), p);
  });

  it("merges extra values as Helm does: maps by key, lists replaced", () => {
    assert.deepEqual(deepMerge({ a: { b: 1, c: [1, 2] } }, { a: { c: [3] }, d: 4 }), {
      a: { b: 1, c: [3] },
      d: 4,
    });
  });

  it("does not set kind-only values on an existing cluster", async () => {
    const ex = await buildStack({ clusterProvider: "existing" });
    const v = one(ex, (r) => r.type === RELEASE, "release").inputs.values as Untyped;
    assert.equal(v.ipam, undefined);
    assert.equal(v.k8sServiceHost, undefined);
    assert.equal(v.hostFirewall.enabled, true);
  });

  it("points agents at kind's load balancer when there are several control planes", async () => {
    const ha = await buildStack({ kindNodes: { controlPlane: 3, infra: 1, workers: 1 } });
    const v = one(ha, (r) => r.type === RELEASE, "release").inputs.values as Untyped;
    assert.equal(v.k8sServiceHost, "castle-external-load-balancer");
  });

  it("waits for the infra node labels, which the chart's pods may be scheduled by", () => {
    const patches = rec.ofType("kubernetes:core/v1:NodePatch").map((p) => p.urn);
    assert.ok(patches.length > 0);
    for (const p of patches) assert.ok(release().dependencies.includes(p));
  });
});

describe("cilium: CRD readiness gate", () => {
  let rec: Recording;
  before(async () => {
    rec = await buildStack(devRawConfig());
  });
  const gate = (): ReturnType<typeof one> =>
    one(rec, byTypeName("command:local:Command", "castle-cilium-crd-gate"), "CRD gate");

  it("waits until both policy CRDs exist and are Established", () => {
    const script = gate().inputs.create as string;
    for (const crd of CILIUM_POLICY_CRDS) assert.ok(script.includes(crd));
    assert.deepEqual(
      [...CILIUM_POLICY_CRDS],
      ["ciliumnetworkpolicies.cilium.io", "ciliumclusterwidenetworkpolicies.cilium.io"],
    );
    assert.match(script, /until kubectl get crd "\$crd"/);
    assert.match(script, /kubectl wait --for=condition=Established/);
    assert.match(script, /exit 1/, "gives up with an error after the timeout");
  });

  it("runs after the Cilium release, with the kubeconfig as a secret", () => {
    const release = one(rec, (r) => r.type === RELEASE && r.inputs.name === "cilium", "release");
    assert.ok(gate().dependencies.includes(release.urn));
    assert.equal((gate().maskedInputs.environment as Untyped).CASTLE_KUBECONFIG, "[secret]");
  });

  it("belongs to the Cilium component and is deleted with the cluster", () => {
    const parents = ancestors(rec, gate()).map((r) => r.type);
    assert.deepEqual(parents, ["castle:cilium:Cilium"]);
    const cluster = one(rec, byTypeName("command:local:Command", "castle-kind"), "kind command");
    assert.equal(gate().deletedWith, cluster.urn);
  });

  it("uses the ambient kubeconfig on an existing cluster without a kubeconfig secret", async () => {
    const ex = await buildStack({ clusterProvider: "existing" });
    const g = one(ex, (r) => r.name.endsWith("-crd-gate"), "gate");
    assert.deepEqual(g.inputs.environment, {});
  });
});
