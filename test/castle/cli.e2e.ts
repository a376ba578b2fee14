// The castle command end to end: the bin as npx runs it, the directories `npm run render` writes, and a
// render of 1,000 namespaces. The in-process tests are in cli.test.ts.

import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { castle, renderTo } from "./support";
import { PROJECT_DIR } from "../../render/render";
import type { Untyped } from "../../lib/untyped";

describe("castle matrix", () => {
  it("1,000 identical namespaces make the same number of columns as two", async () => {
    const dir = await renderTo((raw) => ({
      ...raw,
      installDemo: false,
      userNamespaces: Array.from({ length: 1000 }, (_, i) => ({ name: `team-${i}`, metrics: true })),
    }));
    const m = JSON.parse((await castle("matrix", "--render", dir, "--format", "json")).out);
    assert.deepEqual(
      m.classes.filter((c: Untyped) => c.kind === "user").map((c: Untyped) => [c.id, c.namespaces]),
      [["user:metrics", 1000]],
    );
    const cell = m.cells.find((c: Untyped) => c.from === "user:metrics" && c.to === "user:metrics");
    assert.equal(cell.note, "other namespace");
    assert.equal(cell.verdict, "audited");
  });
});

describe("castle check", () => {
  it("the bin runs as npx castle and exits non-zero on a break", () => {
    const ok = spawnSync(
      process.execPath,
      [path.join(PROJECT_DIR, "cli", "castle.js"), "check", "--stack", "dev"],
      { encoding: "utf8" },
    );
    assert.equal(ok.status, 0, ok.stderr);
    const bad = spawnSync(process.execPath, [path.join(PROJECT_DIR, "cli", "castle.js"), "frobnicate"], {
      encoding: "utf8",
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown command "frobnicate"/);
  });
});

describe("castle diff", () => {
  it("works on the directories npm run render writes", () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "castle-")), "dev");
    execFileSync("npm", ["run", "--silent", "render", "--", "--stack", "dev", "--out", out], {
      cwd: PROJECT_DIR,
      stdio: "ignore",
    });
    assert.ok(fs.existsSync(path.join(out, "kube-system", "ConfigMap-castle-model.yaml")));
  });
});
