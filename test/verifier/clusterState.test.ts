// What the verifier takes from the cluster besides policies: the Services every cluster has (for
// toServices) and whether mutual authentication runs (for `authentication.mode: required`).

import { strict as assert } from "assert";
import { PolicyEngine } from "../../verifier/engine";
import { fromObjects } from "../../verifier/objects";
import { explain } from "../../verifier/why";
import type { Untyped } from "../../lib/untyped";
import { smallModelConfigMap } from "../harness";

const MODEL = smallModelConfigMap({ policyAuditMode: false });

// User namespaces are the stack's Namespace objects.
const SHOP = { kind: "Namespace", metadata: { name: "shop", labels: {} } };

const release = (values: Untyped): Untyped => ({
  release: "cilium",
  namespace: "kube-system",
  chart: "cilium",
  version: "1.19.5",
  values,
});

const AUTH_POLICY = {
  apiVersion: "cilium.io/v2",
  kind: "CiliumNetworkPolicy",
  metadata: { name: "web-from-client-authenticated", namespace: "shop" },
  spec: {
    description: "the web pod takes the client's calls once both are authenticated",
    endpointSelector: { matchLabels: { "app.kubernetes.io/name": "demo-web" } },
    ingress: [
      {
        fromEndpoints: [{ matchLabels: { "app.kubernetes.io/name": "demo-client" } }],
        authentication: { mode: "required" },
      },
    ],
  },
};

describe("verifier: cluster state besides policies", () => {
  it("the model has the Services every cluster has: kubernetes (its API servers) and kube-dns", () => {
    const t = fromObjects([MODEL, SHOP, release({})], "test").topology;
    assert.deepEqual(
      t.services?.map((s) => [`${s.namespace}/${s.name}`, s.selector ?? null, s.backends ?? null]),
      [
        ["default/kubernetes", null, ["172.18.0.2"]],
        ["kube-system/kube-dns", { "k8s-app": "kube-dns" }, null],
      ],
    );
  });

  it("toServices kube-dns opens CoreDNS's pods; toServices kubernetes is a CIDR that never selects a node", () => {
    const inputs = fromObjects([MODEL, SHOP, release({})], "test");
    const egress = (service: string, namespace: string): Untyped => ({
      apiVersion: "cilium.io/v2",
      kind: "CiliumNetworkPolicy",
      metadata: { name: `client-to-${service}`, namespace: "shop" },
      spec: {
        endpointSelector: { matchLabels: { "app.kubernetes.io/name": "demo-client" } },
        egress: [{ toServices: [{ k8sService: { serviceName: service, namespace } }] }],
      },
    });
    const topology = {
      ...inputs.topology,
      pods: [
        ...inputs.topology.pods,
        {
          id: "coredns",
          kind: "pod" as const,
          namespace: "kube-system",
          labels: { "k8s-app": "kube-dns" },
          node: "castle-worker",
          ips: ["10.244.9.9"],
        },
      ],
    };
    const engine = new PolicyEngine(
      [egress("kube-dns", "kube-system"), egress("kubernetes", "default")] as never,
      topology,
    );
    const dns = engine.evaluate({ from: "pod:shop/client", to: "coredns", protocol: "UDP", port: 53 });
    assert.equal(dns.egress.allowed, true, dns.egress.reason);
    assert.deepEqual(
      dns.egress.allowedBy.map((r) => r.name),
      ["client-to-kube-dns"],
    );
    const api = engine.evaluate({
      from: "pod:shop/client",
      to: "castle-control-plane",
      protocol: "TCP",
      port: 6443,
    });
    assert.equal(api.egress.allowed, false, api.egress.reason);
  });

  it("mutual authentication runs only with both Helm values authentication.enabled and mutual.spire.enabled", () => {
    const on = { authentication: { enabled: true, mutual: { spire: { enabled: true } } } };
    assert.equal(fromObjects([MODEL, SHOP, release({})], "test").mutualAuth, false);
    assert.equal(
      fromObjects(
        [MODEL, SHOP, release({ authentication: { mutual: { spire: { enabled: true } } } })],
        "test",
      ).mutualAuth,
      false,
      "mesh-auth-enabled off: the chart's values say requests that need authentication stay blocked",
    );
    assert.equal(fromObjects([MODEL, SHOP, release(on)], "test").mutualAuth, true);
  });

  it("why: a rule requiring authentication drops without mutual auth, and lets the peer in with it", () => {
    const off = fromObjects([MODEL, SHOP, release({}), AUTH_POLICY], "test");
    const dropped = explain(off, "pod:shop/client", "pod:shop/web", "8080", { enforce: true });
    assert.equal(dropped.verdict.verdict, "denied");
    assert.match(dropped.verdict.ingress.reason, /authentication "spire".*DROP_POLICY_AUTH_REQUIRED/);
    assert.equal(dropped.verdict.ingress.auth, "spire");
    const on = fromObjects(
      [
        MODEL,
        SHOP,
        release({ authentication: { enabled: true, mutual: { spire: { enabled: true } } } }),
        AUTH_POLICY,
      ],
      "test",
    );
    const allowed = explain(on, "pod:shop/client", "pod:shop/web", "8080", { enforce: true });
    assert.equal(allowed.verdict.verdict, "allowed");
    assert.match(allowed.verdict.ingress.reason, /once SPIRE has authenticated both sides/);
  });
});
