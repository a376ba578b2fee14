import { strict as assert } from "assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Check, ExecResult, formatChecks, PreflightEnv, runPreflight } from "../scripts/preflight";
import { prepull } from "../scripts/images";
import { parseCastleConfig } from "../config/castleConfig";

const GiB = 1024 ** 3;
const TARGET = { clusterName: "castle", kubernetesVersion: "1.35.8", hostPorts: [80, 443] };

interface Laptop {
  tools: Record<string, (args: string[]) => ExecResult>;
  inotify?: { watches: number; instances: number };
  freeGiB?: number;
  busyPorts?: number[];
  nodeVersion?: string;
}

const out = (stdout: string, code = 0): ExecResult => ({ code, stdout, stderr: "" });

/** A laptop that passes every check; each test breaks one thing. */
function goodLaptop(): Laptop {
  return {
    tools: {
      docker: () =>
        out(JSON.stringify({ MemTotal: 8 * GiB, NCPU: 4, CgroupVersion: "2", DockerRootDir: os.tmpdir() })),
      kind: (a) => (a[0] === "version" ? out("kind v0.33.0 go1.26.8 linux/amd64\n") : out("")),
      kubectl: (a) =>
        a[0] === "version" ? out(JSON.stringify({ clientVersion: { gitVersion: "v1.35.2" } })) : out(""),
      pulumi: () => out("v3.248.0\n"),
    },
    inotify: { watches: 524288, instances: 512 },
    freeGiB: 50,
    busyPorts: [],
    nodeVersion: "v20.20.2",
  };
}

function envOf(l: Laptop): PreflightEnv {
  const proc = fs.mkdtempSync(path.join(os.tmpdir(), "castle-proc-"));
  if (l.inotify) {
    fs.mkdirSync(path.join(proc, "sys", "fs", "inotify"), { recursive: true });
    fs.writeFileSync(path.join(proc, "sys", "fs", "inotify", "max_user_watches"), `${l.inotify.watches}\n`);
    fs.writeFileSync(
      path.join(proc, "sys", "fs", "inotify", "max_user_instances"),
      `${l.inotify.instances}\n`,
    );
  }
  return {
    exec: (cmd, args) => (l.tools[cmd] ? l.tools[cmd]!(args) : { code: 127, stdout: "", stderr: "" }),
    readFile: (p) => (fs.existsSync(p) ? fs.readFileSync(p, "utf8") : undefined),
    freeBytes: () => (l.freeGiB === undefined ? undefined : l.freeGiB * GiB),
    portInUse: async (port) => (l.busyPorts ?? []).includes(port),
    nodeVersion: l.nodeVersion ?? "v20.20.2",
    procRoot: proc,
  };
}

async function check(l: Laptop, name: string): Promise<Check> {
  const checks = await runPreflight(envOf(l), TARGET);
  const c = checks.find((x) => x.name === name);
  assert.ok(c, `check ${name} ran: ${checks.map((x) => x.name).join(", ")}`);
  return c;
}

async function assertFails(l: Laptop, name: string, detail: RegExp, fix: RegExp): Promise<void> {
  const c = await check(l, name);
  assert.equal(c.status, "fail", JSON.stringify(c));
  assert.match(c.detail, detail);
  assert.match(c.fix ?? "", fix);
}

describe("preflight", () => {
  it("passes a laptop that has everything, and says so", async () => {
    const checks = await runPreflight(envOf(goodLaptop()), TARGET);
    assert.deepEqual(
      checks.filter((c) => c.status !== "ok"),
      [],
    );
    assert.match(formatChecks(checks), /preflight: this machine can run the castle$/);
  });

  it("Docker missing, or not running", async () => {
    const l = goodLaptop();
    delete l.tools.docker;
    await assertFails(l, "docker", /docker is not on PATH/, /install Docker/);
    l.tools.docker = () => ({
      code: 1,
      stdout:
        '{"ServerErrors":["Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"]}',
      stderr: "",
    });
    await assertFails(l, "docker", /does not answer: Cannot connect to the Docker daemon/, /start Docker/);
  });

  it("too little memory for Docker", async () => {
    const l = goodLaptop();
    l.tools.docker = () => out(JSON.stringify({ MemTotal: 2 * GiB, CgroupVersion: "2" }));
    await assertFails(l, "docker memory", /2\.0 GiB, below the 6 GiB/, /at least 8 GiB/);
  });

  it("a cgroup v1 host names the 1.34 image", async () => {
    const l = goodLaptop();
    l.tools.docker = () => out(JSON.stringify({ MemTotal: 8 * GiB, CgroupVersion: "1" }));
    await assertFails(
      l,
      "cgroup",
      /cgroup v1; Kubernetes 1\.35\.8 node images need cgroup v2/,
      /kindNodeImage kindest\/node:v1\.34\.11@sha256:/,
    );
  });

  it("too little free disk", async () => {
    const l = goodLaptop();
    l.freeGiB = 3;
    await assertFails(l, "disk", /3\.0 GiB free/, /docker system prune/);
  });

  it("kind missing or at another version", async () => {
    const l = goodLaptop();
    l.tools.kind = (a) => (a[0] === "version" ? out("kind v0.30.0 go1.24 linux/amd64\n") : out(""));
    await assertFails(
      l,
      "kind",
      /v0\.30\.0, but the castle pins v0\.33\.0/,
      /go install sigs\.k8s\.io\/kind@v0\.33\.0/,
    );
    delete l.tools.kind;
    await assertFails(l, "kind", /kind is not on PATH/, /install kind v0\.33\.0/);
  });

  it("kubectl too far from the cluster's Kubernetes", async () => {
    const l = goodLaptop();
    l.tools.kubectl = (a) =>
      a[0] === "version" ? out(JSON.stringify({ clientVersion: { gitVersion: "v1.32.4" } })) : out("");
    await assertFails(
      l,
      "kubectl",
      /1\.32\.4, more than one minor version from the cluster's Kubernetes 1\.35\.8/,
      /install kubectl 1\.35/,
    );
  });

  it("an old Pulumi CLI and an old Node.js", async () => {
    const l = goodLaptop();
    l.tools.pulumi = () => out("v3.160.0\n");
    await assertFails(l, "pulumi", /older than v3\.248\.0/, /upgrade the Pulumi CLI/);
    l.nodeVersion = "v18.19.0";
    await assertFails(l, "node", /v18\.19\.0, older than 20\.19\.0/, /Node\.js 20\.19/);
  });

  it("inotify limits below kind's known-issue values, from a /proc-like root", async () => {
    const l = goodLaptop();
    l.inotify = { watches: 8192, instances: 128 };
    await assertFails(
      l,
      "inotify",
      /max_user_watches 8192 < 524288, max_user_instances 128 < 512: pods .* "too many open files"/,
      /sudo sysctl fs\.inotify\.max_user_watches=524288 fs\.inotify\.max_user_instances=512/,
    );
    delete l.inotify;
    assert.equal((await check(l, "inotify")).status, "note", "no /proc: Docker Desktop's VM");
  });

  it("host ports 80/443 taken", async () => {
    const l = goodLaptop();
    l.busyPorts = [443];
    await assertFails(l, "host ports", /^443 in use: kind maps them to the first infra node/, /sport = :443/);
  });

  it("an existing castle cluster or a leftover context is named", async () => {
    const l = goodLaptop();
    l.tools.kind = (a) => (a[0] === "version" ? out("kind v0.33.0\n") : out("castle\n"));
    const c = await check(l, "existing cluster");
    assert.equal(c.status, "note");
    assert.match(
      c.detail,
      /kind cluster castle exists: npm run up adopts it when the castle built it from this config/,
    );
    l.tools.kind = (a) => (a[0] === "version" ? out("kind v0.33.0\n") : out(""));
    l.tools.kubectl = (a) =>
      a[0] === "version"
        ? out(JSON.stringify({ clientVersion: { gitVersion: "v1.35.2" } }))
        : out("kind-castle\nprod\n");
    assert.match(
      (await check(l, "existing cluster")).detail,
      /context kind-castle but kind has no such cluster/,
    );
  });

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

describe("prepull", () => {
  it("pulls every image and loads all but the node image into the kind cluster", () => {
    const calls: string[] = [];
    const list = {
      sources: [
        { source: "kind node", images: ["kindest/node:v1.35.8@sha256:aa"] },
        { source: "cilium", images: ["quay.io/cilium/cilium:v1.19.5@sha256:bb"] },
        { source: "demo apps", images: ["curlimages/curl:8.11.1"] },
      ],
      all: [
        "curlimages/curl:8.11.1",
        "kindest/node:v1.35.8@sha256:aa",
        "quay.io/cilium/cilium:v1.19.5@sha256:bb",
      ],
    };
    prepull(list, parseCastleConfig({ clusterName: "moat" }), (cmd, args) => {
      calls.push(`${cmd} ${args.join(" ")}`);
    });
    assert.deepEqual(calls, [
      "docker pull curlimages/curl:8.11.1",
      "docker pull kindest/node:v1.35.8@sha256:aa",
      "docker pull quay.io/cilium/cilium:v1.19.5@sha256:bb",
      "kind load docker-image --name moat curlimages/curl:8.11.1 quay.io/cilium/cilium:v1.19.5@sha256:bb",
    ]);
  });
});
