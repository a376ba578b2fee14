// npm run preflight as a workshop laptop runs it, with fake tools on PATH. The checks themselves are
// tested in process in preflight.test.ts.

import { strict as assert } from "assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const GiB = 1024 ** 3;

describe("preflight", () => {
  it("npm run preflight: one line per check with its fix, exit 1 on a failure (fake tools on PATH)", () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "castle-fake-tools-"));
    const script = (name: string, body: string): void =>
      fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    script("docker", `echo '{"MemTotal": ${8 * GiB}, "NCPU": 4, "CgroupVersion": "2"}'`);
    script("kind", 'case "$1" in version) echo "kind v0.33.0 go1.26.8 linux/amd64";; esac');
    script("kubectl", 'case "$1" in version) echo \'{"clientVersion":{"gitVersion":"v1.35.0"}}\';; esac');
    script("pulumi", "echo v3.248.0");
    const proc = fs.mkdtempSync(path.join(os.tmpdir(), "castle-proc-"));
    fs.mkdirSync(path.join(proc, "sys", "fs", "inotify"), { recursive: true });
    fs.writeFileSync(path.join(proc, "sys", "fs", "inotify", "max_user_watches"), "8192\n");
    fs.writeFileSync(path.join(proc, "sys", "fs", "inotify", "max_user_instances"), "512\n");
    const res = spawnSync(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", path.resolve(__dirname, "..", "scripts", "preflight.ts")],
      {
        encoding: "utf8",
        cwd: path.resolve(__dirname, ".."),
        env: { PATH: `${bin}:/usr/bin:/bin`, CASTLE_PREFLIGHT_PROC: proc },
      },
    );
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stdout, /^ok {3}kind: v0\.33\.0$/m);
    assert.match(res.stdout, /^ok {3}pulumi: v3\.248\.0$/m);
    assert.match(res.stdout, /^FAIL inotify: max_user_watches 8192 < 524288: .* Fix: sudo sysctl/m);
    // (80/443 are this machine's real ports: another failure there would only add to the count.)
    assert.match(res.stdout, /^preflight: \d+ check\(s\) failed$/m);
  });
});
