// npm run preflight: can this laptop run the castle? Checks everything `npm run up` needs before anything
// is created, one line per check with the fix, and exits 0 only when every check passes. For workshop
// hosts: run it on each laptop before the day.
//
// Thresholds and their sources:
//   - kind v0.33.0, kubectl within one minor of the node image's Kubernetes (kubectl's version skew policy),
//     Pulumi CLI v3.248 or newer, Node.js 20.19 or newer: the README's prerequisites;
//   - cgroup v2 for Kubernetes 1.35 node images (the README; 1.34 images run on v1);
//   - fs.inotify.max_user_watches >= 524288, max_user_instances >= 512: kind's known issues, "Pod Errors
//     Due to too many open files" (site/content/docs/user/known-issues.md);
//   - host ports 80/443: the dev stack maps them to the first infra node (components/cluster/kindConfig.ts);
//   - Docker memory >= 6 GiB and >= 10 GiB free disk: four kind nodes with Cilium and the demo.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { INGRESS_HOST_PORTS } from "../components/cluster/kindConfig";
import { KIND_VERSION, parseCastleConfig } from "../config/castleConfig";
import { readStackFile, withProjectDefaults } from "../render/render";

export type Status = "ok" | "fail" | "note";

export interface Check {
  name: string;
  status: Status;
  detail: string;
  fix?: string;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** What the checks may look at: all of it replaceable, so tests fake each condition. */
export interface PreflightEnv {
  exec(cmd: string, args: string[]): ExecResult;
  readFile(p: string): string | undefined;
  /** Free bytes on the filesystem holding `p`, or undefined when it cannot be read. */
  freeBytes(p: string): number | undefined;
  /** Whether something already listens on the port: true, false, or undefined when it cannot tell. */
  portInUse(port: number): Promise<boolean | undefined>;
  nodeVersion: string;
  /** Root of /proc (a fake one in tests). */
  procRoot: string;
}

export interface PreflightTarget {
  clusterName: string;
  /** The node image's Kubernetes version, e.g. "1.35.8". */
  kubernetesVersion: string;
  hostPorts: readonly number[];
}

export const PINS = {
  // The kind release the node image and config were checked with (config/castleConfig.ts).
  kind: KIND_VERSION,
  pulumiMin: [3, 248, 0] as const,
  nodeMin: [20, 19, 0] as const,
  inotifyWatches: 524288,
  inotifyInstances: 512,
  // Docker reports a little less than it is given (a 6 GiB Docker Desktop VM shows about 5.8 GiB).
  dockerMemoryGiB: 5.5,
  freeDiskGiB: 10,
};

const GiB = 1024 ** 3;

function semver(text: string): [number, number, number] | undefined {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function atLeast(v: readonly number[], min: readonly number[]): boolean {
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i]! > min[i]!;
  return true;
}

const missing = (tool: string, fix: string): Check => ({
  name: tool,
  status: "fail",
  detail: `${tool} is not on PATH`,
  fix,
});

/** A tool that was found but did not answer in time (a hung Docker engine, a stuck credential helper). */
const noAnswer = (tool: string, command: string): Check => ({
  name: tool,
  status: "fail",
  detail: `\`${command}\` did not answer within ${EXEC_TIMEOUT_S} s`,
  fix: `run \`${command}\` by hand to see what it waits for (Docker Desktop starting, a proxy, a credential helper)`,
});

const EXEC_TIMEOUT_S = 20;

interface DockerInfo {
  MemTotal?: number;
  NCPU?: number;
  CgroupVersion?: string;
  DockerRootDir?: string;
  ServerErrors?: string[];
}

function dockerInfo(env: PreflightEnv): { info?: DockerInfo; check?: Check } {
  const res = env.exec("docker", ["info", "--format", "{{json .}}"]);
  if (res.code === 127) {
    return {
      check: missing("docker", "install Docker (Docker Desktop, or Docker Engine on Linux) and start it"),
    };
  }
  if (res.code === null) return { check: noAnswer("docker", "docker info") };
  let info: DockerInfo | undefined;
  try {
    info = JSON.parse(res.stdout.trim()) as DockerInfo;
  } catch {
    info = undefined;
  }
  const errors = [...(info?.ServerErrors ?? []), ...(res.code !== 0 ? [res.stderr.trim()] : [])].filter(
    Boolean,
  );
  const denied = errors.find((e) => /permission denied/i.test(e));
  if (denied) {
    // The engine runs, but this user may not talk to its socket (Docker Engine on Linux).
    return {
      check: {
        name: "docker",
        status: "fail",
        detail: `this user may not use the Docker engine: ${denied.split("\n")[0]!.replace(/\.$/, "")}`,
        fix: "add yourself to the docker group (sudo usermod -aG docker $USER), then log out and in again",
      },
    };
  }
  if (!info || errors.length > 0 || info.MemTotal === undefined) {
    return {
      check: {
        name: "docker",
        status: "fail",
        detail: `the Docker engine does not answer: ${(errors[0] ?? "no engine information").split("\n")[0]!.replace(/\.$/, "")}`,
        fix: "start Docker (Docker Desktop, or `sudo systemctl start docker`), then run the preflight again",
      },
    };
  }
  return {
    info,
    check: { name: "docker", status: "ok", detail: `engine running, ${info.NCPU ?? "?"} CPUs` },
  };
}

function checkDockerMemory(info: DockerInfo): Check {
  const gib = (info.MemTotal ?? 0) / GiB;
  return gib >= PINS.dockerMemoryGiB
    ? { name: "docker memory", status: "ok", detail: `${gib.toFixed(1)} GiB` }
    : {
        name: "docker memory",
        status: "fail",
        detail: `${gib.toFixed(1)} GiB, too little for four kind nodes with Cilium and the demo (they need Docker to have 6 GiB)`,
        fix: "give Docker 6 GiB or more, 8 GiB recommended (Docker Desktop: Settings, Resources, Memory)",
      };
}

function checkCgroup(info: DockerInfo, k8s: string): Check {
  if (info.CgroupVersion === "2") return { name: "cgroup", status: "ok", detail: "v2" };
  const minor = Number(k8s.split(".")[1]);
  if (info.CgroupVersion === "1" && minor >= 35) {
    return {
      name: "cgroup",
      status: "fail",
      detail: `the Docker host runs cgroup v1; Kubernetes ${k8s} node images need cgroup v2`,
      fix: "use the 1.34 image from the same kind release: npm run pulumi -- config set kindNodeImage kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d",
    };
  }
  return { name: "cgroup", status: "ok", detail: `v${info.CgroupVersion ?? "?"}` };
}

function checkDisk(env: PreflightEnv, info: DockerInfo): Check {
  const where = info.DockerRootDir && fs.existsSync(info.DockerRootDir) ? info.DockerRootDir : undefined;
  const free = where ? env.freeBytes(where) : undefined;
  if (free === undefined) {
    return {
      name: "disk",
      status: "note",
      detail: `Docker keeps its images in ${info.DockerRootDir ?? "a VM"}, which this check cannot measure; it needs ${PINS.freeDiskGiB} GiB free`,
    };
  }
  const gib = free / GiB;
  return gib >= PINS.freeDiskGiB
    ? { name: "disk", status: "ok", detail: `${gib.toFixed(1)} GiB free in ${where}` }
    : {
        name: "disk",
        status: "fail",
        detail: `${gib.toFixed(1)} GiB free in ${where}, below the ${PINS.freeDiskGiB} GiB the node and chart images need`,
        fix: "free disk space (docker system prune removes unused images)",
      };
}

function checkKind(env: PreflightEnv): Check {
  const res = env.exec("kind", ["version"]);
  if (res.code === 127) {
    return missing("kind", `install kind ${PINS.kind}: go install sigs.k8s.io/kind@${PINS.kind}`);
  }
  if (res.code === null) return noAnswer("kind", "kind version");
  const v = /kind (v\d+\.\d+\.\d+)/.exec(res.stdout)?.[1];
  return v === PINS.kind
    ? { name: "kind", status: "ok", detail: v }
    : {
        name: "kind",
        status: "fail",
        detail: `${v ?? res.stdout.trim()}, but the castle pins ${PINS.kind} (its node image and config were checked with it)`,
        fix: `install kind ${PINS.kind}: go install sigs.k8s.io/kind@${PINS.kind}`,
      };
}

function checkKubectl(env: PreflightEnv, k8s: string): Check {
  const res = env.exec("kubectl", ["version", "--client", "-o", "json"]);
  if (res.code === null) return noAnswer("kubectl", "kubectl version --client");
  if (res.code === 127) {
    return missing(
      "kubectl",
      `install kubectl ${k8s.split(".").slice(0, 2).join(".")} (kubernetes.io/docs/tasks/tools)`,
    );
  }
  let v: [number, number, number] | undefined;
  try {
    v = semver(
      (JSON.parse(res.stdout) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion ?? "",
    );
  } catch {
    v = undefined;
  }
  const minor = Number(k8s.split(".")[1]);
  if (v && v[0] === 1 && Math.abs(v[1] - minor) <= 1)
    return { name: "kubectl", status: "ok", detail: v.join(".") };
  return {
    name: "kubectl",
    status: "fail",
    detail: `${v ? v.join(".") : "unknown version"}, more than one minor version from the cluster's Kubernetes ${k8s} (kubectl's version skew policy)`,
    fix: `install kubectl 1.${minor}`,
  };
}

function checkPulumi(env: PreflightEnv): Check {
  const res = env.exec("pulumi", ["version"]);
  if (res.code === null) return noAnswer("pulumi", "pulumi version");
  if (res.code === 127) {
    return missing("pulumi", "install the Pulumi CLI v3.248 or newer (pulumi.com/docs/iac/download-install)");
  }
  const v = semver(res.stdout);
  return v && atLeast(v, PINS.pulumiMin)
    ? { name: "pulumi", status: "ok", detail: `v${v.join(".")}` }
    : {
        name: "pulumi",
        status: "fail",
        detail: `${res.stdout.trim() || "unknown version"}, older than v${PINS.pulumiMin.join(".")}, the version the castle is tested with`,
        fix: "upgrade the Pulumi CLI (pulumi.com/docs/iac/download-install)",
      };
}

function checkNode(env: PreflightEnv): Check {
  const v = semver(env.nodeVersion);
  return v && atLeast(v, PINS.nodeMin)
    ? { name: "node", status: "ok", detail: env.nodeVersion }
    : {
        name: "node",
        status: "fail",
        detail: `${env.nodeVersion}, older than ${PINS.nodeMin.join(".")}`,
        fix: "install Node.js 20.19 or newer",
      };
}

function checkInotify(env: PreflightEnv): Check {
  const read = (f: string): number | undefined => {
    const text = env.readFile(path.join(env.procRoot, "sys", "fs", "inotify", f));
    return text === undefined ? undefined : Number(text.trim());
  };
  const watches = read("max_user_watches");
  const instances = read("max_user_instances");
  if (watches === undefined || instances === undefined) {
    return { name: "inotify", status: "note", detail: "not a Linux host: Docker's VM sets its own limits" };
  }
  const low: string[] = [];
  if (watches < PINS.inotifyWatches) low.push(`max_user_watches ${watches} < ${PINS.inotifyWatches}`);
  if (instances < PINS.inotifyInstances)
    low.push(`max_user_instances ${instances} < ${PINS.inotifyInstances}`);
  return low.length === 0
    ? {
        name: "inotify",
        status: "ok",
        detail: `max_user_watches ${watches}, max_user_instances ${instances}`,
      }
    : {
        name: "inotify",
        status: "fail",
        detail: `${low.join(", ")}: pods on a four-node kind cluster fail with "too many open files" (kind's known issues)`,
        fix: `sudo sysctl fs.inotify.max_user_watches=${PINS.inotifyWatches} fs.inotify.max_user_instances=${PINS.inotifyInstances} (and the same lines in /etc/sysctl.d/99-kind.conf to keep them)`,
      };
}

async function checkPorts(env: PreflightEnv, ports: readonly number[]): Promise<Check> {
  const busy: number[] = [];
  const unknown: number[] = [];
  for (const port of ports) {
    const inUse = await env.portInUse(port);
    if (inUse === true) busy.push(port);
    if (inUse === undefined) unknown.push(port);
  }
  if (busy.length > 0) {
    return {
      name: "host ports",
      status: "fail",
      detail: `${busy.join(", ")} in use: kind maps them to the first infra node for the ingress demo`,
      fix: `stop what listens there (sudo ss -ltnp 'sport = :${busy[0]}', or lsof -i :${busy[0]} on macOS)`,
    };
  }
  if (unknown.length > 0)
    return {
      name: "host ports",
      status: "note",
      detail: `cannot tell whether ${unknown.join(", ")} are free`,
      fix: `check by hand: sudo ss -ltn 'sport = :${unknown[0]}' (Linux) or lsof -nP -iTCP:${unknown[0]} -sTCP:LISTEN (macOS) lists nothing`,
    };
  return { name: "host ports", status: "ok", detail: `${ports.join(", ")} free` };
}

function checkExisting(env: PreflightEnv, clusterName: string): Check {
  const clusters = env.exec("kind", ["get", "clusters"]);
  const names = clusters.code === 0 ? clusters.stdout.split("\n").map((l) => l.trim()) : [];
  const contexts = env.exec("kubectl", ["config", "get-contexts", "-o", "name"]);
  const hasContext = contexts.code === 0 && contexts.stdout.split("\n").includes(`kind-${clusterName}`);
  if (names.includes(clusterName)) {
    return {
      name: "existing cluster",
      status: "note",
      detail: `kind cluster ${clusterName} exists: npm run up adopts it when the castle built it from this config, rebuilds it when from another config, and adopts someone else's only with the same nodes`,
    };
  }
  if (hasContext) {
    return {
      name: "existing cluster",
      status: "note",
      detail: `your kubeconfig has a context kind-${clusterName} but kind has no such cluster: a leftover; kubectl config delete-context kind-${clusterName} removes it`,
    };
  }
  return { name: "existing cluster", status: "ok", detail: `no kind cluster named ${clusterName} yet` };
}

/** Every check, in the order a host fixes them. */
export async function runPreflight(env: PreflightEnv, target: PreflightTarget): Promise<Check[]> {
  const checks: Check[] = [];
  const docker = dockerInfo(env);
  checks.push(docker.check!);
  if (docker.info) {
    checks.push(
      checkDockerMemory(docker.info),
      checkCgroup(docker.info, target.kubernetesVersion),
      checkDisk(env, docker.info),
    );
  }
  checks.push(checkKind(env), checkKubectl(env, target.kubernetesVersion), checkPulumi(env), checkNode(env));
  checks.push(
    checkInotify(env),
    await checkPorts(env, target.hostPorts),
    checkExisting(env, target.clusterName),
  );
  return checks;
}

export function formatChecks(checks: Check[]): string {
  const mark: Record<Status, string> = { ok: "ok  ", fail: "FAIL", note: "note" };
  const lines = checks.map(
    (c) =>
      `${mark[c.status]} ${c.name}: ${c.detail}${c.fix ? `${/[.?!:]$/.test(c.detail) ? "" : "."} Fix: ${c.fix}` : ""}`,
  );
  const failed = checks.filter((c) => c.status === "fail").length;
  lines.push(
    failed === 0 ? "preflight: this machine can run the castle" : `preflight: ${failed} check(s) failed`,
  );
  return lines.join("\n");
}

/**
 * Whether a TCP socket listens on `port`, from /proc/net/tcp and tcp6 (Linux; the state column 0A is
 * LISTEN, the local port is hex after the colon): undefined when neither file can be read.
 */
export function listensInProcNet(
  procRoot: string,
  port: number,
  read: PreflightEnv["readFile"],
): boolean | undefined {
  const tables = ["tcp", "tcp6"]
    .map((f) => read(path.join(procRoot, "net", f)))
    .filter((t) => t !== undefined);
  if (tables.length === 0) return undefined;
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return tables.some((t) =>
    t
      .split("\n")
      .slice(1)
      .some((line) => {
        const cols = line.trim().split(/\s+/);
        return cols[1]?.toUpperCase().endsWith(`:${hex}`) === true && cols[3] === "0A";
      }),
  );
}

function tryBind(port: number): Promise<"free" | "busy" | "denied" | "unknown"> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", (e: NodeJS.ErrnoException) =>
      resolve(e.code === "EADDRINUSE" ? "busy" : e.code === "EACCES" ? "denied" : "unknown"),
    );
    server.listen({ port, host: "0.0.0.0", exclusive: true }, () => server.close(() => resolve("free")));
  });
}

function answersOnLoopback(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.setTimeout(2000);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Binding is the plain test, but ports below 1024 need root on Linux (Docker's daemon binds them, not the
 * user): then /proc/net says who listens, and without /proc (macOS, where binding works anyway) a
 * connection to 127.0.0.1 does.
 */
async function listening(
  port: number,
  procRoot: string,
  read: PreflightEnv["readFile"],
): Promise<boolean | undefined> {
  const bound = await tryBind(port);
  if (bound === "free") return false;
  if (bound === "busy") return true;
  const fromProc = listensInProcNet(procRoot, port, read);
  if (fromProc !== undefined) return fromProc;
  if (bound === "denied") return (await answersOnLoopback(port)) ? true : undefined;
  return undefined;
}

/** The real machine. */
export function hostEnv(): PreflightEnv {
  const procRoot = process.env.CASTLE_PREFLIGHT_PROC ?? "/proc";
  const readFile = (p: string): string | undefined => {
    try {
      return fs.readFileSync(p, "utf8");
    } catch {
      return undefined;
    }
  };
  return {
    exec: (cmd, args) => {
      // On a timeout spawnSync gives status null (and ETIMEDOUT): "did not answer", not "not on PATH".
      const r = spawnSync(cmd, args, { encoding: "utf8", timeout: EXEC_TIMEOUT_S * 1000 });
      const error = (r.error as NodeJS.ErrnoException | undefined)?.code;
      // ENOENT: not on PATH. Another spawn error (EACCES: not executable) is a failed run, with its reason.
      const code = error === "ENOENT" ? 127 : error && error !== "ETIMEDOUT" ? 126 : r.status;
      return { code, stdout: r.stdout ?? "", stderr: r.stderr || (error ? String(r.error?.message) : "") };
    },
    readFile,
    freeBytes: (p) => {
      try {
        const s = fs.statfsSync(p);
        return s.bavail * s.bsize;
      } catch {
        return undefined;
      }
    },
    portInUse: (port) => listening(port, procRoot, readFile),
    nodeVersion: process.version,
    procRoot,
  };
}

/** The stack's cluster name, node image version and host ports. */
export function targetOf(stack: string): PreflightTarget {
  const config = parseCastleConfig(withProjectDefaults(readStackFile(stack)));
  // The image's tag is the Kubernetes version (kindest/node:v1.35.8@sha256:...).
  const kubernetesVersion = /:v(\d+\.\d+\.\d+)/.exec(config.kindNodeImage)?.[1] ?? "0.0.0";
  return { clusterName: config.clusterName, kubernetesVersion, hostPorts: INGRESS_HOST_PORTS };
}

if (require.main === module) {
  const stack = process.env.STACK ?? "dev";
  runPreflight(hostEnv(), targetOf(stack)).then(
    (checks) => {
      console.log(formatChecks(checks));
      process.exit(checks.some((c) => c.status === "fail") ? 1 : 0);
    },
    (e: Error) => {
      console.error(`preflight: ${e.message}`);
      process.exit(2);
    },
  );
}
