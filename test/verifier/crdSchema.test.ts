// The API server's CRD schema per Cilium minor (verifier/crdSchema.ts over verifier/crdVersions.ts): for
// every row of the table, a policy one version stores and the other refuses (or both, for the rows about
// the API server itself), with the API server's message. test/real/6-crd-versions.real.ts proves the
// table against the CRDs of github.com/cilium/cilium v1.19.5 and v1.20.0.

import { strict as assert } from "assert";
import { crdSchemaErrors, fieldPath, storedAs, withoutSchemaRefusals } from "../../verifier/crdSchema";
import {
  CRD_ROWS,
  LINEAR_PATTERNS,
  matchesPath,
  parseCidrSloppy,
  valuesAt,
} from "../../verifier/crdVersions";
import { releaseChartVersion } from "../../lib/helm/charts";
import { ciliumVersionOf, fromObjects } from "../../verifier/objects";
import type { CiliumVersion } from "../../verifier/engine";
import type { Untyped } from "../../lib/untyped";
import { smallModelConfigMap } from "../harness";

const cnp = (spec: Untyped | undefined, extra: Untyped = {}): Untyped => ({
  apiVersion: "cilium.io/v2",
  kind: "CiliumNetworkPolicy",
  metadata: { name: "p", namespace: "demo-shop" },
  ...(spec === undefined ? {} : { spec }),
  ...extra,
});
const ccnp = (specs: Untyped[]): Untyped => ({
  apiVersion: "cilium.io/v2",
  kind: "CiliumClusterwideNetworkPolicy",
  metadata: { name: "c" },
  specs,
});
const ingress = (rule: Untyped): Untyped => ({ endpointSelector: {}, ingress: [rule] });
const egress = (rule: Untyped): Untyped => ({ endpointSelector: {}, egress: [rule] });
const port = (p: Untyped, rest: Untyped = {}): Untyped => ({ toPorts: [{ ports: [p], ...rest }] });

const ENTITIES_1_19 =
  '"all", "world", "cluster", "host", "init", "ingress", "unmanaged", "remote-node", "health", "none", "kube-apiserver"';
const ENTITIES_1_20 =
  '"all", "world", "cluster", "cluster-mesh", "host", "init", "ingress", "unmanaged", "remote-node", "health", "none", "kube-apiserver"';
const PROTOCOLS_1_19 = '"TCP", "UDP", "SCTP", "VRRP", "IGMP", "ANY"';
const PROTOCOLS_1_20 = '"TCP", "UDP", "SCTP", "VRRP", "IGMP", "GRE", "IPIP", "IPV6", "ESP", "AH", "ANY"';

async function verdicts(p: Untyped): Promise<Record<CiliumVersion, string[]>> {
  return { "1.19": await crdSchemaErrors(p, "1.19"), "1.20": await crdSchemaErrors(p, "1.20") };
}

describe("CRD schema per Cilium version: what 1.20 changed", () => {
  it("the entity cluster-mesh: refused by 1.19 with its enum, stored by 1.20, in fromEntities and toEntities", async () => {
    for (const [p, at] of [
      [cnp(ingress({ fromEntities: ["cluster", "cluster-mesh"] })), "spec.ingress[0].fromEntities[1]"],
      [cnp(egress({ toEntities: ["cluster-mesh"] })), "spec.egress[0].toEntities[0]"],
      [
        ccnp([{ nodeSelector: {}, ingressDeny: [{ fromEntities: ["cluster-mesh"] }] }]),
        "specs[0].ingressDeny[0].fromEntities[0]",
      ],
    ] as const) {
      const v = await verdicts(p);
      assert.deepEqual(v["1.19"], [
        `${at}: Unsupported value: "cluster-mesh": supported values: ${ENTITIES_1_19}`,
      ]);
      assert.deepEqual(v["1.20"], []);
    }
    // An entity neither knows: each version lists its own values.
    const v = await verdicts(cnp(ingress({ fromEntities: ["clustermesh"] })));
    assert.match(
      v["1.19"][0]!,
      new RegExp(`Unsupported value: "clustermesh": supported values: ${ENTITIES_1_19}$`),
    );
    assert.match(
      v["1.20"][0]!,
      new RegExp(`Unsupported value: "clustermesh": supported values: ${ENTITIES_1_20}$`),
    );
  });

  it("the protocols GRE, IPIP, IPV6, ESP and AH: refused by 1.19, stored by 1.20, in allow and deny rules", async () => {
    for (const proto of ["GRE", "IPIP", "IPV6", "ESP", "AH"]) {
      const v = await verdicts(cnp(ingress(port({ port: "0", protocol: proto }))));
      assert.deepEqual(v["1.19"], [
        `spec.ingress[0].toPorts[0].ports[0].protocol: Unsupported value: "${proto}": supported values: ${PROTOCOLS_1_19}`,
      ]);
      assert.deepEqual(v["1.20"], []);
    }
    const deny = await verdicts(
      cnp({ endpointSelector: {}, egressDeny: [port({ port: "0", protocol: "ESP" })] }),
    );
    assert.equal(deny["1.19"].length, 1);
    assert.deepEqual(deny["1.20"], []);
    // The enum is case-sensitive in both, and 1.20's message lists 1.20's protocols.
    const lower = await verdicts(cnp(ingress(port({ port: "0", protocol: "gre" }))));
    assert.match(
      lower["1.20"][0]!,
      new RegExp(`Unsupported value: "gre": supported values: ${PROTOCOLS_1_20}$`),
    );
    assert.equal(lower["1.19"].length, 1);
  });

  it("kafka, l7proto and l7: L7 rules of 1.19; in 1.20 unknown fields, dropped, so rules left empty are refused", async () => {
    const kafka = await verdicts(
      cnp(ingress(port({ port: "9092", protocol: "TCP" }, { rules: { kafka: [{ topic: "orders" }] } }))),
    );
    assert.deepEqual(kafka["1.19"], []);
    assert.deepEqual(kafka["1.20"], [
      "spec.ingress[0].toPorts[0].rules: must validate one and only one schema (oneOf). Found none valid: one of http, dns is required (kafka: not in Cilium 1.20's CRD, dropped by the API server)",
    ]);
    const l7proto = await verdicts(
      cnp(
        egress(
          port({ port: "6379" }, { rules: { l7proto: "envoy.filters.network.redis", l7: [{ cmd: "GET" }] } }),
        ),
      ),
    );
    assert.deepEqual(l7proto["1.19"], []);
    assert.match(
      l7proto["1.20"][0]!,
      /Found none valid: one of http, dns is required \(l7proto, l7: not in Cilium 1\.20's CRD/,
    );
    // Beside http, kafka is a second L7 protocol to 1.19's oneOf; 1.20 drops it and stores the http rule.
    const both = cnp(
      ingress(
        port({ port: "80", protocol: "TCP" }, { rules: { http: [{ path: "/" }], kafka: [{ topic: "t" }] } }),
      ),
    );
    const v = await verdicts(both);
    assert.deepEqual(v["1.19"], [
      "spec.ingress[0].toPorts[0].rules: must validate one and only one schema (oneOf). Found 2 valid alternatives",
    ]);
    assert.deepEqual(v["1.20"], []);
    const stored = storedAs(both, "1.20");
    assert.deepEqual(stored.dropped, ["/spec/ingress/0/toPorts/0/rules/kafka"]);
    assert.deepEqual(stored.object.spec.ingress[0].toPorts[0].rules, { http: [{ path: "/" }] });
    assert.deepEqual(
      both.spec.ingress[0].toPorts[0].rules.kafka,
      [{ topic: "t" }],
      "the caller's object is left as written",
    );
    assert.deepEqual(storedAs(both, "1.19").dropped, []);
  });

  it("serverNames: 1.20 allows * anywhere in a label, 1.19 only a leading *. or **.", async () => {
    const sni = (name: string) =>
      cnp(egress(port({ port: "443", protocol: "TCP" }, { serverNames: [name] })));
    const mid = await verdicts(sni("api*.example.com"));
    assert.deepEqual(mid["1.19"], [
      `spec.egress[0].toPorts[0].serverNames[0]: Invalid value: "api*.example.com": spec.egress[0].toPorts[0].serverNames[0] in body should match '^(\\*?\\*\\.)?([-a-zA-Z0-9_]+\\.?)+$'`,
    ]);
    assert.deepEqual(mid["1.20"], []);
    for (const ok of ["**.example.com", "*.example.com", "example.com"])
      assert.deepEqual(await verdicts(sni(ok)), { "1.19": [], "1.20": [] });
    const bad = await verdicts(sni("exa mple.com"));
    assert.equal(bad["1.19"].length, 1);
    assert.deepEqual(bad["1.20"], [
      `spec.egress[0].toPorts[0].serverNames[0]: Invalid value: "exa mple.com": spec.egress[0].toPorts[0].serverNames[0] in body should match '^([-a-zA-Z0-9_*]+[.]?)+$'`,
    ]);
  });

  it("spec or specs: 1.20's CEL rule refuses an object with neither (a null counts as absent); 1.19 stores it", async () => {
    for (const p of [cnp(undefined), cnp(undefined, { spec: null }), { ...ccnp([]), specs: undefined }]) {
      const v = await verdicts(p);
      assert.deepEqual(v["1.19"], [], JSON.stringify(p));
      assert.deepEqual(
        v["1.20"],
        ['<nil>: Invalid value: "object": spec or specs must be provided'],
        JSON.stringify(p),
      );
    }
    // An empty specs list is there: has() is true.
    assert.deepEqual(await verdicts(ccnp([])), { "1.19": [], "1.20": [] });
  });
});

describe("CRD schema: the API server where the models judge otherwise (every version)", () => {
  const both = (p: Untyped) => verdicts(p);

  it("cidr is Go's parser: leading zeros pass, an IPv6 zone does not", async () => {
    assert.deepEqual(await both(cnp(ingress({ fromCIDR: ["10.0.0.01/8"] }))), { "1.19": [], "1.20": [] });
    assert.deepEqual(
      await both(cnp(egress({ toCIDRSet: [{ cidr: "10.0.0.0/08", except: ["10.1.0.0/16"] }] }))),
      {
        "1.19": [],
        "1.20": [],
      },
    );
    const zone = await both(cnp(ingress({ fromCIDRSet: [{ cidr: "fe80::1%eth0/64" }] })));
    for (const v of ["1.19", "1.20"] as const)
      assert.deepEqual(zone[v], [
        'spec.ingress[0].fromCIDRSet[0].cidr: Invalid value: "fe80::1%eth0/64": spec.ingress[0].fromCIDRSet[0].cidr in body must be of type cidr: "fe80::1%eth0/64"',
      ]);
  });

  it("parseCidrSloppy follows Go 1.16's net.ParseCIDR", () => {
    const ok = [
      "10.0.0.01/8",
      "010.0.0.0/8",
      "10.0.0.0/08",
      "::/0",
      "::ffff:1.2.3.4/120",
      "1:2:3:4:5:6:7:8/64",
      "1::/128",
      "0.0.0.0/0",
    ];
    const bad = [
      "fe80::1%eth0/64",
      "1.2.3.4/33",
      "10.0.0.1",
      "256.0.0.0/8",
      "1::2::3/64",
      "1.2.3.4/ 8",
      "1.2.3/8",
      "::/129",
      "1.2.3.4/-1",
      " 1.2.3.4/8",
      "1:2:3:4:5:6:7:8:9/64",
      "::1.2.3.4.5/128",
      "1.2.3.4:80/8",
    ];
    for (const c of ok) assert.ok(parseCidrSloppy(c), c);
    for (const c of bad) assert.equal(parseCidrSloppy(c), undefined, c);
    assert.deepEqual(parseCidrSloppy("::ffff:1.2.3.4/120"), { bits: 128, prefix: 120 });
  });

  it("idn-hostname and int32 are not checked: an HTTP host with an underscore and a large ICMP type pass", async () => {
    assert.deepEqual(
      await both(
        cnp(
          ingress(port({ port: "80", protocol: "TCP" }, { rules: { http: [{ host: "a_b.example.com" }] } })),
        ),
      ),
      {
        "1.19": [],
        "1.20": [],
      },
    );
    assert.deepEqual(await both(cnp(ingress({ icmps: [{ fields: [{ type: 2 ** 31 }] }] }))), {
      "1.19": [],
      "1.20": [],
    });
    // A string type still has to match the pattern.
    assert.equal(
      (await crdSchemaErrors(cnp(ingress({ icmps: [{ fields: [{ type: "Echo Request" }] }] })), "1.20"))
        .length,
      1,
    );
  });

  it("serverNames is a set: a repeated name is refused", async () => {
    const p = cnp(
      egress(
        port(
          { port: "443", protocol: "TCP" },
          { serverNames: ["a.example.com", "b.example.com", "a.example.com", "a.example.com"] },
        ),
      ),
    );
    for (const v of ["1.19", "1.20"] as const)
      assert.deepEqual(await crdSchemaErrors(p, v), [
        'spec.egress[0].toPorts[0].serverNames[2]: Duplicate value: "a.example.com"',
      ]);
  });

  it("spec.description is a string", async () => {
    for (const v of ["1.19", "1.20"] as const)
      assert.deepEqual(await crdSchemaErrors(cnp({ ...ingress({}), description: 42 }), v), [
        'spec.description: Invalid value: 42: spec.description in body must be of type string: "integer"',
      ]);
  });

  it("nulls are dropped before validating: a null field is an absent one", async () => {
    // ingress: null leaves no rule section at all.
    const none = await crdSchemaErrors(cnp({ endpointSelector: {}, ingress: null }), "1.19");
    assert.deepEqual(none, [
      "spec: must validate at least one schema (anyOf): one of ingress, ingressDeny, egress, egressDeny is required",
    ]);
    assert.deepEqual(
      await both(
        cnp({ endpointSelector: { matchLabels: { app: null } }, ingress: [{ fromEntities: null }] }),
      ),
      {
        "1.19": [],
        "1.20": [],
      },
    );
  });

  it("unknown fields are pruned, not refused, in every version (the agent's checks name them)", async () => {
    const typo = cnp(
      ingress({ fromEntity: ["world"], toPorts: [{ ports: [{ port: "80", protocol: "TCP", bogus: 1 }] }] }),
      { extra: 1 },
    );
    assert.deepEqual(await both(typo), { "1.19": [], "1.20": [] });
    assert.deepEqual(
      storedAs(typo, "1.20").dropped,
      [],
      "only the fields a version's CRD lost are its drops",
    );
  });

  it("patterns that backtrack in JavaScript are checked in linear time, with the same answers", async () => {
    // Every string of up to 6 characters over an alphabet that takes each pattern's every branch.
    const alphabet = ["a", "Z", "9", "-", "_", "*", ".", "!"];
    let strings = [""];
    let all = [""];
    for (let n = 1; n <= 6; n++) {
      strings = strings.flatMap((s) => alphabet.map((c) => s + c));
      all = all.concat(strings);
    }
    for (const [pattern, linear] of LINEAR_PATTERNS) {
      const re = new RegExp(pattern, "u");
      const differ = all.filter((s) => re.test(s) !== linear.test(s));
      assert.deepEqual(differ, [], pattern);
    }
    // A long label with a port in it: seconds to hours for a backtracking engine, at once here.
    const name = "averyveryverylongservicenameforproduction:8080";
    const started = Date.now();
    const errors = await crdSchemaErrors(cnp(egress({ toFQDNs: [{ matchName: name }] })), "1.20");
    assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
    assert.deepEqual(errors, [
      `spec.egress[0].toFQDNs[0].matchName: Invalid value: "${name}": spec.egress[0].toFQDNs[0].matchName in body should match '^([-a-zA-Z0-9_]+[.]?)+$'`,
    ]);
    const sni = await crdSchemaErrors(
      cnp(egress(port({ port: "443", protocol: "TCP" }, { serverNames: [`${"x".repeat(40)}*!`] }))),
      "1.19",
    );
    assert.equal(sni.length, 1);
  });

  it("the rows' paths are spec's and every entry of specs'", () => {
    for (const row of CRD_ROWS) {
      if (!("paths" in row)) continue;
      for (const p of row.paths) assert.ok(p.startsWith("spec/") || p.startsWith("specs/*/"), p);
      assert.equal(row.paths.filter((p) => p.startsWith("spec/")).length, row.paths.length / 2);
    }
    assert.ok(
      matchesPath(
        "/specs/3/egress/0/toEntities/1",
        CRD_ROWS.find((r) => r.kind === "enum")!.paths as string[],
      ),
    );
    assert.deepEqual(
      valuesAt({ specs: [{ egress: [{ toEntities: ["a", "b"] }] }] }, [
        "specs/*/egress|egressDeny/*/toEntities/*",
      ]).map((x) => fieldPath(x.pointer)),
      ["specs[0].egress[0].toEntities[0]", "specs[0].egress[0].toEntities[1]"],
    );
  });
});

describe("CRD schema: the version of a stack, and the CLI's view", () => {
  it("comes from the Cilium release's chart version, or from its archive's name with a folder mirror", () => {
    assert.equal(releaseChartVersion({ chart: "cilium", version: "1.20.0" }), "1.20.0");
    assert.equal(releaseChartVersion({ chart: "/srv/charts/cilium-1.20.0.tgz" }), "1.20.0");
    assert.equal(releaseChartVersion({ chart: "/srv/charts/cilium-1.19.5-rc.1.tgz" }), "1.19.5-rc.1");
    assert.equal(releaseChartVersion({ chart: "oci://registry.example/charts/cilium" }), undefined);
    assert.equal(ciliumVersionOf(releaseChartVersion({ chart: "/srv/charts/cilium-1.20.0.tgz" })), "1.20");
    const model = smallModelConfigMap();
    const release = {
      release: "cilium",
      namespace: "kube-system",
      chart: "/srv/charts/cilium-1.20.0.tgz",
      values: {},
    };
    assert.equal(fromObjects([model, release], "test").ciliumVersion, "1.20");
  });

  it("withoutSchemaRefusals keeps what the version stores, as stored, and says what it refused or dropped", async () => {
    const name = (n: string, p: Untyped): Untyped => ({
      ...p,
      metadata: { name: n, namespace: "demo-shop" },
    });
    const policies = [
      name("mesh", cnp(ingress({ fromEntities: ["cluster-mesh"] }))),
      name(
        "kafka",
        cnp(ingress(port({ port: "9092", protocol: "TCP" }, { rules: { kafka: [{ topic: "t" }] } }))),
      ),
      name(
        "http-kafka",
        cnp(ingress(port({ port: "80", protocol: "TCP" }, { rules: { http: [{}], kafka: [{}] } }))),
      ),
    ];
    const v19 = await withoutSchemaRefusals(policies, "1.19");
    assert.deepEqual(
      v19.policies.map((p) => p.metadata.name),
      ["kafka"],
    );
    assert.deepEqual(
      v19.warnings.map((w) => w.split(" (it takes no effect)")[0]),
      [
        "CNP demo-shop/mesh is refused by the API server (Cilium 1.19's CRD schema)",
        "CNP demo-shop/http-kafka is refused by the API server (Cilium 1.19's CRD schema)",
      ],
    );
    const v20 = await withoutSchemaRefusals(policies, "1.20");
    assert.deepEqual(
      v20.policies.map((p) => p.metadata.name),
      ["mesh", "http-kafka"],
    );
    assert.deepEqual(v20.policies[1]!.spec.ingress[0].toPorts[0].rules, { http: [{}] });
    assert.match(
      v20.warnings[0]!,
      /^CNP demo-shop\/kafka is refused by the API server \(Cilium 1\.20's CRD schema\) \(it takes no effect\): .*oneOf/,
    );
    assert.equal(
      v20.warnings[1],
      "CNP demo-shop/http-kafka spec.ingress[0].toPorts[0].rules.kafka is not a field of Cilium 1.20's CRD: the API server drops it, and every verdict reads the policy without it",
    );
    // The errors come from the given check, with the version.
    const asked: string[] = [];
    await withoutSchemaRefusals(policies.slice(0, 1), "1.20", async (_p, v) => (asked.push(v), []));
    assert.deepEqual(asked, ["1.20"]);
  });
});
