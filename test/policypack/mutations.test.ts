// The mutation table: for each invariant, mutations of the real dev stack that break it, each caught by
// the pack with the expected policy, level and message. One row per mutation.

import { strict as assert } from "assert";
import { buildStack, devRawConfig, Recording } from "../harness";
import { policies } from "../../policypack/policies";
import { runPack, Violation } from "../support/policyHarness";
import { ENGINE_RUNS } from "../support/engineView";
import { addPolicy, editInputs, policyNamed, removeResource, withResources } from "../support/mutate";
import { checkCastle } from "../../verifier/check";
import { fromObjects } from "../../cli/sources";
import { stackObjects } from "../../policypack/rules/castleProperties";
import type { Untyped as Obj } from "../../lib/untyped";

interface Row {
  invariant: number;
  mutation: string;
  /** A change of stack config (built through the real program), an edit of the recorded dev stack, or both. */
  config?: Obj;
  edit?: (dev: Recording) => Recording;
  policy: string;
  level?: "mandatory" | "advisory";
  message: RegExp;
  /** The castle property `castle check` reports broken, or null when reachability is unchanged. */
  breaks: string | null;
}

const SSH = "only the jumphost reaches node SSH";
const LIFELINES = "no lifeline is cut when enforced";
const ITSELF = "every namespace reaches itself";
const DNS = "every pod reaches DNS";
const EXPOSED = "only the ingress role reaches exposed namespaces";

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
    breaks: SSH,
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
    breaks: SSH,
  },
  {
    invariant: 2,
    mutation: "audit mode off in the update that first introduces the host policies",
    config: { policyAuditMode: false },
    policy: "host-policies-audit-first",
    message:
      /^Host policy host-all would be enforced in the same update that introduces it .*Fix: deploy the host policies with policyAuditMode: true first/,
    breaks: null,
  },
  {
    invariant: 2,
    mutation: "audit mode off with host policies: the advisory reminder",
    config: { policyAuditMode: false },
    policy: "host-policies-audit-mode-reminder",
    level: "advisory",
    message: /^Host policies \(host-infra, host-cp, host-all\) are enforced: Cilium's policyAuditMode is off/,
    breaks: null,
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
    breaks: null,
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
      /^global-infra-cilium-health does not pass Cilium 1\.19's CRD schema: spec\.ingress\[0\]\.fromEntities\[0\]: Unsupported value: "remote-nodes": supported values: /,
    breaks: null,
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
    breaks: LIFELINES,
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
    breaks: SSH,
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
    breaks: SSH,
  },
  {
    invariant: 4,
    mutation: "a host rule that opens every port to entity all",
    edit: (dev) =>
      editInputs(dev, policyNamed("host-infra"), "host-infra", (i) =>
        i.spec.ingress.push({ fromEntities: ["all"] }),
      ),
    policy: "no-open-ssh",
    message: /^host-infra ingress\[1\] allows SSH \(22\/TCP\) from entity all/,
    breaks: SSH,
  },
  {
    invariant: 4,
    mutation: "a public jumphost outside the allowed CIDRs",
    config: { jumphostCidrs: ["203.0.113.7/32"] },
    policy: "no-open-ssh",
    message: /from 203\.0\.113\.7\/32, outside the allowed jumphost CIDRs/,
    breaks: null,
  },
  {
    invariant: 5,
    mutation: "the host-cp 6443 rule removed",
    edit: (dev) => editInputs(dev, policyNamed("host-cp"), "host-cp", (i) => i.spec.ingress.splice(0, 1)),
    policy: "node-lifelines",
    message:
      /^The host policies no longer admit the Kubernetes API \(6443\/TCP\) on control-plane nodes: world → castle-control-plane 6443\/tcp is dropped\. Why: a missing lifeline is a lock-out waiting for enforcement.*Fix: add it back to host-cp/,
    breaks: LIFELINES,
  },
  {
    invariant: 5,
    mutation:
      "the 6443 rule's peers written as fromEndpoints: [] (selects no endpoint: nobody outside gets in)",
    edit: (dev) =>
      editInputs(
        dev,
        policyNamed("host-cp"),
        "host-cp",
        (i) => (i.spec.ingress[0] = { fromEndpoints: [], toPorts: i.spec.ingress[0].toPorts }),
      ),
    policy: "node-lifelines",
    message:
      /no longer admit the Kubernetes API \(6443\/TCP\) on control-plane nodes: world → castle-control-plane/,
    breaks: LIFELINES,
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
    breaks: LIFELINES,
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
    breaks: LIFELINES,
  },
  {
    invariant: 5,
    mutation: "etcd restricted to the node itself, with three control planes",
    // With one control plane the API server reaches etcd on its own node, which no policy judges; with
    // three, each API server calls the other control planes' etcd as remote-node + kube-apiserver.
    config: { kindNodes: { controlPlane: 3, infra: 1, workers: 2 } },
    edit: (rec) =>
      editInputs(rec, policyNamed("host-cp"), "host-cp", (i) => (i.spec.ingress[1].fromEntities = ["host"])),
    policy: "node-lifelines",
    message:
      /no longer admit etcd client \(2379\/TCP\) from kube-apiserver: castle-control-plane → castle-control-plane2 2379\/tcp is dropped/,
    breaks: LIFELINES,
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
      /^Namespace demo-shop has no allow-within-namespace policy: no CiliumNetworkPolicy of demo-shop lets its pods reach each other\. .*Fix: add the CiliumNetworkPolicy allow-within-namespace to demo-shop/,
    breaks: ITSELF,
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
    message:
      /^Namespace kube-system has no allow-within-namespace policy, and its CiliumNetworkPolicies \([^)]+\) do not let its pods reach each other: ingress from one of its pods to another is not allowed \(\d+ of \d+ probed flows\): allowed only by default, not by a rule \(no policy selects pod kube-system\/probe-b for ingress: default allow\)\./,
    breaks: ITSELF,
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
    message:
      /^Namespace monitoring's allow-within-namespace does not let its pods reach each other: egress from one of its pods to another is not allowed \(\d+ of \d+ probed flows\): TCP\/1 to pod monitoring\/probe-b: no rule allows it; default deny for pod monitoring\/probe-a egress \(enforced by CNP monitoring\/allow-within-namespace\)\./,
    breaks: ITSELF,
  },
  {
    invariant: 6,
    mutation: "allow-within-namespace whose egress opens one port only (castle check probes that port)",
    edit: (dev) =>
      editInputs(
        dev,
        policyNamed("allow-within-namespace", "demo-shop"),
        "demo-shop",
        (i) =>
          (i.spec.egress = [
            { toEndpoints: [{}], toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }] }] },
          ]),
      ),
    policy: "namespaces-reachable-and-dns",
    message:
      /^Namespace demo-shop's allow-within-namespace does not let its pods reach each other: egress from one of its pods to another is not allowed \(4 of 5 probed flows\): TCP\/1 to pod demo-shop\/probe-b: no rule allows it; .*Fix: open demo-shop's allow-within-namespace again on every port, as UserNamespace and InfraLayer write it: ingress fromEndpoints \[\{\}\], egress toEndpoints \[\{\}\]\./,
    breaks: null,
  },
  {
    invariant: 6,
    mutation: "allow-within-namespace whose ports have a hole (1-1000 and 1002-65535)",
    edit: (dev) =>
      editInputs(
        dev,
        policyNamed("allow-within-namespace", "demo-shop"),
        "demo-shop",
        (i) =>
          (i.spec.egress = [
            {
              toEndpoints: [{}],
              toPorts: [
                {
                  ports: [
                    { port: "1", endPort: 1000, protocol: "ANY" },
                    { port: "1002", endPort: 65535, protocol: "ANY" },
                  ],
                },
              ],
            },
          ]),
      ),
    policy: "namespaces-reachable-and-dns",
    message:
      /^Namespace demo-shop's allow-within-namespace does not let its pods reach each other: egress from one of its pods to another is not allowed \(2 of \d+ probed flows\): TCP\/1001 to pod demo-shop\/probe-b: no rule allows it/,
    breaks: null,
  },
  {
    invariant: 6,
    mutation: "allow-within-namespace that admits only pods labelled app=web",
    edit: (dev) =>
      editInputs(
        dev,
        policyNamed("allow-within-namespace", "demo-shop"),
        "demo-shop",
        (i) => (i.spec.ingress = [{ fromEndpoints: [{ matchLabels: { app: "web" } }] }]),
      ),
    policy: "namespaces-reachable-and-dns",
    message:
      /^Namespace demo-shop's allow-within-namespace does not let its pods reach each other: ingress from one of its pods to another is not allowed \(\d+ of \d+ probed flows\): TCP\/1 from pod demo-shop\/probe-a: no rule allows it; default deny for pod demo-shop\/probe-b ingress/,
    breaks: ITSELF,
  },
  {
    invariant: 6,
    mutation: "an egressDeny inside a namespace that has allow-within-namespace",
    edit: userCnp("no-postgres", {
      description: "no database traffic inside the shop",
      endpointSelector: {},
      egressDeny: [{ toEndpoints: [{}], toPorts: [{ ports: [{ port: "5432", protocol: "TCP" }] }] }],
    }),
    policy: "namespaces-reachable-and-dns",
    message:
      /^Namespace demo-shop's pods cannot reach each other despite its allow-within-namespace: egress from one of its pods to another is not allowed \(1 of 5 probed flows\): TCP\/5432 to pod demo-shop\/probe-b denied by CNP demo-shop\/no-postgres egressDeny\[0\]\. .*Fix: narrow the deny rules of demo-shop\/no-postgres so they leave demo-shop's own pods alone/,
    breaks: null,
  },
  {
    invariant: 6,
    mutation: "global-infra-dns removed",
    edit: (dev) => removeResource(dev, policyNamed("global-infra-dns"), "global-infra-dns"),
    policy: "namespaces-reachable-and-dns",
    message: /^The cluster-wide policy global-infra-dns is missing/,
    breaks: DNS,
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
      /^demo-shop\/to-internet egress\[0\] admits the internet \(203\.0\.113\.10\) on TCP\/1: through toEntities\[0\] \(entity world\)\. Why: a user namespace's own policies may only open paths inside it/,
    breaks: null,
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
    message:
      /^demo-shop\/from-office ingress\[0\] admits the address 192\.0\.2\.0 \(first address of 192\.0\.2\.0\/24\) on TCP\/1: through fromCIDR\[0\] \(cidr 192\.0\.2\.0\/24\)\. Why:/,
    breaks: null,
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
      /^demo-shop\/from-batch ingress\[0\] admits a pod of namespace demo-batch on TCP\/1: through fromEndpoints\[0\] \(endpoints \{k8s:io\.kubernetes\.pod\.namespace=demo-batch\}\)\. Why:/,
    breaks: null,
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
    message:
      /^demo-shop\/to-exposed egress\[0\] admits a pod of namespace castle-wall-probe \(its namespace labelled exposed=castle-wall-probe\) on TCP\/1: through toEndpoints\[0\] \(endpoints \{k8s:io\.cilium\.k8s\.namespace\.labels\.exposed\}\)\. Why:/,
    breaks: null,
  },
  {
    invariant: 7,
    mutation: "a user CNP whose ingress names only ports (no peer: every peer)",
    edit: userCnp("open-8080", {
      description: "d",
      endpointSelector: { matchLabels: { app: "web" } },
      ingress: [{ toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }] }] }],
    }),
    policy: "user-namespace-walls",
    message:
      /^demo-shop\/open-8080 ingress\[0\] admits the internet \(203\.0\.113\.10\) on TCP\/8080: a rule without peers admits every peer; it also admits pods of other namespaces, its own node, other nodes, the kube-apiserver\. Why: .*Fix: name the peers/,
    breaks: null,
  },
  {
    invariant: 7,
    mutation: "a user CNP admitting reserved:world through fromEndpoints",
    edit: userCnp("from-world-label", {
      description: "d",
      endpointSelector: {},
      ingress: [{ fromEndpoints: [{ matchLabels: { "reserved:world": "" } }] }],
    }),
    policy: "user-namespace-walls",
    message:
      /^demo-shop\/from-world-label ingress\[0\] admits the internet \(203\.0\.113\.10\) on TCP\/1: through fromEndpoints\[0\] \(endpoints \{reserved:world=\}\)\. Why:/,
    // The castle's own probes see it too: the internet reaches demo-shop's pods.
    breaks: EXPOSED,
  },
  {
    invariant: 7,
    mutation: "a user CNP admitting Cilium's health identity",
    edit: userCnp("from-health", {
      description: "d",
      endpointSelector: {},
      ingress: [{ fromEntities: ["health"] }],
    }),
    policy: "user-namespace-walls",
    message:
      /^demo-shop\/from-health ingress\[0\] admits Cilium's reserved identity health, which no namespace holds\. Why:/,
    breaks: null,
  },
  {
    invariant: 7,
    mutation: "a user CNP with toFQDNs matchPattern '*'",
    edit: userCnp("any-name", {
      description: "d",
      endpointSelector: {},
      egress: [
        { toFQDNs: [{ matchPattern: "*" }], toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }] },
      ],
    }),
    policy: "user-namespace-walls",
    message:
      /^demo-shop\/any-name egress\[0\] admits the internet \(203\.0\.113\.10\) on TCP\/443 \(resolved from wall-probe\.example\): through toFQDNs\[0\] \(fqdn matchPattern \*\)\. Why:/,
    breaks: null,
  },
  {
    invariant: 7,
    mutation: "a user CNP whose egress names only port 443 (no peer: every peer)",
    edit: userCnp("out-443", {
      description: "d",
      endpointSelector: {},
      egress: [{ toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }] }],
    }),
    policy: "user-namespace-walls",
    message:
      /^demo-shop\/out-443 egress\[0\] admits the internet \(203\.0\.113\.10\) on TCP\/443: a rule without peers admits every peer; it also admits pods of other namespaces, its own node, other nodes, the kube-apiserver\. Why:/,
    breaks: null,
  },
  {
    invariant: 7,
    mutation: "a user CNP with toServices naming another namespace's Service",
    edit: userCnp("to-batch-api", {
      description: "d",
      endpointSelector: {},
      egress: [{ toServices: [{ k8sService: { serviceName: "api", namespace: "demo-batch" } }] }],
    }),
    policy: "user-namespace-walls",
    message:
      /^demo-shop\/to-batch-api egress\[0\] admits a pod of namespace demo-batch labelled app\.kubernetes\.io\/name=castle-wall-probe-backend on TCP\/1: through toServices\[0\] \(service demo-batch\/api \(endpoints \{k8s:io\.kubernetes\.pod\.namespace=demo-batch, k8s:app\.kubernetes\.io\/name=castle-wall-probe-backend\}\)\); it also admits the internet\. Why:/,
    breaks: null,
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
    breaks: null,
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
    breaks: null,
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
    breaks: null,
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
      /^global-infra-cilium-health selects the pods of every namespace \(endpointSelector: \{\}\) and its ingress\[2\] admits world\. Why: that opens every pod/,
    breaks: EXPOSED,
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
    breaks: EXPOSED,
  },
  {
    invariant: 8,
    mutation: "a CCNP selecting every namespace's pods without {} (namespace Exists) opened to world",
    edit: (dev) =>
      addPolicy(dev, {
        parentType: "castle:policy:InfraLayer",
        kind: "CiliumClusterwideNetworkPolicy",
        name: "every-namespace",
        spec: {
          description: "d",
          endpointSelector: {
            matchExpressions: [{ key: "k8s:io.kubernetes.pod.namespace", operator: "Exists" }],
          },
          ingress: [{ fromEntities: ["world"], toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }] }] }],
        },
      }),
    policy: "clusterwide-no-world-ingress",
    message:
      /^every-namespace selects the pods of every namespace \(endpointSelector: \{"matchExpressions":\[\{"key":"k8s:io\.kubernetes\.pod\.namespace","operator":"Exists"\}\]\}\) and its ingress\[0\] admits world\. Why:/,
    breaks: EXPOSED,
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
    breaks: null,
  },
  {
    invariant: 9,
    mutation: "the CRD gate removed",
    edit: (dev) => removeResource(dev, (r) => r.name.endsWith("-crd-gate"), "gate"),
    policy: "cilium-policies-after-crd-gate",
    message: /does not depend on the Cilium CRD gate \(the stack has none\)/,
    breaks: null,
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
    breaks: null,
  },
];

describe("policy pack: the mutation table", () => {
  let dev: Recording;
  before(async () => {
    dev = await buildStack(devRawConfig(), "dev");
  });
  // One recording per row, shared by the engine runs.
  const built = new Map<Row, Promise<Recording>>();
  const mutated = (row: Row): Promise<Recording> => {
    if (!built.has(row))
      built.set(
        row,
        row.config
          ? buildStack({ ...devRawConfig(), ...row.config }, "dev").then((rec) =>
              row.edit ? row.edit(rec) : rec,
            )
          : Promise.resolve(row.edit!(dev)),
      );
    return built.get(row)!;
  };

  it("has a row for every invariant", () => {
    assert.deepEqual(
      [...new Set(TABLE.map((r) => r.invariant))].sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
  });

  // Each row in every run of the engine: what a stack policy is fed differs ({} in a new kind stack's
  // preview, live objects after apply, unknowns in previews); the verdict must not.
  for (const engine of ENGINE_RUNS) {
    for (const row of TABLE) {
      it(`${engine}, invariant ${row.invariant}: ${row.mutation}`, async () => {
        const violations: Violation[] = await runPack(policies, await mutated(row), {}, "advisory", {
          engine,
        });
        const hits = violations.filter((v) => v.policy === row.policy && row.message.test(v.message));
        assert.ok(
          hits.length > 0,
          `expected ${row.policy} /${row.message.source}/, got:\n${violations.map((v) => `  [${v.level}] ${v.policy}: ${v.message}`).join("\n")}`,
        );
        for (const h of hits) assert.equal(h.level, row.level ?? "mandatory");
      });
    }
  }

  for (const row of TABLE) {
    it(`castle check, invariant ${row.invariant}: ${row.mutation} ${row.breaks ? `breaks "${row.breaks}"` : "keeps every property"}`, async () => {
      const rec = await mutated(row);
      const inputs = fromObjects(
        stackObjects(rec.resources.map((r) => ({ type: r.type, props: r.inputs }))),
        "mutated dev",
      );
      const broken = checkCastle(inputs)
        .filter((r) => !r.holds)
        .map((r) => r.property);
      if (row.breaks)
        assert.ok(broken.includes(row.breaks), `expected "${row.breaks}" broken, got [${broken.join("; ")}]`);
      else assert.deepEqual(broken, []);
    });
  }

  for (const engine of ENGINE_RUNS) {
    it(`${engine}: the unmutated dev stack is clean (so every row's violation comes from its mutation)`, async () => {
      assert.deepEqual(
        await runPack(
          policies,
          withResources(dev, () => undefined),
          {},
          "advisory",
          { engine },
        ),
        [],
      );
    });
  }
});
