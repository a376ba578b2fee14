// The modelled infra pods are the pods the pinned charts create: their service accounts are part of their
// identity, and their named container ports resolve, as on the cluster.

import { strict as assert } from "assert";
import { fromStack } from "../../cli/sources";
import { CiliumPolicyObject, PolicyEngine } from "../../verifier/engine";
import type { CastleInputs } from "../../verifier/objects";

const cnp = (name: string, namespace: string, spec: CiliumPolicyObject["spec"]): CiliumPolicyObject => ({
  apiVersion: "cilium.io/v2",
  kind: "CiliumNetworkPolicy",
  metadata: { name, namespace },
  spec,
});

describe("topology: infra pods as the charts create them", function () {
  this.timeout(120_000);
  let dev: CastleInputs;
  before(async () => {
    dev = await fromStack("dev");
  });

  it("CoreDNS runs as the coredns service account, and a policy selecting it by that name applies", () => {
    assert.ok(
      new PolicyEngine([], dev.topology)
        .identityLabels("role:coredns")
        .includes("k8s:io.cilium.k8s.policy.serviceaccount=coredns"),
    );
    const bySa = cnp("dns-by-sa", "kube-system", {
      endpointSelector: { matchLabels: { "io.cilium.k8s.policy.serviceaccount": "coredns" } },
      ingress: [{ fromEntities: ["world"] }],
    });
    const engine = new PolicyEngine([bySa], dev.topology, { auditMode: false });
    assert.equal(
      engine.evaluate({ from: "pod:demo-shop/client", to: "role:coredns", protocol: "UDP", port: 53 })
        .verdict,
      "denied",
    );
  });

  it("a named port resolves on the pod that declares it: ingress-nginx's webhook is 8443", () => {
    const named = cnp("webhook-by-name", "ingress-nginx", {
      endpointSelector: { matchLabels: { "app.kubernetes.io/name": "ingress-nginx" } },
      ingress: [{ fromEntities: ["cluster"], toPorts: [{ ports: [{ port: "webhook", protocol: "TCP" }] }] }],
    });
    const engine = new PolicyEngine([named], dev.topology, { auditMode: false });
    const to = (port: number) =>
      engine.evaluate({ from: "pod:demo-shop/client", to: "role:ingress-nginx", protocol: "TCP", port })
        .verdict;
    assert.equal(to(8443), "allowed");
    assert.equal(to(8080), "denied");
  });
});
