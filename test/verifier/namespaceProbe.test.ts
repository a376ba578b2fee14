// A namespace asked of the engine on its own (verifier/engine/namespaceProbe.ts), as the policy pack asks
// it: do the namespace's own policies let any two of its pods talk, both ways?

import * as assert from "node:assert/strict";
import { probeNamespace, namespacePoliciesOf } from "../../verifier/engine/namespaceProbe";
import type { CiliumPolicyObject, Rule } from "../../verifier/engine";

/** A CNP in team-a; `null`: one without metadata.namespace. */
const cnp = (name: string, spec: Rule, namespace: string | null = "team-a"): CiliumPolicyObject => ({
  apiVersion: "cilium.io/v2",
  kind: "CiliumNetworkPolicy",
  metadata: { name, ...(namespace !== null ? { namespace } : {}) },
  spec,
});

/** The castle's allow-within-namespace (components/layers/user/namespacePolicies.ts). */
const CASTLE_ALLOW_WITHIN: Rule = {
  endpointSelector: {},
  ingress: [{ fromEndpoints: [{}] }],
  egress: [{ toEndpoints: [{}] }],
};

const ports = (...list: [string, string, number?][]) => [
  {
    ports: list.map(([port, protocol, endPort]) => ({
      port,
      protocol,
      ...(endPort !== undefined ? { endPort } : {}),
    })),
  },
];

/** The gaps as [direction, protocol/port, closed flows, reason] for compact assertions. */
const gaps = (r: ReturnType<typeof probeNamespace>) =>
  r.gaps.map((g) => [g.direction, `${g.protocol}/${g.port}`, g.closedFlows, g.reason]);

describe("engine: a namespace's own policies, probed", () => {
  it("the castle's allow-within-namespace opens its namespace both ways, on every probed port", () => {
    const r = probeNamespace([cnp("allow-within-namespace", CASTLE_ALLOW_WITHIN)], "team-a");
    assert.equal(r.open, true, JSON.stringify(r.gaps));
    assert.deepEqual(r.gaps, []);
    // Bare pods only (no selector names a label), on TCP and UDP 1 and 65535.
    assert.equal(r.probedFlows, 4);
    assert.deepEqual(
      r.policies.map((p) => `${p.namespace}/${p.name}`),
      ["team-a/allow-within-namespace"],
    );
  });

  it("equivalent spellings open it too: empty matchLabels and matchExpressions, the cluster entity, any name", () => {
    for (const spec of [
      {
        endpointSelector: { matchLabels: {} },
        ingress: [{ fromEndpoints: [{ matchLabels: {} }] }],
        egress: [{ toEndpoints: [{ matchExpressions: [] }] }],
      },
      {
        endpointSelector: {},
        ingress: [{ fromEntities: ["cluster"] }],
        egress: [{ toEntities: ["all"] }],
      },
    ] as Rule[]) {
      const r = probeNamespace([cnp("talk-inside", spec)], "team-a");
      assert.equal(r.open, true, `${JSON.stringify(spec)}: ${JSON.stringify(gaps(r))}`);
    }
    // Two policies, one per direction, together.
    const split = probeNamespace(
      [
        cnp("in", { endpointSelector: {}, ingress: [{ fromEndpoints: [{}] }] }),
        cnp("out", { endpointSelector: {}, egress: [{ toEndpoints: [{}] }] }),
      ],
      "team-a",
    );
    assert.equal(split.open, true, JSON.stringify(gaps(split)));
  });

  it("only the namespace's own CNPs count: cluster-wide policies and other namespaces' are left out", () => {
    const r = probeNamespace(
      [
        {
          apiVersion: "cilium.io/v2",
          kind: "CiliumClusterwideNetworkPolicy",
          metadata: { name: "everything" },
          spec: CASTLE_ALLOW_WITHIN,
        },
        cnp("allow-within-namespace", CASTLE_ALLOW_WITHIN, "team-b"),
      ],
      "team-a",
    );
    assert.equal(r.open, false);
    assert.deepEqual(r.policies, []);
    assert.deepEqual(
      r.gaps.map((g) => [g.direction, g.byDefaultOnly]),
      [
        ["egress", true],
        ["ingress", true],
      ],
    );
    assert.match(
      r.gaps[0].reason,
      /^allowed only by default, not by a rule \(no policy selects pod team-a\/probe-a for egress: default allow\)$/,
    );
    // A CNP without a namespace is the default namespace's, as the engine places it.
    const noNamespace = [cnp("allow-within-namespace", CASTLE_ALLOW_WITHIN, null)];
    assert.equal(namespacePoliciesOf(noNamespace, "default").length, 1);
    assert.equal(probeNamespace(noNamespace, "default").open, true);
    assert.equal(probeNamespace(noNamespace, "team-a").open, false);
  });

  it("one direction closed: egress on one port only; ingress from labelled pods only", () => {
    const onePortPolicy = cnp("allow-within-namespace", {
      ...CASTLE_ALLOW_WITHIN,
      egress: [{ toEndpoints: [{}], toPorts: ports(["8080", "TCP"]) }],
    });
    const onePort = probeNamespace([onePortPolicy], "team-a");
    assert.deepEqual(gaps(onePort), [
      [
        "egress",
        "TCP/1",
        4,
        "TCP/1 to pod team-a/probe-b: no rule allows it; default deny for pod team-a/probe-a egress (enforced by CNP team-a/allow-within-namespace)",
      ],
    ]);
    // 8080 itself is open: with the port the policy names added, 4 of 5 flows stay closed.
    const withNamed = probeNamespace([onePortPolicy], "team-a", [{ protocol: "TCP", port: 8080 }]);
    assert.equal(withNamed.probedFlows, 5);
    assert.equal(withNamed.gaps[0].closedFlows, 4);

    const labelled = probeNamespace(
      [
        cnp("allow-within-namespace", {
          ...CASTLE_ALLOW_WITHIN,
          ingress: [{ fromEndpoints: [{ matchLabels: { app: "web" } }] }],
        }),
      ],
      "team-a",
    );
    assert.equal(labelled.open, false);
    assert.deepEqual(
      labelled.gaps.map((g) => [g.direction, g.from, g.to]),
      [["ingress", { labels: {}, serviceAccount: "default" }, { labels: {}, serviceAccount: "default" }]],
    );
    assert.match(labelled.gaps[0].reason, /^TCP\/1 from pod team-a\/probe-a: no rule allows it/);
  });

  it("a deny of the namespace closes it, and names itself", () => {
    const r = probeNamespace(
      [
        cnp("allow-within-namespace", CASTLE_ALLOW_WITHIN),
        cnp("no-postgres", {
          endpointSelector: {},
          egressDeny: [{ toEndpoints: [{}], toPorts: ports(["5432", "TCP"]) }],
        }),
      ],
      "team-a",
    );
    // 5432 is not one of the probe's own ports: the caller adds the ports the policies name.
    assert.equal(r.open, true);
    const named = probeNamespace(
      [
        cnp("allow-within-namespace", CASTLE_ALLOW_WITHIN),
        cnp("no-postgres", {
          endpointSelector: {},
          egressDeny: [{ toEndpoints: [{}], toPorts: ports(["5432", "TCP"]) }],
        }),
      ],
      "team-a",
      [{ protocol: "TCP", port: 5432 }],
    );
    assert.deepEqual(gaps(named), [
      [
        "egress",
        "TCP/5432",
        1,
        "TCP/5432 to pod team-a/probe-b denied by CNP team-a/no-postgres egressDeny[0]",
      ],
    ]);
    assert.deepEqual(
      named.gaps[0].deniedBy.map((p) => p.name),
      ["no-postgres"],
    );
  });

  it("port ranges with a hole are open on the probe's own ports and closed on the hole's edge", () => {
    const holed = [
      cnp("allow-within-namespace", {
        endpointSelector: {},
        ingress: [{ fromEndpoints: [{}] }],
        egress: [{ toEndpoints: [{}], toPorts: ports(["1", "ANY", 1000], ["1002", "ANY", 65535]) }],
      }),
    ];
    assert.equal(probeNamespace(holed, "team-a").open, true);
    const r = probeNamespace(holed, "team-a", [{ protocol: "UDP", port: 1001 }]);
    assert.deepEqual(
      r.gaps.map((g) => [g.direction, `${g.protocol}/${g.port}`]),
      [["egress", "UDP/1001"]],
    );
  });

  it("the answer may not depend on the pods' labels or service account", () => {
    const probe = (...specs: Rule[]) =>
      probeNamespace(
        specs.map((s, i) => cnp(`p${i}`, s)),
        "team-a",
      );
    // Open only for pods without app=db: the pod labelled app=db is the gap.
    const notDb = probe({
      endpointSelector: { matchExpressions: [{ key: "app", operator: "NotIn", values: ["db"] }] },
      ingress: [{ fromEndpoints: [{}] }],
      egress: [{ toEndpoints: [{}] }],
    });
    assert.equal(notDb.open, false);
    assert.deepEqual(
      notDb.gaps.map((g) => [g.direction, g.from.labels, g.to.labels, g.byDefaultOnly]),
      [
        ["egress", { app: "db" }, {}, true],
        ["ingress", {}, { app: "db" }, true],
      ],
    );
    // Open for pods without app, and for pods with any app: together, for every pod.
    const both = probe(
      {
        endpointSelector: { matchExpressions: [{ key: "app", operator: "DoesNotExist" }] },
        ingress: [{ fromEndpoints: [{}] }],
        egress: [{ toEndpoints: [{}] }],
      },
      {
        endpointSelector: { matchExpressions: [{ key: "k8s:app", operator: "Exists" }] },
        ingress: [{ fromEndpoints: [{}] }],
        egress: [{ toEndpoints: [{}] }],
      },
    );
    assert.equal(both.open, true, JSON.stringify(gaps(both)));
    // Bare, app with a value no selector names: 2 variants, 4 pairs, 4 ports.
    assert.equal(both.probedFlows, 16);
    // Peers only of one service account.
    const sa = probe({
      endpointSelector: {},
      ingress: [{ fromEndpoints: [{ matchLabels: { "io.cilium.k8s.policy.serviceaccount": "web" } }] }],
      egress: [{ toEndpoints: [{}] }],
    });
    assert.deepEqual(
      sa.gaps.map((g) => [g.direction, g.from.serviceAccount]),
      [["ingress", "default"]],
    );
    // The namespace's own name label is the same on every pod of it: not a label that varies.
    const byName = probe({
      endpointSelector: { matchLabels: { "k8s:io.kubernetes.pod.namespace": "team-a" } },
      ingress: [
        {
          fromEndpoints: [
            { matchLabels: { "io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name": "team-a" } },
          ],
        },
      ],
      egress: [{ toEndpoints: [{}] }],
    });
    assert.equal(byName.open, true, JSON.stringify(gaps(byName)));
    assert.equal(byName.probedFlows, 4);
  });

  it("a refused policy takes no effect, and the result says why", () => {
    const r = probeNamespace(
      [
        cnp("allow-within-namespace", {
          endpointSelector: {},
          ingress: [
            {
              fromEndpoints: [{ matchExpressions: [{ key: "app", operator: "in" as "In", values: ["x"] }] }],
            },
          ],
          egress: [{ toEndpoints: [{}] }],
        }),
      ],
      "team-a",
    );
    assert.equal(r.open, false);
    assert.deepEqual(
      r.refused.map((x) => x.ref.name),
      ["allow-within-namespace"],
    );
    assert.match(r.refused[0].reason, /"in"/);
    assert.deepEqual(
      r.gaps.map((g) => [g.direction, g.byDefaultOnly]),
      [
        ["egress", true],
        ["ingress", true],
      ],
    );
  });
});
