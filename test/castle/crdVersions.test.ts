// The castle command judges the policies with the CRD schema of the stack's Cilium version (the render's
// Cilium chart), refuses what that API server refuses, and reads a field it drops as gone. The schema
// cache answers per version and per revision of the check.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { castle, renderTo } from "./support";
import { cachedSchemaErrors, schemaCacheDir } from "../../cli/schemaCache";
import { projectRoot } from "../../lib/projectRoot";

const policy = (name: string, ingress: string) =>
  `apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: ${name}, namespace: demo-shop}\nspec:\n  description: ${name}\n  endpointSelector: {}\n  ingress:\n  - ${ingress}\n`;

const POLICIES = [
  policy("sni", `toPorts: [{ports: [{port: "443", protocol: TCP}], serverNames: ["api*.example.com"]}]`),
  policy("kafka", `toPorts: [{ports: [{port: "9092", protocol: TCP}], rules: {kafka: [{topic: t}]}}]`),
].join("---\n");

const refused = (err: string): string[] =>
  err
    .split("\n")
    .filter((l) => l.includes("is refused by the API server ("))
    .map((l) => l.replace(/^castle: warning: /, "").split(" (it takes no effect)")[0]!);

describe("castle: the CRD schema of the stack's Cilium version", function () {
  this.timeout(120_000);
  let file: string;
  before(() => {
    file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "castle-crd-")), "policies.yaml");
    fs.writeFileSync(file, POLICIES);
  });

  for (const [chart, version, expected] of [
    ["1.19.5", "1.19", ["CNP demo-shop/sni is refused by the API server (Cilium 1.19's CRD schema)"]],
    ["1.20.0", "1.20", ["CNP demo-shop/kafka is refused by the API server (Cilium 1.20's CRD schema)"]],
  ] as const) {
    it(`a render of Cilium ${chart}: ${version}'s API server refuses what it refuses, and only that`, async () => {
      const dir = await renderTo((raw) => ({ ...raw, ciliumVersion: chart }), `cilium-${chart}`);
      const r = await castle(
        "why",
        "--render",
        dir,
        "--policies",
        file,
        "--from",
        "world",
        "--to",
        "pod:demo-shop/web",
        "--port",
        "443",
      );
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(refused(r.err), expected, r.err);
    });
  }

  it("caches a verdict per Cilium version", async () => {
    const p = {
      apiVersion: "cilium.io/v2",
      kind: "CiliumNetworkPolicy",
      metadata: { name: `cache-${process.pid}-${Date.now()}`, namespace: "demo-shop" },
      spec: { endpointSelector: {}, ingress: [{ fromEntities: ["cluster-mesh"] }] },
    };
    const cached = cachedSchemaErrors();
    const before = new Set(fs.existsSync(schemaCacheDir()) ? fs.readdirSync(schemaCacheDir()) : []);
    assert.equal((await cached(p, "1.19")).length, 1);
    assert.deepEqual(await cached(p, "1.20"), []);
    const written = fs.readdirSync(schemaCacheDir()).filter((f) => !before.has(f));
    assert.equal(written.length, 2, "one entry per version");
    try {
      // An entry is what answers: a doctored one shows which version it belongs to.
      for (const f of written)
        fs.writeFileSync(path.join(schemaCacheDir(), f), JSON.stringify([`from ${f}`]));
      const a = await cached(p, "1.19");
      const b = await cached(p, "1.20");
      assert.notDeepEqual(a, b);
      assert.ok(a[0]!.startsWith("from ") && b[0]!.startsWith("from "));
    } finally {
      for (const f of written) fs.rmSync(path.join(schemaCacheDir(), f), { force: true });
    }
  });

  it("keys the cache on the check's own sources: an edited table never answers from an old entry", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "castle-crd-cache-"));
    const models = path.join("node_modules", "@kubernetes-models", "cilium", "package.json");
    for (const f of [models, "verifier/crdSchema.ts", "verifier/crdVersions.ts"]) {
      fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      fs.copyFileSync(path.join(projectRoot(), f), path.join(root, f));
    }
    const p = {
      apiVersion: "cilium.io/v2",
      kind: "CiliumNetworkPolicy",
      metadata: { name: "x", namespace: "demo-shop" },
      spec: { endpointSelector: {}, ingress: [{ fromEntities: ["cluster-mesh"] }] },
    };
    assert.equal((await cachedSchemaErrors(root)(p, "1.19")).length, 1);
    const [entry] = fs.readdirSync(schemaCacheDir(root));
    fs.writeFileSync(path.join(schemaCacheDir(root), entry!), JSON.stringify(["stale"]));
    assert.deepEqual(await cachedSchemaErrors(root)(p, "1.19"), ["stale"], "served from the cache");
    fs.appendFileSync(path.join(root, "verifier/crdVersions.ts"), "\n// a new row\n");
    assert.equal((await cachedSchemaErrors(root)(p, "1.19")).length, 1, "a new key after the edit");
    assert.notEqual((await cachedSchemaErrors(root)(p, "1.19"))[0], "stale");
    fs.rmSync(root, { recursive: true, force: true });
  });
});
