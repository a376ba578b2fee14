// A Pulumi workspace on the real tools: the real Pulumi CLI (and its plugins) from scripts/tools.sh, a file backend
// and PULUMI_HOME in a temporary folder, stack config files outside the checkout (--config-file), the
// fake `kind` first on PATH, and helpers to run pulumi and read its JSON.

import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";

export const ROOT = path.resolve(__dirname, "..", "..");
export const SHARED_DIR = process.env.CASTLE_SHARED_DIR ?? path.resolve(ROOT, "..", "shared");
// The fake kind of the real tier (test/real/fakes); only its tests put kind clusters in the workspace.
const FAKES_BIN = path.join(ROOT, "test", "real", "fakes", "bin");

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for messages. */
  output: string;
}

/** The tools' bin folder (they must have been built: `scripts/tools.sh build`, as `npm run test:real` does). */
export function toolsBin(): string {
  const res = spawnSync("bash", [path.join(ROOT, "scripts", "tools.sh"), "bin-dir"], { encoding: "utf8" });
  if (res.status !== 0) throw new Error(`scripts/tools.sh bin-dir failed: ${res.stderr}`);
  const bin = res.stdout.trim();
  for (const tool of [
    "pulumi",
    "kube-apiserver",
    "etcd",
    "kwok",
    "kind",
    "castle-cilium-crds",
    "castle-chart-images",
  ]) {
    if (!fs.existsSync(path.join(bin, tool))) {
      throw new Error(`${tool} is not built: run scripts/tools.sh build (npm run test:real does)`);
    }
  }
  return bin;
}

/** A folder holding the Cilium and demo chart archives of ../shared, as one chart mirror. */
export function chartMirrorDir(into: string): string {
  const dir = path.join(into, "charts");
  if (fs.existsSync(dir)) return dir;
  fs.mkdirSync(dir, { recursive: true });
  for (const src of [path.join(SHARED_DIR, "cilium", "charts"), path.join(SHARED_DIR, "charts")]) {
    for (const f of fs.readdirSync(src).filter((x) => x.endsWith(".tgz"))) {
      fs.symlinkSync(path.join(src, f), path.join(dir, f));
    }
  }
  return dir;
}

export class Workspace {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly kindState: string;
  /**
   * The project the CLI runs in: the checkout's program, from a folder of the workspace. `pulumi stack
   * init` writes Pulumi.<stack>.yaml (with its encryption salt) into the project folder and has no
   * --config-file: run in the checkout it would rewrite Pulumi.dev.yaml.
   */
  readonly project: string;

  constructor(
    readonly bin: string,
    opts: { dir?: string } = {},
  ) {
    this.dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "castle-real-"));
    const home = path.join(this.dir, "pulumi-home");
    const install = spawnSync("bash", [path.join(ROOT, "scripts", "tools.sh"), "pulumi-home", home], {
      encoding: "utf8",
    });
    if (install.status !== 0) throw new Error(`installing the plugins failed: ${install.stderr}`);
    fs.mkdirSync(path.join(this.dir, "state"), { recursive: true });
    this.kindState = path.join(this.dir, "kind-state");
    fs.mkdirSync(this.kindState, { recursive: true });
    this.env = {
      ...process.env,
      PATH: `${FAKES_BIN}:${bin}:${process.env.PATH}`,
      PULUMI_HOME: home,
      PULUMI_BACKEND_URL: `file://${path.join(this.dir, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: "castle-real-tier",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_DIY_BACKEND_DISABLE_CHECKPOINT_BACKUPS: "true",
      // The program is type-checked by `npm test`; here only its behaviour matters.
      PULUMI_NODEJS_TRANSPILE_ONLY: "true",
      CASTLE_TOOLS_BIN: bin,
      CASTLE_FAKE_KIND_STATE: this.kindState,
      KUBECONFIG: path.join(this.dir, "no-ambient-kubeconfig"),
    };
    this.project = this.scratchProject(path.join(ROOT, "index.ts"));
  }

  /** Removes the workspace (state, plugins, projects) unless CASTLE_REAL_KEEP is set. */
  remove(): void {
    if (process.env.CASTLE_REAL_KEEP) return;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * A project of the same name beside the checkout whose program is `entry` (a module of the checkout):
   * it shares the checkout's stacks, so an edited program can be previewed against a deployed stack.
   */
  scratchProject(entry: string): string {
    const dir = fs.mkdtempSync(path.join(this.dir, "project-"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    fs.copyFileSync(path.join(ROOT, "tsconfig.json"), path.join(dir, "tsconfig.json"));
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    fs.writeFileSync(
      path.join(dir, "package.json"),
      JSON.stringify({ name: "castle-scratch", main: "index.ts" }),
    );
    const rel = path.relative(dir, entry).replace(/\.ts$/, "");
    fs.writeFileSync(path.join(dir, "index.ts"), `export = require(${JSON.stringify(rel)});\n`);
    return dir;
  }

  configFile(stack: string): string {
    return path.join(this.project, `Pulumi.${stack}.yaml`);
  }

  /** Runs the real CLI in the checkout (Pulumi.yaml is there); stack files stay in the workspace. */
  async pulumi(
    args: string[],
    opts: { input?: string; timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {},
  ): Promise<RunResult> {
    return run(path.join(this.bin, "pulumi"), args, {
      timeoutMs: 20 * 60_000,
      ...opts,
      cwd: opts.cwd ?? this.project,
      env: { ...this.env, ...(opts.env ?? {}) },
    });
  }

  /** `pulumi <command> --stack s --config-file ...`, with the policy pack where it applies. */
  async stack(
    stack: string,
    command: string[],
    opts: { pack?: boolean; input?: string; timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {},
  ): Promise<RunResult> {
    const pack = opts.pack ? ["--policy-pack", path.join(ROOT, "policypack")] : [];
    return this.pulumi(
      [...command, "--stack", stack, "--config-file", this.configFile(stack), ...pack, "--non-interactive"],
      opts,
    );
  }

  /** A new stack whose config file holds the given values (keys without the project prefix). */
  async initStack(
    stack: string,
    config: Record<string, unknown>,
    secrets: Record<string, string> = {},
  ): Promise<void> {
    const init = await this.pulumi(["stack", "init", stack, "--non-interactive"]);
    if (init.code !== 0) throw new Error(`stack init ${stack}: ${init.output}`);
    this.writeConfig(stack, config);
    for (const [k, v] of Object.entries(secrets)) {
      const set = await this.stack(stack, ["config", "set", "--secret", `cilium-castle:${k}`], { input: v });
      if (set.code !== 0) throw new Error(`config set --secret ${k}: ${set.output}`);
    }
  }

  /** Rewrites the stack's plain config values, keeping its secrets and encryption salt. */
  writeConfig(stack: string, config: Record<string, unknown>): void {
    const file = this.configFile(stack);
    const doc = (fs.existsSync(file) ? YAML.parse(fs.readFileSync(file, "utf8")) : null) ?? {};
    const kept = Object.fromEntries(
      Object.entries((doc.config ?? {}) as Record<string, unknown>).filter(
        ([, v]) => typeof v === "object" && v !== null && "secure" in v,
      ),
    );
    const values = Object.fromEntries(Object.entries(config).map(([k, v]) => [`cilium-castle:${k}`, v]));
    fs.writeFileSync(file, YAML.stringify({ ...doc, config: { ...kept, ...values } }));
  }

  readConfig(stack: string): Record<string, unknown> {
    const doc = YAML.parse(fs.readFileSync(this.configFile(stack), "utf8")) ?? {};
    return Object.fromEntries(
      Object.entries((doc.config ?? {}) as Record<string, unknown>)
        .filter(([k]) => k.startsWith("cilium-castle:"))
        .map(([k, v]) => [k.slice("cilium-castle:".length), v]),
    );
  }

  /** The stack's checkpoint: every resource the state holds. */
  async exportStack(
    stack: string,
  ): Promise<{ resources: { urn: string; type: string; id?: string; outputs?: Record<string, unknown> }[] }> {
    const res = await this.pulumi(["stack", "export", "--stack", stack]);
    if (res.code !== 0) throw new Error(`stack export: ${res.output}`);
    const doc = JSON.parse(res.stdout) as {
      deployment: {
        resources?: { urn: string; type: string; id?: string; outputs?: Record<string, unknown> }[];
      };
    };
    return { resources: doc.deployment.resources ?? [] };
  }
}

export async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      output += d.toString();
    });
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          try {
            process.kill(-child.pid!, "SIGKILL");
          } catch {
            // gone
          }
        }, opts.timeoutMs)
      : undefined;
    child.on("error", reject);
    child.on("close", (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr, output });
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** Steps of `pulumi preview --json`: op and type per URN. */
export function previewSteps(json: string): { op: string; urn: string; type: string }[] {
  const doc = JSON.parse(json) as {
    steps?: { op: string; urn: string; newState?: { type: string }; oldState?: { type: string } }[];
  };
  return (doc.steps ?? []).map((s) => ({
    op: s.op,
    urn: s.urn,
    type: (s.newState ?? s.oldState)?.type ?? "",
  }));
}
