import { strict as assert } from "assert";
import {
  CiliumPolicyObject,
  EndpointSelector,
  entitySelectors,
  FqdnMatcher,
  isIdentityRelevantK8sKey,
  LabelSet,
  localHostIdentityLabels,
  parseSelectorKey,
  podIdentityLabels,
  PolicyEngine,
  remoteNodeIdentityLabels,
  scopePeerSelector,
  scopeSubjectSelector,
  worldIdentityLabels,
} from "../../verifier/engine";
import { CLUSTER } from "./topology";

const pod = (
  labels: Record<string, string>,
  namespace = "team-a",
  namespaceLabels: Record<string, string> = {},
) => podIdentityLabels({ labels, namespace, namespaceLabels, clusterName: "default" });

describe("verifier: label modelling", () => {
  it("parses selector keys like Cilium's GetExtendedKeyFrom", () => {
    assert.deepEqual(parseSelectorKey("k8s:app"), { source: "k8s", key: "app" });
    assert.deepEqual(parseSelectorKey("app"), { source: "any", key: "app" });
    assert.deepEqual(parseSelectorKey("any:app.kubernetes.io/name"), {
      source: "any",
      key: "app.kubernetes.io/name",
    });
    assert.deepEqual(parseSelectorKey("reserved:host"), { source: "reserved", key: "host" });
    assert.deepEqual(parseSelectorKey("reserved.host"), { source: "reserved", key: "host" });
    assert.deepEqual(parseSelectorKey("$host"), { source: "reserved", key: "host" });
    assert.deepEqual(parseSelectorKey("k8s:io.cilium.k8s.namespace.labels.a:b"), {
      source: "k8s",
      key: "io.cilium.k8s.namespace.labels.a:b",
    });
  });

  it("gives a pod its k8s labels, namespace, namespace labels, service account and cluster", () => {
    const ls = pod({ app: "web" }, "team-a", { exposed: "true" });
    assert.deepEqual(ls.toStrings(), [
      "k8s:app=web",
      "k8s:io.cilium.k8s.namespace.labels.exposed=true",
      "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=team-a",
      "k8s:io.cilium.k8s.policy.cluster=default",
      "k8s:io.cilium.k8s.policy.serviceaccount=default",
      "k8s:io.kubernetes.pod.namespace=team-a",
    ]);
  });

  it("drops labels the default identity filter ignores", () => {
    assert.equal(isIdentityRelevantK8sKey("app"), true);
    assert.equal(isIdentityRelevantK8sKey("app.kubernetes.io/name"), true);
    assert.equal(isIdentityRelevantK8sKey("k8s-app"), true);
    assert.equal(isIdentityRelevantK8sKey("io.kubernetes.pod.namespace"), true);
    assert.equal(
      isIdentityRelevantK8sKey("io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name"),
      true,
    );
    assert.equal(isIdentityRelevantK8sKey("node-role.kubernetes.io/control-plane"), true);
    assert.equal(isIdentityRelevantK8sKey("pod-template-hash"), false);
    assert.equal(isIdentityRelevantK8sKey("controller-revision-hash"), false);
    assert.equal(isIdentityRelevantK8sKey("kubernetes.io/hostname"), false);
    assert.equal(isIdentityRelevantK8sKey("beta.kubernetes.io/arch"), false);
    assert.equal(isIdentityRelevantK8sKey("statefulset.kubernetes.io/pod-name"), false);
    assert.equal(isIdentityRelevantK8sKey("io.kubernetes.container.name"), false);
    assert.ok(!pod({ app: "x", "pod-template-hash": "abc" }).has("any", "pod-template-hash"));
  });

  it("models hosts as reserved:host locally and reserved:remote-node elsewhere, with kube-apiserver", () => {
    const local = localHostIdentityLabels(
      { "node-role.kubernetes.io/control-plane": "", "kubernetes.io/hostname": "cp" },
      true,
    );
    assert.deepEqual(local.toStrings(), [
      "k8s:node-role.kubernetes.io/control-plane",
      "reserved:host",
      "reserved:kube-apiserver",
    ]);
    assert.deepEqual(remoteNodeIdentityLabels(false).toStrings(), ["reserved:remote-node"]);
    assert.deepEqual(remoteNodeIdentityLabels(true).toStrings(), [
      "reserved:kube-apiserver",
      "reserved:remote-node",
    ]);
    assert.deepEqual(worldIdentityLabels(new Set([4]), false).toStrings(), [
      "reserved:world",
      "reserved:world-ipv4",
    ]);
  });

  it("answers identity questions through the engine, from each node's point of view", () => {
    const engine = new PolicyEngine([], CLUSTER);
    assert.deepEqual(engine.identityLabels("cp", "w1"), ["reserved:kube-apiserver", "reserved:remote-node"]);
    assert.deepEqual(engine.identityLabels("w1", "w2"), ["reserved:remote-node"]);
    assert.ok(engine.identityLabels("w1").includes("reserved:host"));
    assert.ok(engine.identityLabels("host:w1").includes("k8s:type=worker"));
    assert.deepEqual(engine.identityLabels("internet"), ["reserved:world", "reserved:world-ipv4"]);
    assert.ok(engine.identityLabels("coredns").includes("k8s:k8s-app=kube-dns"));
    assert.equal(engine.endpoint("host:cp").kind, "host");
    assert.throws(
      () => engine.evaluate({ from: "nope", to: "cp", protocol: "TCP", port: 1 }),
      /unknown endpoint/,
    );
  });

  it("label sets with the same labels share an id", () => {
    const a = new LabelSet([
      { source: "k8s", key: "a", value: "1" },
      { source: "k8s", key: "b", value: "2" },
    ]);
    const b = new LabelSet([
      { source: "k8s", key: "b", value: "2" },
      { source: "k8s", key: "a", value: "1" },
    ]);
    assert.equal(a.id, b.id);
  });
});

describe("verifier: selectors", () => {
  const web = pod({ app: "web", tier: "front" });

  it("an empty selector matches everything", () => {
    assert.ok(EndpointSelector.fromK8s({}).matches(web));
    assert.ok(EndpointSelector.fromK8s(undefined).matches(worldIdentityLabels(new Set(), false)));
  });

  it("matchLabels: no source means any source, k8s: means k8s only", () => {
    assert.ok(EndpointSelector.fromK8s({ matchLabels: { app: "web" } }).matches(web));
    assert.ok(EndpointSelector.fromK8s({ matchLabels: { "k8s:app": "web" } }).matches(web));
    assert.ok(!EndpointSelector.fromK8s({ matchLabels: { "reserved:app": "web" } }).matches(web));
    assert.ok(!EndpointSelector.fromK8s({ matchLabels: { app: "db" } }).matches(web));
    assert.ok(
      EndpointSelector.fromK8s({ matchLabels: { "reserved:host": "" } }).matches(
        localHostIdentityLabels({}, false),
      ),
    );
    assert.ok(
      !EndpointSelector.fromK8s({ matchLabels: { "k8s:host": "" } }).matches(
        localHostIdentityLabels({}, false),
      ),
    );
  });

  it("matchExpressions In / NotIn / Exists / DoesNotExist", () => {
    const sel = (operator: "In" | "NotIn" | "Exists" | "DoesNotExist", values?: string[], key = "app") =>
      EndpointSelector.fromK8s({ matchExpressions: [{ key, operator, values }] });
    assert.ok(sel("In", ["db", "web"]).matches(web));
    assert.ok(!sel("In", ["db"]).matches(web));
    assert.ok(sel("NotIn", ["db"]).matches(web));
    assert.ok(!sel("NotIn", ["web"]).matches(web));
    assert.ok(sel("NotIn", ["x"], "missing").matches(web), "NotIn holds when the key is absent");
    assert.ok(sel("Exists").matches(web));
    assert.ok(!sel("Exists", undefined, "missing").matches(web));
    assert.ok(sel("DoesNotExist", undefined, "missing").matches(web));
    assert.ok(!sel("DoesNotExist").matches(web));
  });

  it("refuses invalid expressions", () => {
    assert.throws(() =>
      EndpointSelector.fromK8s({ matchExpressions: [{ key: "a", operator: "in" as "In", values: ["x"] }] }),
    );
    assert.throws(() =>
      EndpointSelector.fromK8s({ matchExpressions: [{ key: "a", operator: "In", values: [] }] }),
    );
    assert.throws(() =>
      EndpointSelector.fromK8s({ matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] }),
    );
  });

  it("all requirements must hold (AND)", () => {
    const s = EndpointSelector.fromK8s({
      matchLabels: { app: "web" },
      matchExpressions: [{ key: "tier", operator: "In", values: ["back"] }],
    });
    assert.ok(!s.matches(web));
  });

  it("scopes a CNP endpointSelector to the policy namespace, overriding a user namespace", () => {
    const s = scopeSubjectSelector(
      EndpointSelector.fromK8s({ matchLabels: { "k8s:io.kubernetes.pod.namespace": "team-b" } }),
      "team-a",
    );
    assert.ok(s.matches(pod({ app: "web" }, "team-a")));
    assert.ok(!s.matches(pod({ app: "web" }, "team-b")));
    assert.equal(
      scopeSubjectSelector(EndpointSelector.fromK8s({}), undefined).isWildcard(),
      true,
      "CCNP: as written",
    );
  });

  it("scopes CNP peer selectors unless they name a namespace, namespace labels or a reserved label", () => {
    const scoped = scopePeerSelector(EndpointSelector.fromK8s({}), "team-a", false);
    assert.ok(scoped.matches(pod({}, "team-a")));
    assert.ok(!scoped.matches(pod({}, "team-b")));

    const ns = scopePeerSelector(
      EndpointSelector.fromK8s({ matchLabels: { "io.kubernetes.pod.namespace": "team-b" } }),
      "team-a",
      false,
    );
    assert.ok(ns.matches(pod({}, "team-b")));

    const nsLabel = scopePeerSelector(
      EndpointSelector.fromK8s({ matchLabels: { "k8s:io.cilium.k8s.namespace.labels.exposed": "true" } }),
      "team-a",
      false,
    );
    assert.ok(nsLabel.matches(pod({}, "team-c", { exposed: "true" })));

    const reservedSel = scopePeerSelector(
      EndpointSelector.fromK8s({ matchLabels: { "reserved:host": "" } }),
      "team-a",
      false,
    );
    assert.ok(reservedSel.matches(localHostIdentityLabels({}, false)));
  });

  it("adds 'io.kubernetes.pod.namespace Exists' to CCNP peers: pods of every namespace, no host, no world", () => {
    const s = scopePeerSelector(EndpointSelector.fromK8s({}), undefined, false);
    assert.ok(s.matches(pod({}, "team-a")));
    assert.ok(s.matches(pod({}, "kube-system")));
    assert.ok(!s.matches(localHostIdentityLabels({}, false)));
    assert.ok(!s.matches(remoteNodeIdentityLabels(false)));
    assert.ok(!s.matches(worldIdentityLabels(new Set([4]), false)));
    assert.ok(
      scopePeerSelector(EndpointSelector.fromK8s({}), undefined, true).isWildcard(),
      "reserved:init subjects",
    );
  });

  it("maps entities like pkg/policy/api/entity.go", () => {
    const any = (entity: Parameters<typeof entitySelectors>[0], ls: LabelSet) =>
      entitySelectors(entity, "default").some((s) => s.matches(ls));
    const host = localHostIdentityLabels({}, false);
    const remote = remoteNodeIdentityLabels(false);
    const api = remoteNodeIdentityLabels(true);
    const world = worldIdentityLabels(new Set([4]), false);
    const p = pod({});
    assert.ok(any("cluster", host) && any("cluster", remote) && any("cluster", api) && any("cluster", p));
    assert.ok(!any("cluster", world));
    assert.ok(any("all", world) && any("all", host) && any("all", p));
    assert.ok(any("world", world) && any("world-ipv4", world) && !any("world-ipv6", world));
    assert.ok(any("host", host) && !any("host", remote));
    assert.ok(any("remote-node", remote) && any("remote-node", api) && !any("remote-node", host));
    assert.ok(any("kube-apiserver", api) && !any("kube-apiserver", remote));
    assert.ok(!any("health", p) && !any("none", p) && !any("init", p));
    assert.ok(
      !entitySelectors("cluster", "other-cluster").some((s) => s.matches(p)),
      "cluster is per cluster name",
    );
  });
});

describe("verifier: DNS name matching", () => {
  const m = (sel: { matchName?: string; matchPattern?: string }) => new FqdnMatcher(sel);

  it("matchName is exact, case-insensitive, trailing dot optional", () => {
    assert.ok(m({ matchName: "cilium.io" }).matches("Cilium.IO."));
    assert.ok(!m({ matchName: "cilium.io" }).matches("sub.cilium.io"));
  });

  it("'*' alone matches every name", () => {
    assert.ok(m({ matchPattern: "*" }).matches("a.b.c.example.com"));
    assert.ok(m({ matchPattern: "*" }).matches("localhost"));
  });

  it("'*' within a label never crosses a dot (docs, DNS based)", () => {
    const p = m({ matchPattern: "*.cilium.io" });
    assert.ok(p.matches("sub.cilium.io"));
    assert.ok(!p.matches("cilium.io"));
    assert.ok(!p.matches("sub.sub.cilium.io"));
    const q = m({ matchPattern: "part*ial.com" });
    assert.ok(q.matches("partial.com"));
    assert.ok(q.matches("part-extra-ial.com"));
  });

  it("'**.' matches one or more labels", () => {
    const p = m({ matchPattern: "**.cilium.io" });
    assert.ok(p.matches("app.cilium.io"));
    assert.ok(p.matches("test.app.cilium.io"));
    assert.ok(!p.matches("cilium.io"));
  });
});

describe("verifier: policy loading", () => {
  const cnp = (name: string, spec: object): CiliumPolicyObject =>
    ({
      apiVersion: "cilium.io/v2",
      kind: "CiliumNetworkPolicy",
      metadata: { name, namespace: "default" },
      spec,
    }) as CiliumPolicyObject;

  it("refuses the invalid policies the agent refuses", () => {
    const bad: [CiliumPolicyObject, RegExp][] = [
      [cnp("no-selector", { ingress: [{}] }), /one of EndpointSelector or NodeSelector/],
      [cnp("both", { endpointSelector: {}, nodeSelector: {}, ingress: [{}] }), /both/],
      [cnp("node-in-cnp", { nodeSelector: {}, ingress: [{}] }), /ClusterwideNetworkPolicy/],
      [cnp("empty", { endpointSelector: {} }), /at least one of Ingress/],
      [
        cnp("mix", {
          endpointSelector: {},
          ingress: [{ fromEntities: ["world"], fromCIDR: ["1.1.1.1/32"] }],
        }),
        /combining/,
      ],
      [
        cnp("icmp-and-ports", {
          endpointSelector: {},
          egress: [{ icmps: [{ fields: [{ type: 8 }] }], toPorts: [{ ports: [{ port: "1" }] }] }],
        }),
        /ICMPs block/,
      ],
      [
        cnp("dns-ingress", {
          endpointSelector: {},
          ingress: [{ toPorts: [{ ports: [{ port: "53" }], rules: { dns: [{ matchName: "a" }] } }] }],
        }),
        /DNS rules are not allowed on ingress/,
      ],
      [cnp("entity", { endpointSelector: {}, egress: [{ toEntities: ["galaxy"] }] }), /unsupported entity/],
      [
        cnp("except", {
          endpointSelector: {},
          egress: [{ toCIDRSet: [{ cidr: "10.0.0.0/8", except: ["11.0.0.0/8"] }] }],
        }),
        /does not contain/,
      ],
      [
        cnp("proto", {
          endpointSelector: {},
          egress: [{ toPorts: [{ ports: [{ port: "1", protocol: "ICMP" }] }] }],
        }),
        /invalid protocol/,
      ],
      [
        cnp("icmp-name", {
          endpointSelector: {},
          egress: [{ icmps: [{ fields: [{ type: "PacketTooBig" }] }] }],
        }),
        /not found in IPv4/,
      ],
      [
        cnp("port", { endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ port: "" }] }] }] }),
        /port must be specified/,
      ],
      [
        cnp("l7-port0", {
          endpointSelector: {},
          egress: [{ toPorts: [{ ports: [{ port: "0" }], rules: { dns: [{ matchPattern: "*" }] } }] }],
        }),
        /port is 0/,
      ],
    ];
    for (const [p, why] of bad) {
      const engine = new PolicyEngine([p], CLUSTER);
      assert.equal(engine.rejected.length, 1, `${p.metadata.name} should be refused`);
      assert.match(engine.rejected[0].reason, why, p.metadata.name);
      assert.match(engine.warnings[0], new RegExp(p.metadata.name));
    }
  });

  it("reads spec and specs, and records the castle layer", () => {
    const p: CiliumPolicyObject = {
      apiVersion: "cilium.io/v2",
      kind: "CiliumClusterwideNetworkPolicy",
      metadata: { name: "two", labels: { "castle.cilium.io/layer": "nodes" } },
      spec: { nodeSelector: {}, ingress: [{}] },
      specs: [{ endpointSelector: {}, egress: [{}] }],
    };
    const engine = new PolicyEngine([p], CLUSTER);
    assert.deepEqual(engine.selectingPolicies("w1", "ingress").enforcedBy, [
      { name: "two", kind: "CiliumClusterwideNetworkPolicy", layer: "nodes" },
    ]);
    assert.equal(engine.selectingPolicies("web-a", "egress").enforcedBy[0].layer, "nodes");
    assert.deepEqual(engine.selectingPolicies("web-a", "ingress").selecting, []);
    const unlabelled = new PolicyEngine([{ ...p, metadata: { name: "x" } }], CLUSTER);
    assert.equal(unlabelled.selectingPolicies("w1", "ingress").enforcedBy[0].layer, "unlabelled");
  });

  it("evaluates many flows quickly (selector and L3 caches)", () => {
    const policies: CiliumPolicyObject[] = [];
    for (let i = 0; i < 200; i++) {
      policies.push({
        apiVersion: "cilium.io/v2",
        kind: "CiliumNetworkPolicy",
        metadata: { name: `p${i}`, namespace: i % 2 ? "team-a" : "default" },
        spec: {
          endpointSelector: { matchLabels: { app: `a${i}` } },
          ingress: [
            {
              fromEndpoints: [{ matchLabels: { app: `b${i}` } }],
              toPorts: [{ ports: [{ port: String(1000 + i) }] }],
            },
          ],
        },
      });
    }
    const engine = new PolicyEngine(policies, CLUSTER);
    const ids = CLUSTER.pods.map((p) => p.id);
    const start = Date.now();
    let n = 0;
    for (let round = 0; round < 100; round++) {
      for (let i = 0; i < ids.length; i++) {
        for (let j = 0; j < ids.length; j += 3) {
          engine.evaluate({ from: ids[i], to: ids[j], protocol: "TCP", port: 1000 + ((i + j) % 50) });
          n++;
        }
      }
    }
    const ms = Date.now() - start;
    assert.ok(ms < 15000, `${n} flows took ${ms} ms`);
  });
});
