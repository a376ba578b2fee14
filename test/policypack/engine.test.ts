// The pack fed what the real engine feeds it (issue #8): stack policies get outputs ({} for every
// Kubernetes resource in the preview of a new kind stack, live objects after apply, unknowns in previews),
// resource policies get inputs. First the harness itself, then the defects the real runs would hit.

import { strict as assert } from "assert";
import type { Policies, PolicyResource, ResourceValidationArgs } from "@pulumi/policy";
import { buildStack, devRawConfig, Recording } from "../harness";
import { policies } from "../../policypack/policies";
import { INTRODUCED_IN_AUDIT_MODE } from "../../lib/cilium/policy";
import { MOCK_KUBECONFIG } from "../../render/render";
import { mandatory, runPack, Violation } from "../support/policyHarness";
import { ENGINE_RUNS, EngineRun } from "../support/engineView";
import { editInputs, policyNamed, removeResource } from "../support/mutate";
import { asUpdateOf, parsePropertyPath, recordStack } from "../support/update";
import type { Untyped } from "../../lib/untyped";

type Obj = Untyped;

const run = (rec: Recording, engine: EngineRun, opts: { notAnalyzed?: () => boolean } = {}) =>
  runPack(policies, rec, {}, "advisory", { engine, ...opts });

const show = (vs: Violation[]): string =>
  vs.map((v) => `  [${v.level}] ${v.policy}: ${v.message}`).join("\n");

const isNamespace = (name: string) => (r: { type: string; inputs: Obj }) =>
  r.type === "kubernetes:core/v1:Namespace" && r.inputs.metadata?.name === name;

/** A pack of two probes that keep what the engine showed them. */
function probes(
  onStack: (resources: PolicyResource[]) => void,
  onResource?: (args: ResourceValidationArgs) => void,
): Policies {
  return [
    {
      name: "probe-stack",
      description: "records the stack",
      enforcementLevel: "advisory",
      validateStack: (a) => onStack(a.resources),
    },
    {
      name: "probe-resource",
      description: "records each resource",
      enforcementLevel: "advisory",
      validateResource: (a) => onResource?.(a),
    },
  ];
}

const named = (resources: PolicyResource[], name: string): PolicyResource => {
  const r = resources.find((x) => x.name === name);
  assert.ok(r, `no resource ${name}`);
  return r;
};

describe("policy pack harness: fed what the engine feeds", () => {
  let dev: Recording;
  before(async () => {
    dev = await buildStack(devRawConfig(), "dev");
  });

  it("new kind stack's preview: every Kubernetes resource's outputs are {}, the commands' stdout unknown", async () => {
    let seen: PolicyResource[] = [];
    const inputs = new Map<string, Obj>();
    const vs = await runPack(
      probes(
        (rs) => (seen = rs),
        (a) => inputs.set(a.name, a.props),
      ),
      dev,
      {},
      "advisory",
      { engine: "new-stack-preview" },
    );
    assert.deepEqual(vs, []);
    const k8s = seen.filter((r) => r.type.startsWith("kubernetes:"));
    assert.ok(k8s.length > 40);
    for (const r of k8s) assert.deepEqual(Object.keys(r.props), [], r.name);
    // Resource policies still get the inputs.
    assert.equal(inputs.get("castle-user-demo-shop-namespace")?.metadata.labels.exposed, "true");
    // A command echoes its inputs; what it prints is not known before it runs.
    assert.equal(named(seen, "castle-kind").props.create.startsWith("set -eu"), true);
    assert.throws(() => named(seen, "castle-kind").props.stdout, /string value at \.stdout can't be known/);
  });

  it("an unknown read by a policy ends its run with the server's advisory", async () => {
    const readStdout = probes((rs) => void named(rs, "castle-kind").props.stdout);
    const vs = await runPack(readStdout, dev, {}, "advisory", { engine: "new-stack-preview" });
    assert.deepEqual(
      vs.map((v) => [v.policy, v.level, v.message]),
      [
        [
          "probe-stack",
          "advisory",
          "can't run policy 'probe-stack' during preview: string value at .stdout can't be known during preview",
        ],
      ],
    );
    // The gate's kubeconfig is the kind command's output: unknown to resource policies too.
    const readEnv = probes(
      () => undefined,
      (a) => void (a.name === "castle-cilium-crd-gate" && a.props.environment.CASTLE_KUBECONFIG),
    );
    assert.match(
      show(await runPack(readEnv, dev, {}, "advisory", { engine: "new-stack-preview" })),
      /\[advisory\] probe-resource: can't run policy 'probe-resource' during preview: string value at \.environment\.CASTLE_KUBECONFIG/,
    );
    // After apply nothing is unknown, and secrets reach policies as plain values.
    assert.deepEqual(await runPack(readStdout, dev, {}, "advisory", { engine: "after-apply" }), []);
    let kubeconfig: unknown;
    await runPack(
      probes((rs) => (kubeconfig = named(rs, "castle-cilium-crd-gate").props.environment.CASTLE_KUBECONFIG)),
      dev,
      {},
      "advisory",
      { engine: "after-apply" },
    );
    assert.equal(kubeconfig, MOCK_KUBECONFIG);
  });

  it("configured preview: live objects, the Helm releases' status unknown", async () => {
    let seen: PolicyResource[] = [];
    const vs = await runPack(
      probes((rs) => (seen = rs)),
      dev,
      {},
      "advisory",
      { engine: "configured-preview" },
    );
    assert.deepEqual(vs, []);
    const release = named(seen, "castle-cilium-release");
    assert.equal(release.props.chart, "cilium");
    assert.equal(release.props.values.hostFirewall.enabled, true);
    assert.equal(release.props.compat, undefined);
    assert.throws(() => release.props.status, /can't be known during preview/);
  });

  it("after apply: live objects with server-set metadata; Namespaces carry kubernetes.io/metadata.name", async () => {
    let seen: PolicyResource[] = [];
    const inputs = new Map<string, Obj>();
    await runPack(
      probes(
        (rs) => (seen = rs),
        (a) => inputs.set(a.name, a.props),
      ),
      dev,
      {},
      "advisory",
      { engine: "after-apply" },
    );
    const ns = named(seen, "castle-user-demo-shop-namespace").props;
    assert.deepEqual(ns.metadata.labels, {
      exposed: "true",
      metrics: "true",
      "kubernetes.io/metadata.name": "demo-shop",
    });
    assert.match(ns.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.ok(
      ns.metadata.resourceVersion && ns.metadata.creationTimestamp && ns.metadata.managedFields.length === 1,
    );
    assert.deepEqual(ns.status, { phase: "Active" });
    assert.equal(
      named(seen, "castle-infra-kube-system-labels").props.metadata.labels["kubernetes.io/metadata.name"],
      "kube-system",
    );
    assert.equal(named(seen, "castle-nodes-host-all").props.metadata.generation, 1);
    assert.equal(named(seen, "castle-cilium-release").props.status.status, "deployed");
    assert.deepEqual(inputs.get("castle-user-demo-shop-namespace")?.metadata.labels, {
      exposed: "true",
      metrics: "true",
    });
  });
});

describe("policy pack: the defects the real engine would show (issue #8)", () => {
  let dev: Recording;
  before(async () => {
    dev = await buildStack(devRawConfig(), "dev");
  });

  it("(a) new kind stack's preview: namespaces-reachable-and-dns finds global-infra-dns, and nothing is refused", async () => {
    const vs = await run(dev, "new-stack-preview");
    assert.deepEqual(vs, [], show(vs));
  });

  it("(b) new kind stack's preview with audit mode off: host-policies-audit-first refuses every host policy", async () => {
    const off = await buildStack({ ...devRawConfig(), policyAuditMode: false }, "dev");
    for (const engine of ENGINE_RUNS) {
      const vs = await run(off, engine);
      const hits = vs.filter((v) => v.policy === "host-policies-audit-first");
      assert.deepEqual(
        hits.map((v) => [v.level, /^Host policy (host-\w+) would be enforced/.exec(v.message)?.[1]]).sort(),
        [
          ["mandatory", "host-all"],
          ["mandatory", "host-cp"],
          ["mandatory", "host-infra"],
        ],
        `${engine}:\n${show(vs)}`,
      );
      assert.match(hits[0].message, new RegExp(`policyAuditMode is off; ${INTRODUCED_IN_AUDIT_MODE}: false`));
    }
  });

  it("(b) with audit mode on, the same stack passes host-policies-audit-first in every run", async () => {
    for (const engine of ENGINE_RUNS) {
      const vs = await run(dev, engine);
      assert.deepEqual(
        vs.filter((v) => v.policy === "host-policies-audit-first"),
        [],
        engine,
      );
    }
  });

  it("(b) audit mode turned off after an audited deploy: the host policies keep their record, the update passes", async () => {
    const path = `metadata.annotations["${INTRODUCED_IN_AUDIT_MODE}"]`;
    assert.deepEqual(parsePropertyPath(path), ["metadata", "annotations", INTRODUCED_IN_AUDIT_MODE]);
    const audited = await recordStack(devRawConfig(), "dev");
    const enforced = await recordStack({ ...devRawConfig(), policyAuditMode: false }, "dev");
    assert.deepEqual([...enforced.ignoreChanges.values()], [[path], [path], [path]]);
    const update = asUpdateOf(audited, enforced);
    for (const engine of ["configured-preview", "after-apply"] as const) {
      const vs = await run(update, engine);
      assert.deepEqual(
        vs.map((v) => [v.policy, v.level]),
        [["host-policies-audit-mode-reminder", "advisory"]],
        `${engine}:\n${show(vs)}`,
      );
    }
    // The same program as a first deploy is refused: the record, not the mode alone, decides.
    assert.ok(
      (await run(enforced.rec, "configured-preview")).some((v) => v.policy === "host-policies-audit-first"),
    );
  });

  it("(c) after apply: the API server's kubernetes.io/metadata.name on user namespaces is not refused", async () => {
    const vs = await run(dev, "after-apply");
    assert.deepEqual(vs, [], show(vs));
    // Read from the live objects alone (no resource policy saw the inputs), too.
    const fromOutputs = await run(dev, "after-apply", { notAnalyzed: () => true });
    assert.deepEqual(
      fromOutputs.filter((v) => v.policy === "user-namespace-walls"),
      [],
      show(fromOutputs),
    );
  });

  it("(c) a user namespace whose own kubernetes.io/metadata.name is another name is still refused", async () => {
    const wrong = editInputs(dev, isNamespace("demo-batch"), "demo-batch", (i) => {
      i.metadata.labels["kubernetes.io/metadata.name"] = "demo-shop";
    });
    for (const engine of ENGINE_RUNS) {
      const vs = await run(wrong, engine);
      assert.deepEqual(
        vs.map((v) => [v.policy, v.level, v.message.split(". Why:")[0]]),
        [
          [
            "user-namespace-walls",
            "mandatory",
            "User namespace demo-batch carries label kubernetes.io/metadata.name=demo-shop, which is not allowed",
          ],
        ],
        engine,
      );
    }
  });

  it("a stack policy that cannot see a resource's content refuses nothing on {} and says so as an advisory", async () => {
    // Only the engine's outputs, as if no resource policy had seen a thing: in a new kind stack's preview
    // every Kubernetes resource is then {}. Even with global-infra-dns gone, no stack policy refuses.
    const noDns = removeResource(dev, policyNamed("global-infra-dns"), "global-infra-dns");
    for (const rec of [dev, noDns]) {
      const vs = await run(rec, "new-stack-preview", { notAnalyzed: () => true });
      assert.deepEqual(mandatory(vs), [], show(vs));
      assert.equal(vs.length, 1, show(vs));
      assert.equal(vs[0].policy, "stack-content-visible");
      assert.equal(vs[0].level, "advisory");
      assert.match(
        vs[0].message,
        /^The stack policies cannot see \d+ resource\(s\): Namespace castle-infra-ingress-nginx, .* Release castle-cilium-release, .* \(and \d+ more\); no resource policy saw their inputs/,
      );
    }
  });

  it("from live outputs alone, the stack policies still give their verdicts", async () => {
    const noCp = editInputs(dev, policyNamed("host-cp"), "host-cp", (i) => i.spec.ingress.splice(0, 1));
    const vs = await run(noCp, "after-apply", { notAnalyzed: () => true });
    assert.match(
      show(vs),
      /every namespace of the cluster can work: role:ingress-nginx → castle-control-plane 6443\/tcp is dropped/,
    );
    assert.match(
      show(vs),
      /no lifeline is cut when enforced: world → castle-control-plane 6443\/tcp is dropped/,
    );
    assert.deepEqual(
      vs.map((v) => [v.policy, v.level, v.message.split(". Why:")[0].split(":")[0]]),
      [
        [
          "node-lifelines",
          "mandatory",
          "The host policies no longer admit the Kubernetes API (6443/TCP) on control-plane nodes",
        ],
        // Without 6443 the pods that call the API server stop working too, and the lifeline is cut.
        ["castle-properties-hold", "mandatory", "Castle property broken"],
        ["castle-properties-hold", "mandatory", "Castle property broken"],
      ],
      show(vs),
    );
  });
});
