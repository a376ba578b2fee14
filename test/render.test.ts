import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { readYamlObjects } from "../verifier/objects";
import { inventory, loadStackConfig, renderedObjects, writeRender } from "../render/render";
import { record, tempDir } from "./harness";
import type { Untyped } from "../lib/untyped";

describe("render: npm run render -- --stack dev", () => {
  it("prints the inventory: kind cluster, provider, Cilium release with its values, and the CRD gate", async () => {
    const inv = inventory(await record(loadStackConfig("dev"), "dev"));
    const types = inv.map((e) => e.type);
    for (const t of [
      "castle:cluster:KindCluster",
      "command:local:Command",
      "pulumi:providers:kubernetes",
      "castle:cilium:Cilium",
      "kubernetes:helm.sh/v3:Release",
    ]) {
      assert.ok(types.includes(t), `inventory lists ${t}`);
    }
    const gate = inv.find((e) => e.name === "castle-cilium-crd-gate");
    assert.ok(gate, "the CRD gate is in the inventory");
    const release = inv.find(
      (e) => e.type === "kubernetes:helm.sh/v3:Release" && e.inputs.name === "cilium",
    )!;
    assert.equal((release.inputs.values as Untyped).hostFirewall.enabled, true);
    assert.ok(gate.dependencies.includes(release.urn));
    assert.ok(!JSON.stringify(inv).includes("kind: Config"), "the kubeconfig never appears unmasked");
  });

  it("refuses to overwrite a directory that is not a render", () => {
    const dir = tempDir("castle-render-");
    fs.writeFileSync(path.join(dir, "precious.txt"), "keep me");
    assert.throws(() => writeRender(dir, []), /not empty and holds no earlier render/);
    assert.equal(fs.readFileSync(path.join(dir, "precious.txt"), "utf8"), "keep me");
  });

  it("names the file and line of a YAML error in a render directory", () => {
    const dir = tempDir("castle-render-");
    fs.writeFileSync(path.join(dir, "bad.yaml"), "kind: Namespace\nmetadata: [oops\n");
    assert.throws(() => readYamlObjects(dir), /bad\.yaml:3:1: not valid YAML: /);
  });

  it("renders the objects sorted by file", async () => {
    const objs = renderedObjects(await record(loadStackConfig("dev"), "dev"));
    const files = objs.map((o) => o.file);
    assert.deepEqual(files, [...files].sort());
    assert.equal(new Set(files).size, files.length, "one file per object");
  });
});
