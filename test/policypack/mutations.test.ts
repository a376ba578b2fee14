// The mutation table: for each invariant, mutations of the real dev stack that break it, each caught by
// the pack with the expected policy, level and message. One row per mutation.

import { strict as assert } from "assert";
import { buildStack, devRawConfig, Recording } from "../harness";
import { policies } from "../../policypack/policies";
import { runPack, Violation } from "../support/policyHarness";
import { addPolicy, editInputs, policyNamed, removeResource, withResources } from "../support/mutate";

type Obj = Record<string, any>;

interface Row {
  invariant: number;
  mutation: string;
  /** A change of stack config (built through the real program), or an edit of the recorded dev stack. */
  config?: Obj;
  edit?: (dev: Recording) => Recording;
  policy: string;
  level?: "mandatory" | "advisory";
  message: RegExp;
}

const userCnp = (name: string, spec: Obj) => (dev: Recording) =>
  addPolicy(dev, {
    parentType: "castle:policy:UserNamespace",
    parentName: "castle-user-demo-shop",
    kind: "CiliumNetworkPolicy",
    name,
    namespace: "demo-shop",
    spec,
  });

const TABLE: Row[] = [
  {
    invariant: 1,
    mutation: "hostFirewall turned off through ciliumValues",
    config: { ciliumValues: { hostFirewall: { enabled: false } } },
    policy: "cilium-host-firewall-enabled",
    message:
      /^The Cilium release must set hostFirewall\.enabled: true\. Why: without it Cilium ignores every host policy.*Fix: set hostFirewall\.enabled: true/,
  },
  {
    invariant: 1,
    mutation: "hostFirewall removed from the release values",
    edit: (dev) =>
      editInputs(
        dev,
        (r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === "cilium",
        "cilium release",
        (i) => delete i.values.hostFirewall,
      ),
    policy: "cilium-host-firewall-enabled",
    message: /must set hostFirewall\.enabled: true/,
  },
  {
    invariant: 2,
    mutation: "audit mode off in the update that first introduces the host policies",
    config: { policyAuditMode: false },
    policy: "host-policies-audit-first",
    message:
      /^Host policy host-all would be enforced in the same update that introduces it .*Fix: deploy the host policies with policyAuditMode: true first/,
  },
  {
    invariant: 2,
    mutation: "audit mode off with host policies: the advisory reminder",
    config: { policyAuditMode: false },
    policy: "host-policies-audit-mode-reminder",
    level: "advisory",
    message: /^Host policies \(host-infra, host-cp, host-all\) are enforced: Cilium's policyAuditMode is off/,
  },
  {
    invariant: 3,
    mutation: "a CNP with a typo'd field the API server would prune",
    edit: (dev) =>
      editInputs(
        dev,
        policyNamed("all-to-nginx", "ingress-nginx"),
        "all-to-nginx",
        (i) => (i.spec.ingress[0].fromEntity = i.spec.ingress[0].fromEntities),
      ),
    policy: "cilium-policy-schema",
    message:
      /^ingress-nginx\/all-to-nginx spec\.ingress\[0\]\.fromEntity: unknown field "fromEntity".*Why: the Cilium agent rejects or silently changes/,
  },
  {
    invariant: 3,
    mutation: "a CCNP with an entity the CRD does not know",
    edit: (dev) =>
      editInputs(
        dev,
        policyNamed("global-infra-cilium-health"),
        "health",
        (i) => (i.spec.ingress[0].fromEntities = ["remote-nodes"]),
      ),
    policy: "cilium-policy-schema",
    message:
      /^global-infra-cilium-health does not pass the Cilium CRD schema: .*must be equal to one of the allowed values/,
  },
  {
    invariant: 3,
    mutation: "icmps and toPorts in one host rule",
    edit: (dev) =>
      editInputs(
        dev,
        policyNamed("host-all"),
        "host-all",
        (i) => (i.spec.ingress[1].toPorts = [{ ports: [{ port: "22", protocol: "TCP" }] }]),
      ),
    policy: "cilium-policy-schema",
    message: /^host-all spec\.ingress\[1\]: icmps may not be combined with toPorts/,
  },
  {
    invariant: 4,
    mutation: "SSH opened to 0.0.0.0/0",
    edit: (dev) =>
      editInputs(
        dev,
        policyNamed("host-all"),
        "host-all",
        (i) => (i.spec.ingress[0].fromCIDR = ["0.0.0.0/0"]),
      ),
    policy: "no-open-ssh",
    message:
      /^host-all ingress\[0\] allows SSH \(22\/TCP\) from 0\.0\.0\.0\/0, outside the allowed jumphost CIDRs\. Why: SSH to a node is root on the cluster.*Fix: allow 22\/TCP only fromCIDR your jumphosts/,
  },
  {
    invariant: 4,
    mutation: "SSH from the world entity",
    edit: (dev) =>
      editInputs(
        dev,
        policyNamed("host-all"),
        "host-all",
        (i) => (i.spec.ingress[0] = { fromEntities: ["world"], toPorts: i.spec.ingress[0].toPorts }),
      ),
    policy: "no-open-ssh",
    message: /^host-all ingress\[0\] allows SSH \(22\/TCP\) from entity world/,
  },
  {
    invariant: 4,
    mutation: "a host rule that opens every port to everyone",
    edit: (dev) => editInputs(dev, policyNamed("host-infra"), "host-infra", (i) => i.spec.ingress.push({})),
    policy: "no-open-ssh",
    message: /^host-infra ingress\[1\] allows SSH \(22\/TCP\) from everywhere/,
  },
  {
    invariant: 4,
    mutation: "a public jumphost outside the allowed CIDRs",
    config: { jumphostCidrs: ["203.0.113.7/32"] },
    policy: "no-open-ssh",
    message: /from 203\.0\.113\.7\/32, outside the allowed jumphost CIDRs/,
  },
  {
    invariant: 5,
    mutation: "the host-cp 6443 rule removed",
    edit: (dev) => editInputs(dev, policyNamed("host-cp"), "host-cp", (i) => i.spec.ingress.splice(0, 1)),
    policy: "node-lifelines",
    message:
      /^The host policies no longer admit the Kubernetes API \(6443\/TCP\) on control-plane nodes\. Why: a missing lifeline is a lock-out waiting for enforcement.*Fix: add it back to host-cp/,
  },
  {
    invariant: 5,
    mutation: "the tunnel rule narrowed to host only",
    edit: (dev) =>
      editInputs(
        dev,
        policyNamed("host-all"),
        "host-all",
        (i) => (i.spec.ingress[4].fromEntities = ["host"]),
      ),
    policy: "node-lifelines",
    message: /no longer admit the VXLAN tunnel \(8472\/UDP\) from remote-node/,
  },
  {
    invariant: 5,
    mutation: "an ingressDeny on the kubelet",
    edit: (dev) =>
      editInputs(
        dev,
        policyNamed("host-all"),
        "host-all",
        (i) =>
          (i.spec.ingressDeny = [
            { fromEntities: ["cluster"], toPorts: [{ ports: [{ port: "10250", protocol: "TCP" }] }] },
          ]),
      ),
    policy: "node-lifelines",
    message:
      /no longer admit the kubelet \(10250\/TCP\) from kube-apiserver \(an ingressDeny rule blocks it\)/,
  },
  {
    invariant: 5,
    mutation: "etcd restricted to remote-node",
    edit: (dev) =>
      editInputs(
        dev,
        policyNamed("host-cp"),
        "host-cp",
        (i) => (i.spec.ingress[1].fromEntities = ["remote-node"]),
      ),
    policy: "node-lifelines",
    message: /no longer admit etcd client \(2379\/TCP\) from kube-apiserver/,
  },
  {
    invariant: 6,
    mutation: "a user namespace without allow-within-namespace",
    edit: (dev) =>
      removeResource(
        dev,
        policyNamed("allow-within-namespace", "demo-shop"),
        "demo-shop allow-within-namespace",
      ),
    policy: "namespaces-reachable-and-dns",
    message:
      /^Namespace demo-shop has no allow-within-namespace policy .*Fix: add the CiliumNetworkPolicy allow-within-namespace to demo-shop/,
  },
  {
    invariant: 6,
    mutation: "kube-system (an infra namespace) without allow-within-namespace",
    edit: (dev) =>
      removeResource(
        dev,
        policyNamed("allow-within-namespace", "kube-system"),
        "kube-system allow-within-namespace",
      ),
    policy: "namespaces-reachable-and-dns",
    message: /^Namespace kube-system has no allow-within-namespace policy/,
  },
  {
    invariant: 6,
    mutation: "allow-within-namespace that no longer admits its own namespace",
    edit: (dev) =>
      editInputs(
        dev,
        policyNamed("allow-within-namespace", "monitoring"),
        "monitoring",
        (i) => (i.spec.egress = [{ toEntities: ["kube-apiserver"] }]),
      ),
    policy: "namespaces-reachable-and-dns",
    message: /^Namespace monitoring has no allow-within-namespace policy/,
  },
  {
    invariant: 6,
    mutation: "global-infra-dns removed",
    edit: (dev) => removeResource(dev, policyNamed("global-infra-dns"), "global-infra-dns"),
    policy: "namespaces-reachable-and-dns",
    message: /^The cluster-wide policy global-infra-dns is missing/,
  },
  {
    invariant: 7,
    mutation: "a user CNP with toEntities: [world]",
    edit: userCnp("to-internet", {
      description: "d",
      endpointSelector: {},
      egress: [{ toEntities: ["world"] }],
    }),
    policy: "user-namespace-walls",
    message:
      /^demo-shop\/to-internet egress\[0\] uses toEntities \(world\)\. Why: a user namespace's own policies may only open paths inside it/,
  },
  {
    invariant: 7,
    mutation: "a user CNP with a CIDR peer",
    edit: userCnp("from-office", {
      description: "d",
      endpointSelector: {},
      ingress: [{ fromCIDR: ["192.0.2.0/24"] }],
    }),
    policy: "user-namespace-walls",
    message: /^demo-shop\/from-office ingress\[0\] uses CIDR peers \(fromCIDR\)/,
  },
  {
    invariant: 7,
    mutation: "a user CNP that selects another namespace by name",
    edit: userCnp("from-batch", {
      description: "d",
      endpointSelector: {},
      ingress: [{ fromEndpoints: [{ matchLabels: { "k8s:io.kubernetes.pod.namespace": "demo-batch" } }] }],
    }),
    policy: "user-namespace-walls",
    message:
      /^demo-shop\/from-batch ingress\[0\] fromEndpoints selects k8s:io\.kubernetes\.pod\.namespace, which reaches other namespaces/,
  },
  {
    invariant: 7,
    mutation: "a user CNP that selects by namespace labels",
    edit: userCnp("to-exposed", {
      description: "d",
      endpointSelector: {},
      egress: [
        {
          toEndpoints: [
            { matchExpressions: [{ key: "k8s:io.cilium.k8s.namespace.labels.exposed", operator: "Exists" }] },
          ],
        },
      ],
    }),
    policy: "user-namespace-walls",
    message: /to-exposed egress\[0\] toEndpoints selects k8s:io\.cilium\.k8s\.namespace\.labels\.exposed/,
  },
  {
    invariant: 7,
    mutation: "a cluster-wide policy owned by a user namespace",
    edit: (dev) =>
      addPolicy(dev, {
        parentType: "castle:policy:UserNamespace",
        kind: "CiliumClusterwideNetworkPolicy",
        name: "tenant-wide",
        spec: {
          description: "d",
          endpointSelector: { matchLabels: { "k8s:app": "x" } },
          egress: [{ toEndpoints: [{}] }],
        },
      }),
    policy: "user-namespace-walls",
    message: /^User namespace component owns the cluster-wide policy tenant-wide/,
  },
  {
    invariant: 7,
    mutation: 'a user namespace labelled exposed: "yes"',
    edit: (dev) =>
      editInputs(
        dev,
        (r) => r.type === "kubernetes:core/v1:Namespace" && (r.inputs.metadata as Obj).name === "demo-batch",
        "demo-batch",
        (i) => (i.metadata.labels.exposed = "yes"),
      ),
    policy: "user-namespace-walls",
    message: /^User namespace demo-batch has exposed: "yes"; only "true" or "false" is allowed/,
  },
  {
    invariant: 7,
    mutation: "a user namespace with a label outside the allowed set",
    edit: (dev) =>
      editInputs(
        dev,
        (r) => r.type === "kubernetes:core/v1:Namespace" && (r.inputs.metadata as Obj).name === "demo-batch",
        "demo-batch",
        (i) => (i.metadata.labels.trusted = "true"),
      ),
    policy: "user-namespace-walls",
    message: /^User namespace demo-batch carries label trusted=true, which is not allowed/,
  },
  {
    invariant: 8,
    mutation: "a CCNP selecting every endpoint opened to world",
    edit: (dev) =>
      editInputs(dev, policyNamed("global-infra-cilium-health"), "health", (i) =>
        i.spec.ingress.push({ fromEntities: ["world"] }),
      ),
    policy: "clusterwide-no-world-ingress",
    message:
      /^global-infra-cilium-health selects every endpoint \(endpointSelector: \{\}\) and its ingress\[2\] admits world\. Why: that opens every pod/,
  },
  {
    invariant: 8,
    mutation: "a CCNP selecting every endpoint with a port open to all",
    edit: (dev) =>
      editInputs(dev, policyNamed("global-infra-cilium-health"), "health", (i) =>
        i.spec.ingress.push({ toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }] }] }),
      ),
    policy: "clusterwide-no-world-ingress",
    message: /ingress\[2\] admits every peer/,
  },
  {
    invariant: 9,
    mutation: "a policy with no dependency on the gate",
    edit: (dev) =>
      addPolicy(dev, {
        parentType: "castle:policy:InfraLayer",
        kind: "CiliumNetworkPolicy",
        name: "early-bird",
        namespace: "monitoring",
        spec: { description: "d", endpointSelector: {}, egress: [{ toEndpoints: [{}] }] },
        dependsOnGate: false,
      }),
    policy: "cilium-policies-after-crd-gate",
    message:
      /^monitoring\/early-bird does not depend on the Cilium CRD gate\. Why: the cilium-operator registers the policy CRDs after the Helm release/,
  },
  {
    invariant: 9,
    mutation: "the CRD gate removed",
    edit: (dev) => removeResource(dev, (r) => r.name.endsWith("-crd-gate"), "gate"),
    policy: "cilium-policies-after-crd-gate",
    message: /does not depend on the Cilium CRD gate \(the stack has none\)/,
  },
  {
    invariant: 10,
    mutation: "a policy without a description",
    edit: (dev) =>
      editInputs(
        dev,
        policyNamed("grafana-to-kapi", "monitoring"),
        "grafana-to-kapi",
        (i) => delete i.spec.description,
      ),
    policy: "cilium-policy-description",
    level: "advisory",
    message:
      /^monitoring\/grafana-to-kapi has no spec\.description\. Why: reviewers and Hubble users read the description/,
  },
];

describe("policy pack: the mutation table", () => {
  let dev: Recording;
  before(async () => {
    dev = await buildStack(devRawConfig(), "dev");
  });

  it("has a row for every invariant", () => {
    assert.deepEqual(
      [...new Set(TABLE.map((r) => r.invariant))].sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
  });

  for (const row of TABLE) {
    it(`invariant ${row.invariant}: ${row.mutation}`, async () => {
      const rec = row.config ? await buildStack({ ...devRawConfig(), ...row.config }, "dev") : row.edit!(dev);
      const violations: Violation[] = await runPack(policies, rec);
      const hits = violations.filter((v) => v.policy === row.policy && row.message.test(v.message));
      assert.ok(
        hits.length > 0,
        `expected ${row.policy} /${row.message.source}/, got:\n${violations.map((v) => `  [${v.level}] ${v.policy}: ${v.message}`).join("\n")}`,
      );
      for (const h of hits) assert.equal(h.level, row.level ?? "mandatory");
    });
  }

  it("the unmutated dev stack is clean (so every row's violation comes from its mutation)", async () => {
    assert.deepEqual(
      await runPack(
        policies,
        withResources(dev, () => undefined),
      ),
      [],
    );
  });
});
