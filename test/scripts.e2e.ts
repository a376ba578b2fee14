import { strict as assert } from "assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ENV_SCRIPT = path.resolve(__dirname, "..", "scripts", "pulumi-env.sh");

/** Sources scripts/pulumi-env.sh in a scratch checkout and reports the environment it leaves. */
function pulumiEnv(env: Record<string, string>): {
  status: number | null;
  stderr: string;
  vars: Record<string, string>;
  root: string;
} {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "castle-env-"));
  const res = spawnSync(
    "bash",
    [
      "-c",
      `set -euo pipefail; . "${ENV_SCRIPT}"; castle_pulumi_env "${root}"; ` +
        `printf 'BACKEND=%s\\nPASS=%s\\nPASSFILE=%s\\n' "\${PULUMI_BACKEND_URL:-}" "\${PULUMI_CONFIG_PASSPHRASE-<unset>}" "\${PULUMI_CONFIG_PASSPHRASE_FILE:-}"`,
    ],
    { encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: root, ...env } },
  );
  const vars: Record<string, string> = {};
  for (const line of res.stdout.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) vars[line.slice(0, i)] = line.slice(i + 1);
  }
  return { status: res.status, stderr: res.stderr, vars, root };
}

describe("scripts: the Pulumi backend and secrets passphrase", () => {
  it("defaults to a file backend in the checkout and a random passphrase kept there, mode 0600", () => {
    const first = pulumiEnv({});
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.vars.BACKEND, `file://${first.root}/.pulumi-state`);
    assert.equal(first.vars.PASS, "<unset>", "no empty PULUMI_CONFIG_PASSPHRASE is exported");
    const file = first.vars.PASSFILE!;
    assert.equal(file, path.join(first.root, ".pulumi-state", "passphrase"));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.ok(fs.readFileSync(file, "utf8").trim().length >= 40, "32 random bytes, base64");
    assert.match(first.stderr, /made a random secrets passphrase/);
  });

  it("reuses the kept passphrase", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "castle-env-"));
    fs.mkdirSync(path.join(root, ".pulumi-state"));
    fs.writeFileSync(path.join(root, ".pulumi-state", "passphrase"), "kept\n", { mode: 0o600 });
    const res = spawnSync(
      "bash",
      ["-c", `. "${ENV_SCRIPT}"; castle_pulumi_env "${root}"; cat "$PULUMI_CONFIG_PASSPHRASE_FILE"`],
      {
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "" },
      },
    );
    assert.equal(res.stdout, "kept\n");
  });

  it("leaves PULUMI_CONFIG_PASSPHRASE_FILE alone (an exported empty passphrase used to override it)", () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "castle-pp-")), "pp");
    fs.writeFileSync(f, "mine\n");
    const r = pulumiEnv({ PULUMI_CONFIG_PASSPHRASE_FILE: f });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.vars.PASSFILE, f);
    assert.equal(r.vars.PASS, "<unset>");
    assert.ok(!fs.existsSync(path.join(r.root, ".pulumi-state", "passphrase")));
  });

  it("refuses an empty passphrase, and an empty passphrase file, with what to do", () => {
    const empty = pulumiEnv({ PULUMI_CONFIG_PASSPHRASE: "" });
    assert.equal(empty.status, 1);
    assert.match(
      empty.stderr,
      /PULUMI_CONFIG_PASSPHRASE is set but empty: secrets would be encrypted under an empty passphrase\. Unset it/,
    );
    const emptyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "castle-pp-")), "pp");
    fs.writeFileSync(emptyFile, "");
    const r = pulumiEnv({ PULUMI_CONFIG_PASSPHRASE_FILE: emptyFile });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /is missing or empty/);
  });

  it("keeps a given backend and passphrase; a service backend needs no passphrase", () => {
    const given = pulumiEnv({ PULUMI_BACKEND_URL: "s3://bucket/castle", PULUMI_CONFIG_PASSPHRASE: "pw" });
    assert.equal(given.vars.BACKEND, "s3://bucket/castle");
    assert.equal(given.vars.PASS, "pw");
    const cloud = pulumiEnv({ PULUMI_BACKEND_URL: "https://api.pulumi.com" });
    assert.equal(cloud.status, 0);
    assert.equal(cloud.vars.PASSFILE, "");
  });
});

describe("scripts: stacks from before the kept passphrase", () => {
  it("are not opened with a new passphrase: the one-time re-encryption is printed instead", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "castle-env-"));
    fs.mkdirSync(path.join(root, ".pulumi-state", ".pulumi", "stacks", "cilium-castle"), { recursive: true });
    for (const s of ["dev", "prod"])
      fs.writeFileSync(
        path.join(root, ".pulumi-state", ".pulumi", "stacks", "cilium-castle", `${s}.json`),
        "{}",
      );
    const res = spawnSync("bash", ["-c", `. "${ENV_SCRIPT}"; castle_pulumi_env "${root}"`], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "" },
    });
    assert.equal(res.status, 1);
    assert.match(
      res.stderr,
      /holds stacks \(dev prod \) whose secrets are encrypted under an empty passphrase/,
    );
    assert.match(
      res.stderr,
      /for s in dev prod ; do PULUMI_BACKEND_URL=file:\/\/\S+\/\.pulumi-state PULUMI_CONFIG_PASSPHRASE= pulumi stack change-secrets-provider passphrase --stack "\$s" --non-interactive < \.pulumi-state\/passphrase; done/,
    );
    assert.ok(
      !fs.existsSync(path.join(root, ".pulumi-state", "passphrase")),
      "no passphrase is made that would lock them out",
    );
  });
});

describe("scripts: npm run pulumi", () => {
  it("runs any pulumi command on the checkout's backend and passphrase", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "castle-fake-pulumi-"));
    fs.writeFileSync(
      path.join(dir, "pulumi"),
      '#!/usr/bin/env bash\necho "args=$*"\necho "backend=$PULUMI_BACKEND_URL"\necho "passfile=${PULUMI_CONFIG_PASSPHRASE_FILE:-}"\n',
      { mode: 0o755 },
    );
    const passfile = path.join(dir, "pp");
    fs.writeFileSync(passfile, "secret\n");
    const res = spawnSync(
      "bash",
      [path.resolve(__dirname, "..", "scripts", "pulumi.sh"), "pulumi", "stack", "init", "prod"],
      {
        encoding: "utf8",
        env: {
          PATH: `${dir}:${process.env.PATH}`,
          PULUMI_BACKEND_URL: `file://${dir}/state`,
          PULUMI_CONFIG_PASSPHRASE_FILE: passfile,
        },
      },
    );
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /^args=stack init prod$/m);
    assert.match(res.stdout, new RegExp(`^backend=file://${dir}/state$`, "m"));
    assert.match(res.stdout, new RegExp(`^passfile=${passfile}$`, "m"));
  });

  it("says which tool is missing", () => {
    const res = spawnSync(
      "bash",
      [path.resolve(__dirname, "..", "scripts", "pulumi.sh"), "pulumi", "about"],
      {
        encoding: "utf8",
        env: { PATH: "/usr/bin:/bin" },
      },
    );
    assert.equal(res.status, 1);
    assert.match(res.stderr, /cilium-castle: 'pulumi' is not on PATH \(see README, Prerequisites\)/);
  });
});
