// cilium-policy-schema judges each Cilium policy with the CRD schema of the stack's Cilium minor, read
// from the Cilium release's chart (verifier/crdVersions.ts has what differs).

import { strict as assert } from "assert";
import { buildStack, devRawConfig, Recording } from "../harness";
import { policies } from "../../policypack/policies";
import { runPack } from "../support/policyHarness";
import { ENGINE_RUNS } from "../support/engineView";
import { addPolicy, editInputs, removeResource } from "../support/mutate";
import { RELEASE_TYPE } from "../../policypack/lib";
import { stackObjects } from "../../policypack/rules/castleProperties";
import { fromObjects } from "../../verifier/objects";
import type { Untyped } from "../../lib/untyped";

const withPolicy = (rec: Recording, name: string, spec: Untyped): Recording =>
  addPolicy(rec, {
    parentType: "castle:policy:UserNamespace",
    parentName: "castle-user-demo-shop",
    kind: "CiliumNetworkPolicy",
    name,
    namespace: "demo-shop",
    spec: { description: name, endpointSelector: { matchLabels: { "k8s:app": "web" } }, ...spec },
  });

// Rules the agent's checks accept in both versions, so only the CRD schema can tell the versions apart.
const SNI = {
  egress: [{ toPorts: [{ ports: [{ port: "443", protocol: "TCP" }], serverNames: ["api*.example.com"] }] }],
};
const KAFKA = {
  ingress: [
    { toPorts: [{ ports: [{ port: "9092", protocol: "TCP" }], rules: { kafka: [{ topic: "t" }] } }] },
  ],
};

const isRelease = (r: { type: string; inputs: Untyped }): boolean =>
  r.type === RELEASE_TYPE && r.inputs.name === "cilium";

async function schemaViolations(rec: Recording, engine = ENGINE_RUNS[1]): Promise<string[]> {
  return (await runPack(policies, rec, {}, "advisory", { engine }))
    .filter((v) => v.policy === "cilium-policy-schema")
    .map((v) => v.message.split(". Why: ")[0]!);
}

describe("policy pack: the CRD schema of the stack's Cilium version", () => {
  let v19: Recording;
  let v20: Recording;
  before(async () => {
    v19 = await buildStack(devRawConfig(), "dev");
    v20 = await buildStack({ ...devRawConfig(), ciliumVersion: "1.20.0" }, "dev");
  });

  for (const engine of ENGINE_RUNS) {
    it(`${engine}: a serverNames wildcard inside a label is refused on Cilium 1.19 and stored on 1.20`, async () => {
      assert.deepEqual(await schemaViolations(withPolicy(v19, "sni", SNI), engine), [
        `demo-shop/sni does not pass Cilium 1.19's CRD schema: spec.egress[0].toPorts[0].serverNames[0]: Invalid value: "api*.example.com": spec.egress[0].toPorts[0].serverNames[0] in body should match '^(\\*?\\*\\.)?([-a-zA-Z0-9_]+\\.?)+$'`,
      ]);
      assert.deepEqual(await schemaViolations(withPolicy(v20, "sni", SNI), engine), []);
    });

    it(`${engine}: a kafka rule is stored on Cilium 1.19 and refused on 1.20, whose CRD has no kafka`, async () => {
      assert.deepEqual(await schemaViolations(withPolicy(v19, "kafka", KAFKA), engine), []);
      assert.deepEqual(await schemaViolations(withPolicy(v20, "kafka", KAFKA), engine), [
        "demo-shop/kafka does not pass Cilium 1.20's CRD schema: spec.ingress[0].toPorts[0].rules: must validate one and only one schema (oneOf). Found none valid: one of http, dns is required (kafka: not in Cilium 1.20's CRD, dropped by the API server)",
      ]);
    });
  }

  it("the agent's refusals per version come from the engine: toGroups is skipped on 1.19, read on 1.20", async () => {
    const groups = {
      egress: [{ toGroups: [{ aws: { securityGroupsIds: ["sg-0123456789"] } }] }],
    };
    assert.deepEqual(await schemaViolations(withPolicy(v19, "groups", groups)), [
      "demo-shop/groups is refused by Cilium 1.19's agent: it has toGroups/fromGroups: the agent skips it and waits for a derivative policy, which the operator creates only with a cloud provider's groups (AWS); without one the policy never takes effect",
    ]);
    assert.deepEqual(await schemaViolations(withPolicy(v20, "groups", groups)), []);
  });

  it("a protocol without ports takes port 0 only, in the agent's checks of every version", async () => {
    const vrrp = {
      ingress: [{ toPorts: [{ ports: [{ port: "112", protocol: "VRRP" }] }] }],
    };
    for (const rec of [v19, v20])
      assert.deepEqual(await schemaViolations(withPolicy(rec, "vrrp", vrrp)), [
        'demo-shop/vrrp spec.ingress[0].toPorts[0].ports[0].port: protocol VRRP has no ports: the port must be "0"',
      ]);
    const zero = { ingress: [{ toPorts: [{ ports: [{ port: "0", protocol: "VRRP" }] }] }] };
    assert.deepEqual(await schemaViolations(withPolicy(v19, "vrrp-0", zero)), []);
  });

  it("a field 1.20's CRD dropped beside a valid rule is named, as an unknown field is", async () => {
    const both = {
      ingress: [
        {
          toPorts: [
            {
              ports: [{ port: "80", protocol: "TCP" }],
              rules: { http: [{ path: "/" }], kafka: [{ topic: "t" }] },
            },
          ],
        },
      ],
    };
    const v = await schemaViolations(withPolicy(v20, "both", both));
    assert.ok(
      v.includes(
        "demo-shop/both spec.ingress[0].toPorts[0].rules.kafka: not a field of Cilium 1.20's CRD: the API server would drop it silently",
      ),
      v.join("\n"),
    );
    assert.ok(!v.some((m) => m.includes("does not pass")), v.join("\n"));
    // 1.19 refuses it outright: two L7 protocols in its oneOf.
    assert.ok(
      (await schemaViolations(withPolicy(v19, "both", both))).some((m) =>
        m.startsWith(
          "demo-shop/both does not pass Cilium 1.19's CRD schema: spec.ingress[0].toPorts[0].rules: must validate one and only one schema (oneOf). Found 2 valid alternatives",
        ),
      ),
    );
  });

  it("a chart from a folder mirror gives its version through the archive's name", async () => {
    const mirrored = editInputs(v19, isRelease, "the Cilium release", (i) => {
      i.chart = "/srv/charts/cilium-1.20.0.tgz";
      delete i.version;
    });
    assert.deepEqual(await schemaViolations(withPolicy(mirrored, "sni", SNI)), []);
    assert.equal((await schemaViolations(withPolicy(mirrored, "kafka", KAFKA))).length, 1);
  });

  it("without the Cilium release in sight, only what every version refuses is refused", async () => {
    const noRelease = removeResource(v19, isRelease, "the Cilium release");
    assert.deepEqual(await schemaViolations(withPolicy(noRelease, "sni", SNI)), []);
    assert.deepEqual(await schemaViolations(withPolicy(noRelease, "kafka", KAFKA)), []);
    const lower = { ingress: [{ toPorts: [{ ports: [{ port: "80", protocol: "tcp" }] }] }] };
    assert.deepEqual(await schemaViolations(withPolicy(noRelease, "lower", lower)), [
      'demo-shop/lower does not pass Cilium 1.19 and 1.20\'s CRD schema: spec.ingress[0].toPorts[0].ports[0].protocol: Unsupported value: "tcp": supported values: "TCP", "UDP", "SCTP", "VRRP", "IGMP", "ANY"',
      'demo-shop/lower does not pass Cilium 1.19 and 1.20\'s CRD schema: spec.ingress[0].toPorts[0].ports[0].protocol: Unsupported value: "tcp": supported values: "TCP", "UDP", "SCTP", "VRRP", "IGMP", "GRE", "IPIP", "IPV6", "ESP", "AH", "ANY"',
    ]);
  });

  it("the stack policies that read the stack through fromObjects get the version too", () => {
    const version = (rec: Recording) =>
      fromObjects(stackObjects(rec.resources.map((r) => ({ type: r.type, props: r.inputs }))), "test")
        .ciliumVersion;
    assert.equal(version(v19), "1.19");
    assert.equal(version(v20), "1.20");
  });

  it("the dev stack on Cilium 1.20 passes the pack with no mandatory violation", async () => {
    for (const engine of ENGINE_RUNS)
      assert.deepEqual(
        (await runPack(policies, v20, {}, "advisory", { engine })).filter((v) => v.level === "mandatory"),
        [],
        engine,
      );
  });
});
