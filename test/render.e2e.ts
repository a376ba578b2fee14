// npm run render end to end: the script as the README runs it, and its errors. The in-process tests of
// the render are in render.test.ts.

import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { loadStackConfig, PROJECT_DIR } from "../render/render";
import { tempDir } from "./harness";

function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const f of fs.readdirSync(d).sort()) {
      const p = path.join(d, f);
      if (fs.statSync(p).isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p, "utf8");
    }
  };
  walk(dir);
  return out;
}

describe("render: npm run render -- --stack dev", () => {
  it("runs as the README says, offline, and writes one stable YAML file per object", () => {
    const out = path.join(tempDir("castle-render-"), "dev");
    const run = (...extra: string[]): { stdout: string; stderr: string } => {
      const r = spawnSync(
        "npm",
        ["run", "--silent", "render", "--", "--stack", "dev", "--out", out, ...extra],
        {
          cwd: PROJECT_DIR,
          encoding: "utf8",
        },
      );
      assert.equal(r.status, 0, r.stderr);
      return r;
    };
    // --out alone: one line on stderr, nothing on stdout; the inventory on request.
    const quiet = run();
    assert.equal(quiet.stdout, "");
    assert.match(quiet.stderr, /^render: wrote \d+ objects of stack dev to \S+\/dev\n$/);
    const first = readTree(out);
    const printed = JSON.parse(run("--inventory").stdout);
    assert.ok(Array.isArray(printed) && printed.length > 5);
    assert.deepEqual(readTree(out), first, "two renders are byte-identical");
    assert.ok(Object.keys(first).includes("helm/kube-system/cilium.values.yaml"));
    const values = YAML.parse(first["helm/kube-system/cilium.values.yaml"]);
    assert.equal(values.chart, "cilium");
    assert.equal(values.values.hostFirewall.enabled, true);
    assert.ok(Object.keys(first).some((f) => /^_cluster\/NodePatch-castle-worker\.yaml$/.test(f)));
  });

  it("exits non-zero with the config error for a bad stack", () => {
    const dir = tempDir("castle-render-");
    for (const f of ["Pulumi.yaml", "package.json", "tsconfig.json"])
      fs.copyFileSync(path.join(PROJECT_DIR, f), path.join(dir, f));
    fs.writeFileSync(
      path.join(dir, "Pulumi.bad.yaml"),
      "config:\n  cilium-castle:jumphostCidrs: ['0.0.0.0/0']\n",
    );
    // Same process code path as the CLI script, pointed at a project dir with a bad stack file.
    assert.throws(() => loadStackConfig("bad", dir), /jumphostCidrs\[0\] = "0\.0\.0\.0\/0".*whole internet/);
    const r = spawnSync("npm", ["run", "--silent", "render", "--", "--stack", "nosuchstack"], {
      cwd: PROJECT_DIR,
      encoding: "utf8",
    });
    assert.notEqual(r.status, 0);
    assert.equal(
      r.stderr,
      "no stack file Pulumi.nosuchstack.yaml; stacks with a config file here: dev\n",
      "no stack trace",
    );
    const noValue = spawnSync("npm", ["run", "--silent", "render", "--", "--stack"], {
      cwd: PROJECT_DIR,
      encoding: "utf8",
    });
    assert.equal(noValue.status, 2);
    assert.match(
      noValue.stderr,
      /^render: Option '--stack <value>' argument missing\nusage: npm run -s render/,
    );
  });
});
