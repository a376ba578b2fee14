// The pull-request preview's workflows pass actionlint, built from github.com/rhysd/actionlint at its
// pinned version (tools/go/actionlint), and actionlint does catch a broken workflow.

import { strict as assert } from "assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "../../render/render";

const lint = (...files: string[]): { status: number | null; out: string } => {
  const r = spawnSync("bash", [path.join(PROJECT_DIR, "scripts", "actionlint.sh"), ...files], {
    cwd: PROJECT_DIR,
    encoding: "utf8",
  });
  return { status: r.status, out: r.stdout + r.stderr };
};

describe("real tier: the pull-request preview's workflows", () => {
  it("pass actionlint", () => {
    const r = lint();
    assert.equal(r.status, 0, r.out);
  });

  it("would fail actionlint with a broken expression or an unknown permission", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "castle-workflow-"));
    const broken = path.join(dir, "broken.yml");
    const text = fs
      .readFileSync(path.join(PROJECT_DIR, ".github", "workflows", "castle-preview.yml"), "utf8")
      .replace("github.event.pull_request.base.sha }}", "github.event.pull_request.base.sha }")
      .replace("pull-requests: write", "pull-request: write");
    fs.writeFileSync(broken, text);
    const r = lint(broken);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /unknown permission scope "pull-request"/);
  });
});
