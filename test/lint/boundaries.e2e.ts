// The module layers (.dependency-cruiser.cjs) as `npm run lint` enforces them: the project passes, and an
// upward import in a copy of its layout fails with the rule's name and the offending edge.

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { projectRoot } from "../../lib/projectRoot";

const ROOT = projectRoot();
const DEPCRUISE = path.join(ROOT, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");
const CONFIG = path.join(ROOT, ".dependency-cruiser.cjs");

function depcruise(cwd: string, ...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [DEPCRUISE, "--config", CONFIG, ...args], { cwd, encoding: "utf8" });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A project laid out like this one: each file imports the ones named. */
function layout(files: Record<string, string[]>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "castle-layers-"));
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true } }));
  for (const [file, imports] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    const lines = imports.map((to, i) => {
      let spec = path.relative(path.dirname(file), to).replace(/\.ts$/, "");
      if (!spec.startsWith(".")) spec = `./${spec}`;
      return `import * as m${i} from "${spec}";\nexport const u${i} = m${i};`;
    });
    fs.writeFileSync(path.join(dir, file), `${lines.join("\n")}\nexport const here = 1;\n`);
  }
  return dir;
}

describe("module layers (npm run lint)", function () {
  this.timeout(60_000);

  it("the project has no upward import and no cycle", () => {
    const r = depcruise(ROOT, ".");
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /no dependency violations found/);
  });

  it("fails on an import from a lower layer into a higher one, naming both files", () => {
    const dir = layout({
      "vocabulary/labels.ts": [],
      "config/castleConfig.ts": ["vocabulary/labels.ts", "components/layers/user/namespacePolicies.ts"],
      "components/layers/user/namespacePolicies.ts": ["vocabulary/labels.ts"],
      "verifier/engine/engine.ts": ["vocabulary/labels.ts"],
    });
    try {
      const r = depcruise(dir, ".");
      assert.equal(r.status, 1, r.out);
      assert.match(
        r.out,
        /error config-imports-upward: config\/castleConfig\.ts → components\/layers\/user\/namespacePolicies\.ts/,
      );
      assert.match(r.out, /1 dependency violations/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails on a peer import (the pack reaching into the components) and on a script importing a test", () => {
    const dir = layout({
      "vocabulary/labels.ts": [],
      "components/cluster/kindConfig.ts": ["vocabulary/labels.ts"],
      "policypack/rules/hostFirewall.ts": ["components/cluster/kindConfig.ts"],
      "test/harness.ts": ["vocabulary/labels.ts"],
      "scripts/bench.ts": ["test/harness.ts"],
    });
    try {
      const r = depcruise(dir, ".");
      assert.equal(r.status, 2, r.out); // depcruise exits with the number of errors
      assert.match(
        r.out,
        /policypack-imports-upward: policypack\/rules\/hostFirewall\.ts → components\/cluster\/kindConfig\.ts/,
      );
      assert.match(r.out, /scripts-imports-upward: scripts\/bench\.ts → test\/harness\.ts/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails on a cycle inside one layer", () => {
    const dir = layout({
      "scripts/conformance/cilium.ts": ["scripts/conformance/random.ts"],
      "scripts/conformance/random.ts": ["scripts/conformance/cilium.ts"],
    });
    try {
      const r = depcruise(dir, ".");
      assert.equal(r.status, 1, r.out);
      assert.match(r.out, /no-circular: scripts\/conformance\/(cilium|random)\.ts/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
