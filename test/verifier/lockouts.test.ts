// The two lockouts the corrected engine found in the castle, fixed and kept fixed:
// - in tunnel routing the API server's calls into a pod on another node arrive as reserved:remote-node
//   (bpf/lib/encap.h, __encap_with_nodeid), so `fromEntities: [kube-apiserver]` alone never admitted the
//   ingress-nginx admission webhook or the metrics API;
// - kind's local-path provisioner had no way to the API server once the cluster-wide DNS rule switched
//   egress default deny on for every pod.

import { strict as assert } from "assert";
import { fromStack } from "../../cli/sources";
import { buildCiliumValues, routingModeOf } from "../../components/cilium/values";
import { apiServerCallers, buildInfraPolicies } from "../../components/layers/infra/infraPolicies";
import { parseCastleConfig } from "../../config/castleConfig";
import { checkCastle } from "../../verifier/check";
import type { CastleInputs } from "../../verifier/objects";
import { readStackFile, withProjectDefaults } from "../../render/render";

const WORKS = "every namespace of the cluster can work";

function property(inputs: CastleInputs, name: string): { holds: boolean; failures: string[] } {
  const r = checkCastle(inputs).find((x) => x.property === name);
  assert.ok(r, `castle check has the property "${name}"`);
  return r;
}

const withoutPolicy = (inputs: CastleInputs, name: string): CastleInputs => ({
  ...inputs,
  policies: inputs.policies.filter((p) => p.metadata.name !== name),
});

describe("lockouts: the API server's calls in tunnel routing, and kind's local-path provisioner", function () {
  this.timeout(120_000);
  let dev: CastleInputs;
  before(async () => {
    dev = await fromStack("dev");
  });

  it("the dev stack is tunnel-routed, and castle check says every namespace can work", () => {
    assert.equal(dev.routingMode, "tunnel");
    assert.equal(dev.ciliumClusterName, "castle", "cluster.name is the stack's cluster, as the model says");
    assert.equal(dev.topology.clusterName, "castle");
    const r = property(dev, WORKS);
    assert.deepEqual(r.failures, []);
  });

  it("kube-apiserver alone on the webhook and the metrics API cuts both in tunnel routing, not in native", () => {
    const narrowed: CastleInputs = {
      ...dev,
      policies: dev.policies.map((p) =>
        ["kapi-to-nginx-admission", "kapi-to-metrics-server"].includes(p.metadata.name)
          ? {
              ...p,
              spec: {
                ...p.spec,
                ingress: p.spec!.ingress!.map((r) => ({ ...r, fromEntities: ["kube-apiserver"] })),
              },
            }
          : p,
      ),
    };
    const cut = property(narrowed, WORKS);
    assert.equal(cut.holds, false);
    assert.ok(
      cut.failures.some((f) => f.startsWith("castle-control-plane → role:ingress-nginx 8443/tcp is dropped")),
      cut.failures.join("\n"),
    );
    assert.ok(
      cut.failures.some((f) =>
        f.startsWith("castle-control-plane → role:metrics-server 10250/tcp is dropped"),
      ),
      cut.failures.join("\n"),
    );
    assert.deepEqual(property({ ...narrowed, routingMode: "native" }, WORKS).failures, []);
  });

  it("without its policy to the API server, kind's local-path provisioner is cut off", () => {
    const r = property(withoutPolicy(dev, "local-path-provisioner-to-kapi"), WORKS);
    assert.deepEqual(r.failures, [
      "role:local-path-provisioner → castle-control-plane 6443/tcp is dropped, expected allowed (global-infra-dns, allow-within-namespace, host-all, host-cp)",
    ]);
  });

  it("the infra layer admits remote-node beside kube-apiserver only where the routing needs it", () => {
    assert.deepEqual(apiServerCallers("tunnel"), ["kube-apiserver", "remote-node"]);
    assert.deepEqual(apiServerCallers("native"), ["kube-apiserver"]);
    const config = parseCastleConfig(withProjectDefaults(readStackFile("dev")));
    const tunnel = buildCiliumValues({ config });
    assert.equal(routingModeOf(tunnel), "tunnel");
    assert.deepEqual(tunnel.cluster, { name: "castle" });
    const native = buildCiliumValues({ config: { ...config, ciliumValues: { routingMode: "native" } } });
    assert.equal(routingModeOf(native), "native");
    const admission = (routing: "tunnel" | "native") =>
      buildInfraPolicies(config.roles, routing).find((p) => p.metadata.name === "kapi-to-nginx-admission")!
        .spec!.ingress![0].fromEntities;
    assert.deepEqual(admission("tunnel"), ["kube-apiserver", "remote-node"]);
    assert.deepEqual(admission("native"), ["kube-apiserver"]);
  });

  it("kind clusters get the local-path provisioner's role; existing clusters do not", () => {
    const kind = parseCastleConfig(withProjectDefaults(readStackFile("dev")));
    assert.ok(
      kind.roles.some((r) => r.name === "local-path-provisioner" && r.namespace === "local-path-storage"),
    );
    const existing = parseCastleConfig(
      withProjectDefaults({ ...readStackFile("dev"), clusterProvider: "existing" }),
    );
    assert.ok(!existing.roles.some((r) => r.name === "local-path-provisioner"));
  });
});
