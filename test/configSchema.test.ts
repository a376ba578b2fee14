// The config schema (config/schema.ts) against what is derived from it: Pulumi.yaml's config block, the
// README's config table (scripts/configDocs.ts writes both), the defaults and the parser's known keys.

import { strict as assert } from "assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { parseCastleConfig, RawConfig } from "../config/castleConfig";
import { CONFIG_KEYS, DEFAULTS, InfraRoleSchema, knownKeys } from "../config/schema";
import {
  ConfigDocsError,
  docFiles,
  FIX_COMMAND,
  PROJECT_DIR,
  renderReadme,
  run,
  TABLE_END,
  TABLE_START,
} from "../scripts/configDocs";
import { readProjectFile, withProjectDefaults } from "../render/render";
import { DEFAULT_INFRA_ROLES } from "../vocabulary/roles";
import { problemsOf } from "./harness";

/** The keys of the README's config table, in row order. */
function readmeTableKeys(readme: string): string[] {
  const table = readme.slice(readme.indexOf(TABLE_START), readme.indexOf(TABLE_END));
  return [...table.matchAll(/^\| `([A-Za-z]+)` /gm)].map((m) => m[1]!);
}

/** A scratch copy of the files the generator reads (prettier's config too: it decides the layout). */
function scratchProject(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "castle-config-docs-"));
  for (const f of ["Pulumi.yaml", "README.md", ".prettierrc.json"])
    fs.copyFileSync(path.join(PROJECT_DIR, f), path.join(dir, f));
  return dir;
}

describe("config schema: generated documentation", () => {
  it("Pulumi.yaml and the README are up to date with the schema", async () => {
    for (const f of await docFiles()) {
      assert.ok(
        f.current === f.wanted,
        `${f.file} is stale against config/schema.ts. Fix: ${FIX_COMMAND}\n--- wanted:\n${f.wanted}`,
      );
    }
  });

  it("every key of the schema is in Pulumi.yaml and the README table, in the schema's order", () => {
    assert.deepEqual(Object.keys(readProjectFile().config), CONFIG_KEYS);
    const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
    assert.deepEqual(readmeTableKeys(readme), CONFIG_KEYS);
  });

  it("Pulumi.yaml declares each key's schema default and type", () => {
    const config = readProjectFile().config;
    assert.deepEqual(config.kindNodes!.default, { controlPlane: 1, infra: 1, workers: 2 });
    assert.equal(config.kindNodes!.type, undefined, "objects go untyped");
    assert.equal(config.clusterProvider!.type, "string", "a union of string literals is a string");
    assert.deepEqual(config.jumphostCidrs!.items, { type: "string" });
    assert.equal(config.userNamespaces!.type, undefined, "an array of objects goes untyped");
    assert.match(
      config.infraRoles!.description!,
      /reachesLabelledNamespaces\?/,
      "untyped keys spell out their shape",
    );
  });

  it("--check names each stale file and the command that fixes it, and exits 1", async () => {
    const dir = scratchProject();
    const readme = fs.readFileSync(path.join(dir, "README.md"), "utf8");
    fs.writeFileSync(path.join(dir, "README.md"), readme.replace("| `clusterName` ", "| `clusterNme` "));
    const res = await run(["--check"], dir);
    assert.equal(res.code, 1);
    assert.deepEqual(res.out, [
      `README.md is stale: it does not match config/schema.ts. Fix: ${FIX_COMMAND}`,
    ]);
    assert.ok(
      fs.readFileSync(path.join(dir, "README.md"), "utf8").includes("`clusterNme`"),
      "--check writes nothing",
    );

    assert.deepEqual((await run([], dir)).out, ["wrote README.md"]);
    assert.equal(fs.readFileSync(path.join(dir, "README.md"), "utf8"), readme);
    assert.deepEqual(await run(["--check"], dir), {
      code: 0,
      out: ["Pulumi.yaml and README.md match config/schema.ts"],
    });
  });

  it("rewrites only Pulumi.yaml's config block, keeping the comments and keys around it byte for byte", async () => {
    const dir = scratchProject();
    const original = fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8");
    const edited =
      original.replace(/^(config:\n)[\s\S]*$/m, "$1  clusterName:\n    default: fortress\n") +
      "\n# a comment after the block\nbackend:\n  url: file://.\n";
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), edited);
    assert.equal((await run(["--check"], dir)).code, 1);
    assert.equal((await run([], dir)).code, 0);
    assert.equal(
      fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"),
      original + "\n# a comment after the block\nbackend:\n  url: file://.\n",
    );
    const doc = YAML.parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"));
    assert.equal(doc.backend.url, "file://.");
  });

  it("a README without the table markers is refused with the fix", async () => {
    await assert.rejects(
      renderReadme("# castle\n\nno table here\n"),
      (e: unknown) =>
        e instanceof ConfigDocsError &&
        e.message.includes(`put ${TABLE_START} and ${TABLE_END}`) &&
        e.message.includes(FIX_COMMAND),
    );
  });

  it("an unknown argument is refused with the usage", async () => {
    const res = await run(["--chek"]);
    assert.equal(res.code, 2);
    assert.match(res.out[0]!, /unknown argument --chek\. Usage: npm run config:docs \[-- --check\]/);
  });
});

describe("config schema: defaults and known keys", () => {
  it("the defaults parse cleanly, and the same as an empty stack and Pulumi.yaml's defaults", () => {
    const fromDefaults = parseCastleConfig({ ...DEFAULTS } as RawConfig);
    assert.deepEqual(fromDefaults, parseCastleConfig({}));
    assert.deepEqual(fromDefaults, parseCastleConfig(withProjectDefaults({})));
  });

  it("DEFAULTS cannot be changed through a parsed config", () => {
    const c = parseCastleConfig({});
    c.kindNodes.workers = 9;
    c.jumphostCidrs.push("10.0.0.1/32");
    assert.deepEqual(DEFAULTS.kindNodes, { controlPlane: 1, infra: 1, workers: 2 });
    assert.deepEqual(DEFAULTS.jumphostCidrs, []);
    assert.ok(Object.isFrozen(DEFAULTS.kindNodes));
  });

  it("every role key of the schema parses: the default roles, written as config, come back unchanged", () => {
    const used = new Set(DEFAULT_INFRA_ROLES.flatMap((r) => Object.keys(r)));
    assert.deepEqual(
      knownKeys(InfraRoleSchema).filter((k) => !used.has(k)),
      [],
    );
    // On an existing cluster: on kind the parse adds kind's own provisioner (KIND_INFRA_ROLES).
    const roles = parseCastleConfig({
      clusterProvider: "existing",
      infraRoles: structuredClone(DEFAULT_INFRA_ROLES),
    }).roles;
    assert.deepEqual(roles, DEFAULT_INFRA_ROLES);
  });

  it("an unknown role key is named with the schema's role keys and the command that removes it", () => {
    const problems = problemsOf({
      infraRoles: [{ name: "x", namespace: "x", podLabels: { a: "b" }, nodeports: {} }],
    });
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.ok(
      problems[0]!.includes(`unknown key "nodeports" (known keys: ${knownKeys(InfraRoleSchema).join(", ")})`),
      problems[0],
    );
    assert.ok(problems[0]!.includes("Fix: pulumi config rm --path 'infraRoles[0].nodeports'"), problems[0]);
  });

  it("an unknown key holding a dot is written as a quoted path segment", () => {
    const problems = problemsOf({ demoChartValues: { "cert-manager.io": {} } });
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0]!, /^cilium-castle:demoChartValues\["cert-manager\.io"\] = \{\}/);
    assert.ok(problems[0]!.includes(`Fix: pulumi config rm --path 'demoChartValues["cert-manager.io"]'`));
  });
});
