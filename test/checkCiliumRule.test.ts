import { strict as assert } from "assert";
import { checkCiliumPolicy, checkCiliumRule, MAX_PORTS_PER_RULE } from "../verifier/engine/checkCiliumRule";
import { crdSchemaErrors } from "./support/ciliumSchemas";
import type { Untyped } from "../lib/untyped";

type Obj = Record<string, unknown>;
const cnp = (spec: Obj): Obj => ({
  apiVersion: "cilium.io/v2",
  kind: "CiliumNetworkPolicy",
  metadata: { name: "p", namespace: "team-a" },
  spec,
});
const ccnp = (spec: Obj): Obj => ({
  apiVersion: "cilium.io/v2",
  kind: "CiliumClusterwideNetworkPolicy",
  metadata: { name: "p" },
  spec,
});
const messages = (policy: Obj): string[] => checkCiliumPolicy(policy).map((f) => `${f.path}: ${f.message}`);
const tcp = (port: number): Obj => ({ port: String(port), protocol: "TCP" });

function assertOne(policy: Obj, pattern: RegExp): void {
  const m = messages(policy);
  assert.equal(m.length, 1, m.join("\n"));
  assert.match(m[0], pattern);
}

describe("checkCiliumRule: what the agent rejects and the CRD schema lets through", () => {
  it("nodeSelector in a namespaced policy", () => {
    const p = cnp({ description: "d", nodeSelector: {}, ingress: [{ fromEntities: ["world"] }] });
    assertOne(p, /^spec\.nodeSelector: a CiliumNetworkPolicy may not use nodeSelector/);
    assert.deepEqual(crdSchemaErrors(p as Untyped as { kind: string }), [], "the schema accepts it");
  });

  it("no section at all", () => {
    assertOne(
      ccnp({ description: "d", endpointSelector: {} }),
      /^spec: the rule has no ingress, ingressDeny, egress or egressDeny section/,
    );
  });

  it("two L3 peer kinds in one rule", () => {
    const p = cnp({ endpointSelector: {}, ingress: [{ fromEndpoints: [{}], fromCIDR: ["10.0.0.0/8"] }] });
    assertOne(p, /^spec\.ingress\[0\]: combining fromEndpoints and fromCIDR/);
    assert.deepEqual(crdSchemaErrors(p as Untyped as { kind: string }), []);
    assertOne(
      cnp({
        endpointSelector: {},
        egress: [{ toEntities: ["world"], toFQDNs: [{ matchName: "a.example" }] }],
      }),
      /combining toEntities and toFQDNs/,
    );
  });

  it("icmps together with toPorts", () => {
    const p = ccnp({
      nodeSelector: {},
      ingress: [{ icmps: [{ fields: [{ type: 8 }] }], toPorts: [{ ports: [tcp(22)] }] }],
    });
    assertOne(p, /^spec\.ingress\[0\]: icmps may not be combined with toPorts/);
  });

  it("DNS rules on ingress", () => {
    const p = cnp({
      endpointSelector: {},
      ingress: [
        { toPorts: [{ ports: [{ port: "53", protocol: "UDP" }], rules: { dns: [{ matchPattern: "*" }] } }] },
      ],
    });
    assertOne(p, /^spec\.ingress\[0\]\.toPorts\[0\]\.rules\.dns: DNS rules are not allowed on ingress/);
  });

  it("L7 on host policies", () => {
    const p = ccnp({
      nodeSelector: {},
      ingress: [{ toPorts: [{ ports: [tcp(80)], rules: { http: [{ method: "GET" }] } }] }],
    });
    assertOne(
      p,
      /^spec\.ingress\[0\]\.toPorts\[0\]\.rules: host policies \(nodeSelector\) do not support L7 rules/,
    );
    assert.deepEqual(
      messages(
        ccnp({
          endpointSelector: {},
          ingress: [{ toPorts: [{ ports: [tcp(80)], rules: { http: [{ method: "GET" }] } }] }],
        }),
      ),
      [],
    );
  });

  it("more than 40 ports", () => {
    const ports = Array.from({ length: MAX_PORTS_PER_RULE + 1 }, (_, i) => tcp(1000 + i));
    assertOne(
      cnp({ endpointSelector: {}, ingress: [{ toPorts: [{ ports }] }] }),
      /too many ports \(41\): Cilium allows at most 40/,
    );
    assert.deepEqual(
      messages(cnp({ endpointSelector: {}, ingress: [{ toPorts: [{ ports: ports.slice(0, 40) }] }] })),
      [],
    );
  });

  it("also: both selectors, no selector, unknown entities, except outside its CIDR", () => {
    assertOne(
      ccnp({ endpointSelector: {}, nodeSelector: {}, ingress: [{}] }),
      /cannot have both endpointSelector and nodeSelector/,
    );
    assertOne(ccnp({ ingress: [{}] }), /must have an endpointSelector or a nodeSelector/);
    assertOne(
      cnp({ endpointSelector: {}, egress: [{ toEntities: ["internet"] }] }),
      /unsupported entity "internet"/,
    );
    assertOne(
      cnp({
        endpointSelector: {},
        egress: [{ toCIDRSet: [{ cidr: "10.0.0.0/8", except: ["192.168.0.0/16"] }] }],
      }),
      /192\.168\.0\.0\/16 is not inside 10\.0\.0\.0\/8/,
    );
  });

  it("a valid rule has no findings, in spec and in specs", () => {
    const rule = {
      endpointSelector: {},
      ingress: [{ fromEndpoints: [{}] }],
      egress: [{ toEndpoints: [{}] }],
    };
    assert.deepEqual(checkCiliumRule(rule, { namespaced: true }), []);
    assert.deepEqual(
      checkCiliumPolicy({ kind: "CiliumNetworkPolicy", specs: [rule, { ...rule, nodeSelector: {} }] }).map(
        (f) => f.path,
      ),
      ["specs[1].nodeSelector", "specs[1]"],
    );
  });
});

describe("checkCiliumRule: unknown fields, which the API server would prune silently", () => {
  it("a typo in a peer field", () => {
    assertOne(
      cnp({ endpointSelector: {}, ingress: [{ fromEntity: ["world"] }] }),
      /^spec\.ingress\[0\]\.fromEntity: unknown field "fromEntity"/,
    );
  });
  it("a typo in a port", () => {
    assertOne(
      cnp({ endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ port: "53", proto: "UDP" }] }] }] }),
      /^spec\.egress\[0\]\.toPorts\[0\]\.ports\[0\]\.proto: unknown field/,
    );
  });
  it("rules on a deny port rule", () => {
    assertOne(
      cnp({ endpointSelector: {}, egressDeny: [{ toPorts: [{ ports: [tcp(80)], rules: { http: [{}] } }] }] }),
      /egressDeny\[0\]\.toPorts\[0\]\.rules: unknown field "rules"/,
    );
  });
});
