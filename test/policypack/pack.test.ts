import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { buildStack, devRawConfig, Recording } from "../harness";
import { policies, PACK_NAME } from "../../policypack/policies";
import { noOpenSsh, DEFAULT_ALLOWED_JUMPHOST_CIDRS } from "../../policypack/rules/hostFirewall";
import { mandatory, PACK_DIR, resolvePolicyConfig, runPack } from "../support/policyHarness";
import { ENGINE_RUNS } from "../support/engineView";
import { addPolicy, editInputs, policyNamed, removeResource } from "../support/mutate";
import type { Untyped } from "../../lib/untyped";

describe("policy pack: clean stacks", () => {
  for (const engine of ENGINE_RUNS) {
    it(`${engine}: the dev stack passes with no violation at all`, async () => {
      assert.deepEqual(
        await runPack(policies, await buildStack(devRawConfig(), "dev"), {}, "advisory", { engine }),
        [],
      );
    });

    it(`${engine}: a 50-namespace stack passes with no mandatory violation`, async () => {
      const userNamespaces = Array.from({ length: 50 }, (_, i) => ({
        name: `team-${i}`,
        exposed: i % 2 === 0,
        metrics: i % 3 === 0,
      }));
      const rec = await buildStack({ userNamespaces, jumphostCidrs: ["10.1.101.110/32"] }, "fifty");
      assert.equal(rec.ofType("kubernetes:core/v1:Namespace").length, 52);
      assert.deepEqual(mandatory(await runPack(policies, rec, {}, "advisory", { engine })), []);
    });

    it(`${engine}: an existing-cluster stack without jumphosts passes`, async () => {
      const rec = await buildStack({ clusterProvider: "existing" }, "prod");
      assert.deepEqual(mandatory(await runPack(policies, rec, {}, "advisory", { engine })), []);
    });
  }
});

describe("policy pack: enforcement levels and config, as the CLI applies them", () => {
  let open: Recording;
  before(async () => {
    const dev = await buildStack(devRawConfig(), "dev");
    // A second SSH rule, from a public address: no-open-ssh's business only (the jumphost keeps its SSH).
    open = editInputs(dev, policyNamed("host-all"), "host-all", (i) =>
      i.spec.ingress.push({
        fromCIDR: ["203.0.113.7/32"],
        toPorts: [{ ports: [{ port: "22", protocol: "TCP" }] }],
      }),
    );
  });

  it("configSchema defaults apply: SSH only from private ranges unless configured", async () => {
    assert.deepEqual(resolvePolicyConfig(noOpenSsh, "advisory").config, {
      allowedJumphostCidrs: DEFAULT_ALLOWED_JUMPHOST_CIDRS,
    });
    const v = await runPack(policies, open);
    assert.equal(v.length, 1);
    assert.equal(v[0].policy, "no-open-ssh");
    assert.equal(v[0].level, "mandatory");
  });

  it("a stack may allow its own jumphost range", async () => {
    assert.deepEqual(
      await runPack(policies, open, {
        "no-open-ssh": { allowedJumphostCidrs: ["10.1.101.0/24", "203.0.113.0/24"] },
      }),
      [],
    );
  });

  it("the all entry sets every policy's level, and a policy's own entry wins over it", async () => {
    assert.deepEqual(
      (await runPack(policies, open, { all: "advisory" })).map((v) => v.level),
      ["advisory"],
    );
    assert.deepEqual(await runPack(policies, open, { all: "disabled" }), []);
    assert.deepEqual(
      (await runPack(policies, open, { all: "disabled", "no-open-ssh": "mandatory" })).map((v) => v.policy),
      ["no-open-ssh"],
    );
    assert.deepEqual(
      (await runPack(policies, open, { "no-open-ssh": { enforcementLevel: "advisory" } })).map(
        (v) => v.level,
      ),
      ["advisory"],
    );
  });

  it("invalid config is refused, as the CLI refuses it", async () => {
    await assert.rejects(
      runPack(policies, open, { "no-open-ssh": { allowedJumphostCidrs: "203.0.113.0/24" } }),
      /invalid config for policy no-open-ssh: \/allowedJumphostCidrs must be array/,
    );
  });

  it("extra namespace labels are allowed per stack", async () => {
    const dev = await buildStack(devRawConfig(), "dev");
    const labelled = editInputs(
      dev,
      (r) => r.type === "kubernetes:core/v1:Namespace" && (r.inputs.metadata as Untyped).name === "demo-shop",
      "ns",
      (i) => (i.metadata.labels.pci = "true"),
    );
    assert.equal((await runPack(policies, labelled)).length, 1);
    assert.deepEqual(
      await runPack(policies, labelled, { "user-namespace-walls": { extraAllowedNamespaceLabels: ["pci"] } }),
      [],
    );
  });
});

describe("policy pack: per-stack config files", () => {
  it("policypack/config.dev.json is valid and the dev stack passes with it", async () => {
    const config = JSON.parse(fs.readFileSync(path.join(PACK_DIR, "config.dev.json"), "utf8"));
    assert.deepEqual(await runPack(policies, await buildStack(devRawConfig(), "dev"), config), []);
  });
});

describe("policy pack: layout", () => {
  it("has PulumiPolicy.yaml, a versioned package.json and an index that only constructs the pack", () => {
    const yaml = YAML.parse(fs.readFileSync(path.join(PACK_DIR, "PulumiPolicy.yaml"), "utf8"));
    assert.equal(yaml.runtime, "nodejs");
    const pkg = JSON.parse(fs.readFileSync(path.join(PACK_DIR, "package.json"), "utf8"));
    assert.match(pkg.version, /^\d+\.\d+\.\d+$/);
    assert.ok(pkg.dependencies["@pulumi/policy"]);
    const index = fs.readFileSync(path.join(PACK_DIR, "index.ts"), "utf8");
    assert.match(index, /new PolicyPack\(PACK_NAME, \{ policies \}\)/);
    assert.equal(PACK_NAME, "cilium-castle");
  });

  it("every policy has a unique name, a description and an explicit level", () => {
    const names = policies.map((p) => p.name);
    assert.equal(new Set(names).size, names.length);
    for (const p of policies) {
      assert.ok(p.description.length > 20, p.name);
      assert.ok(p.enforcementLevel === "mandatory" || p.enforcementLevel === "advisory", p.name);
    }
  });
});

describe("policy pack: what the real engine showed", () => {
  const mirror = (): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "castle-mirror-"));
    for (const f of [
      "cilium-1.19.5.tgz",
      "ingress-nginx-4.15.1.tgz",
      "prometheus-27.42.2.tgz",
      "metrics-server-3.13.0.tgz",
    ]) {
      fs.writeFileSync(path.join(dir, f), "");
    }
    return dir;
  };

  it("finds the Cilium release by name when its chart comes from a mirror (a path or oci:// reference)", async () => {
    for (const chartMirror of [mirror(), "oci://registry.corp/charts"]) {
      const rec = await buildStack({ ...devRawConfig(), chartMirror }, "dev");
      assert.deepEqual(mandatory(await runPack(policies, rec)), [], `${chartMirror}: the dev stack passes`);
      const off = await buildStack(
        { ...devRawConfig(), chartMirror, ciliumValues: { hostFirewall: { enabled: false } } },
        "dev",
      );
      const names = mandatory(await runPack(policies, off)).map((v) => v.policy);
      assert.ok(
        names.includes("cilium-host-firewall-enabled"),
        `${chartMirror}: the host firewall is still checked`,
      );
    }
  });

  it("a CiliumClusterwideNetworkPolicy checked before its CRD existed (namespace default) stays cluster-wide", async () => {
    // The kubernetes provider's Check gives a custom resource of an unknown CRD the default namespace
    // (pulumi-kubernetes provider.go, Check); the real tier saw it on global-infra-nginx.
    const dev = await buildStack(devRawConfig(), "dev");
    const early = editInputs(dev, policyNamed("global-infra-nginx"), "global-infra-nginx", (i) => {
      i.metadata.namespace = "default";
    });
    assert.deepEqual(mandatory(await runPack(policies, early)), []);
  });
});

describe("policy pack: namespaces-reachable-and-dns asks the engine, not the policy's shape", () => {
  let dev: Recording;
  before(async () => {
    dev = await buildStack(devRawConfig(), "dev");
  });
  const reachable = (vs: { policy: string; message: string }[]): string[] =>
    vs.filter((v) => v.policy === "namespaces-reachable-and-dns").map((v) => v.message);

  for (const engine of ENGINE_RUNS) {
    it(`${engine}: allow-within-namespace spelled with empty matchLabels and matchExpressions still opens its namespace`, async () => {
      const spelled = editInputs(
        dev,
        policyNamed("allow-within-namespace", "demo-shop"),
        "demo-shop allow-within-namespace",
        (i) => {
          i.spec.ingress = [{ fromEndpoints: [{ matchLabels: {} }] }];
          i.spec.egress = [{ toEndpoints: [{ matchExpressions: [] }] }];
        },
      );
      assert.deepEqual(await runPack(policies, spelled, {}, "advisory", { engine }), []);
    });

    it(`${engine}: a differently named policy that opens the namespace both ways counts`, async () => {
      const renamed = addPolicy(
        removeResource(
          dev,
          policyNamed("allow-within-namespace", "demo-shop"),
          "demo-shop allow-within-namespace",
        ),
        {
          parentType: "castle:policy:UserNamespace",
          parentName: "castle-user-demo-shop",
          kind: "CiliumNetworkPolicy",
          name: "talk-inside",
          namespace: "demo-shop",
          spec: {
            description: "the shop's pods talk to each other",
            endpointSelector: {},
            ingress: [{ fromEndpoints: [{}] }],
            egress: [{ toEndpoints: [{}] }],
          },
        },
      );
      assert.deepEqual(await runPack(policies, renamed, {}, "advisory", { engine }), []);
    });

    it(`${engine}: an infra namespace opened to itself through the cluster entity is open`, async () => {
      // Wider than the castle's (the cluster's every pod may reach kube-system): other rules' business.
      const entities = editInputs(
        dev,
        policyNamed("allow-within-namespace", "kube-system"),
        "kube-system allow-within-namespace",
        (i) => {
          i.spec.ingress = [{ fromEntities: ["cluster"] }];
          i.spec.egress = [{ toEntities: ["cluster"] }];
        },
      );
      assert.deepEqual(reachable(await runPack(policies, entities, {}, "advisory", { engine })), []);
    });

    it(`${engine}: an allow-within-namespace the engine refuses takes no effect, and the message says so`, async () => {
      const refused = editInputs(
        dev,
        policyNamed("allow-within-namespace", "demo-batch"),
        "demo-batch allow-within-namespace",
        (i) => {
          i.spec.ingress = [
            { fromEndpoints: [{ matchExpressions: [{ key: "app", operator: "in", values: ["x"] }] }] },
          ];
        },
      );
      const messages = reachable(await runPack(policies, refused, {}, "advisory", { engine }));
      assert.equal(messages.length, 1, messages.join("\n"));
      assert.match(
        messages[0],
        /^Namespace demo-batch's allow-within-namespace is refused by the agent, so it takes no effect \(FromEndpoints: "in" is not a valid label selector operator\): egress from one of its pods to another is not allowed \(4 of 4 probed flows\): allowed only by default, not by a rule \(no policy selects pod demo-batch\/probe-a for egress: default allow\); ingress from one of its pods to another is not allowed \(4 of 4 probed flows\): .*Fix: correct demo-batch's allow-within-namespace so that it is accepted/,
      );
    });
  }

  it("names the labels a namespace's opening depends on", async () => {
    // Every pod may send, but only to pods other than app=db: the pod labelled app=db is the gap.
    const notDb = editInputs(
      dev,
      policyNamed("allow-within-namespace", "demo-shop"),
      "demo-shop allow-within-namespace",
      (i) => {
        i.spec.egress = [
          { toEndpoints: [{ matchExpressions: [{ key: "app", operator: "NotIn", values: ["db"] }] }] },
        ];
      },
    );
    const messages = reachable(await runPack(policies, notDb));
    assert.equal(messages.length, 1, messages.join("\n"));
    assert.match(
      messages[0],
      /^Namespace demo-shop's allow-within-namespace does not let its pods reach each other: egress from one of its pods to a pod labelled app=db is not allowed \(12 of 36 probed flows\): TCP\/1 to pod demo-shop\/probe-b-1: no rule allows it/,
    );
  });
});

describe("policy pack: user-namespace-walls asks the engine what each item admits", () => {
  let dev: Recording;
  before(async () => {
    dev = await buildStack(devRawConfig(), "dev");
  });
  const walls = (vs: { policy: string; message: string }[]): string[] =>
    vs.filter((v) => v.policy === "user-namespace-walls").map((v) => v.message.split(". Why:")[0]);
  const shopPolicy = (name: string, spec: Untyped) =>
    addPolicy(dev, {
      parentType: "castle:policy:UserNamespace",
      parentName: "castle-user-demo-shop",
      kind: "CiliumNetworkPolicy",
      name,
      namespace: "demo-shop",
      spec: { description: "d", ...spec },
    });

  for (const engine of ENGINE_RUNS) {
    it(`${engine}: deny items never widen the walls (the field names used to be refused)`, async () => {
      const denies = shopPolicy("no-outside", {
        endpointSelector: {},
        egressDeny: [{ toEntities: ["world"] }, { toCIDR: ["0.0.0.0/0"] }],
        ingressDeny: [{ fromEntities: ["all"] }],
      });
      assert.deepEqual(walls(await runPack(policies, denies, {}, "advisory", { engine })), []);
    });

    it(`${engine}: a rule of specs is placed by its index, and each item says what it admits`, async () => {
      const rec = editInputs(
        shopPolicy("two-rules", { endpointSelector: {}, ingress: [{ fromEndpoints: [{}] }] }),
        policyNamed("two-rules", "demo-shop"),
        "two-rules",
        (i) => {
          i.specs = [
            { endpointSelector: {}, egress: [{ toEndpoints: [{}] }, { toEntities: ["kube-apiserver"] }] },
          ];
        },
      );
      assert.deepEqual(walls(await runPack(policies, rec, {}, "advisory", { engine })), [
        "demo-shop/two-rules specs[0].egress[1] admits the kube-apiserver (a control-plane node) on TCP/1: through toEntities[0] (entity kube-apiserver)",
      ]);
    });
  }

  it("toServices naming the namespace's own Service: its pods stay inside, but a Service without a selector is read as its backends", async () => {
    const vs = await runPack(
      policies,
      shopPolicy("to-own-db", {
        endpointSelector: {},
        egress: [{ toServices: [{ k8sService: { serviceName: "db", namespace: "demo-shop" } }] }],
      }),
    );
    const mine = vs.filter((v) => v.policy === "user-namespace-walls");
    assert.equal(mine.length, 1, show(vs));
    assert.match(
      mine[0].message,
      /^demo-shop\/to-own-db egress\[0\] admits the address 203\.0\.113\.20 \(the backend of a Service without a selector\) on TCP\/1: through toServices\[0\] \(service demo-shop\/db \(backend 203\.0\.113\.20\/32\)\)\. Why: .*Fix: select the Service's pods with toEndpoints by their labels instead/,
    );
  });

  it("a subject selected by namespace keys is still the castle's convention to refuse", async () => {
    const vs = await runPack(
      policies,
      shopPolicy("by-namespace", {
        endpointSelector: { matchLabels: { "io.cilium.k8s.namespace.labels.exposed": "true" } },
        egress: [{ toEndpoints: [{}] }],
      }),
    );
    assert.deepEqual(walls(vs), [
      "demo-shop/by-namespace endpointSelector uses io.cilium.k8s.namespace.labels.exposed",
    ]);
  });
});

const show = (vs: { policy: string; message: string }[]): string =>
  vs.map((v) => `  ${v.policy}: ${v.message}`).join("\n");
