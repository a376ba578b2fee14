// A real Kubernetes control plane on loopback with simulated nodes: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok, built from their Go modules by scripts/tools.sh.
// No kubelet and no container runtime: kwok plays the nodes' and pods' lifecycles (its "fast" stages:
// nodes Ready, pods Running and Ready at once, Job pods Succeeded), so Deployments and DaemonSets become
// available and Helm's wait works. No datapath: no packets, no BPF, no Cilium agent.
//
// `npm run sim-cluster` starts one in the foreground and prints its kubeconfig path; tests call
// startSimCluster(). Every port is picked free, so two clusters run side by side.

import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import type { KindClusterConfig } from "../../components/cluster/kindConfig";
import type { Untyped } from "../../lib/untyped";

export interface SimTaint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

export interface SimNode {
  name: string;
  labels: Record<string, string>;
  taints: SimTaint[];
}

export interface SimClusterOptions {
  /** Folder of the tools' binaries (scripts/tools.sh bin-dir). */
  binDir: string;
  /** kwok's stage files (copied beside its binary by scripts/tools.sh). */
  kwokStagesDir?: string;
  nodes: SimNode[];
  /** Working folder; a new temporary one by default. Removed by stop() unless keep is set. */
  dir?: string;
  keep?: boolean;
  /** Where the components' output goes (one log file each in dir/logs otherwise). */
  log?: (line: string) => void;
}

const KIND_POD_SUBNET = "10.244.0.0/16"; // kind's default podSubnet (pkg/apis/config/v1alpha4/default.go)
const KIND_SERVICE_SUBNET = "10.96.0.0/16"; // kind's default serviceSubnet
const ADMIN_TOKEN_USER = "castle-admin";
const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"] as const;
type Component = (typeof COMPONENTS)[number];

/**
 * The nodes kind would register for a kind config: names as kind gives them (pkg/cluster/internal/
 * create/actions/config: `<cluster>-control-plane`, `<cluster>-worker`, `<cluster>-worker2`, ...), the
 * labels kubeadm and the kubelet set, the control-plane taint kubeadm sets, and the taints of
 * JoinConfiguration patches (the castle's infra taint).
 */
export function nodesFromKindConfig(config: KindClusterConfig): SimNode[] {
  const out: SimNode[] = [];
  let cp = 0;
  let worker = 0;
  const suffix = (i: number): string => (i === 0 ? "" : String(i + 1));
  for (const node of config.nodes) {
    const name =
      node.role === "control-plane"
        ? `${config.name}-control-plane${suffix(cp++)}`
        : `${config.name}-worker${suffix(worker++)}`;
    const labels: Record<string, string> = {
      "kubernetes.io/hostname": name,
      "kubernetes.io/os": "linux",
      "kubernetes.io/arch": "amd64",
      "beta.kubernetes.io/os": "linux",
      "beta.kubernetes.io/arch": "amd64",
      ...(node.labels ?? {}),
    };
    const taints: SimTaint[] = [];
    if (node.role === "control-plane") {
      labels["node-role.kubernetes.io/control-plane"] = "";
      labels["node.kubernetes.io/exclude-from-external-load-balancers"] = "";
      taints.push({ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" });
    }
    for (const patch of node.kubeadmConfigPatches ?? []) {
      const doc = YAML.parse(patch) as { kind?: string; nodeRegistration?: { taints?: SimTaint[] } };
      if (doc.kind === "JoinConfiguration" || doc.kind === "InitConfiguration") {
        taints.push(...(doc.nodeRegistration?.taints ?? []));
      }
    }
    out.push({ name, labels, taints });
  }
  return out;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function openssl(cwd: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA, the API server's serving certificate, and the service-account signing key pair. */
function makeCertificates(dir: string): void {
  openssl(dir, "genrsa", "-out", "ca.key", "2048");
  openssl(
    dir,
    "req",
    "-x509",
    "-new",
    "-key",
    "ca.key",
    "-subj",
    "/CN=castle-sim-ca",
    "-days",
    "30",
    "-out",
    "ca.crt",
  );
  openssl(dir, "genrsa", "-out", "apiserver.key", "2048");
  fs.writeFileSync(
    path.join(dir, "apiserver.ext"),
    "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default," +
      "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n" +
      "extendedKeyUsage=serverAuth\n",
  );
  openssl(
    dir,
    "req",
    "-new",
    "-key",
    "apiserver.key",
    "-subj",
    "/CN=kube-apiserver",
    "-out",
    "apiserver.csr",
  );
  openssl(
    dir,
    "x509",
    "-req",
    "-in",
    "apiserver.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "30",
    "-extfile",
    "apiserver.ext",
    "-out",
    "apiserver.crt",
  );
  openssl(dir, "genrsa", "-out", "sa.key", "2048");
  openssl(dir, "rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub");
}

export class SimCluster {
  private readonly procs = new Map<Component, ChildProcess>();
  private readonly starters = new Map<Component, () => ChildProcess>();
  private stopped = false;

  constructor(
    public readonly dir: string,
    public readonly server: string,
    public readonly kubeconfigPath: string,
    private readonly token: string,
    private readonly ca: string,
    private readonly keep: boolean,
  ) {}

  /** The kubeconfig's text, e.g. for a Pulumi `kubeconfig` secret. */
  get kubeconfig(): string {
    return fs.readFileSync(this.kubeconfigPath, "utf8");
  }

  /** @internal */
  track(name: Component, start: () => ChildProcess): void {
    this.starters.set(name, start);
    this.procs.set(name, start());
  }

  /** Starts a stopped component again with its first arguments (same ports, same data). */
  async restartComponent(name: Component): Promise<void> {
    await this.stopComponent(name);
    const start = this.starters.get(name);
    if (!start) throw new Error(`simulated cluster: ${name} was never started`);
    this.procs.set(name, start());
    if (name === "kube-apiserver") {
      await waitFor(
        "kube-apiserver",
        60_000,
        async () => (await this.request("GET", "/readyz")).status === 200,
      );
    }
  }

  isRunning(name: Component): boolean {
    const p = this.procs.get(name);
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** One REST call with the admin token. Resolves with the status code and the parsed body. */
  async request(
    method: string,
    apiPath: string,
    body?: unknown,
    contentType = "application/json",
  ): Promise<{ status: number; body: Untyped }> {
    const url = new URL(apiPath, this.server);
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          ca: this.ca,
          headers: {
            Authorization: `Bearer ${this.token}`,
            Accept: "application/json",
            ...(data ? { "Content-Type": contentType, "Content-Length": Buffer.byteLength(data) } : {}),
          },
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // plain-text answers (/readyz) stay text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as Untyped });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${apiPath}: timed out`)));
      req.on("error", reject);
      if (data) req.write(data);
      req.end();
    });
  }

  async get(apiPath: string): Promise<Untyped> {
    const res = await this.request("GET", apiPath);
    if (res.status !== 200)
      throw new Error(`GET ${apiPath}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** Stops one component (SIGTERM, then SIGKILL), e.g. the API server to inject a fault. */
  async stopComponent(name: Component): Promise<void> {
    const proc = this.procs.get(name);
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await killGroup(proc);
  }

  /**
   * Lets this process exit while the cluster runs on (as `kind create cluster` returns with the nodes
   * up): the components' process groups go to dir/pids.json for stopDetached().
   */
  detach(): void {
    const pids: Record<string, number> = {};
    for (const [name, proc] of this.procs) {
      if (proc.pid !== undefined) pids[name] = proc.pid;
      proc.unref();
    }
    fs.writeFileSync(path.join(this.dir, PIDS_FILE), JSON.stringify(pids, null, 2));
    this.stopped = true;
  }

  /** Stops every component, newest first, and removes the folder unless `keep`. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const name of [...COMPONENTS].reverse()) await this.stopComponent(name);
    if (!this.keep) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const PIDS_FILE = "pids.json";

/** Stops a cluster that detach() left running, by its folder, and removes the folder. */
export async function stopDetached(dir: string): Promise<void> {
  const file = path.join(dir, PIDS_FILE);
  if (fs.existsSync(file)) {
    const pids = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, number>;
    for (const name of [...COMPONENTS].reverse()) {
      const pid = pids[name];
      if (pid !== undefined) await killPidGroup(pid);
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function killPidGroup(pid: number): Promise<void> {
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + 10_000;
  while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pid)) signal("SIGKILL");
}

async function killGroup(proc: ChildProcess): Promise<void> {
  if (proc.pid === undefined) return;
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once("exit", () => resolve());
  });
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-proc.pid!, sig);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

async function waitFor(
  what: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
  alive?: () => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    alive?.();
    try {
      if (await probe()) return;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(
        `simulated cluster: ${what} not ready after ${timeoutMs / 1000}s${last ? `: ${last}` : ""}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** Starts the control plane and the simulated nodes; resolves once every node is Ready. */
export async function startSimCluster(opts: SimClusterOptions): Promise<SimCluster> {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "castle-sim-"));
  const pki = path.join(dir, "pki");
  const logs = path.join(dir, "logs");
  fs.mkdirSync(pki, { recursive: true });
  fs.mkdirSync(logs, { recursive: true });
  makeCertificates(pki);

  const [etcdClient, etcdPeer, apiPort, cmPort, schedPort, kwokPort] = await Promise.all(
    Array.from({ length: 6 }, () => freePort()),
  );
  const token = execFileSync("openssl", ["rand", "-hex", "24"]).toString().trim();
  fs.writeFileSync(
    path.join(pki, "tokens.csv"),
    `${token},${ADMIN_TOKEN_USER},${ADMIN_TOKEN_USER},system:masters\n`,
    {
      mode: 0o600,
    },
  );
  const ca = fs.readFileSync(path.join(pki, "ca.crt"), "utf8");
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfigPath = path.join(dir, "kubeconfig");
  fs.writeFileSync(
    kubeconfigPath,
    YAML.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "castle-sim",
          cluster: { server, "certificate-authority-data": Buffer.from(ca).toString("base64") },
        },
      ],
      users: [{ name: ADMIN_TOKEN_USER, user: { token } }],
      contexts: [{ name: "castle-sim", context: { cluster: "castle-sim", user: ADMIN_TOKEN_USER } }],
      "current-context": "castle-sim",
    }),
    { mode: 0o600 },
  );

  const cluster = new SimCluster(dir, server, kubeconfigPath, token, ca, opts.keep ?? false);
  const bin = (name: string): string => {
    const p = path.join(opts.binDir, name);
    if (!fs.existsSync(p)) throw new Error(`simulated cluster: ${p} is missing; run scripts/tools.sh build`);
    return p;
  };
  const start = (name: Component, binary: string, args: string[]): void => {
    cluster.track(name, () => {
      const logFile = path.join(logs, `${name}.log`);
      const fd = fs.openSync(logFile, "a");
      // detached: its own process group, so stop() kills the component and anything it started.
      const proc = spawn(binary, args, { cwd: dir, detached: true, stdio: ["ignore", fd, fd] });
      fs.closeSync(fd);
      proc.on("exit", (code, sig) => opts.log?.(`${name} exited (${code ?? sig})`));
      return proc;
    });
  };
  const alive = (name: Component) => () => {
    if (!cluster.isRunning(name)) {
      throw new Error(`simulated cluster: ${name} exited:\n${tail(path.join(logs, `${name}.log`))}`);
    }
  };

  try {
    start("etcd", bin("etcd"), [
      "--name=castle-sim",
      `--data-dir=${path.join(dir, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=castle-sim=http://127.0.0.1:${etcdPeer}`,
      // A throw-away store on a laptop disk: fsync only slows the tests.
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);
    await waitFor(
      "etcd",
      30_000,
      async () => {
        const res = await fetch(`http://127.0.0.1:${etcdClient}/health`);
        return res.ok;
      },
      alive("etcd"),
    );

    start("kube-apiserver", bin("kube-apiserver"), [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--cert-dir=${pki}`,
      `--tls-cert-file=${path.join(pki, "apiserver.crt")}`,
      `--tls-private-key-file=${path.join(pki, "apiserver.key")}`,
      `--client-ca-file=${path.join(pki, "ca.crt")}`,
      `--token-auth-file=${path.join(pki, "tokens.csv")}`,
      "--authorization-mode=Node,RBAC",
      `--service-account-key-file=${path.join(pki, "sa.pub")}`,
      `--service-account-signing-key-file=${path.join(pki, "sa.key")}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-cluster-ip-range=${KIND_SERVICE_SUBNET}`,
      // Cilium's agent and the host-network pods of the charts are privileged, as on kind.
      "--allow-privileged=true",
      "--v=0",
    ]);
    await waitFor(
      "kube-apiserver",
      60_000,
      async () => (await cluster.request("GET", "/readyz")).status === 200,
      alive("kube-apiserver"),
    );

    start("kube-controller-manager", bin("kube-controller-manager"), [
      `--kubeconfig=${kubeconfigPath}`,
      `--authentication-kubeconfig=${kubeconfigPath}`,
      `--authorization-kubeconfig=${kubeconfigPath}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${cmPort}`,
      `--cert-dir=${path.join(dir, "kcm-certs")}`,
      "--leader-elect=false",
      `--service-account-private-key-file=${path.join(pki, "sa.key")}`,
      `--root-ca-file=${path.join(pki, "ca.crt")}`,
      `--cluster-signing-cert-file=${path.join(pki, "ca.crt")}`,
      `--cluster-signing-key-file=${path.join(pki, "ca.key")}`,
      // As kubeadm on kind: node podCIDRs from the pod subnet, which Cilium's ipam "kubernetes" mode uses.
      "--allocate-node-cidrs=true",
      `--cluster-cidr=${KIND_POD_SUBNET}`,
      `--service-cluster-ip-range=${KIND_SERVICE_SUBNET}`,
      "--use-service-account-credentials=false",
      "--v=0",
    ]);
    start("kube-scheduler", bin("kube-scheduler"), [
      `--kubeconfig=${kubeconfigPath}`,
      `--authentication-kubeconfig=${kubeconfigPath}`,
      `--authorization-kubeconfig=${kubeconfigPath}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${schedPort}`,
      `--cert-dir=${path.join(dir, "scheduler-certs")}`,
      "--leader-elect=false",
      "--v=0",
    ]);

    for (const node of opts.nodes) {
      const res = await cluster.request("POST", "/api/v1/nodes", {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name: node.name,
          labels: node.labels,
          // kwok manages only the nodes that carry this annotation.
          annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
        },
        spec: { taints: node.taints },
      });
      if (res.status !== 201)
        throw new Error(`creating node ${node.name}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
      // Each node its own address on kind's Docker network (172.18.0.0/16; kwok keeps addresses a node
      // has). Host-network pods take it as their IP, and Endpoints refuse loopback addresses.
      const status = await cluster.request(
        "PATCH",
        `/api/v1/nodes/${node.name}/status`,
        {
          status: {
            addresses: [
              { type: "InternalIP", address: `172.18.0.${opts.nodes.indexOf(node) + 2}` },
              { type: "Hostname", address: node.name },
            ],
          },
        },
        "application/merge-patch+json",
      );
      if (status.status !== 200) throw new Error(`addressing node ${node.name}: HTTP ${status.status}`);
    }

    const stagesDir = opts.kwokStagesDir ?? path.join(path.dirname(fs.realpathSync(bin("kwok"))), "stages");
    const stages = fs
      .readdirSync(stagesDir)
      .filter((f) => f.endsWith(".yaml"))
      .sort()
      .map((f) => `--config=${path.join(stagesDir, f)}`);
    if (stages.length === 0) throw new Error(`simulated cluster: no kwok stages in ${stagesDir}`);
    start("kwok", bin("kwok"), [
      `--kubeconfig=${kubeconfigPath}`,
      "--manage-all-nodes=false",
      "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
      `--server-address=127.0.0.1:${kwokPort}`,
      "--node-ip=127.0.0.1",
      // Renew each node's Lease as a kubelet does (kwokctl's default, pkg/apis/config/v1alpha1 defaults):
      // without it the heartbeat stage's 10-minute status updates let the node lifecycle controller mark
      // the nodes NotReady, and every Deployment flaps unavailable.
      "--node-lease-duration-seconds=40",
      ...stages,
    ]);

    await waitFor(
      "nodes",
      60_000,
      async () => {
        const list = await cluster.get("/api/v1/nodes");
        return (
          list.items.length === opts.nodes.length &&
          list.items.every(
            (n: Untyped) =>
              n.spec.podCIDR &&
              (n.status.conditions ?? []).some((c: Untyped) => c.type === "Ready" && c.status === "True"),
          )
        );
      },
      () => {
        for (const c of COMPONENTS) alive(c)();
      },
    );
    // The service-account controllers are up once `default` has its ServiceAccount and root CA.
    await waitFor("service accounts", 60_000, async () => {
      const sa = await cluster.request("GET", "/api/v1/namespaces/default/serviceaccounts/default");
      const ca = await cluster.request("GET", "/api/v1/namespaces/default/configmaps/kube-root-ca.crt");
      return sa.status === 200 && ca.status === 200;
    });
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
