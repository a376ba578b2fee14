import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { castle, renderTo } from "./support";
import { withoutTraces } from "../harness";
import { main } from "../../cli/main";
import type { DiffResult } from "../../verifier/diff";
import { cidrEdges, probePointsOf } from "../../verifier/probePoints";
import { renderCacheDir, renderKey } from "../../cli/sources";
import { writeFlowFile } from "../../scripts/benchFlows";
import type { Untyped } from "../../lib/untyped";

describe("castle matrix", () => {
  it("prints the dev stack's matrix with collapsed user classes", async () => {
    const r = await castle("matrix", "--stack", "dev");
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split("\n");
    assert.match(
      lines[0],
      /^Reachability matrix of stack dev \(audit mode: A = would be dropped, reported as AUDIT\)$/,
    );
    const header = lines.find((l) => l.startsWith("from \\ to"))!;
    assert.ok(
      header.includes("user:exposed+metrics") &&
        header.includes("user:metrics") &&
        header.includes("own-namespace"),
    );
    const row = (name: string): string[] =>
      lines
        .find((l) => l.startsWith(name + " "))!
        .trim()
        .split(/\s{2,}/);
    const cols = header.trim().split(/\s{2,}/);
    const cell = (from: string, to: string): string => row(from)[cols.indexOf(to)];
    assert.equal(cell("role:ingress-nginx", "user:exposed+metrics"), "✓");
    assert.equal(cell("role:ingress-nginx", "user:metrics"), "A");
    assert.equal(cell("role:prometheus", "user:metrics"), "✓");
    assert.equal(cell("user:metrics", "user:exposed+metrics"), "A");
    assert.equal(cell("user:metrics", "own-namespace"), "✓");
    assert.equal(cell("user:metrics", "role:coredns"), "✓");
    assert.equal(cell("jumphost", "node:worker"), "22");
    assert.equal(cell("world", "node:control-plane"), "6443");
  });

  it("--enforce shows drops as denied, and json carries every port's verdict and policies", async () => {
    const r = await castle("matrix", "--stack", "dev", "--enforce", "--format", "json");
    const m = JSON.parse(r.out);
    assert.equal(m.auditMode, false);
    const cell = m.cells.find((c: Untyped) => c.from === "user:metrics" && c.to === "user:exposed+metrics");
    assert.equal(cell.verdict, "denied");
    const dns = m.cells.find((c: Untyped) => c.from === "user:metrics" && c.to === "role:coredns");
    assert.deepEqual(
      dns.ports.map((p: Untyped) => [p.port, p.verdict]),
      [
        ["53/udp", "allowed"],
        ["53/tcp", "allowed"],
      ],
    );
    assert.deepEqual(dns.ports[0].policies, ["global-infra-dns", "kube-system/allow-to-coredns"]);
  });

  it("rejects an unknown format", async () => {
    const r = await castle("matrix", "--stack", "dev", "--format", "svg");
    assert.equal(r.code, 2);
    assert.match(r.err, /--format svg: expected table, json or html/);
  });
});

describe("castle why", () => {
  it("explains an allowed DNS lookup through the DNS proxy", async () => {
    const r = await castle(
      "why",
      "--stack",
      "dev",
      "--from",
      "ns:demo-batch",
      "--to",
      "role:coredns",
      "--port",
      "53/udp",
    );
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^pod:demo-batch\/client → role:coredns 53\/udp: ALLOWED \(decided at egress and ingress\), through the dns proxy/,
    );
    assert.match(r.out, /allowed by: global-infra-dns \(CCNP, infra layer\)/);
    assert.match(r.out, /allowed by: kube-system\/allow-to-coredns \(CNP, infra layer\)/);
  });

  it("explains a cross-namespace drop with the policies that switched default deny on", async () => {
    const r = await castle(
      "why",
      "--stack",
      "dev",
      "--from",
      "ns:demo-shop",
      "--to",
      "ns:demo-batch",
      "--port",
      "8080",
      "--enforce",
    );
    assert.match(
      r.out,
      /^pod:demo-shop\/client → pod:demo-batch\/web 8080\/tcp: DENIED \(decided at egress and ingress\)/,
    );
    assert.match(
      r.out,
      /default deny, switched on by: .*demo-batch\/allow-within-namespace \(CNP, user layer\)/,
    );
  });

  it("says which endpoints exist when one is unknown, and checks the port", async () => {
    const r = await castle("why", "--stack", "dev", "--from", "ns:nope", "--to", "world", "--port", "443");
    assert.equal(r.code, 1);
    assert.match(r.err, /--from ns:nope: unknown endpoint; known: .*ns:demo-shop/);
    const p = await castle(
      "why",
      "--stack",
      "dev",
      "--from",
      "world",
      "--to",
      "node:worker",
      "--port",
      "ssh",
    );
    assert.match(p.err, /--port ssh: expected <port>\[\/tcp\|udp\|sctp\] or icmp\/<type>/);
  });
});

describe("castle check", () => {
  it("passes on the dev stack", async () => {
    const r = await castle("check", "--stack", "dev");
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /✓ no user namespace reaches another user namespace/);
    assert.match(r.out, /All castle properties hold\.$/m);
  });

  it("fails, with the broken flows, on a render whose policies open SSH to the world", async () => {
    const dir = await renderTo();
    const hostAll = path.join(dir, "_cluster", "CiliumClusterwideNetworkPolicy-host-all.yaml");
    const policy = YAML.parse(fs.readFileSync(hostAll, "utf8"));
    policy.spec.ingress[0].fromCIDR = ["0.0.0.0/0"];
    fs.writeFileSync(hostAll, YAML.stringify(policy));
    const r = await castle("check", "--render", dir);
    assert.equal(r.code, 1);
    assert.match(r.out, /✗ only the jumphost reaches node SSH/);
    assert.match(r.out, /world → castle-control-plane 22\/tcp is allowed, expected dropped \(host-all\)/);
    assert.match(r.out, /1 castle property is broken\.$/m);
  });
});

describe("castle: command-line conventions", () => {
  it("--help per command, --version, and help on no command (exit 2)", async () => {
    const help = await castle("why", "--help");
    assert.equal(help.code, 0);
    assert.match(
      help.out,
      /^castle why: why one flow is allowed or dropped, policy by policy\n\nusage: castle why \(--stack <name> \| --render <dir>\) --from <endpoint>/,
    );
    assert.match((await castle("help", "diff")).out, /^castle diff: /);
    assert.match((await castle("--version")).out, /^castle \d+\.\d+\.\d+\n$/);
    const none = await castle();
    assert.equal(none.code, 2);
    assert.match(none.out, /^usage: castle <command> \[options\]\n\nCommands:\n {2}matrix/);
    assert.equal((await castle("-h")).code, 0);
  });

  it("an unknown or misplaced flag is one line and the command's usage, exit 2, no stack trace", async () => {
    const typo = await castle("matrix", "--stak", "dev");
    assert.equal(typo.code, 2);
    assert.equal(typo.err.split("\n")[0], "castle matrix: Unknown option '--stak': did you mean --stack?");
    assert.match(typo.err, /\nusage: castle matrix /);
    assert.ok(!typo.err.includes("    at "));
    const misplaced = await castle("check", "--stack", "dev", "--port", "22");
    assert.equal(
      misplaced.err.split("\n")[0],
      "castle check: Unknown option '--port': --port is an option of castle why",
    );
    const bogus = await castle("matrix", "--bogus");
    assert.equal(bogus.err.split("\n")[0], "castle matrix: Unknown option '--bogus'");
    const missing = await castle("why", "--stack");
    assert.equal(missing.code, 2);
    assert.equal(missing.err.split("\n")[0], "castle why: Option '--stack <value>' argument missing");
    const extra = await castle("check", "--stack", "dev", "stray");
    assert.equal(extra.err.split("\n")[0], "castle check: unexpected argument 'stray'");
  });

  it("--stack and --render together are refused, not one silently winning", async () => {
    const r = await castle("check", "--stack", "dev", "--render", "render-out/dev");
    assert.equal(r.code, 2);
    assert.equal(r.err.split("\n")[0], "castle check: --stack and --render name two sources: give one");
  });

  it("-o is --output, the format flag of matrix, replay and diff", async () => {
    const r = await castle("matrix", "--stack", "dev", "-o", "json");
    assert.equal(JSON.parse(r.out).auditMode, true);
    const both = await castle("matrix", "--stack", "dev", "-o", "json", "--format", "table");
    assert.equal(both.err.split("\n")[0], "castle matrix: give --output (-o) or --format, not both");
    const bad = await castle("matrix", "--stack", "dev", "-o", "svg");
    assert.equal(bad.err.split("\n")[0], "castle matrix: --output svg: expected table, json or html");
  });

  it("an error is one line on stderr; --debug adds the stack trace", async () => {
    const plain = await castle("check", "--render", "/nonexistent/render");
    assert.equal(plain.code, 1);
    assert.equal(plain.out, "");
    assert.ok(!plain.err.includes("    at "), plain.err);
    const debug = await castle("check", "--render", "/nonexistent/render", "--debug");
    assert.match(debug.err, /\n {4}at /);
  });
});

describe("castle: the render cache of --stack", () => {
  it("keys a stack's render by its config and the program's sources", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "castle-root-"));
    fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: x\n");
    fs.writeFileSync(path.join(root, "package.json"), "{}");
    fs.writeFileSync(path.join(root, "Pulumi.dev.yaml"), "config: {}\n");
    fs.mkdirSync(path.join(root, "components"));
    fs.writeFileSync(path.join(root, "components", "a.ts"), "export const a = 1;\n");
    const k1 = renderKey("dev", root);
    assert.equal(renderKey("dev", root), k1, "stable");
    fs.writeFileSync(path.join(root, "components", "a.ts"), "export const a = 2;\n");
    const k2 = renderKey("dev", root);
    assert.notEqual(k2, k1, "a source changed");
    fs.writeFileSync(path.join(root, "Pulumi.dev.yaml"), "config: {a: 1}\n");
    assert.notEqual(renderKey("dev", root), k2, "the stack's config changed");
  });

  it("serves a second --stack run from the cache, the same as a fresh render", async () => {
    const file = path.join(renderCacheDir(), `dev-${renderKey("dev")}.json`);
    fs.rmSync(file, { force: true });
    // The first and the last run render the stack: under the harness's withoutTraces, as every test render.
    const first = await withoutTraces(() => castle("check", "--stack", "dev"));
    assert.ok(fs.existsSync(file), "the render was cached");
    const second = await castle("check", "--stack", "dev");
    assert.equal(second.out, first.out);
    process.env.CASTLE_RENDER_CACHE = "off";
    try {
      assert.equal((await withoutTraces(() => castle("check", "--stack", "dev"))).out, first.out);
    } finally {
      delete process.env.CASTLE_RENDER_CACHE;
    }
  });
});

describe("castle diff", () => {
  let base: string;
  before(async () => {
    base = await renderTo(undefined, "before");
  });

  it("prints the flows that became allowed or denied, as Markdown, and exits 1", async () => {
    const after = await renderTo(
      (raw) => ({
        ...raw,
        userNamespaces: [
          { name: "demo-shop", exposed: false, metrics: true },
          { name: "demo-batch", exposed: true, metrics: true },
        ],
      }),
      "after",
    );
    const r = await castle("diff", base, after);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /^### Castle reachability: `.*before` → `.*after`/);
    // Every probed port of the pair (the classes' and the policies'), on one row.
    assert.match(r.out, /\*\*14 became allowed, 14 became denied\*\* \(evaluated as enforced\)/);
    assert.match(
      r.out,
      /\| `role:ingress-nginx` \| `user:demo-batch` \| 22\/tcp, 53\/tcp, 53\/udp, 80\/tcp, 443\/tcp, .*, 8080\/tcp, .* \| denied \| allowed \| `global-infra-nginx`, `nginx-to-services` \|/,
    );
    assert.match(
      r.out,
      /\| `role:ingress-nginx` \| `user:demo-shop` \| 22\/tcp, .*8080\/tcp.* \| allowed \| denied \|/,
    );
  });

  it("sees a widened jumphost CIDR at the new CIDR's edges and just outside the old one", async () => {
    const wide = await renderTo((raw) => ({ ...raw, jumphostCidrs: ["10.0.0.0/8"] }), "wide");
    const r = await castle("diff", base, wide, "--format", "json");
    assert.equal(r.code, 1, r.err);
    const d = JSON.parse(r.out) as DiffResult;
    assert.deepEqual(d.becameDenied, []);
    const ssh = d.becameAllowed.filter((c) => c.port === "22/tcp" && c.to === "node:control-plane");
    assert.deepEqual(
      ssh.map((c) => c.from),
      ["ip:10.0.0.0", "ip:10.1.101.109", "ip:10.1.101.111", "ip:10.255.255.255"],
    );
    assert.ok(ssh.every((c) => c.by.includes("host-all") && c.before === "denied"));
    // 9.255.255.255 and 11.0.0.0, just outside the /8, stay denied: not reported.
    assert.ok(!d.becameAllowed.some((c) => /^ip:(9\.|11\.)/.test(c.from)));
    assert.ok(d.probed.addresses.some((a) => a.ip === "11.0.0.0" && a.why === "just above 10.0.0.0/8"));
  });

  it("sees a removed jumphost as SSH denied from its address", async () => {
    const none = await renderTo((raw) => ({ ...raw, jumphostCidrs: [] }), "none");
    const r = await castle("diff", base, none, "--format", "json");
    const d = JSON.parse(r.out) as DiffResult;
    assert.equal(r.code, 1);
    assert.deepEqual(
      d.becameDenied.filter((c) => c.from === "ip:10.1.101.110").map((c) => `${c.to} ${c.port}`),
      ["node:control-plane 22/tcp", "node:infra 22/tcp", "node:worker 22/tcp"],
    );
  });

  it("lists a new namespace's flows, and a table format for terminals", async () => {
    const added = await renderTo(
      (raw) => ({
        ...raw,
        userNamespaces: [
          ...(raw.userNamespaces as object[]),
          { name: "team-new", exposed: true, metrics: false },
        ],
      }),
      "added",
    );
    const md = await castle("diff", base, added);
    assert.equal(md.code, 1);
    assert.match(md.out, /\*\*0 became allowed, 0 became denied, 1 namespace added\*\*/);
    assert.match(md.out, /#### Namespace `team-new` added: \d+ probed flows \(\d+ denied, \d+ allowed\)/);
    // ingress-nginx may enter the exposed namespace; its own pods talk to each other.
    assert.match(md.out, /\| `role:ingress-nginx` \| `user:team-new` \| 8080\/tcp \| allowed \|/);
    assert.match(md.out, /\| `user:team-new` \| `own-namespace` \| 8080\/tcp \| allowed \|/);
    const table = await castle("diff", base, added, "--format", "table");
    assert.match(table.out, /^\+ namespace team-new: \d+ flows \(\d+ denied, \d+ allowed\)$/m);
    const gone = await castle("diff", added, base, "--format", "json");
    assert.deepEqual(
      (JSON.parse(gone.out) as DiffResult).removedNamespaces.map((g) => g.namespace),
      ["team-new"],
    );
  });

  it("reports no change between two renders of the same stack, with exit 0", async () => {
    const r = await castle("diff", base, await renderTo(undefined, "b"));
    assert.equal(r.code, 0);
    assert.match(r.out, /No probed flow changes its verdict/);
  });

  it("exits 2 on an error, as kubectl diff does", async () => {
    const missing = await castle("diff", base, "/nonexistent/render");
    assert.equal(missing.code, 2);
    assert.match(missing.err, /^castle diff: \/nonexistent\/render does not exist\n$/);
    const format = await castle("diff", base, base, "--format", "yaml");
    assert.equal(format.code, 2);
    assert.match(format.err, /--format yaml: expected markdown, json or table/);
  });
});

describe("castle diff: probe points from the policies", () => {
  it("probes each CIDR's first and last address and the addresses just outside", () => {
    assert.deepEqual(
      cidrEdges("10.0.0.0/8").map((a) => `${a.ip} ${a.why}`),
      [
        "10.0.0.0 first address of 10.0.0.0/8",
        "10.255.255.255 last address of 10.0.0.0/8",
        "9.255.255.255 just below 10.0.0.0/8",
        "11.0.0.0 just above 10.0.0.0/8",
      ],
    );
    assert.deepEqual(
      cidrEdges("0.0.0.0/0").map((a) => a.ip),
      ["0.0.0.0", "255.255.255.255"],
    );
    assert.deepEqual(
      cidrEdges("2001:db8::1/128").map((a) => a.ip),
      ["2001:db8::1", "2001:db8::", "2001:db8::2"],
    );
  });

  it("takes CIDRs (with except), entities and ports (with range edges) from every direction", () => {
    const points = probePointsOf([
      {
        apiVersion: "cilium.io/v2",
        kind: "CiliumNetworkPolicy",
        metadata: { name: "p", namespace: "a" },
        spec: {
          endpointSelector: {},
          ingress: [
            {
              fromCIDRSet: [{ cidr: "192.0.2.0/24", except: ["192.0.2.128/25"] }],
              toPorts: [{ ports: [{ port: "8000", endPort: 8100, protocol: "TCP" }] }],
            },
          ],
          egressDeny: [
            {
              toEntities: ["world"],
              toPorts: [{ ports: [{ port: "53" }, { port: "http" }, { port: "0" }] }],
            },
          ],
        },
      },
    ]);
    assert.ok(
      points.addresses.some((a) => a.ip === "192.0.2.128" && a.why === "first address of 192.0.2.128/25"),
    );
    assert.ok(points.addresses.some((a) => a.ip === "192.0.2.127" && a.why === "just below 192.0.2.128/25"));
    assert.ok(
      points.addresses.some((a) => a.ip === "192.0.2.255" && a.why === "last address of 192.0.2.0/24"),
    );
    assert.deepEqual(points.entities, ["world"]);
    assert.deepEqual(
      points.ports.map((p) => `${p.port}/${p.protocol}`),
      ["53/TCP", "53/UDP", "7999/TCP", "8000/TCP", "8100/TCP", "8101/TCP"],
    );
  });
});

describe("castle replay", () => {
  let file: string;
  before(() => {
    file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "castle-flows-")), "flows.json");
    writeFlowFile(file, 20_000);
  });

  it("reports the flows enforcement would drop, grouped, with the layer that should allow them", async () => {
    const r = await castle("replay", "--stack", "dev", file);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^castle replay \(stack dev, judged as if enforced\): 20,000 lines, 20,000 flows: 18,000 judged, 2,000 replies \(not judged\), 0 skipped$/m,
    );
    assert.match(
      r.out,
      /^would drop: 8,000 flows in 4 groups; Hubble itself marked 6,000 of them AUDIT and 0 DROPPED$/m,
    );
    assert.match(
      r.out,
      /demo-shop\/app\.kubernetes\.io\/name=demo-client\s+demo-batch\/app\.kubernetes\.io\/name=demo-web\s+8080\/TCP\s+user\s+egress\+ingress/,
    );
    assert.match(r.out, /world\s+host castle-worker\s+22\/TCP\s+node\s+ingress/);
    assert.match(r.out, /kind: CiliumNetworkPolicy\n {2}metadata:|kind: CiliumNetworkPolicy\nmetadata:/);
  });

  it("reads stdin with -, prints JSON, and shows progress on a terminal", async () => {
    let out = "";
    let err = "";
    const stdin = fs.createReadStream(file);
    const code = await main(["replay", "--stack", "dev", "-", "--format", "json"], {
      out: (s) => (out += s),
      err: (s) => (err += s),
      stdin,
      isTTY: true,
    });
    assert.equal(code, 0);
    const report = JSON.parse(out);
    assert.equal(report.totals.linesRead, 20000);
    assert.equal(report.groups.length, 4);
    assert.match(err, /\rreplayed 10,000 lines\rreplayed 20,000 lines\n$/);
  });

  it("needs a file", async () => {
    const r = await castle("replay", "--stack", "dev");
    assert.equal(r.code, 2);
    assert.match(r.err, /replay needs a flows file \(hubble observe -o json\), or - for stdin/);
  });
});
