// The pull-request preview end to end: the command renders the base commit from a git worktree. The
// in-process tests are in prPreview.test.ts.

import { strict as assert } from "assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../scripts/pr-preview/run";

describe("pr preview: the command", () => {
  it("renders the base from a git worktree of the base commit, with the base's own code", async function () {
    this.timeout(180_000);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "castle-preview-"));
    const err: string[] = [];
    const write2 = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (err.push(s), true)) as typeof process.stderr.write;
    let code: number;
    try {
      code = await main(["--base", "HEAD", "--out", out], {});
    } finally {
      process.stderr.write = write2;
    }
    assert.equal(code, 0, err.join(""));
    const body = fs.readFileSync(path.join(out, "dev.comment.md"), "utf8");
    assert.match(body, /^<!-- castle-preview stack=dev -->/);
    assert.match(body, /### Castle reachability: `base HEAD` → `head`/);
    assert.match(body, /Not run: no state backend is configured/);
    assert.ok(
      fs.existsSync(path.join(out, "renders", "dev", "base", "kube-system", "ConfigMap-castle-model.yaml")),
    );
  });
});
