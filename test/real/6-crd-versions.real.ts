// verifier/crdVersions.ts against the real CRDs: the CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy
// CRDs of github.com/cilium/cilium v1.19.5 and v1.20.0 (from Go's module cache), each made an API server
// (test/real/support/crdOracle.ts: Ajv over the openAPIV3Schema, with kube-apiserver v1.35's pruning,
// formats, list types and CEL rule). The table is complete when every difference between the two CRDs is
// a row for 1.20, every row stands for a difference, and crdSchemaErrors(p, version) stores and refuses
// exactly what that version's API server does on a corpus: the conformance suite's policies, the dev
// stack's render, variants for every row and a walk of every field of both schemas.

import { strict as assert } from "assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { crdSchemaErrors } from "../../verifier/crdSchema";
import {
  CRD_RELEASES,
  CRD_ROWS,
  CrdRow,
  LINEAR_PATTERNS,
  matchesPath,
  MODEL_PATTERNS,
  parseCidrSloppy,
} from "../../verifier/crdVersions";
import type { CiliumVersion } from "../../verifier/engine";
import { fromStack } from "../../cli/sources";
import { PROJECT_DIR } from "../../render/render";
import { CASES } from "../verifier/cases";
import {
  CRD_FILES,
  ciliumModuleDir,
  crdOracle,
  CrdOracle,
  crdSchemaOf,
  PolicyKind,
} from "./support/crdOracle";
import type { Untyped } from "../../lib/untyped";

type Schema = Untyped;
const VERSIONS = Object.keys(CRD_RELEASES) as CiliumVersion[];
const KINDS = Object.keys(CRD_FILES) as PolicyKind[];

/** Every node of a schema with its path as a row writes it (`0` for an item, `k` for a map value). */
function* nodes(s: Schema, at: string): Generator<{ at: string; s: Schema }> {
  yield { at, s };
  for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, Schema>))
    yield* nodes(v, `${at}/${k}`);
  if (s.items) yield* nodes(s.items as Schema, `${at}/0`);
  if (typeof s.additionalProperties === "object") yield* nodes(s.additionalProperties as Schema, `${at}/k`);
}

const strip = (x: unknown): unknown =>
  Array.isArray(x)
    ? x.map(strip)
    : x && typeof x === "object"
      ? Object.fromEntries(
          Object.entries(x)
            .filter(([k]) => k !== "description")
            .map(([k, v]) => [k, strip(v)]),
        )
      : x;

/** Whether a row names a place of the schema (a path of `nodes`, `/spec/...`). */
const rowCovers = (row: CrdRow, at: string): boolean => "paths" in row && matchesPath(at, row.paths);

describe("real tier: the CRD schema table against Cilium's CRDs", () => {
  const schemas = {} as Record<CiliumVersion, Record<PolicyKind, Schema>>;
  const oracles = {} as Record<CiliumVersion, Record<PolicyKind, CrdOracle>>;
  before(() => {
    for (const v of VERSIONS) {
      const dir = ciliumModuleDir(CRD_RELEASES[v]);
      schemas[v] = {} as Record<PolicyKind, Schema>;
      oracles[v] = {} as Record<PolicyKind, CrdOracle>;
      for (const k of KINDS) {
        schemas[v][k] = strip(crdSchemaOf(dir, k)) as Schema;
        oracles[v][k] = crdOracle(crdSchemaOf(dir, k));
      }
    }
  });

  it("the two kinds share one schema, and each entry of specs is a spec", () => {
    for (const v of VERSIONS) {
      const cnp = schemas[v].CiliumNetworkPolicy;
      assert.deepEqual(schemas[v].CiliumClusterwideNetworkPolicy, cnp, v);
      assert.deepEqual(cnp.properties.specs.items, cnp.properties.spec, v);
    }
  });

  it("every difference between the 1.19.5 and 1.20.0 CRDs is a row for 1.20, and every row for 1.20 is one", () => {
    const [a, b] = [schemas["1.19"].CiliumNetworkPolicy, schemas["1.20"].CiliumNetworkPolicy];
    const rows = CRD_ROWS.filter((r) => r.versions.includes("1.20") && !r.versions.includes("1.19"));
    const used = new Set<CrdRow>();
    const unexplained: string[] = [];
    const old = new Map([...nodes(a, "")].map((n) => [n.at, n.s]));
    const neu = new Map([...nodes(b, "")].map((n) => [n.at, n.s]));
    const explain = (at: string, what: string, ok: (r: CrdRow) => boolean): void => {
      const row = rows.find((r) => ok(r));
      if (row) used.add(row);
      else unexplained.push(`${at || "<root>"}: ${what}`);
    };
    for (const [at, s] of old) {
      const t = neu.get(at);
      if (!t) {
        // A field gone, with everything under it: the row prunes the field itself.
        const parent = at.split("/").slice(0, -1).join("/");
        if (neu.has(parent)) explain(at, "removed", (r) => r.kind === "prune" && rowCovers(r, at));
        continue;
      }
      for (const key of new Set([...Object.keys(s), ...Object.keys(t)])) {
        if (["properties", "items", "additionalProperties"].includes(key)) continue;
        if (JSON.stringify(s[key]) === JSON.stringify(t[key])) continue;
        if (key === "enum")
          explain(
            at,
            `enum ${JSON.stringify(s.enum)} -> ${JSON.stringify(t.enum)}`,
            (r) =>
              r.kind === "enum" && rowCovers(r, at) && JSON.stringify(r.values) === JSON.stringify(t.enum),
          );
        else if (key === "pattern")
          explain(
            at,
            `pattern ${s.pattern} -> ${t.pattern}`,
            (r) => r.kind === "pattern" && rowCovers(r, at) && r.pattern === t.pattern,
          );
        else if (key === "oneOf") {
          // Only the branches of pruned fields may go.
          const kept = (s.oneOf as Schema[]).filter(
            (br) =>
              !rows.some(
                (r) =>
                  r.kind === "prune" && (br.required as string[]).every((f) => rowCovers(r, `${at}/${f}`)),
              ),
          );
          explain(
            at,
            `oneOf ${JSON.stringify(s.oneOf)} -> ${JSON.stringify(t.oneOf)}`,
            (r) =>
              r.kind === "prune" &&
              JSON.stringify(kept) === JSON.stringify(t.oneOf) &&
              (s.oneOf as Schema[]).some((br) =>
                (br.required as string[]).every((f) => rowCovers(r, `${at}/${f}`)),
              ),
          );
        } else if (key === "x-kubernetes-validations" && at === "" && s[key] === undefined) {
          for (const rule of t[key] as Untyped[])
            explain(
              at,
              `CEL ${rule.rule}`,
              (r) =>
                r.kind === "anyOfRoot" &&
                rule.rule === r.fields.map((f) => `has(self.${f})`).join(" || ") &&
                rule.message === r.message,
            );
        } else
          unexplained.push(
            `${at || "<root>"}: ${key} ${JSON.stringify(s[key])} -> ${JSON.stringify(t[key])}`,
          );
      }
    }
    for (const at of neu.keys()) if (!old.has(at)) unexplained.push(`${at}: added in 1.20`);
    assert.deepEqual(unexplained, []);
    assert.deepEqual(
      rows.filter((r) => !used.has(r)).map((r) => r.why),
      [],
      "every row for 1.20 stands for a difference",
    );
    // Each row names every place of its difference, and no other.
    for (const r of rows) {
      if (!("paths" in r)) continue;
      const places = [...old.keys()].filter((at) => {
        const t = neu.get(at);
        if (r.kind === "prune") return !t && neu.has(at.split("/").slice(0, -1).join("/"));
        if (r.kind === "enum")
          return (
            t &&
            JSON.stringify(old.get(at)!.enum) !== JSON.stringify(t.enum) &&
            JSON.stringify(t.enum) === JSON.stringify(r.values)
          );
        if (r.kind === "pattern") return t && old.get(at)!.pattern !== t.pattern && t.pattern === r.pattern;
        return false;
      });
      const covered = [...old.keys()].filter((at) => rowCovers(r, at));
      assert.deepEqual(covered, places, r.why);
    }
  });

  it("the rows for every version name every place the CRDs give them, in both versions", () => {
    for (const v of VERSIONS) {
      const all = [...nodes(schemas[v].CiliumNetworkPolicy, "")];
      const places = (pred: (s: Schema) => boolean) => all.filter((n) => pred(n.s)).map((n) => n.at);
      const covering = (r: CrdRow) => all.filter((n) => rowCovers(r, n.at)).map((n) => n.at);
      for (const r of CRD_ROWS.filter((x) => x.versions.length === VERSIONS.length)) {
        if (r.kind === "format")
          assert.deepEqual(
            covering(r),
            places((s) => s.format === r.format),
            `${v} ${r.why}`,
          );
        if (r.kind === "unique")
          assert.deepEqual(
            covering(r),
            places((s) => s["x-kubernetes-list-type"] === "set"),
            `${v} ${r.why}`,
          );
        if (r.kind === "accept")
          assert.deepEqual(
            covering(r),
            places((s) => s["x-kubernetes-int-or-string"] === true),
            `${v} ${r.why}`,
          );
        if (r.kind === "type")
          for (const at of covering(r)) assert.equal(all.find((n) => n.at === at)!.s.type, r.type, at);
      }
      // Dropping every null is the API server's pruning only while no field is nullable, and a default
      // stands only where it is a valid value of its own enum.
      assert.deepEqual(
        places((s) => s.nullable === true),
        [],
        v,
      );
      for (const at of places((s) => s.default !== undefined)) {
        const s = all.find((n) => n.at === at)!.s;
        assert.ok(Array.isArray(s.enum) && s.enum.includes(s.default), `${v} ${at}`);
      }
    }
  });

  it("every pattern that backtracks in JavaScript has its linear twin, and is guarded where the models check it", () => {
    // A group with a repeated part, itself repeated: `(W+\\.?)+`.
    const nested = /\([^()]*[+*][^()]*\)[+*]/;
    for (const v of VERSIONS) {
      const all = [...nodes(schemas[v].CiliumNetworkPolicy, "")].filter(
        (n) => typeof n.s.pattern === "string",
      );
      const risky = all.filter((n) => nested.test(n.s.pattern as string));
      assert.ok(risky.length > 0, "the check finds the FQDN patterns");
      for (const n of risky)
        assert.ok(LINEAR_PATTERNS.has(n.s.pattern as string), `${v} ${n.at}: ${n.s.pattern}`);
      // The models check 1.19.5's patterns: each such place is guarded with its pattern.
      if (v === "1.19")
        assert.deepEqual(
          risky.map((n) => `${n.at} ${n.s.pattern}`),
          all.flatMap((n) =>
            MODEL_PATTERNS.filter((g) => matchesPath(n.at, g.paths)).map((g) => `${n.at} ${g.pattern}`),
          ),
        );
    }
  });

  it("the cidr format is k8s.io/utils' ParseCIDRSloppy, as kube-apiserver v1.35.4 is built with it", () => {
    const mod = /^\s*k8s\.io\/utils (v\S+)/m.exec(
      fs.readFileSync(path.join(PROJECT_DIR, "tools/go/kube/go.mod"), "utf8"),
    )?.[1];
    assert.ok(mod, "tools/go/kube/go.mod requires k8s.io/utils");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "castle-cidr-"));
    fs.writeFileSync(
      path.join(dir, "go.mod"),
      `module castle.local/cidrcheck\n\ngo 1.25.0\n\nrequire k8s.io/utils ${mod}\n`,
    );
    fs.writeFileSync(
      path.join(dir, "main.go"),
      'package main\n\nimport (\n\t"bufio"\n\t"fmt"\n\t"os"\n\n\tnetutils "k8s.io/utils/net"\n)\n\nfunc main() {\n\tin := bufio.NewScanner(os.Stdin)\n\tfor in.Scan() {\n\t\t_, _, err := netutils.ParseCIDRSloppy(in.Text())\n\t\tfmt.Println(err == nil)\n\t}\n}\n',
    );
    const inputs = [
      ...[
        "10.0.0.0/8",
        "10.0.0.01/8",
        "010.000.000.000/008",
        "10.0.0.0/08",
        "0.0.0.0/0",
        "255.255.255.255/32",
      ],
      ...[
        "256.0.0.0/8",
        "1.2.3/8",
        "1.2.3.4.5/8",
        "1.2.3.4/33",
        "1.2.3.4/",
        "/8",
        "1.2.3.4",
        "1.2.3.4/8/8",
        " 1.2.3.4/8",
      ],
      ...[
        "1.2.3.4/ 8",
        "1.2.3.4/+8",
        "1.2.3.4/-1",
        "1.2.3.4/16777216",
        "1.2.3.4/0x8",
        "1.2.3.4:80/8",
        "１.2.3.4/8",
      ],
      ...["::/0", "::1/128", "::/129", "1::/64", "1:2:3:4:5:6:7:8/64", "1:2:3:4:5:6:7:8:9/64", "1::2::3/64"],
      ...[
        ":1::/64",
        "1:::2/64",
        "1::2:/64",
        "fe80::1%eth0/64",
        "::ffff:1.2.3.4/120",
        "::1.2.3.4/128",
        "1::1.2.3.4/96",
      ],
      ...[
        "1:2:3:4:5:6:1.2.3.4/128",
        "1:2:3:4:5:6:7:1.2.3.4/128",
        "::1.2.3.4.5/128",
        "12345::/16",
        "FFFF::/16",
        "g::/16",
      ],
      ...["0:0:0:0:0:0:0:0/0", "::/00", "::/0128", "1.2.3.4/32 ", "1.2.3.4\t/8", ""],
    ];
    const r = spawnSync("bash", ["-c", "GOFLAGS=-mod=mod go mod tidy >/dev/null && go run ."], {
      cwd: dir,
      input: inputs.join("\n") + "\n",
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    const go = r.stdout.trim().split("\n");
    assert.equal(go.length, inputs.length);
    assert.deepEqual(
      inputs.map((c) => `${JSON.stringify(c)} ${parseCidrSloppy(c) !== undefined}`),
      inputs.map((c, i) => `${JSON.stringify(c)} ${go[i]}`),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("crdSchemaErrors stores and refuses exactly what each version's API server does", async function () {
    const corpus: { from: string; p: Untyped }[] = [];
    // The conformance suite and the dev stack.
    for (const c of CASES)
      for (const p of c.policies)
        for (const o of typeof p === "string"
          ? YAML.parseAllDocuments(p).map((d) => d.toJS() as Untyped)
          : [p as Untyped])
          if (o) corpus.push({ from: `case ${c.id}`, p: o });
    for (const p of (await fromStack("dev")).policies) corpus.push({ from: "dev stack", p: p as Untyped });
    const policies = corpus.length;

    // Variants for every row, at every one of its paths, and a walk of every field of both schemas.
    const base = (kind: PolicyKind): Untyped => ({
      apiVersion: "cilium.io/v2",
      kind,
      metadata: { name: "variant", ...(kind === "CiliumNetworkPolicy" ? { namespace: "demo-shop" } : {}) },
    });
    const setAt = (root: Untyped, at: string[], v: unknown): Untyped => {
      const r = structuredClone(root);
      let cur = r;
      at.forEach((k, i) => {
        if (i === at.length - 1) cur[k] = v;
        else {
          if (cur[k] === null || typeof cur[k] !== "object") cur[k] = /^\d+$/.test(at[i + 1]!) ? [] : {};
          cur = cur[k];
        }
      });
      return r;
    };
    const expand = (pattern: string): string[][] =>
      pattern
        .split("/")
        .reduce<string[][]>(
          (acc, seg) => acc.flatMap((a) => (seg === "*" ? ["0"] : seg.split("|")).map((s) => [...a, s])),
          [[]],
        );
    const section = (at: string[]): Untyped => {
      const i = at[0] === "spec" ? 1 : 2;
      const rule: Untyped = { endpointSelector: {} };
      if (!["ingress", "ingressDeny", "egress", "egressDeny"].includes(at[i]!)) rule.ingress = [{}];
      return at[0] === "spec" ? { spec: rule } : { specs: [rule] };
    };
    const VALUES: Record<CrdRow["kind"], unknown[]> = {
      nulls: [],
      prune: [[{ topic: "t" }], "envoy.filters.network.redis", [{ cmd: "GET" }]],
      enum: ["cluster-mesh", "GRE", "IPIP", "IPV6", "ESP", "AH", "gre", "TCP", "world", "bogus", 6],
      pattern: [
        "api*.example.com",
        "*.example.com",
        "**.example.com",
        "a**b.c",
        "exa mple.com",
        ".a",
        "a..b",
        "",
      ],
      format: [
        ...["10.0.0.01/8", "10.0.0.0/08", "fe80::1%eth0/64", "::ffff:1.2.3.4/120", "10.0.0.1", "1.2.3.4/33"],
        ...["256.0.0.0/8", "1::2::3/64", "::/129", "1.2.3/8", "a_b.example.com", "", "*", "é.example.com"],
      ],
      accept: [2 ** 31, -(2 ** 31) - 1, 8, 1.5, "8", "EchoRequest", "Echo"],
      unique: [
        ["a.example.com", "a.example.com"],
        ["a.example.com", "b.example.com"],
        ["a", "b", "a", "a"],
      ],
      type: [42, true, ["x"], { a: 1 }, "d"],
      anyOfRoot: [],
    };
    for (const kind of KINDS) {
      for (const row of CRD_ROWS) {
        if (!("paths" in row)) continue;
        for (const pattern of row.paths)
          for (const at of expand(pattern))
            for (const v of VALUES[row.kind]) {
              corpus.push({
                from: `row ${row.kind} ${at.join("/")}`,
                p: setAt({ ...base(kind), ...section(at) }, at, v),
              });
              if (row.kind === "prune") {
                // Beside a valid rule and alone: 1.20 stores the first and refuses the second.
                const beside = at.slice(0, -1).concat("http");
                corpus.push({
                  from: `row prune ${at.join("/")} beside http`,
                  p: setAt(setAt({ ...base(kind), ...section(at) }, beside, [{}]), at, v),
                });
              }
            }
      }
      for (const extra of [{}, { spec: null }, { specs: [] }, { specs: null }, { spec: {} }])
        corpus.push({ from: `root ${JSON.stringify(extra)}`, p: { ...base(kind), ...extra } });
    }
    const variants = corpus.length - policies;
    const SAMPLES: unknown[] = [
      null,
      {},
      [],
      [null],
      "x",
      "",
      1,
      -1,
      1.5,
      true,
      { bogus: 1 },
      "10.0.0.01/8",
      "a*.b",
      "a".repeat(256),
    ];
    const walked = new Set<string>();
    for (const v of VERSIONS)
      for (const { at, s } of nodes(schemas[v].CiliumNetworkPolicy.properties.spec, "/spec")) {
        if (walked.has(at)) continue;
        walked.add(at);
        const path_ = at.split("/").slice(1);
        const values = [
          ...SAMPLES,
          ...((s.enum as unknown[] | undefined) ?? []),
          ...(s.type === "array" ? [[{}, {}], Array(41).fill("a")] : []),
        ];
        for (const value of values)
          corpus.push({
            from: `walk ${at}`,
            p: setAt({ ...base("CiliumNetworkPolicy"), ...section(path_) }, path_, value),
          });
      }

    const mismatches: string[] = [];
    const differ = new Set<string>();
    for (const { from, p } of corpus) {
      const said: Partial<Record<CiliumVersion, boolean>> = {};
      for (const v of VERSIONS) {
        const oracle = oracles[v][p.kind as PolicyKind].errors(p);
        const ours = await crdSchemaErrors(p, v);
        said[v] = oracle.length === 0;
        if ((oracle.length === 0) !== (ours.length === 0))
          mismatches.push(
            `${v} ${from}: API server ${oracle.join("; ") || "stores it"} | crdSchemaErrors ${ours.join("; ") || "stores it"} | ${JSON.stringify(p)}`,
          );
      }
      if (said["1.19"] !== said["1.20"]) differ.add(from.split(" ").slice(0, 2).join(" "));
    }
    console.log(
      `      ${corpus.length} objects (${policies} policies, ${variants} row variants, ${corpus.length - policies - variants} from the walk), ${VERSIONS.length} versions, ${mismatches.length} disagreements`,
    );
    assert.deepEqual(mismatches.slice(0, 20), []);
    // The corpus tells the versions apart through every kind of row for 1.20, so this test can fail.
    for (const kind of new Set(CRD_ROWS.filter((r) => !r.versions.includes("1.19")).map((r) => r.kind)))
      assert.ok(
        differ.has(`row ${kind}`) || (kind === "anyOfRoot" && differ.has("root {}")),
        `no variant of a ${kind} row tells 1.19 from 1.20`,
      );
    // And the dev stack's policies are stored by both.
    for (const v of VERSIONS)
      for (const p of (await fromStack("dev")).policies)
        assert.deepEqual(await crdSchemaErrors(p, v), [], `${v} ${p.metadata.name}`);
    this.test!.title += ` (${corpus.length} objects)`;
  });

  it("every row for every version is needed: without it, the models alone would disagree with the API server", async () => {
    const { CiliumNetworkPolicy: M } =
      await import("@kubernetes-models/cilium/cilium.io/v2/CiliumNetworkPolicy");
    const models = (p: Untyped): boolean => {
      try {
        new M(p as ConstructorParameters<typeof M>[0]).validate();
        return true;
      } catch {
        return false;
      }
    };
    const cnp = (spec: Untyped | undefined): Untyped => ({
      apiVersion: "cilium.io/v2",
      kind: "CiliumNetworkPolicy",
      metadata: { name: "x", namespace: "demo-shop" },
      ...(spec ? { spec } : {}),
    });
    const port = (rest: Untyped) => ({
      endpointSelector: {},
      ingress: [{ toPorts: [{ ports: [{ port: "80", protocol: "TCP" }], ...rest }] }],
    });
    // One witness per row: the models' verdict is not the API server's, and crdSchemaErrors' is.
    const WITNESS: Record<string, [CiliumVersion, Untyped]> = {
      nulls: ["1.19", cnp({ endpointSelector: {}, ingress: null })],
      cidr: ["1.19", cnp({ endpointSelector: {}, ingress: [{ fromCIDR: ["10.0.0.01/8"] }] })],
      "idn-hostname": ["1.19", cnp(port({ rules: { http: [{ host: "a_b.example.com" }] } }))],
      accept: [
        "1.19",
        cnp({ endpointSelector: {}, ingress: [{ icmps: [{ fields: [{ type: 2 ** 31 }] }] }] }),
      ],
      unique: ["1.19", cnp(port({ serverNames: ["a.example.com", "a.example.com"] }))],
      type: ["1.19", cnp({ endpointSelector: {}, description: 42, ingress: [{}] })],
      enum: ["1.20", cnp({ endpointSelector: {}, ingress: [{ fromEntities: ["cluster-mesh"] }] })],
      prune: ["1.20", cnp(port({ rules: { kafka: [{ topic: "t" }] } }))],
      pattern: ["1.20", cnp(port({ serverNames: ["api*.example.com"] }))],
      anyOfRoot: ["1.20", cnp(undefined)],
    };
    for (const row of CRD_ROWS) {
      const key = row.kind === "format" ? row.format : row.kind;
      const w = WITNESS[key];
      assert.ok(w, `a witness for the row: ${row.why}`);
      const [v, p] = w;
      const api = oracles[v].CiliumNetworkPolicy.errors(p).length === 0;
      assert.notEqual(
        models(p),
        api,
        `${key}: the models alone agree with the API server, so the row is not needed`,
      );
      assert.equal((await crdSchemaErrors(p, v)).length === 0, api, key);
    }
  });
});
