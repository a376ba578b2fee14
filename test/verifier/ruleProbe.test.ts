// The engine asked about one rule at a time (verifier/engine/ruleProbe.ts), as the policy pack asks it.

import * as assert from "node:assert/strict";
import { probeIngressRule, RuleProbe } from "../../verifier/engine/ruleProbe";
import { isHostRule, selectsPodsOfEveryNamespace } from "../../verifier/engine/ruleKind";
import type { IngressRule, LabelSelector } from "../../verifier/engine";

const INTERNET = { ip: "203.0.113.10" };
const ssh = (rule: IngressRule, peer: RuleProbe["peer"] = INTERNET, subject: RuleProbe["subject"] = "host") =>
  probeIngressRule({ subject, rule, peer, protocol: "TCP", port: 22 });
const tcpPorts = (port: string, endPort?: number) => [
  { ports: [{ port, protocol: "TCP", ...(endPort !== undefined ? { endPort } : {}) }] },
];

describe("engine: one ingress rule, probed", () => {
  it("an empty rule admits nothing; a rule with only ports admits every peer, the internet included", () => {
    assert.equal(ssh({}).admitted, false);
    assert.equal(ssh({ toPorts: tcpPorts("22") }).admitted, true);
    assert.equal(ssh({ toPorts: tcpPorts("22") }, { entity: "remote-node" }).admitted, true);
  });

  it("fromEndpoints: [] with ports admits nobody from outside (the pack used to read it as every peer)", () => {
    const r = probeIngressRule({
      subject: "host",
      rule: { fromEndpoints: [], toPorts: tcpPorts("6443") },
      peer: INTERNET,
      protocol: "TCP",
      port: 6443,
    });
    assert.equal(r.admitted, false, r.reason);
  });

  it("entities: world and all admit the internet, cluster does not; kube-apiserver is the control plane's host", () => {
    assert.equal(ssh({ fromEntities: ["world"] }).admitted, true);
    assert.equal(ssh({ fromEntities: ["all"] }).admitted, true);
    assert.equal(ssh({ fromEntities: ["cluster"] }).admitted, false);
    assert.equal(ssh({ fromEntities: ["cluster"] }, { entity: "remote-node" }).admitted, true);
    assert.equal(ssh({ fromEntities: ["kube-apiserver"] }, { entity: "kube-apiserver" }).admitted, true);
    assert.equal(ssh({ fromEntities: ["kube-apiserver"] }, { entity: "remote-node" }).admitted, false);
  });

  it("ports: a range admits its inside, ICMP-only rules admit no TCP, CIDRs admit what they contain", () => {
    assert.equal(ssh({ fromEntities: ["world"], toPorts: tcpPorts("20", 30) }).admitted, true);
    assert.equal(ssh({ fromEntities: ["world"], toPorts: tcpPorts("23", 30) }).admitted, false);
    assert.equal(ssh({ icmps: [{ fields: [{ type: 8 }] }] }).admitted, false);
    assert.equal(ssh({ fromCIDR: ["203.0.113.0/24"] }).admitted, true);
    assert.equal(ssh({ fromCIDR: ["10.0.0.0/8"] }).admitted, false);
    assert.equal(
      ssh({ fromCIDRSet: [{ cidr: "203.0.113.0/24", except: ["203.0.113.0/28"] }] }).admitted,
      false,
    );
  });

  it("a rule the agent refuses admits nothing, and says why", () => {
    const r = ssh({ fromEntities: ["world"], toPorts: tcpPorts("65536") });
    assert.equal(r.admitted, false);
    assert.match(r.reason, /endPort|port/i);
  });

  it("pods: the same rule on a pod subject", () => {
    assert.equal(ssh({ fromEntities: ["world"] }, INTERNET, "pod").admitted, true);
    assert.equal(ssh({ fromEntities: ["cluster"] }, { entity: "cluster-pod" }, "pod").admitted, true);
    assert.equal(ssh({ fromEntities: ["cluster"] }, INTERNET, "pod").admitted, false);
  });

  it("rule kinds: a nodeSelector makes a host rule; a subject selecting pods of every namespace, as the engine selects", () => {
    assert.equal(isHostRule({ nodeSelector: {} }), true);
    assert.equal(isHostRule({ endpointSelector: {} }), false);
    const exists = (key: string): LabelSelector => ({ matchExpressions: [{ key, operator: "Exists" }] });
    const everyNamespace: LabelSelector[] = [
      {},
      { matchLabels: {}, matchExpressions: [] },
      exists("io.kubernetes.pod.namespace"),
      exists("k8s:io.kubernetes.pod.namespace"),
      exists("io.cilium.k8s.policy.serviceaccount"),
      { matchExpressions: [{ key: "app", operator: "DoesNotExist" }] },
      {
        matchExpressions: [
          { key: "io.kubernetes.pod.namespace", operator: "NotIn", values: ["kube-system"] },
        ],
      },
    ];
    for (const sel of everyNamespace)
      assert.equal(selectsPodsOfEveryNamespace(sel), true, JSON.stringify(sel));
    const notEvery: (LabelSelector | undefined)[] = [
      { matchLabels: { app: "x" } },
      exists("app"),
      { matchLabels: { "io.cilium.k8s.namespace.labels.exposed": "true" } },
      {
        matchExpressions: [{ key: "io.kubernetes.pod.namespace", operator: "In", values: ["a", "b"] }],
      },
      // A reserved label is no pod's; an operator the agent refuses selects nothing.
      { matchLabels: { "reserved:host": "" } },
      { matchExpressions: [{ key: "app", operator: "in" as "In", values: ["x"] }] },
      undefined,
    ];
    for (const sel of notEvery) assert.equal(selectsPodsOfEveryNamespace(sel), false, JSON.stringify(sel));
  });
});
