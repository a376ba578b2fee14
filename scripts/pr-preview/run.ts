// npm run -s pr-preview -- --base <ref> [--stacks <file>] [--out <dir>] [--post]
// npm run -s pr-preview -- relay --dir <dir>
//
// The pull-request preview (.github/workflows/castle-preview.yml): for each stack in the stacks file,
// render the base (a git worktree of <ref>) and the head offline, run `castle diff` and `castle check` on
// them, run `pulumi preview --policy-pack policypack` where a state backend is configured, and write one
// comment per stack. With --post it creates or updates the comment on the pull request; a pull request
// from a fork gets a read-only token and no secrets, so its run leaves the comments in <dir> for the
// relay (castle-preview-comment.yml, on workflow_run), which posts them after checking that they belong
// to the pull request's current head.
//
// Exit codes: 0 all good; 1 the pack refuses, a castle property breaks or a preview fails; 2 an error.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import {
  loadStackConfig,
  PROJECT_DIR,
  recordCastle,
  renderedObjects,
  writeRender,
} from "../../render/render";
import { checkCastle } from "../../verifier/check";
import { diffCastles } from "../../verifier/diff";
import { fromRenderDir } from "../../cli/sources";
import {
  buildComment,
  failures,
  GITHUB_COMMENT_LIMIT,
  markerOf,
  PreviewOutcome,
  StackReport,
} from "./comment";
import { GitHubTarget, pullHeadSha, upsertComment } from "./github";
import { parsePreview } from "./preview";

export class PreviewError extends Error {}

const STACK_NAME = /^[A-Za-z0-9_.-]+$/;
export const DEFAULT_STACKS_FILE = ".github/castle-preview.json";
const RELAY_FILE = "relay.json";

/** The checked-in list of stacks to preview: {"stacks": ["dev", ...]}. */
export function readStacksFile(file: string, project = PROJECT_DIR): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new PreviewError(`${file}: ${(e as Error).message}; expected {"stacks": ["dev"]}`);
  }
  const stacks = (doc as { stacks?: unknown }).stacks;
  if (!Array.isArray(stacks) || stacks.length === 0)
    throw new PreviewError(
      `${file}: "stacks" must be a non-empty list of stack names, e.g. {"stacks": ["dev"]}`,
    );
  stacks.forEach((s, i) => {
    if (typeof s !== "string" || !STACK_NAME.test(s))
      throw new PreviewError(
        `${file}: stacks[${i}] = ${JSON.stringify(s)} is not a stack name (letters, digits, _ . -)`,
      );
    if (!fs.existsSync(path.join(project, `Pulumi.${s}.yaml`)))
      throw new PreviewError(`${file}: stacks[${i}] = ${s} has no Pulumi.${s}.yaml in the project`);
  });
  return stacks as string[];
}

/** The pull request the run is for, from the Actions event (GITHUB_EVENT_PATH). */
export interface PullRequestEvent {
  number: number;
  headSha: string;
  /** The head branch lives in another repository: the token is read-only and secrets are withheld. */
  fork: boolean;
  repo: string;
}

export function pullRequestOf(eventFile: string): PullRequestEvent {
  const e = JSON.parse(fs.readFileSync(eventFile, "utf8")) as {
    pull_request?: { number: number; head: { sha: string; repo?: { full_name?: string } | null } };
    repository?: { full_name?: string };
  };
  if (!e.pull_request || !e.repository?.full_name)
    throw new PreviewError(`${eventFile} is not a pull_request event: the preview runs on pull requests`);
  const headRepo = e.pull_request.head.repo?.full_name;
  return {
    number: e.pull_request.number,
    headSha: e.pull_request.head.sha,
    // A deleted fork has no head repository: still not this repository.
    fork: headRepo !== e.repository.full_name,
    repo: e.repository.full_name,
  };
}

/** A worktree of the base commit, sharing the head's node_modules when the lock files agree. */
export function baseWorktree(ref: string, project = PROJECT_DIR): { dir: string; remove: () => void } {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "castle-base-")), "base");
  const git = (...args: string[]): string => {
    const r = spawnSync("git", args, { cwd: project, encoding: "utf8" });
    if (r.status !== 0)
      throw new PreviewError(`git ${args.join(" ")}: ${r.stderr.trim() || r.error?.message}`);
    return r.stdout;
  };
  git("worktree", "add", "--detach", dir, ref);
  const remove = (): void => {
    spawnSync("git", ["worktree", "remove", "--force", dir], { cwd: project });
  };
  const lock = (d: string): string =>
    fs.existsSync(path.join(d, "package-lock.json"))
      ? fs.readFileSync(path.join(d, "package-lock.json"), "utf8")
      : "";
  if (lock(dir) === lock(project))
    fs.symlinkSync(path.join(project, "node_modules"), path.join(dir, "node_modules"));
  else {
    const r = spawnSync("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], {
      cwd: dir,
      stdio: ["ignore", "ignore", "inherit"],
    });
    if (r.status !== 0) {
      remove();
      throw new PreviewError(`npm ci in the base worktree (${ref}) failed`);
    }
  }
  return { dir, remove };
}

/** Renders a stack with the base's own code (its render script), or undefined when the base lacks it. */
export function renderBase(baseDir: string, stack: string, out: string): string | undefined {
  if (!fs.existsSync(path.join(baseDir, `Pulumi.${stack}.yaml`))) return undefined;
  const r = spawnSync("npm", ["run", "-s", "render", "--", "--stack", stack, "--out", out], {
    cwd: baseDir,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0)
    throw new PreviewError(
      `rendering ${stack} at the base failed: ${r.stderr.trim().split("\n").slice(-3).join(" ")}`,
    );
  return out;
}

export async function renderHead(stack: string, out: string, project = PROJECT_DIR): Promise<string> {
  writeRender(out, renderedObjects(await recordCastle(loadStackConfig(stack, project), stack)));
  return out;
}

/** `pulumi preview` with the pack, when a backend is configured; otherwise why it was not run. */
export function runPulumiPreview(
  stack: string,
  outDir: string,
  env: NodeJS.ProcessEnv = process.env,
  project = PROJECT_DIR,
): PreviewOutcome {
  if (!env.PULUMI_BACKEND_URL)
    return {
      ran: false,
      reason:
        env.CASTLE_PREVIEW_FORK === "true"
          ? "this pull request comes from a fork, and GitHub gives its runs no secrets (no state backend)."
          : "no state backend is configured (repository secrets PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE; see README, Pull-request previews).",
    };
  if (!fs.existsSync(path.join(project, "policypack", "node_modules"))) {
    spawnSync("npm", ["ci", "--prefix", "policypack", "--no-audit", "--no-fund"], {
      cwd: project,
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  const eventLog = path.join(outDir, `${stack}.events.jsonl`);
  const config = path.join(project, "policypack", `config.${stack}.json`);
  const args = [
    "scripts/pulumi.sh",
    "pulumi",
    "preview",
    "--stack",
    stack,
    "--policy-pack",
    "policypack",
    ...(fs.existsSync(config) ? ["--policy-pack-config", config] : []),
    "--json",
    "--event-log",
    eventLog,
    "--non-interactive",
  ];
  // --event-log exists only with PULUMI_DEBUG_COMMANDS (cmd/pulumi/operations/preview.go in v3.248.0);
  // Pulumi's Automation API sets it for the same purpose (sdk/nodejs/automation/stack.ts).
  const r = spawnSync("bash", args, {
    cwd: project,
    env: { ...env, PULUMI_DEBUG_COMMANDS: "true" },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  fs.writeFileSync(path.join(outDir, `${stack}.preview.json`), r.stdout ?? "");
  const report = parsePreview(
    r.stdout ?? "",
    fs.existsSync(eventLog) ? fs.readFileSync(eventLog, "utf8") : "",
  );
  if (r.status !== 0 && report.errors.length === 0 && r.stderr.trim())
    report.errors.push(r.stderr.trim().split("\n").slice(-5).join("\n"));
  return { ran: true, report, exitCode: r.status ?? 1 };
}

export interface RunOptions {
  stacks: string[];
  out: string;
  /** The base's render of a stack, or undefined when the base has no such stack. */
  base: (stack: string, out: string) => string | undefined;
  head: (stack: string, out: string) => Promise<string>;
  preview: (stack: string, out: string) => PreviewOutcome;
  pull?: PullRequestEvent;
  github?: GitHubTarget;
  post: boolean;
  artifactUrl?: string;
  /** The base ref, for the diff's heading. */
  baseLabel?: string;
  log: (s: string) => void;
  summaryFile?: string;
}

export interface RunResult {
  reports: StackReport[];
  failures: string[];
  posted: { stack: string; action: string; id: number }[];
  /** Comments left for the relay (fork pull requests). */
  relayed: boolean;
}

export async function runPreviewFor(o: RunOptions): Promise<RunResult> {
  fs.mkdirSync(o.out, { recursive: true });
  const result: RunResult = { reports: [], failures: [], posted: [], relayed: false };
  const comments: { stack: string; body: string }[] = [];
  for (const stack of o.stacks) {
    const renders = path.join(o.out, "renders", stack);
    const baseDir = o.base(stack, path.join(renders, "base"));
    const headDir = await o.head(stack, path.join(renders, "head"));
    const head = {
      ...fromRenderDir(headDir),
      source: o.pull ? `head ${o.pull.headSha.slice(0, 7)}` : "head",
    };
    const report: StackReport = {
      stack,
      diff: baseDir
        ? diffCastles({ ...fromRenderDir(baseDir), source: `base ${o.baseLabel ?? ""}`.trim() }, head)
        : undefined,
      check: checkCastle(head),
      preview: o.preview(stack, o.out),
      sha: o.pull?.headSha,
      artifactUrl: o.artifactUrl,
    };
    const { body, full, truncated } = buildComment(report);
    fs.writeFileSync(path.join(o.out, `${stack}.md`), full);
    fs.writeFileSync(path.join(o.out, `${stack}.comment.md`), body);
    fs.writeFileSync(path.join(o.out, `${stack}.json`), JSON.stringify(report, null, 2));
    if (truncated)
      o.log(`${stack}: the comment was cut to ${body.length} characters; the full report is ${stack}.md`);
    result.reports.push(report);
    result.failures.push(...failures(report).map((f) => `${stack}: ${f}`));
    comments.push({ stack, body });
    if (o.summaryFile) fs.appendFileSync(o.summaryFile, body + "\n");
  }
  if (o.post && o.pull) {
    if (o.pull.fork) {
      // The token of a fork's run cannot write; the relay workflow posts these after checking them.
      fs.writeFileSync(
        path.join(o.out, RELAY_FILE),
        JSON.stringify(
          { pull: o.pull.number, headSha: o.pull.headSha, stacks: comments.map((c) => c.stack) },
          null,
          2,
        ),
      );
      result.relayed = true;
      o.log(
        `pull request #${o.pull.number} comes from a fork: the comments are left for castle-preview-comment.yml to post`,
      );
    } else {
      if (!o.github) throw new PreviewError("--post needs GITHUB_TOKEN and GITHUB_REPOSITORY");
      for (const c of comments) {
        const r = await upsertComment(o.github, o.pull.number, markerOf(c.stack), c.body);
        result.posted.push({ stack: c.stack, ...r });
        o.log(`${c.stack}: comment ${r.action} (#${r.id}) on pull request #${o.pull.number}`);
      }
    }
  }
  return result;
}

/**
 * Posts what a fork's run left, from the workflow_run event of that run: only for the pull request's
 * current head (an older run must not overwrite a newer comment), only bodies that carry their stack's
 * marker and fit GitHub's limit.
 */
export async function relay(
  dir: string,
  eventFile: string,
  github: GitHubTarget,
  log: (s: string) => void,
): Promise<{ stack: string; action: string }[]> {
  const event = JSON.parse(fs.readFileSync(eventFile, "utf8")) as {
    workflow_run?: { head_sha?: string; event?: string };
  };
  const run = event.workflow_run;
  if (!run?.head_sha || run.event !== "pull_request")
    throw new PreviewError(`${eventFile} is not the workflow_run event of a pull_request run`);
  const file = path.join(dir, RELAY_FILE);
  if (!fs.existsSync(file)) {
    log("nothing to relay: the run was not for a fork's pull request");
    return [];
  }
  const req = JSON.parse(fs.readFileSync(file, "utf8")) as {
    pull?: unknown;
    headSha?: unknown;
    stacks?: unknown;
  };
  if (!Number.isInteger(req.pull) || typeof req.headSha !== "string" || !Array.isArray(req.stacks))
    throw new PreviewError(`${file}: expected {"pull": <number>, "headSha": <sha>, "stacks": [...]}`);
  if (req.headSha !== run.head_sha)
    throw new PreviewError(`${file} names commit ${req.headSha}, but the run was for ${run.head_sha}`);
  const current = await pullHeadSha(github, req.pull as number);
  if (current !== run.head_sha) {
    log(
      `pull request #${String(req.pull)} has moved on to ${current.slice(0, 7)}: not posting the comments of ${run.head_sha.slice(0, 7)}`,
    );
    return [];
  }
  const out: { stack: string; action: string }[] = [];
  for (const stack of req.stacks as unknown[]) {
    if (typeof stack !== "string" || !STACK_NAME.test(stack))
      throw new PreviewError(`${file}: ${JSON.stringify(stack)} is not a stack name`);
    const body = fs.readFileSync(path.join(dir, `${stack}.comment.md`), "utf8");
    if (!body.startsWith(markerOf(stack)) || body.length > GITHUB_COMMENT_LIMIT)
      throw new PreviewError(
        `${stack}.comment.md does not start with its marker or is too long: not posting it`,
      );
    const r = await upsertComment(github, req.pull as number, markerOf(stack), body);
    log(`${stack}: comment ${r.action} (#${r.id}) on pull request #${String(req.pull)}`);
    out.push({ stack, action: r.action });
  }
  return out;
}

function githubFromEnv(env: NodeJS.ProcessEnv): GitHubTarget | undefined {
  if (!env.GITHUB_TOKEN || !env.GITHUB_REPOSITORY) return undefined;
  return {
    apiUrl: env.GITHUB_API_URL ?? "https://api.github.com",
    token: env.GITHUB_TOKEN,
    repo: env.GITHUB_REPOSITORY,
  };
}

const USAGE = `usage: npm run -s pr-preview -- --base <ref> [--stacks <file>] [--out <dir>] [--post]
       npm run -s pr-preview -- relay --dir <dir>`;

export async function main(argv: string[], env = process.env): Promise<number> {
  const log = (s: string): void => void process.stderr.write(`pr-preview: ${s}\n`);
  try {
    if (argv[0] === "relay") {
      const { values } = parseArgs({
        args: argv.slice(1),
        options: { dir: { type: "string" } },
        strict: true,
      });
      const github = githubFromEnv(env);
      if (!values.dir || !env.GITHUB_EVENT_PATH || !github)
        throw new PreviewError(
          `relay needs --dir, GITHUB_EVENT_PATH, GITHUB_TOKEN and GITHUB_REPOSITORY\n${USAGE}`,
        );
      await relay(values.dir, env.GITHUB_EVENT_PATH, github, log);
      return 0;
    }
    const { values } = parseArgs({
      args: argv,
      options: {
        base: { type: "string" },
        stacks: { type: "string" },
        out: { type: "string" },
        post: { type: "boolean" },
      },
      strict: true,
    });
    if (!values.base) throw new PreviewError(`--base <ref> is required\n${USAGE}`);
    const stacks = readStacksFile(values.stacks ?? path.join(PROJECT_DIR, DEFAULT_STACKS_FILE));
    const out = path.resolve(values.out ?? "castle-preview");
    const pull = env.GITHUB_EVENT_PATH ? pullRequestOf(env.GITHUB_EVENT_PATH) : undefined;
    const worktree = baseWorktree(values.base);
    try {
      const result = await runPreviewFor({
        stacks,
        out,
        base: (stack, dir) => renderBase(worktree.dir, stack, dir),
        head: (stack, dir) => renderHead(stack, dir),
        preview: (stack, dir) =>
          runPulumiPreview(stack, dir, { ...env, CASTLE_PREVIEW_FORK: String(pull?.fork ?? false) }),
        pull,
        baseLabel: values.base.length === 40 ? values.base.slice(0, 7) : values.base,
        github: githubFromEnv(env),
        post: values.post ?? false,
        artifactUrl:
          env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY
            ? `${env.GITHUB_SERVER_URL ?? "https://github.com"}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
            : undefined,
        log,
        summaryFile: env.GITHUB_STEP_SUMMARY,
      });
      for (const f of result.failures) log(`FAIL ${f}`);
      return result.failures.length ? 1 : 0;
    } finally {
      worktree.remove();
    }
  } catch (e) {
    if (String((e as { code?: string }).code).startsWith("ERR_PARSE_ARGS")) {
      log(`${(e as Error).message}\n${USAGE}`);
      return 2;
    }
    log(
      e instanceof PreviewError || (e as Error).name === "GitHubError"
        ? (e as Error).message
        : ((e as Error).stack ?? String(e)),
    );
    return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
