import { strict as assert } from "assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildStack, devRawConfig, Recording, RecordedResource, ancestors } from "./harness";
import { CCNP_TYPE, CNP_TYPE } from "../lib/cilium/policy";
import { crdSchemaErrors, modelErrors } from "./support/ciliumSchemas";
import { checkCiliumPolicy } from "../verifier/engine/checkCiliumRule";
import { buildNodePolicies } from "../components/layers/node/hostPolicies";
import { DEFAULT_INFRA_ROLES } from "../vocabulary/roles";
import { LAYER_LABEL } from "../vocabulary/labels";
import type { Untyped } from "../lib/untyped";

type Obj = Untyped;

const policiesOf = (rec: Recording): RecordedResource[] =>
  rec.resources.filter((r) => r.type === CNP_TYPE || r.type === CCNP_TYPE);

function policy(rec: Recording, name: string, namespace?: string): Obj {
  const found = policiesOf(rec).filter(
    (r) =>
      r.inputs.metadata &&
      (r.inputs.metadata as Obj).name === name &&
      (r.inputs.metadata as Obj).namespace === namespace,
  );
  assert.equal(
    found.length,
    1,
    `expected one policy ${namespace ?? "(cluster)"}/${name}, found ${found.length}`,
  );
  return found[0].inputs;
}

const tcp = (...ports: number[]): Obj[] => ports.map((p) => ({ port: String(p), protocol: "TCP" }));

// The policies as the talk shows them (../shared/seed/castle-talk.txt), written out.
const TALK: { name: string; namespace?: string; kind: string; spec: Obj }[] = [
  {
    name: "host-cp",
    kind: "CiliumClusterwideNetworkPolicy",
    spec: {
      description: "Cilium host policy set for CP nodes",
      nodeSelector: { matchLabels: { "node-role.kubernetes.io/control-plane": "" } },
      ingress: [
        { toPorts: [{ ports: tcp(6443) }] },
        { fromEntities: ["kube-apiserver"], toPorts: [{ ports: tcp(2379, 2380) }] },
      ],
    },
  },
  {
    name: "host-infra",
    kind: "CiliumClusterwideNetworkPolicy",
    spec: {
      description: "Cilium host policy set for infra nodes",
      nodeSelector: { matchLabels: { "node-role.kubernetes.io/infra": "" } },
      ingress: [{ toPorts: [{ ports: tcp(80, 443) }] }],
    },
  },
  {
    name: "host-all",
    kind: "CiliumClusterwideNetworkPolicy",
    spec: {
      description: "Cilium host policy for all nodes",
      nodeSelector: {},
      ingress: [
        { fromCIDR: ["10.1.101.110/32"], toPorts: [{ ports: tcp(22) }] },
        { icmps: [{ fields: [{ type: 8, family: "IPv4" }] }] },
        { fromEntities: ["kube-apiserver"], toPorts: [{ ports: tcp(10250) }] },
        { fromEntities: ["remote-node"], toPorts: [{ ports: tcp(4240) }] },
        {
          fromEntities: ["host", "remote-node"],
          toPorts: [
            {
              ports: [
                { port: "8472", protocol: "UDP" },
                { port: "51871", protocol: "UDP" },
              ],
            },
          ],
        },
        {
          fromEndpoints: [
            {
              matchLabels: {
                "k8s:io.kubernetes.pod.namespace": "kube-system",
                "k8s:app.kubernetes.io/name": "hubble-relay",
              },
            },
          ],
          toPorts: [{ ports: tcp(4244) }],
        },
        {
          fromEndpoints: [
            {
              matchLabels: {
                "k8s:io.kubernetes.pod.namespace": "monitoring",
                "k8s:app.kubernetes.io/name": "metrics-server",
              },
            },
          ],
          toPorts: [{ ports: tcp(10250) }],
        },
      ],
    },
  },
  ...["ingress-nginx", "monitoring", "kube-system", "demo-shop", "demo-batch"].map((namespace) => ({
    name: "allow-within-namespace",
    namespace,
    kind: "CiliumNetworkPolicy",
    spec: {
      description: "Allow NS internal traffic, block everything else",
      endpointSelector: {},
      ingress: [{ fromEndpoints: [{}] }],
      egress: [{ toEndpoints: [{}] }],
    },
  })),
  {
    name: "all-to-nginx",
    namespace: "ingress-nginx",
    kind: "CiliumNetworkPolicy",
    spec: {
      description: "Allow accessing Nginx ingress controller from everywhere",
      endpointSelector: { matchLabels: { "k8s:app.kubernetes.io/name": "ingress-nginx" } },
      ingress: [{ fromEntities: ["all"], toPorts: [{ ports: tcp(80, 443) }] }],
    },
  },
  {
    name: "nginx-ingress-to-kapi",
    namespace: "ingress-nginx",
    kind: "CiliumNetworkPolicy",
    spec: {
      description: "Allow Nginx ingress controller to reach KAPI",
      endpointSelector: { matchLabels: { "k8s:app.kubernetes.io/name": "ingress-nginx" } },
      egress: [{ toEntities: ["kube-apiserver"], toPorts: [{ ports: tcp(6443) }] }],
    },
  },
  {
    name: "global-infra-dns",
    kind: "CiliumClusterwideNetworkPolicy",
    spec: {
      description: "Allow coredns access from everywhere",
      endpointSelector: {},
      egress: [
        {
          toEndpoints: [
            { matchLabels: { "k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns" } },
          ],
          toPorts: [{ ports: [{ port: "53", protocol: "ANY" }], rules: { dns: [{ matchPattern: "*" }] } }],
        },
      ],
    },
  },
  {
    name: "allow-to-coredns",
    namespace: "kube-system",
    kind: "CiliumNetworkPolicy",
    spec: {
      description: "Allow ingress to coredns from everywhere",
      endpointSelector: {
        matchLabels: { "k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns" },
      },
      ingress: [{ fromEntities: ["all"], toPorts: [{ ports: [{ port: "53", protocol: "ANY" }] }] }],
    },
  },
  {
    name: "nginx-to-services",
    kind: "CiliumClusterwideNetworkPolicy",
    spec: {
      description: "Allow Nginx to access svc of NS with exposed label",
      endpointSelector: {
        matchLabels: {
          "k8s:app.kubernetes.io/name": "ingress-nginx",
          "k8s:io.kubernetes.pod.namespace": "ingress-nginx",
        },
      },
      egress: [{ toEndpoints: [{ matchLabels: { "k8s:io.cilium.k8s.namespace.labels.exposed": "true" } }] }],
    },
  },
  {
    name: "global-infra-nginx",
    kind: "CiliumClusterwideNetworkPolicy",
    spec: {
      description: "Allow connections from Nginx to labeled namespaces",
      endpointSelector: { matchLabels: { "k8s:io.cilium.k8s.namespace.labels.exposed": "true" } },
      ingress: [
        {
          fromEndpoints: [
            {
              matchLabels: {
                "k8s:io.kubernetes.pod.namespace": "ingress-nginx",
                "k8s:app.kubernetes.io/name": "ingress-nginx",
              },
            },
          ],
        },
      ],
    },
  },
  {
    name: "prometheus-to-metrics",
    kind: "CiliumClusterwideNetworkPolicy",
    spec: {
      description: "Allow Prometheus to scrape metrics in NS with metrics label",
      endpointSelector: {
        matchLabels: {
          "k8s:app.kubernetes.io/name": "prometheus",
          "k8s:io.kubernetes.pod.namespace": "monitoring",
        },
      },
      egress: [{ toEndpoints: [{ matchLabels: { "k8s:io.cilium.k8s.namespace.labels.metrics": "true" } }] }],
    },
  },
  {
    name: "global-infra-prometheus",
    kind: "CiliumClusterwideNetworkPolicy",
    spec: {
      description: "Allow connections from Prometheus to labeled namespaces",
      endpointSelector: { matchLabels: { "k8s:io.cilium.k8s.namespace.labels.metrics": "true" } },
      ingress: [
        {
          fromEndpoints: [
            {
              matchLabels: {
                "k8s:io.kubernetes.pod.namespace": "monitoring",
                "k8s:app.kubernetes.io/name": "prometheus",
              },
            },
          ],
        },
      ],
    },
  },
];

// The companion set's further policies the castle keeps (names and semantics), with the castle's reasons
// for its differences noted in the builders.
const COMPANION: { name: string; namespace?: string; spec: Obj }[] = [
  {
    name: "allow-to-everywhere",
    namespace: "kube-system",
    spec: {
      description:
        "Allow egress from kube-system to everywhere: cluster plumbing has no enumerable destinations",
      endpointSelector: {},
      egress: [{ toEntities: ["all"] }],
    },
  },
  {
    name: "global-infra-cilium-health",
    spec: {
      description: "Allow Cilium health checks",
      endpointSelector: {},
      ingress: [
        { fromEntities: ["remote-node"], toPorts: [{ ports: tcp(4240) }] },
        { fromEntities: ["remote-node"], icmps: [{ fields: [{ type: 8, family: "IPv4" }] }] },
      ],
    },
  },
  {
    name: "metrics-server-to-kapi",
    namespace: "monitoring",
    spec: {
      description: "Allow metrics-server to access KAPI",
      endpointSelector: { matchLabels: { "k8s:app.kubernetes.io/name": "metrics-server" } },
      egress: [{ toEntities: ["kube-apiserver"], toPorts: [{ ports: tcp(6443) }] }],
    },
  },
  {
    name: "metrics-server-to-kubelet-metrics",
    namespace: "monitoring",
    spec: {
      description: "Allow metrics-server to scrape Kubelet metrics",
      endpointSelector: { matchLabels: { "k8s:app.kubernetes.io/name": "metrics-server" } },
      egress: [{ toEntities: ["host", "remote-node"], toPorts: [{ ports: tcp(10250) }] }],
    },
  },
  {
    name: "grafana-to-kapi",
    namespace: "monitoring",
    spec: {
      description: "Allow Grafana to reach KAPI (to get dashboard and datasource CMs)",
      endpointSelector: { matchLabels: { "k8s:app.kubernetes.io/name": "grafana" } },
      egress: [{ toEntities: ["kube-apiserver"], toPorts: [{ ports: tcp(6443) }] }],
    },
  },
];

describe("layers: the talk's policies on the dev stack", () => {
  let rec: Recording;
  before(async () => {
    rec = await buildStack(devRawConfig(), "dev");
  });

  for (const t of TALK) {
    it(`${t.namespace ?? "(cluster)"}/${t.name} is the talk's ${t.kind}`, () => {
      const p = policy(rec, t.name, t.namespace);
      assert.equal(p.kind, t.kind);
      assert.equal(p.apiVersion, "cilium.io/v2");
      assert.deepEqual(p.spec, t.spec);
    });
  }

  for (const c of COMPANION) {
    it(`${c.namespace ?? "(cluster)"}/${c.name} keeps the companion set's semantics`, () => {
      assert.deepEqual(policy(rec, c.name, c.namespace).spec, c.spec);
    });
  }

  it("the admission webhook and the aggregated metrics API are open to the API server, as tunnel routing delivers it", () => {
    // In tunnel routing the API server's packets reach a pod on another node as remote-node
    // (bpf/lib/encap.h): kube-apiserver alone would cut both (test/verifier/lockouts.test.ts).
    assert.deepEqual(policy(rec, "kapi-to-nginx-admission", "ingress-nginx").spec.ingress, [
      { fromEntities: ["kube-apiserver", "remote-node"], toPorts: [{ ports: tcp(8443) }] },
    ]);
    assert.deepEqual(policy(rec, "kapi-to-metrics-server", "monitoring").spec.ingress, [
      { fromEntities: ["kube-apiserver", "remote-node"], toPorts: [{ ports: tcp(10250) }] },
    ]);
  });

  it("every policy has a description, a layer label and a name that says what it allows", () => {
    const all = policiesOf(rec);
    assert.ok(all.length >= 25, `${all.length} policies`);
    for (const r of all) {
      const p = r.inputs as Obj;
      assert.ok(
        typeof p.spec.description === "string" && p.spec.description.length > 10,
        `${p.metadata.name} has a description`,
      );
      assert.ok(
        ["node", "infra", "user"].includes(p.metadata.labels[LAYER_LABEL]),
        `${p.metadata.name} names its layer`,
      );
      assert.match(
        p.metadata.name,
        /^(allow-|all-to-|global-infra-|host-|kapi-to-)|-to-/,
        `${p.metadata.name} says what it allows`,
      );
    }
  });

  it("every emitted CNP/CCNP passes the strict CRD schema and @kubernetes-models validate()", async () => {
    for (const r of policiesOf(rec)) {
      const obj = r.inputs as { kind: string; metadata: Obj };
      assert.deepEqual(crdSchemaErrors(obj), [], `${obj.metadata.name}: CRD schema`);
      assert.deepEqual(await modelErrors(obj), [], `${obj.metadata.name}: kubernetes-models`);
    }
  });

  it("every emitted policy passes the agent-side checks", () => {
    for (const r of policiesOf(rec))
      assert.deepEqual(checkCiliumPolicy(r.inputs), [], (r.inputs.metadata as Obj).name);
  });

  it("every policy depends on the CRD gate, and namespaced ones on their namespace", () => {
    const gate = rec.resources.find((r) => r.name.endsWith("-crd-gate"))!;
    const namespaces = new Map(
      rec.ofType("kubernetes:core/v1:Namespace").map((n) => [(n.inputs.metadata as Obj).name, n.urn]),
    );
    for (const r of policiesOf(rec)) {
      assert.ok(r.dependencies.includes(gate.urn), `${r.name} depends on the CRD gate`);
      const ns = (r.inputs.metadata as Obj).namespace;
      if (namespaces.has(ns))
        assert.ok(r.dependencies.includes(namespaces.get(ns)!), `${r.name} depends on namespace ${ns}`);
    }
  });

  it("policies belong to the component of their layer", () => {
    const component = {
      node: "castle:policy:NodeLayer",
      infra: "castle:policy:InfraLayer",
      user: "castle:policy:UserNamespace",
    } as Record<string, string>;
    for (const r of policiesOf(rec)) {
      const layer = (r.inputs.metadata as Obj).labels[LAYER_LABEL];
      assert.equal(ancestors(rec, r)[0].type, component[layer], r.name);
    }
  });

  it('user namespaces carry exposed/metrics as "true" only when asked', () => {
    const ns = (name: string): Obj =>
      rec.ofType("kubernetes:core/v1:Namespace").find((n) => (n.inputs.metadata as Obj).name === name)!.inputs
        .metadata as Obj;
    assert.deepEqual(ns("demo-shop").labels, { exposed: "true", metrics: "true" });
    assert.deepEqual(ns("demo-batch").labels, { exposed: "false", metrics: "true" });
  });

  it("kube-system gets the metrics label CoreDNS's role needs, through a NamespacePatch", () => {
    const patches = rec.ofType("kubernetes:core/v1:NamespacePatch");
    assert.equal(patches.length, 1);
    assert.deepEqual(patches[0].inputs.metadata, { name: "kube-system", labels: { metrics: "true" } });
    assert.equal(
      rec
        .ofType("kubernetes:core/v1:Namespace")
        .filter((n) => (n.inputs.metadata as Obj).name === "kube-system").length,
      0,
    );
  });
});

describe("layers: node layer", () => {
  it("has no SSH rule at all without jumphosts, never a wider one", () => {
    const hostAll = buildNodePolicies({ jumphostCidrs: [], roles: DEFAULT_INFRA_ROLES }).find(
      (p) => p.metadata.name === "host-all",
    )!;
    const text = JSON.stringify(hostAll.spec);
    assert.ok(!text.includes('"22"'), "no port 22");
    assert.ok(!text.includes("fromCIDR"));
    assert.equal(hostAll.spec.ingress!.length, 6);
  });

  it("lists every jumphost in the SSH rule", () => {
    const hostAll = buildNodePolicies({
      jumphostCidrs: ["10.1.101.110/32", "192.0.2.0/28"],
      roles: DEFAULT_INFRA_ROLES,
    })[0];
    assert.deepEqual(hostAll.spec.ingress![0], {
      fromCIDR: ["10.1.101.110/32", "192.0.2.0/28"],
      toPorts: [{ ports: tcp(22) }],
    });
  });
});

describe("layers: the rule set is static", () => {
  it("adding a user namespace adds exactly that namespace and its one policy", async () => {
    const base: Record<string, unknown> = { ...devRawConfig(), installDemo: false };
    const n = await buildStack(base);
    const users = base.userNamespaces as Obj[];
    const n1 = await buildStack({ ...base, userNamespaces: [...users, { name: "team-new", metrics: true }] });
    const before = new Map(n.resources.map((r) => [r.urn, JSON.stringify(r.inputs) + r.dependencies.join()]));
    const after = new Map(n1.resources.map((r) => [r.urn, JSON.stringify(r.inputs) + r.dependencies.join()]));
    const added = [...after.keys()].filter((u) => !before.has(u));
    const removed = [...before.keys()].filter((u) => !after.has(u));
    const changed = [...before.keys()].filter((u) => after.has(u) && after.get(u) !== before.get(u));
    assert.deepEqual(removed, []);
    assert.deepEqual(changed, [], "no other resource's inputs change");
    const addedTypes = added.map((u) => n1.byUrn(u)!.type).sort();
    assert.deepEqual(
      addedTypes,
      ["castle:policy:UserNamespace", CNP_TYPE, "kubernetes:core/v1:Namespace"].sort(),
    );
  });
});

describe("layers: infra components are data", () => {
  it("adding an infra component is a config entry", async () => {
    const rec = await buildStack({
      infraRoles: [
        {
          name: "cert-manager",
          namespace: "cert-manager",
          podLabels: { "app.kubernetes.io/instance": "cert-manager" },
          kubeApiServer: {
            name: "cert-manager-to-kapi",
            description: "Allow all Cert-Manager components to reach KAPI",
          },
          servesKubeApiServer: {
            name: "kapi-to-cert-manager-webhook",
            description: "Allow the API server to call the Cert-Manager webhook",
            ports: [{ port: 10250, protocol: "TCP" }],
          },
        },
      ],
    });
    assert.deepEqual(policy(rec, "cert-manager-to-kapi", "cert-manager").spec.endpointSelector, {
      matchLabels: { "k8s:app.kubernetes.io/instance": "cert-manager" },
    });
    assert.equal(
      policy(rec, "allow-within-namespace", "cert-manager").spec.description,
      "Allow NS internal traffic, block everything else",
    );
    assert.ok(
      rec
        .ofType("kubernetes:core/v1:Namespace")
        .some((n) => (n.inputs.metadata as Obj).name === "cert-manager"),
    );
  });

  it("the ingress controller's namespace and labels are configurable", async () => {
    const rec = await buildStack({
      ingressController: { namespace: "traefik", podLabels: { "app.kubernetes.io/name": "traefik" } },
    });
    assert.deepEqual(policy(rec, "all-to-nginx", "traefik").spec.endpointSelector, {
      matchLabels: { "k8s:app.kubernetes.io/name": "traefik" },
    });
    assert.deepEqual(policy(rec, "global-infra-nginx").spec.ingress[0].fromEndpoints, [
      {
        matchLabels: {
          "k8s:io.kubernetes.pod.namespace": "traefik",
          "k8s:app.kubernetes.io/name": "traefik",
        },
      },
    ]);
    assert.equal(
      policiesOf(rec).filter((r) => (r.inputs.metadata as Obj).namespace === "ingress-nginx").length,
      0,
    );
  });

  it("a role whose namespace is a user namespace is refused", async () => {
    await assert.rejects(
      buildStack({ userNamespaces: [{ name: "ingress-nginx" }] }),
      /userNamespaces\[0\]\.name = "ingress-nginx": .*infrastructure namespace/,
    );
  });

  it("bad roles are refused with key, value and fix", async () => {
    await assert.rejects(
      buildStack({ infraRoles: [{ name: "x", namespace: "x" }] }),
      /infraRoles\[0\]\.podLabels = \(unset\): expected a non-empty map/,
    );
    await assert.rejects(
      buildStack({
        infraRoles: [
          {
            name: "x",
            namespace: "x",
            podLabels: { a: "b" },
            nodePorts: { name: "x-to-nodes", description: "d", ports: [{ port: 70000 }] },
          },
        ],
      }),
      /infraRoles\[0\]\.nodePorts\.ports\[0\]\.port = 70000: not a port number/,
    );
    await assert.rejects(
      buildStack({
        infraRoles: [
          {
            name: "x",
            namespace: "x",
            podLabels: { a: "b" },
            kubeApiServer: { name: "allow-within-namespace", description: "d" },
          },
        ],
      }),
      /generated by both the castle and role "x"/,
    );
    await assert.rejects(
      buildStack({
        infraRoles: [
          {
            name: "x",
            namespace: "x",
            podLabels: { a: "b" },
            servesAll: { name: "all-to-x", description: "", ports: [] },
          },
        ],
      }),
      /servesAll\.description = "": every Cilium policy needs a description/,
    );
    await assert.rejects(
      buildStack({ ingressController: { namespaces: "traefik" } }),
      /ingressController\.namespaces .*unknown key "namespaces"/,
    );
  });
});

describe("layers: workshop demo", () => {
  let rec: Recording;
  before(async () => {
    rec = await buildStack(devRawConfig(), "dev");
  });

  it("installs pinned ingress-nginx, Prometheus and metrics-server into the roles' namespaces", () => {
    const releases = rec
      .ofType("kubernetes:helm.sh/v3:Release")
      .map((r) => [r.inputs.name, r.inputs.namespace, r.inputs.version]);
    assert.deepEqual(releases.sort(), [
      ["cilium", "kube-system", "1.19.5"],
      ["ingress-nginx", "ingress-nginx", "4.15.1"],
      ["metrics-server", "monitoring", "3.13.0"],
      ["prometheus", "monitoring", "27.42.2"],
    ]);
  });

  it("runs a demo app in each demo user namespace and exposes only the exposed one", () => {
    const deployments = rec
      .ofType("kubernetes:apps/v1:Deployment")
      .map((d) => `${(d.inputs.metadata as Obj).namespace}/${(d.inputs.metadata as Obj).name}`);
    assert.deepEqual(deployments.sort(), [
      "demo-batch/demo-client",
      "demo-batch/demo-web",
      "demo-shop/demo-client",
      "demo-shop/demo-web",
    ]);
    const ingresses = rec
      .ofType("kubernetes:networking.k8s.io/v1:Ingress")
      .map((i) => (i.inputs.metadata as Obj).namespace);
    assert.deepEqual(ingresses, ["demo-shop"]);
    const client = rec
      .ofType("kubernetes:apps/v1:Deployment")
      .find(
        (d) =>
          (d.inputs.metadata as Obj).namespace === "demo-shop" &&
          (d.inputs.metadata as Obj).name === "demo-client",
      )!;
    const script = (client.inputs.spec as Obj).template.spec.containers[0].command[2] as string;
    assert.ok(
      script.includes("http://demo-web.demo-batch.svc.cluster.local"),
      "crosses into the other namespace, to show a verdict",
    );
  });

  it("is absent without installDemo", async () => {
    const plain = await buildStack({ ...devRawConfig(), installDemo: false });
    assert.equal(plain.ofType("kubernetes:helm.sh/v3:Release").length, 1);
    assert.equal(plain.ofType("kubernetes:apps/v1:Deployment").length, 0);
  });
});

describe("layers: charts from a mirror, demo on an existing cluster", () => {
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
  const releaseArgs = (rec: Recording): Obj[] =>
    rec
      .ofType("kubernetes:helm.sh/v3:Release")
      .map((r) => ({
        name: r.inputs.name,
        chart: r.inputs.chart,
        version: r.inputs.version,
        repo: (r.inputs.repositoryOpts as Obj)?.repo,
      }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name)));

  it("installs every chart from a folder of archives, with no repository", async () => {
    const dir = mirror();
    const rec = await buildStack({ ...devRawConfig(), chartMirror: dir }, "dev");
    assert.deepEqual(releaseArgs(rec), [
      { name: "cilium", chart: path.join(dir, "cilium-1.19.5.tgz"), version: undefined, repo: undefined },
      {
        name: "ingress-nginx",
        chart: path.join(dir, "ingress-nginx-4.15.1.tgz"),
        version: undefined,
        repo: undefined,
      },
      {
        name: "metrics-server",
        chart: path.join(dir, "metrics-server-3.13.0.tgz"),
        version: undefined,
        repo: undefined,
      },
      {
        name: "prometheus",
        chart: path.join(dir, "prometheus-27.42.2.tgz"),
        version: undefined,
        repo: undefined,
      },
    ]);
  });

  it("installs from an OCI registry or an HTTP chart repository at the pinned versions", async () => {
    const oci = await buildStack({ ...devRawConfig(), chartMirror: "oci://registry.corp/charts" }, "dev");
    assert.deepEqual(releaseArgs(oci)[0], {
      name: "cilium",
      chart: "oci://registry.corp/charts/cilium",
      version: "1.19.5",
      repo: undefined,
    });
    const http = await buildStack({ ...devRawConfig(), chartMirror: "https://charts.corp/" }, "dev");
    assert.deepEqual(releaseArgs(http)[2], {
      name: "metrics-server",
      chart: "metrics-server",
      version: "3.13.0",
      repo: "https://charts.corp/",
    });
  });

  it("on an existing cluster, takes the infra namespaces over but never deletes them", async () => {
    const rec = await buildStack({ ...devRawConfig(), clusterProvider: "existing" }, "dev");
    const ns = (name: string): RecordedResource =>
      rec.ofType("kubernetes:core/v1:Namespace").find((n) => (n.inputs.metadata as Obj).name === name)!;
    // They may be there already with the controller's own install: destroy must leave them.
    for (const name of ["ingress-nginx", "monitoring"]) assert.equal(ns(name).retainOnDelete, true, name);
    // User namespaces are the castle's own on every cluster.
    for (const name of ["demo-shop", "demo-batch"]) assert.equal(ns(name).retainOnDelete, undefined, name);
    // The same resources (URNs) as on kind: a stack keeps its state across this change.
    const kind = await buildStack(devRawConfig(), "dev");
    assert.equal(
      ns("ingress-nginx").urn,
      kind
        .ofType("kubernetes:core/v1:Namespace")
        .find((n) => (n.inputs.metadata as Obj).name === "ingress-nginx")!.urn,
    );
    assert.equal(
      kind
        .ofType("kubernetes:core/v1:Namespace")
        .find((n) => (n.inputs.metadata as Obj).name === "ingress-nginx")!.retainOnDelete,
      undefined,
      "on kind the cluster goes with the stack",
    );
  });

  it("places the demo's infra pods on infra nodes: required on kind, preferred on an existing cluster", async () => {
    const metricsValues = (rec: Recording): Obj =>
      rec.ofType("kubernetes:helm.sh/v3:Release").find((r) => r.inputs.name === "metrics-server")!.inputs
        .values as Obj;
    const kind = metricsValues(await buildStack(devRawConfig(), "dev"));
    assert.deepEqual(kind.nodeSelector, { "node-role.kubernetes.io/infra": "" });
    const existing = metricsValues(
      await buildStack({ ...devRawConfig(), clusterProvider: "existing" }, "dev"),
    );
    assert.equal(existing.nodeSelector, undefined, "a cluster without infra nodes still runs the demo");
    assert.deepEqual(
      existing.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference,
      {
        matchExpressions: [{ key: "node-role.kubernetes.io/infra", operator: "Exists" }],
      },
    );
    assert.deepEqual(existing.tolerations, kind.tolerations);
  });

  it("creates Ingresses after the ingress-nginx release whose webhook admits them, and merges demoChartValues", async () => {
    const rec = await buildStack(
      {
        ...devRawConfig(),
        demoChartValues: { "ingress-nginx": { controller: { admissionWebhooks: { enabled: false } } } },
      },
      "dev",
    );
    const nginx = rec.ofType("kubernetes:helm.sh/v3:Release").find((r) => r.inputs.name === "ingress-nginx")!;
    const ingress = rec.ofType("kubernetes:networking.k8s.io/v1:Ingress")[0]!;
    assert.ok(ingress.dependencies.includes(nginx.urn));
    const controller = (nginx.inputs.values as Obj).controller;
    assert.deepEqual(controller.admissionWebhooks, {
      enabled: false,
      patch: controller.admissionWebhooks.patch,
    });
    assert.equal(controller.hostPort.enabled, true, "the demo's own values stay");
  });
});
