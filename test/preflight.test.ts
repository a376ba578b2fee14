import { strict as assert } from "assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  Check,
  ExecResult,
  formatChecks,
  listensInProcNet,
  PreflightEnv,
  runPreflight,
} from "../scripts/preflight";
import { parseArgs, prepull } from "../scripts/images";
import { parseCastleConfig } from "../config/castleConfig";

const GiB = 1024 ** 3;
const TARGET = { clusterName: "castle", kubernetesVersion: "1.35.8", hostPorts: [80, 443] };

interface Laptop {
  tools: Record<string, (args: string[]) => ExecResult>;
  inotify?: { watches: number; instances: number };
  freeGiB?: number;
  busyPorts?: number[];
  unknownPorts?: number[];
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
    portInUse: async (port) =>
      (l.unknownPorts ?? []).includes(port) ? undefined : (l.busyPorts ?? []).includes(port),
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

  it("Docker that this user may not use, or that hangs", async () => {
    const l = goodLaptop();
    l.tools.docker = () => ({
      code: 1,
      stdout: "",
      stderr:
        'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.47/info": dial unix /var/run/docker.sock: connect: permission denied\n',
    });
    await assertFails(
      l,
      "docker",
      /^this user may not use the Docker engine: permission denied while trying to connect/,
      /^add yourself to the docker group \(sudo usermod -aG docker \$USER\), then log out and in again$/,
    );
    l.tools.docker = () => ({ code: null, stdout: "", stderr: "" });
    await assertFails(l, "docker", /^`docker info` did not answer within 20 s$/, /run `docker info` by hand/);
    l.tools.kind = () => ({ code: null, stdout: "", stderr: "" });
    await assertFails(l, "kind", /^`kind version` did not answer/, /by hand/);
  });

  it("too little memory for Docker", async () => {
    const l = goodLaptop();
    l.tools.docker = () => out(JSON.stringify({ MemTotal: 2 * GiB, CgroupVersion: "2" }));
    await assertFails(
      l,
      "docker memory",
      /^2\.0 GiB, too little for four kind nodes with Cilium and the demo \(they need Docker to have 6 GiB\)$/,
      /6 GiB or more, 8 GiB recommended/,
    );
    // A VM given 6 GiB reports a little less: it passes.
    l.tools.docker = () => out(JSON.stringify({ MemTotal: 5.8 * GiB, CgroupVersion: "2" }));
    assert.equal((await check(l, "docker memory")).status, "ok");
    l.tools.docker = () => out(JSON.stringify({ MemTotal: 5 * GiB, CgroupVersion: "2" }));
    assert.equal((await check(l, "docker memory")).status, "fail");
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
    l.busyPorts = [];
    l.unknownPorts = [80];
    const c = await check(l, "host ports");
    assert.equal(c.status, "note");
    assert.equal(c.detail, "cannot tell whether 80 are free");
    assert.match(
      c.fix ?? "",
      /sudo ss -ltn 'sport = :80' \(Linux\) or lsof -nP -iTCP:80 -sTCP:LISTEN \(macOS\)/,
    );
  });

  it("reads who listens from /proc/net when it may not bind a low port itself", () => {
    const proc = fs.mkdtempSync(path.join(os.tmpdir(), "castle-proc-"));
    const read = (p: string): string | undefined =>
      fs.existsSync(p) ? fs.readFileSync(p, "utf8") : undefined;
    assert.equal(listensInProcNet(proc, 80, read), undefined, "no /proc/net: cannot tell");
    fs.mkdirSync(path.join(proc, "net"));
    const header =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
    // 0.0.0.0:443 LISTEN (0A), 127.0.0.1:80 as a client connection (01, ESTABLISHED): only 443 listens.
    fs.writeFileSync(
      path.join(proc, "net", "tcp"),
      header +
        "   0: 00000000:01BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n" +
        "   1: 0100007F:0050 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 2 1\n",
    );
    assert.equal(listensInProcNet(proc, 443, read), true);
    assert.equal(listensInProcNet(proc, 80, read), false);
    // [::]:80 LISTEN in tcp6.
    fs.writeFileSync(
      path.join(proc, "net", "tcp6"),
      header +
        "   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1\n",
    );
    assert.equal(listensInProcNet(proc, 80, read), true);
  });

  it("prints each check on one line, with one full stop before the fix", () => {
    const text = formatChecks([
      { name: "a", status: "fail", detail: "is it running?", fix: "start it" },
      { name: "b", status: "fail", detail: "too old", fix: "upgrade" },
    ]);
    assert.equal(
      text,
      "FAIL a: is it running? Fix: start it\nFAIL b: too old. Fix: upgrade\npreflight: 2 check(s) failed",
    );
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
});

describe("prepull", () => {
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
  const nodes = ["moat-control-plane", "moat-worker", "moat-worker2", "moat-worker3"];

  it("pulls every image, loads all but the node image, and finds each on every node by its pods' reference", () => {
    const calls: string[] = [];
    const probes: string[] = [];
    prepull(
      list,
      parseCastleConfig({ clusterName: "moat" }),
      (cmd, args) => {
        calls.push(`${cmd} ${args.join(" ")}`);
      },
      (cmd, args) => {
        probes.push(`${cmd} ${args.join(" ")}`);
        return 0;
      },
    );
    assert.deepEqual(calls, [
      "docker pull curlimages/curl:8.11.1",
      "docker pull kindest/node:v1.35.8@sha256:aa",
      "docker pull quay.io/cilium/cilium:v1.19.5@sha256:bb",
      "kind load docker-image --name moat curlimages/curl:8.11.1 quay.io/cilium/cilium:v1.19.5@sha256:bb",
    ]);
    assert.equal(probes.length, 2 * nodes.length);
    for (const n of nodes) {
      assert.ok(
        probes.includes(`docker exec ${n} crictl inspecti -q quay.io/cilium/cilium:v1.19.5@sha256:bb`),
      );
    }
  });

  it("fails, naming each image the nodes cannot resolve by digest and what that means for the room", () => {
    assert.throws(
      () =>
        prepull(
          list,
          parseCastleConfig({ clusterName: "moat" }),
          () => undefined,
          (_cmd, args) => (args.at(-1)!.includes("@sha256:") && args[1] !== "moat-control-plane" ? 1 : 0),
        ),
      (e: Error) => {
        assert.match(
          e.message,
          /^kind loaded every image, but 1 of 2 do not resolve on the nodes by the reference their pods use:\n {2}quay\.io\/cilium\/cilium:v1\.19\.5@sha256:bb \(not on moat-worker, moat-worker2, moat-worker3\)\n/,
        );
        assert.match(e.message, /kind issues #2394, #4028\): the kubelet will pull these from the registry/);
        assert.match(e.message, /bring the cluster up before the day \(npm run up\) and keep it/);
        return true;
      },
    );
  });

  it("refuses a stack on an existing cluster before pulling anything", () => {
    const calls: string[] = [];
    assert.throws(
      () =>
        prepull(
          list,
          parseCastleConfig({ clusterProvider: "existing" }),
          (cmd) => void calls.push(cmd),
          () => 0,
        ),
      /existing cluster \(clusterProvider: existing\): prepull loads images into the stack's kind cluster only/,
    );
    assert.deepEqual(calls, []);
  });

  it("takes an existing cluster's Kubernetes version as an argument, checked", () => {
    assert.equal(parseArgs(["--kube-version", "v1.33.4"]).kubeVersion, "v1.33.4");
    assert.throws(
      () => parseArgs(["--kube-version", "1.33"]),
      /--kube-version 1\.33: give the cluster's version/,
    );
    assert.throws(() => parseArgs(["--kube-version"]), /--kube-version needs a value/);
  });
});
