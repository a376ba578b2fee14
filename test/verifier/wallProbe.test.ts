// A namespace's policy asked of the engine item by item (verifier/engine/wallProbe.ts), as the policy
// pack's user-namespace-walls asks it: does an item admit a peer outside the namespace, and which?

import * as assert from "node:assert/strict";
import { l4Text, probeWalls, WallBreach } from "../../verifier/engine/wallProbe";
import type { CiliumPolicyObject, Rule } from "../../verifier/engine";

const cnp = (spec: Rule, extra: Partial<CiliumPolicyObject> = {}): CiliumPolicyObject => ({
  apiVersion: "cilium.io/v2",
  kind: "CiliumNetworkPolicy",
  metadata: { name: "p", namespace: "team-a" },
  spec,
  ...extra,
});
const tcp = (port: string) => [{ ports: [{ port, protocol: "TCP" }] }];

/** The breaches as [place, peer, L4, how] for compact assertions. */
const brief = (b: WallBreach) => [
  `${b.specs !== undefined ? `specs[${b.specs}].` : ""}${b.direction}[${b.index}]`,
  b.peer.text,
  `${l4Text(b)}${b.dnsName !== undefined ? ` as ${b.dnsName}` : ""}`,
  b.everyPeer ? "every peer" : b.through.map((t) => `${t.field}[${t.index}] ${t.text}`).join("; "),
];
const probe = (spec: Rule) => probeWalls(cnp(spec)).breaches.map(brief);
const only = (spec: Rule): WallBreach => {
  const r = probeWalls(cnp(spec));
  assert.equal(r.breaches.length, 1, JSON.stringify(r));
  return r.breaches[0];
};

describe("engine: a namespace's policy items, probed for peers outside the namespace", () => {
  it("the castle's allow-within-namespace admits nothing outside, in any spelling", () => {
    for (const spec of [
      { endpointSelector: {}, ingress: [{ fromEndpoints: [{}] }], egress: [{ toEndpoints: [{}] }] },
      {
        endpointSelector: { matchLabels: {} },
        ingress: [{ fromEndpoints: [{ matchLabels: {} }] }],
        egress: [{ toEndpoints: [{ matchExpressions: [] }], toPorts: tcp("443") }],
      },
      // Selectors by the pods' own labels, service account and the namespace's own name stay inside.
      {
        endpointSelector: {},
        ingress: [
          { fromEndpoints: [{ matchLabels: { app: "web", "io.cilium.k8s.policy.serviceaccount": "web" } }] },
          { fromEndpoints: [{ matchLabels: { "k8s:io.kubernetes.pod.namespace": "team-a" } }] },
        ],
        egress: [
          { toEndpoints: [{ matchExpressions: [{ key: "app", operator: "NotIn", values: ["db"] }] }] },
        ],
      },
    ] as Rule[]) {
      const r = probeWalls(cnp(spec));
      assert.deepEqual(r.breaches, [], JSON.stringify(spec));
      assert.deepEqual(r.refused, []);
    }
  });

  it("an ingress item with only ports admits every peer: the internet first, then pods, nodes and the API server", () => {
    const b = only({
      endpointSelector: { matchLabels: { app: "web" } },
      ingress: [{ toPorts: tcp("8080") }],
    });
    assert.deepEqual(brief(b), ["ingress[0]", "the internet (203.0.113.10)", "TCP/8080", "every peer"]);
    assert.deepEqual(b.kinds, ["world", "pod", "host", "remote-node", "kube-apiserver"]);
    assert.match(b.reason, /^TCP\/8080 from world internet-v4 allowed by CNP team-a\/p ingress\[0\]$/);
    // So does an egress item with only port 443, and an item with only ICMP types (ICMPv6 to the IPv6 internet).
    assert.deepEqual(probe({ endpointSelector: {}, egress: [{ toPorts: tcp("443") }] }), [
      ["egress[0]", "the internet (203.0.113.10)", "TCP/443", "every peer"],
    ]);
    assert.deepEqual(
      probe({ endpointSelector: {}, ingress: [{ icmps: [{ fields: [{ type: 128, family: "IPv6" }] }] }] }),
      [["ingress[0]", "the internet (2001:db8::10)", "ICMPv6 type 128", "every peer"]],
    );
    // A named port resolves on the probe pod the item applies to, and the message keeps its name.
    assert.deepEqual(
      probe({
        endpointSelector: {},
        ingress: [{ toPorts: [{ ports: [{ port: "http", protocol: "TCP" }] }] }],
      }),
      [["ingress[0]", "the internet (203.0.113.10)", "TCP/http", "every peer"]],
    );
  });

  it("peers that name the outside: reserved:world as a label, entities, CIDRs (at their edges)", () => {
    assert.deepEqual(
      probe({
        endpointSelector: {},
        ingress: [{ fromEndpoints: [{ matchLabels: { "reserved:world": "" } }] }],
      }),
      [
        [
          "ingress[0]",
          "the internet (203.0.113.10)",
          "TCP/1",
          "fromEndpoints[0] endpoints {reserved:world=}",
        ],
      ],
    );
    const entities = only({ endpointSelector: {}, egress: [{ toEntities: ["world", "all", "host"] }] });
    assert.deepEqual(brief(entities), [
      "egress[0]",
      "the internet (203.0.113.10)",
      "TCP/1",
      "toEntities[0] entity world; toEntities[1] entity all",
    ]);
    assert.deepEqual(entities.kinds, ["world", "pod", "host", "remote-node", "kube-apiserver"]);
    assert.deepEqual(probe({ endpointSelector: {}, egress: [{ toEntities: ["world-ipv6"] }] }), [
      ["egress[0]", "the internet (2001:db8::10)", "TCP/1", "toEntities[0] entity world-ipv6"],
    ]);
    // The first address of 10.0.0.0/8 is excepted: the last one is admitted.
    assert.deepEqual(
      probe({
        endpointSelector: {},
        egress: [{ toCIDRSet: [{ cidr: "10.0.0.0/8", except: ["10.0.0.0/9"] }] }],
      }),
      [
        [
          "egress[0]",
          "the address 10.255.255.255 (last address of 10.0.0.0/8)",
          "TCP/1",
          "toCIDRSet[0] cidr 10.0.0.0/8 except 10.0.0.0/9",
        ],
      ],
    );
  });

  it("the cluster entity admits pods of other namespaces, nodes and the API server, not the internet", () => {
    const b = only({ endpointSelector: {}, egress: [{ toEntities: ["cluster"] }] });
    assert.deepEqual(brief(b), [
      "egress[0]",
      "a pod of namespace castle-wall-probe",
      "TCP/1",
      "toEntities[0] entity cluster",
    ]);
    assert.deepEqual(b.kinds, ["pod", "host", "remote-node", "kube-apiserver"]);
    const apiServer = only({ endpointSelector: {}, egress: [{ toEntities: ["kube-apiserver"] }] });
    assert.deepEqual(apiServer.kinds, ["kube-apiserver"]);
    assert.equal(apiServer.peer.text, "the kube-apiserver (a control-plane node)");
    assert.deepEqual(only({ endpointSelector: {}, ingress: [{ fromEntities: ["host"] }] }).peer, {
      kind: "host",
      text: "its own node (reserved:host)",
    });
  });

  it("endpoint selectors naming a namespace or namespace labels reach pods built to match them", () => {
    assert.deepEqual(
      probe({
        endpointSelector: {},
        ingress: [
          { fromEndpoints: [{ matchLabels: { "k8s:io.kubernetes.pod.namespace": "team-b", app: "api" } }] },
        ],
        egress: [
          {
            toEndpoints: [
              { matchLabels: { "io.cilium.k8s.namespace.labels.exposed": "true", app: "web" } },
              {
                matchExpressions: [
                  {
                    key: "io.kubernetes.pod.namespace",
                    operator: "NotIn",
                    values: ["team-a", "kube-system"],
                  },
                ],
              },
            ],
          },
        ],
      }),
      [
        [
          "ingress[0]",
          "a pod of namespace team-b labelled app=api",
          "TCP/1",
          "fromEndpoints[0] endpoints {k8s:io.kubernetes.pod.namespace=team-b, any:app=api}",
        ],
        // Left unscoped by its namespace key, the selector still carries the local-cluster filter
        // (addClusterFilterByDefault): no world or node identity, but the pods of any other namespace.
        [
          "egress[0]",
          "a pod of namespace castle-wall-probe",
          "TCP/1",
          "toEndpoints[1] endpoints {any:io.kubernetes.pod.namespace notin (team-a,kube-system)}",
        ],
      ],
    );
    // The pod labelled to match the first selector is admitted too, through that selector alone.
    assert.deepEqual(
      probe({
        endpointSelector: {},
        egress: [
          {
            toEndpoints: [{ matchLabels: { "io.cilium.k8s.namespace.labels.exposed": "true", app: "web" } }],
          },
        ],
      }),
      [
        [
          "egress[0]",
          "a pod of namespace castle-wall-probe labelled app=web (its namespace labelled exposed=true)",
          "TCP/1",
          "toEndpoints[0] endpoints {any:io.cilium.k8s.namespace.labels.exposed=true, any:app=web}",
        ],
      ],
    );
    // The namespace by its name label, and a service account: every pod has one, never absent.
    assert.deepEqual(
      probe({
        endpointSelector: {},
        ingress: [
          {
            fromEndpoints: [
              {
                matchLabels: { "io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name": "team-b" },
                matchExpressions: [
                  { key: "io.cilium.k8s.policy.serviceaccount", operator: "NotIn", values: ["default"] },
                ],
              },
            ],
          },
        ],
      }),
      [
        [
          "ingress[0]",
          "a pod of namespace team-b of service account castle-wall-probe",
          "TCP/1",
          "fromEndpoints[0] endpoints {any:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=team-b, any:io.cilium.k8s.policy.serviceaccount notin (default)}",
        ],
      ],
    );
    // A namespace only the home namespace meets: no pod outside matches.
    assert.deepEqual(
      probe({
        endpointSelector: {},
        ingress: [{ fromEndpoints: [{ matchLabels: { "io.kubernetes.pod.namespace": "team-a" } }] }],
      }),
      [],
    );
  });

  it("toFQDNs admit the internet under the names they match", () => {
    assert.deepEqual(
      probe({ endpointSelector: {}, egress: [{ toFQDNs: [{ matchPattern: "*" }], toPorts: tcp("443") }] }),
      [
        [
          "egress[0]",
          "the internet (203.0.113.10)",
          "TCP/443 as wall-probe.example",
          "toFQDNs[0] fqdn matchPattern *",
        ],
      ],
    );
    assert.deepEqual(
      probe({
        endpointSelector: {},
        egress: [{ toFQDNs: [{ matchName: "api.example.com" }, { matchPattern: "**.example.org" }] }],
      }),
      [
        [
          "egress[0]",
          "the internet (203.0.113.10)",
          "TCP/1 as api.example.com",
          "toFQDNs[0] fqdn matchName api.example.com",
        ],
      ],
    );
  });

  it("toServices: another namespace's Service is read as its pods there; a Service without selector as its backends", () => {
    const other = only({
      endpointSelector: {},
      egress: [{ toServices: [{ k8sService: { serviceName: "api", namespace: "team-b" } }] }],
    });
    assert.deepEqual(brief(other), [
      "egress[0]",
      "a pod of namespace team-b labelled app.kubernetes.io/name=castle-wall-probe-backend",
      "TCP/1",
      "toServices[0] service team-b/api (endpoints {k8s:io.kubernetes.pod.namespace=team-b, k8s:app.kubernetes.io/name=castle-wall-probe-backend})",
    ]);
    // The same Service without a selector: its backends' addresses (here one on the internet).
    assert.deepEqual(other.kinds, ["pod", "world"]);
    // The namespace's own Service: its pods stay inside, its backends need not.
    assert.deepEqual(
      probe({
        endpointSelector: {},
        egress: [
          {
            toServices: [
              { k8sServiceSelector: { selector: { matchLabels: { tier: "db" } }, namespace: "team-a" } },
            ],
          },
        ],
      }),
      [
        [
          "egress[0]",
          "the address 203.0.113.20 (the backend of a Service without a selector)",
          "TCP/1",
          "toServices[0] service team-a/castle-wall-probe-0 (backend 203.0.113.20/32)",
        ],
      ],
    );
  });

  it("deny items are never asked, and the subject selector does not matter", () => {
    assert.deepEqual(
      probe({
        endpointSelector: {},
        ingressDeny: [{ fromEntities: ["world"] }],
        egressDeny: [{ toEntities: ["all"] }],
        ingress: [{ fromEndpoints: [{}] }],
      }),
      [],
    );
    // A subject no pod carries: the item still admits the internet wherever the selector would match.
    assert.deepEqual(
      probe({
        endpointSelector: { matchLabels: { "no-pod": "has-this" } },
        ingress: [{ fromEntities: ["world"] }],
      }),
      [["ingress[0]", "the internet (203.0.113.10)", "TCP/1", "fromEntities[0] entity world"]],
    );
  });

  it("authentication does not keep a peer inside; specs are placed by index", () => {
    assert.deepEqual(
      probe({
        endpointSelector: {},
        ingress: [{ fromEntities: ["world"], authentication: { mode: "required" } }],
      }),
      [["ingress[0]", "the internet (203.0.113.10)", "TCP/1", "fromEntities[0] entity world"]],
    );
    const r = probeWalls(
      cnp(
        { endpointSelector: {}, ingress: [{ fromEndpoints: [{}] }] },
        { specs: [{ endpointSelector: {}, egress: [{ toEndpoints: [{}] }, { toEntities: ["world"] }] }] },
      ),
    );
    assert.deepEqual(r.breaches.map(brief), [
      ["specs[0].egress[1]", "the internet (203.0.113.10)", "TCP/1", "toEntities[0] entity world"],
    ]);
  });

  it("an item the agent refuses admits nothing, and the result says why (fromNodes needs an agent option)", () => {
    const r = probeWalls(cnp({ endpointSelector: {}, ingress: [{ fromNodes: [{}] }] }));
    assert.deepEqual(r.breaches, []);
    assert.deepEqual(r.refused, [
      {
        direction: "ingress",
        index: 0,
        reason: "FromNodes rules need the enable-node-selector-labels option",
      },
    ]);
  });

  it("asks only about a namespace's CiliumNetworkPolicy", () => {
    assert.throws(
      () =>
        probeWalls({
          apiVersion: "cilium.io/v2",
          kind: "CiliumClusterwideNetworkPolicy",
          metadata: { name: "c" },
          spec: { endpointSelector: {}, ingress: [{ fromEntities: ["world"] }] },
        }),
      /not a CiliumClusterwideNetworkPolicy/,
    );
  });
  it("entities of reserved identities the probe has no endpoint for are named: health, ingress; none is not", () => {
    const r = probeWalls(
      cnp({
        endpointSelector: {},
        ingress: [{ fromEntities: ["health", "ingress"] }, { fromEntities: ["none"] }],
        egress: [{ toEntities: ["unmanaged"], toPorts: tcp("80") }],
      }),
    );
    assert.deepEqual(r.breaches, []);
    assert.deepEqual(r.reservedEntities, [
      { direction: "ingress", index: 0, entities: ["health", "ingress"] },
      { direction: "egress", index: 0, entities: ["unmanaged"] },
    ]);
  });
});
