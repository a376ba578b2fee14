// The pull-request preview: the comment, the poster against a GitHub API on loopback, the runner on
// fixture events (same-repository PR, fork PR, a second push, a huge diff), the relay, the workflows.

import { strict as assert } from "assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { renderTo } from "./castle/support";
import { FakeGitHub } from "./support/fakeGitHub";
import { buildComment, GITHUB_COMMENT_LIMIT, markerOf, StackReport } from "../scripts/pr-preview/comment";
import { upsertComment } from "../scripts/pr-preview/github";
import { layerOf, parsePreview, PreviewReport } from "../scripts/pr-preview/preview";
import {
  main,
  pullRequestOf,
  readStacksFile,
  relay,
  runPreviewFor,
  RunOptions,
} from "../scripts/pr-preview/run";
import { PROJECT_DIR } from "../render/render";
import { commentHtml } from "../scripts/pr-preview/picture";
import { diffCastles } from "../verifier/diff";
import { checkCastle } from "../verifier/check";
import { fromRenderDir } from "../cli/sources";
import type { RawConfig } from "../config/castleConfig";
import type { Untyped } from "../lib/untyped";

const FIXTURES = path.join(__dirname, "fixtures", "pr-preview");
const REPO = "castle-org/cilium-castle";
const TOKEN = "test-token";

const widenedWithNewNamespace = (raw: RawConfig): RawConfig => ({
  ...raw,
  jumphostCidrs: ["10.0.0.0/8"],
  userNamespaces: [...(raw.userNamespaces as object[]), { name: "team-new", exposed: true, metrics: false }],
});

/** A `pulumi preview --json` digest and its event log, in the CLI's shapes (see preview.ts). */
function previewFixture(violation: boolean): { json: string; events: string } {
  const urn = (types: string, name: string): string => `urn:pulumi:dev::cilium-castle::${types}::${name}`;
  const steps = [
    { op: "same", urn: urn("pulumi:pulumi:Stack", "cilium-castle-dev") },
    {
      op: "update",
      urn: urn(
        "castle:policy:NodeLayer$kubernetes:cilium.io/v2:CiliumClusterwideNetworkPolicy",
        "castle-nodes-host-all",
      ),
      newState: { type: "kubernetes:cilium.io/v2:CiliumClusterwideNetworkPolicy" },
    },
    {
      op: "create",
      urn: urn("castle:policy:UserNamespace$kubernetes:core/v1:Namespace", "castle-user-team-new"),
      newState: { type: "kubernetes:core/v1:Namespace" },
    },
  ];
  const events = [
    { sequence: 0, timestamp: 1, preludeEvent: { config: {} } },
    ...(violation
      ? [
          {
            sequence: 5,
            timestamp: 2,
            policyEvent: {
              resourceUrn: steps[1]!.urn,
              message:
                "Node policy castle-nodes-host-all allows SSH (22/TCP) from 10.0.0.0/8, outside the allowed jumphost CIDRs.\nNarrow jumphostCidrs.",
              color: "never",
              policyName: "no-open-ssh",
              policyPackName: "cilium-castle",
              policyPackVersion: "0.1.0",
              policyPackVersionTag: "0.1.0",
              enforcementLevel: "mandatory",
            },
          },
        ]
      : []),
    {
      sequence: 9,
      timestamp: 3,
      summaryEvent: {
        maybeCorrupt: false,
        durationSeconds: 4,
        resourceChanges: { same: 50, update: 1, create: 1 },
      },
    },
  ];
  return {
    json: JSON.stringify({ steps, changeSummary: { same: 50, update: 1, create: 1 } }),
    events: events.map((e) => JSON.stringify(e)).join("\n") + "\n",
  };
}

describe("pr preview: what pulumi preview says", () => {
  it("groups the steps by the castle's layers and reads the pack's violations from the event log", () => {
    const f = previewFixture(true);
    const r = parsePreview(f.json, f.events);
    assert.deepEqual(r.changes, { same: 50, update: 1, create: 1 });
    assert.deepEqual(
      r.layers.map((l) => [l.layer, l.steps.map((s) => `${s.op} ${s.name}`)]),
      [
        ["node layer", ["update castle-nodes-host-all"]],
        ["user layer", ["create castle-user-team-new"]],
      ],
    );
    assert.equal(r.violations.length, 1);
    assert.equal(r.violations[0]!.policy, "no-open-ssh");
    assert.equal(r.violations[0]!.level, "mandatory");
    assert.match(r.violations[0]!.message, /^Node policy castle-nodes-host-all allows SSH/);
  });

  it("names the layer from the URN's type chain", () => {
    assert.equal(
      layerOf("urn:pulumi:dev::p::castle:cluster:KindCluster$command:local:Command::castle-kind"),
      "cluster",
    );
    assert.equal(layerOf("urn:pulumi:dev::p::pulumi:providers:kubernetes::k"), "other");
  });

  it("refuses output that is not the CLI's, with the line", () => {
    assert.throws(() => parsePreview("Previewing update (dev)"), /pulumi preview --json printed no JSON/);
    assert.throws(() => parsePreview("{}", '{"sequence":0}\nnot json\n'), /event log line 2 is not JSON/);
  });
});

describe("pr preview: the comment", () => {
  let report: StackReport;
  before(async () => {
    const base = await renderTo(undefined, "base");
    const head = await renderTo(widenedWithNewNamespace, "head");
    const f = previewFixture(true);
    report = {
      stack: "dev",
      diff: diffCastles(
        { ...fromRenderDir(base), source: "base" },
        { ...fromRenderDir(head), source: "head" },
      ),
      check: checkCastle(fromRenderDir(head)),
      preview: { ran: true, report: parsePreview(f.json, f.events), exitCode: 255 },
      sha: "1111111111111111111111111111111111111111",
    };
  });

  it("starts with its marker and one summary line: reachability, Pulumi, pack, check", () => {
    const { body, truncated } = buildComment(report);
    assert.equal(truncated, false);
    const lines = body.split("\n");
    assert.equal(lines[0], "<!-- castle-preview stack=dev -->");
    assert.equal(lines[1], "### Castle preview: stack `dev` at 1111111");
    assert.match(
      lines[3]!,
      /^\*\*✗ fails\*\* · reachability: \d+ became allowed, 0 became denied, 1 namespace added · Pulumi: 1 to create, 1 to update, 0 to replace, 0 to delete · pack: 1 violation \(refused\) · check: (pass|\d+ broken)$/,
    );
    assert.match(body, /- \*\*the policy pack refuses: no-open-ssh\*\*/);
  });

  it("shows the SSH widening, the new namespace's flows, the violation verbatim and the steps by layer", () => {
    const { body } = buildComment(report);
    assert.match(
      body,
      /\| `ip:10\.0\.0\.0` \| `node:control-plane` \| 22\/tcp \| denied \| allowed \| `host-all` \|/,
    );
    assert.match(body, /#### Namespace `team-new` added: \d+ probed flows/);
    assert.match(body, /- \*\*\[mandatory\] no-open-ssh\*\* \(cilium-castle\) on `castle-nodes-host-all`/);
    assert.match(body, / {2}Node policy castle-nodes-host-all allows SSH \(22\/TCP\) from 10\.0\.0\.0\/8/);
    assert.match(
      body,
      /\*\*node layer\*\*: 1 change\n\n- `update` kubernetes:cilium\.io\/v2:CiliumClusterwideNetworkPolicy `castle-nodes-host-all`/,
    );
    assert.match(body, /\*\*user layer\*\*: 1 change/);
  });

  it("says why the preview did not run, and still shows the offline parts", () => {
    const { body } = buildComment({
      ...report,
      preview: { ran: false, reason: "no state backend is configured." },
    });
    assert.match(body.split("\n")[3]!, /Pulumi: not previewed · pack: not run/);
    assert.match(body, /Not run: no state backend is configured\./);
    assert.match(body, /#### Namespace `team-new` added/);
  });

  it("is cut at GitHub's limit with a note and the full report kept, never leaving a block open", () => {
    const { body, full, truncated } = buildComment(
      { ...report, artifactUrl: "https://github.com/o/r/actions/runs/1" },
      6000,
    );
    assert.equal(truncated, true);
    assert.ok(body.length <= 6000, `${body.length}`);
    assert.ok(full.length > 6000);
    assert.match(
      body,
      /\*\*Cut to fit GitHub's comment limit\.\*\* The full report is in the \[workflow run's artifacts\]\(https:\/\/github\.com\/o\/r\/actions\/runs\/1\) \(castle-preview, dev\.md\)\./,
    );
    assert.equal((body.match(/<details>/g) ?? []).length, (body.match(/<\/details>/g) ?? []).length);
    assert.equal((body.match(/^\s*```/gm) ?? []).length % 2, 0);
    // The summary and the violation come first and survive the cut.
    assert.match(body, /no-open-ssh/);
  });
});

describe("pr preview: the comment's picture", () => {
  it("renders the comment's Markdown as GitHub does: tables, code, collapsed details", async () => {
    const html = await commentHtml(
      "### Castle preview\n\n| from | to |\n| --- | --- |\n| `ip:10.0.0.0` | `node:worker` |\n\n<details><summary>more</summary>\n\nx\n\n</details>\n",
    );
    assert.match(html, /<h3>Castle preview<\/h3>/);
    assert.match(html, /<td><code>ip:10\.0\.0\.0<\/code><\/td>/);
    assert.match(html, /<details><summary>more<\/summary>/);
    assert.match(html, /<b>github-actions\[bot\]<\/b> commented/);
  });
});

describe("pr preview: posting", () => {
  let gh: FakeGitHub;
  beforeEach(async () => {
    gh = await new FakeGitHub(REPO, TOKEN).start();
  });
  afterEach(async () => gh.stop());
  const target = (): { apiUrl: string; token: string; repo: string } => ({
    apiUrl: gh.url,
    token: TOKEN,
    repo: REPO,
  });

  it("creates the comment once and updates it in place after that, pages through long threads", async () => {
    for (let i = 0; i < 120; i++)
      (gh.comments.get(42) ?? gh.comments.set(42, []).get(42)!).push({
        id: i + 1,
        body: `chatter ${i}`,
        user: { login: "dev", type: "User" },
      });
    const first = await upsertComment(target(), 42, markerOf("dev"), `${markerOf("dev")}\nfirst`);
    assert.equal(first.action, "created");
    const second = await upsertComment(target(), 42, markerOf("dev"), `${markerOf("dev")}\nsecond`);
    assert.deepEqual(second, { action: "updated", id: first.id });
    assert.equal(gh.comments.get(42)!.filter((c) => c.body.startsWith(markerOf("dev"))).length, 1);
    assert.ok(
      gh.requests.some((r) => r.path.endsWith("/comments?per_page=100&page=2")),
      "read the second page",
    );
    assert.deepEqual(
      gh.writes().map((r) => `${r.method} ${r.path}`),
      [`POST /repos/${REPO}/issues/42/comments`, `PATCH /repos/${REPO}/issues/comments/${first.id}`],
    );
    assert.ok(gh.requests.every((r) => r.auth === `Bearer ${TOKEN}`));
  });

  it("never takes a person's comment that quotes the marker for its own", async () => {
    gh.comments.set(42, [
      { id: 7, body: `${markerOf("dev")}\nquoted by hand`, user: { login: "dev", type: "User" } },
    ]);
    const r = await upsertComment(target(), 42, markerOf("dev"), `${markerOf("dev")}\nbot`);
    assert.equal(r.action, "created");
    assert.equal(gh.comments.get(42)![0]!.body, `${markerOf("dev")}\nquoted by hand`);
  });

  it("says what GitHub refused", async () => {
    gh.writeStatus = 403;
    await assert.rejects(
      upsertComment(target(), 42, markerOf("dev"), `${markerOf("dev")}\nx`),
      /POST \/repos\/castle-org\/cilium-castle\/issues\/42\/comments: 403 Resource not accessible by integration/,
    );
  });
});

describe("pr preview: the runner on fixture events", () => {
  let gh: FakeGitHub;
  let base: string;
  let head: string;
  before(async () => {
    base = await renderTo(undefined, "base");
    head = await renderTo(widenedWithNewNamespace, "head");
  });
  beforeEach(async () => {
    gh = await new FakeGitHub(REPO, TOKEN).start();
  });
  afterEach(async () => gh.stop());

  const options = (event: string, over: Partial<RunOptions> = {}): RunOptions => ({
    stacks: ["dev"],
    out: fs.mkdtempSync(path.join(os.tmpdir(), "castle-preview-")),
    base: () => base,
    head: async () => head,
    preview: () => ({ ran: false, reason: "no state backend is configured." }),
    pull: pullRequestOf(path.join(FIXTURES, event)),
    github: { apiUrl: gh.url, token: TOKEN, repo: REPO },
    post: true,
    log: () => undefined,
    ...over,
  });

  it("a same-repository pull request: one comment, updated in place by the second push", async () => {
    const first = await runPreviewFor(options("pull_request.same-repo.json"));
    assert.deepEqual(
      first.posted.map((p) => [p.stack, p.action]),
      [["dev", "created"]],
    );
    assert.deepEqual(first.failures, []);
    const comment = gh.comments.get(42)![0]!;
    assert.match(
      comment.body,
      /^<!-- castle-preview stack=dev -->\n### Castle preview: stack `dev` at 1111111/,
    );
    assert.match(comment.body, /`ip:10\.0\.0\.0` \| `node:control-plane` \| 22\/tcp \| denied \| allowed/);
    assert.match(comment.body, /#### Namespace `team-new` added/);
    const second = await runPreviewFor(options("pull_request.same-repo.json"));
    assert.deepEqual(second.posted, [{ stack: "dev", action: "updated", id: comment.id }]);
    assert.equal(gh.comments.get(42)!.length, 1, "not duplicated");
  });

  it("a fork's pull request: nothing written to GitHub, the comment left for the relay, which posts it", async () => {
    const o = options("pull_request.fork.json", {
      preview: () => ({
        ran: false,
        reason:
          "this pull request comes from a fork, and GitHub gives its runs no secrets (no state backend).",
      }),
    });
    const r = await runPreviewFor(o);
    assert.equal(r.relayed, true);
    assert.deepEqual(gh.writes(), []);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(o.out, "relay.json"), "utf8")), {
      pull: 43,
      headSha: "2222222222222222222222222222222222222222",
      stacks: ["dev"],
    });
    assert.match(
      fs.readFileSync(path.join(o.out, "dev.comment.md"), "utf8"),
      /Not run: this pull request comes from a fork/,
    );
    // The relay (workflow_run): posts for the pull request's current head only.
    gh.heads.set(43, "3333333333333333333333333333333333333333");
    const event = path.join(FIXTURES, "workflow_run.fork.json");
    const logs: string[] = [];
    assert.deepEqual(
      await relay(o.out, event, { apiUrl: gh.url, token: TOKEN, repo: REPO }, (s) => logs.push(s)),
      [],
    );
    assert.match(
      logs.join("\n"),
      /pull request #43 has moved on to 3333333: not posting the comments of 2222222/,
    );
    gh.heads.set(43, "2222222222222222222222222222222222222222");
    assert.deepEqual(
      await relay(o.out, event, { apiUrl: gh.url, token: TOKEN, repo: REPO }, () => undefined),
      [{ stack: "dev", action: "created" }],
    );
    assert.equal(gh.comments.get(43)!.length, 1);
  });

  it("the relay refuses a comment without its marker (an artifact is the fork's data)", async () => {
    const o = options("pull_request.fork.json");
    await runPreviewFor(o);
    fs.writeFileSync(path.join(o.out, "dev.comment.md"), "@everyone spam");
    gh.heads.set(43, "2222222222222222222222222222222222222222");
    await assert.rejects(
      relay(
        o.out,
        path.join(FIXTURES, "workflow_run.fork.json"),
        { apiUrl: gh.url, token: TOKEN, repo: REPO },
        () => undefined,
      ),
      /dev\.comment\.md does not start with its marker or is too long: not posting it/,
    );
    assert.deepEqual(gh.writes(), []);
  });

  it("a huge diff: the comment is cut under GitHub's limit and the full report written for the artifact", async () => {
    const many = await renderTo(
      (raw) => ({
        ...raw,
        userNamespaces: Array.from({ length: 60 }, (_, i) => ({
          name: `team-${i}`,
          exposed: i % 2 === 0,
          metrics: i % 3 === 0,
        })),
      }),
      "many",
    );
    const o = options("pull_request.same-repo.json", {
      head: async () => many,
      artifactUrl: "https://github.com/castle-org/cilium-castle/actions/runs/5",
    });
    const r = await runPreviewFor(o);
    const full = fs.readFileSync(path.join(o.out, "dev.md"), "utf8");
    const posted = gh.comments.get(42)![0]!.body;
    assert.ok(full.length > GITHUB_COMMENT_LIMIT, `the full report is ${full.length} characters`);
    assert.ok(posted.length <= GITHUB_COMMENT_LIMIT);
    assert.match(
      posted,
      /Cut to fit GitHub's comment limit\.\*\* The full report is in the \[workflow run's artifacts\]\(https:\/\/github\.com\/castle-org\/cilium-castle\/actions\/runs\/5\)/,
    );
    assert.equal(r.posted[0]!.action, "created");
  });

  it("fails the check when a castle property breaks or the pack refuses", async () => {
    const f = previewFixture(true);
    const r = await runPreviewFor(
      options("pull_request.same-repo.json", {
        post: false,
        preview: () => ({
          ran: true,
          report: parsePreview(f.json, f.events) as PreviewReport,
          exitCode: 255,
        }),
      }),
    );
    assert.deepEqual(r.failures, ["dev: the policy pack refuses: no-open-ssh"]);
  });
});

describe("pr preview: the command", () => {
  it("checks its stacks file and its arguments, exit 2 with a clear line", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "castle-stacks-"));
    const write = (name: string, text: string): string => {
      fs.writeFileSync(path.join(dir, name), text);
      return path.join(dir, name);
    };
    assert.deepEqual(readStacksFile(path.join(PROJECT_DIR, ".github", "castle-preview.json")), ["dev"]);
    assert.throws(
      () => readStacksFile(write("a.json", "{}")),
      /"stacks" must be a non-empty list of stack names/,
    );
    assert.throws(
      () => readStacksFile(write("b.json", '{"stacks": ["../x"]}')),
      /stacks\[0\] = "\.\.\/x" is not a stack name/,
    );
    assert.throws(
      () => readStacksFile(write("c.json", '{"stacks": ["prod"]}')),
      /stacks\[0\] = prod has no Pulumi\.prod\.yaml in the project/,
    );
    const err: string[] = [];
    const write2 = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (err.push(s), true)) as typeof process.stderr.write;
    try {
      assert.equal(await main(["--bogus"], {}), 2);
      assert.equal(await main([], {}), 2);
    } finally {
      process.stderr.write = write2;
    }
    assert.match(err.join(""), /Unknown option '--bogus'/);
    assert.match(err.join(""), /--base <ref> is required/);
    assert.ok(!err.join("").includes("    at "), "no stack trace");
  });
});

describe("pr preview: the workflows", () => {
  const load = (f: string): Untyped =>
    YAML.parse(fs.readFileSync(path.join(PROJECT_DIR, ".github", "workflows", f), "utf8"));

  it("run on pull_request (never pull_request_target) with least privilege", () => {
    const preview = load("castle-preview.yml");
    assert.deepEqual(Object.keys(preview.on), ["pull_request"]);
    assert.deepEqual(preview.permissions, { contents: "read", "pull-requests": "write" });
    const relay = load("castle-preview-comment.yml");
    assert.deepEqual(Object.keys(relay.on), ["workflow_run"]);
    assert.deepEqual(relay.permissions, { contents: "read", actions: "read", "pull-requests": "write" });
    // The relay never runs the fork's code: it checks out the default branch (no ref) and reads no secrets.
    const text = fs.readFileSync(
      path.join(PROJECT_DIR, ".github", "workflows", "castle-preview-comment.yml"),
      "utf8",
    );
    assert.ok(!/secrets\./.test(text));
    for (const step of relay.jobs.comment.steps) assert.equal(step.with?.ref, undefined);
  });

  it("pin every third-party action by commit", () => {
    for (const f of ["castle-preview.yml", "castle-preview-comment.yml"]) {
      for (const job of Object.values(load(f).jobs) as Untyped[]) {
        for (const step of job.steps) {
          if (step.uses) assert.match(step.uses, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${f}: ${step.uses}`);
        }
      }
    }
  });

  it("run the preview with --post and upload the full report", () => {
    const steps = load("castle-preview.yml").jobs.preview.steps as Untyped[];
    assert.ok(
      steps.some((s) =>
        /npm run -s pr-preview -- --base "\$BASE_SHA" --out castle-preview --post/.test(s.run ?? ""),
      ),
    );
    const upload = steps.find((s) => String(s.uses).startsWith("actions/upload-artifact@"));
    assert.ok(upload, "an upload-artifact step");
    assert.equal(upload.if, "always()");
    assert.equal(upload.with.name, "castle-preview");
  });
});
