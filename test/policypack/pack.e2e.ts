// The policy pack as its own program: loaded with its own node_modules, and its entry file run as the
// Pulumi CLI runs it. The offline harness's tests are in pack.test.ts.

import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as path from "path";
import { PACK_DIR } from "../support/policyHarness";

describe("policy pack: layout", () => {
  it("loads none of the program's providers: the pack runs with its own node_modules", () => {
    const script = `require("ts-node").register({ transpileOnly: true }); require(${JSON.stringify(path.join(PACK_DIR, "policies.ts"))});
      console.log(JSON.stringify(Object.keys(require.cache).filter((k) => /@pulumi[\\/](kubernetes|command)|offline[\\/]|castle\\.ts$/.test(k))));`;
    const out = spawnSync(process.execPath, ["-e", script], { cwd: PACK_DIR, encoding: "utf8" });
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout), []);
  });

  it("smoke: the pack's entry file starts its server, prints its port and stops cleanly", async () => {
    const child = spawn(
      process.execPath,
      ["-r", require.resolve("ts-node/register/transpile-only"), "index.ts"],
      {
        cwd: PACK_DIR,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const port = await new Promise<string>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`no port within 30s; stderr: ${stderr}`)), 30000);
      child.stdout.on("data", (d) => {
        out += d;
        if (out.includes("\n")) {
          clearTimeout(timer);
          resolve(out.split("\n")[0].trim());
        }
      });
      child.on("exit", (code) =>
        reject(new Error(`exited with ${code} before printing a port; stderr: ${stderr}`)),
      );
    });
    assert.match(port, /^\d+$/);
    assert.ok(Number(port) > 0 && Number(port) < 65536);
    const exit = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.on("exit", (code, signal) => resolve(signal ?? code)),
    );
    child.kill("SIGTERM");
    assert.equal(await exit, "SIGTERM");
    assert.equal(stderr, "");
  });
});
