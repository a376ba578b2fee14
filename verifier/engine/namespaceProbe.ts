// One namespace, asked of the engine on its own: do the namespace's CiliumNetworkPolicies, without any
// cluster-wide policy, let any two of its pods talk, both ways? The policy pack asks it of every namespace
// of the stack (the castle's allow-within-namespace is one policy that does), without a reading of Cilium
// of its own.
//
// The question is what the namespace's own policies open: the castle's cluster-wide policies switch default
// deny on for every pod, so a flow counts as open only when a rule of the namespace's policies allows it,
// on the egress side of the sending pod and on the ingress side of the receiving one. A flow that is
// allowed only because nothing selects the pod (default allow), or because the rules selecting it set
// enableDefaultDeny to false, is not opened by them. A deny of the namespace's policies closes it, as it
// does in the agent (deny wins over every allow).
//
// The probe pods carry labels no policy expects, and the answer must not depend on them: every selector of
// the namespace's policies is a place where a label could make a difference, so the pods are tried bare,
// with each key a selector names set to each value it names, with the key set to a value no selector
// names, and with each service account a selector names (and one none names); every pair of these, both
// ways. A namespace that is open for some pods only (a selector on `app`, a DoesNotExist) is not open.

import { NAMESPACE_NAME_LABEL, POD_NAMESPACE_LABEL } from "../../vocabulary/labels";
import { policyRef } from "./compile";
import { PolicyEngine } from "./engine";
import {
  POD_NAMESPACE_META_LABELS_PREFIX,
  POLICY_LABEL_CLUSTER,
  POLICY_LABEL_SERVICEACCOUNT,
  SOURCE_ANY,
  SOURCE_K8S,
} from "./labels";
import { listOf, probeNode } from "./probeNodes";
import { EndpointSelector, SelectorError } from "./selectors";
import type {
  CiliumPolicyObject,
  Direction,
  DirectionResult,
  FlowProtocol,
  LabelSelector,
  PolicyRef,
  Rule,
  Topology,
} from "./types";

/** A port to probe. */
export interface NamespacePortProbe {
  protocol: FlowProtocol;
  port: number;
}

/**
 * The ports every namespace is probed on: the lowest and the highest TCP and UDP port. A namespace whose
 * policies open only some ports (a toPorts list, a range) misses one of them or one of the ports and
 * range edges its policies name, which callers add (verifier/probePoints.ts). ICMP is not asked: "pods can
 * talk" is about connections, and toPorts with protocol ANY (every port) does not cover ICMP in Cilium
 * (pkg/policy/rule.go mergeIngress / mergeEgress: `if p.Protocol.IsAny()` -> TCP, UDP and SCTP).
 */
export const NAMESPACE_PROBE_PORTS: readonly NamespacePortProbe[] = Object.freeze([
  { protocol: "TCP", port: 1 },
  { protocol: "TCP", port: 65535 },
  { protocol: "UDP", port: 1 },
  { protocol: "UDP", port: 65535 },
]);

/** A probe pod as a message can describe it. */
export interface NamespaceProbePod {
  /** Its Kubernetes labels ({} for the bare pod). */
  labels: Record<string, string>;
  serviceAccount: string;
}

/** The first flow of one direction that the namespace's policies do not open. */
export interface NamespaceGap {
  direction: Direction;
  from: NamespaceProbePod;
  to: NamespaceProbePod;
  protocol: FlowProtocol;
  port: number;
  /** The engine's reason for that side of the flow. */
  reason: string;
  /** The namespace's policies whose deny rules drop it (empty when no rule allows it). */
  deniedBy: PolicyRef[];
  /** Whether the engine allows the flow only by default, with no rule of the namespace's policies. */
  byDefaultOnly: boolean;
  /** How many probed flows this direction does not open, this one included. */
  closedFlows: number;
}

export interface NamespaceProbeResult {
  namespace: string;
  /** The namespace's CiliumNetworkPolicies the probe evaluated. */
  policies: PolicyRef[];
  /** Those the API server or the agent would refuse: they take no effect. */
  refused: { ref: PolicyRef; reason: string; by: "api-server" | "agent" }[];
  /** Every probed flow is opened on both sides. */
  open: boolean;
  /** The first gap of each direction that has one (egress first). */
  gaps: NamespaceGap[];
  /** How many flows were probed. */
  probedFlows: number;
}

/** The CiliumNetworkPolicies of a namespace, as the engine places them (no namespace means "default"). */
export function namespacePoliciesOf(policies: CiliumPolicyObject[], namespace: string): CiliumPolicyObject[] {
  return policies.filter((p) => p.kind === "CiliumNetworkPolicy" && policyRef(p).namespace === namespace);
}

const PEER_FIELDS: Record<"ingress" | "ingressDeny" | "egress" | "egressDeny", string[]> = {
  ingress: ["fromEndpoints", "fromRequires"],
  ingressDeny: ["fromEndpoints", "fromRequires"],
  egress: ["toEndpoints", "toRequires"],
  egressDeny: ["toEndpoints", "toRequires"],
};

/** Every label selector a policy's rules match pods with: subjects and endpoint peers. */
function selectorsOf(p: CiliumPolicyObject): LabelSelector[] {
  const rules: Rule[] = [...(p.spec ? [p.spec] : []), ...(Array.isArray(p.specs) ? p.specs : [])];
  const out: LabelSelector[] = [];
  for (const rule of rules) {
    if (rule?.endpointSelector) out.push(rule.endpointSelector);
    for (const [section, fields] of Object.entries(PEER_FIELDS)) {
      for (const entry of listOf((rule as Record<string, unknown>)?.[section])) {
        for (const f of fields)
          for (const s of listOf((entry as Record<string, unknown>)?.[f])) out.push(s as LabelSelector);
      }
    }
  }
  return out;
}

/** A value no selector names, for a key that selectors name (also a name for a probe's fresh namespace). */
export function freshValue(named: ReadonlySet<string>, base = "castle-namespace-probe"): string {
  let v = base;
  while (named.has(v)) v += "-x";
  return v;
}

/**
 * The probe pods' variants: bare, and one label or service account at a time, from what the selectors of
 * the namespace's policies name. Keys the agent derives for every pod of the namespace alike (its
 * namespace, the namespace's labels, the cluster: pkg/k8s/utils/utils.go GetPodMetadata) are not varied:
 * they are the same for any two pods of the namespace. Keys of other sources (reserved:, cidr:) never
 * name a pod label.
 */
function podVariants(policies: CiliumPolicyObject[]): NamespaceProbePod[] {
  const values = new Map<string, Set<string>>();
  const accounts = new Set<string>();
  for (const p of policies) {
    for (const sel of selectorsOf(p)) {
      let parsed: EndpointSelector;
      try {
        parsed = EndpointSelector.fromK8s(sel);
      } catch (e) {
        // The agent refuses the policy (the engine says so): it selects nothing.
        if (e instanceof SelectorError) continue;
        throw e;
      }
      for (const r of parsed.requirements) {
        if (r.source !== SOURCE_ANY && r.source !== SOURCE_K8S) continue;
        if (r.key === POLICY_LABEL_SERVICEACCOUNT) {
          for (const v of r.values) accounts.add(v);
          continue;
        }
        if (
          r.key === POD_NAMESPACE_LABEL ||
          r.key === POLICY_LABEL_CLUSTER ||
          r.key.startsWith(POD_NAMESPACE_META_LABELS_PREFIX)
        )
          continue;
        const set = values.get(r.key) ?? new Set<string>();
        for (const v of r.values) set.add(v);
        values.set(r.key, set);
      }
    }
  }
  const bare: NamespaceProbePod = { labels: {}, serviceAccount: "default" };
  const out: NamespaceProbePod[] = [bare];
  for (const [key, named] of [...values].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const v of [...named].sort()) out.push({ labels: { [key]: v }, serviceAccount: "default" });
    out.push({ labels: { [key]: freshValue(named) }, serviceAccount: "default" });
  }
  accounts.delete("default");
  for (const a of [...accounts].sort()) out.push({ labels: {}, serviceAccount: a });
  if (accounts.size > 0) out.push({ labels: {}, serviceAccount: freshValue(accounts) });
  return out;
}

const NODE_A = "namespace-probe-node-a";
const NODE_B = "namespace-probe-node-b";
const CONTROL_PLANE = "namespace-probe-control-plane";

/** Pod ids: `<namespace>/probe-a` for the bare pod on node A, `<namespace>/probe-b-3` for variant 3 on B. */
const podId = (namespace: string, side: "a" | "b", i: number): string =>
  `${namespace}/probe-${side}${i === 0 ? "" : `-${i}`}`;

function probeTopology(namespace: string, variants: NamespaceProbePod[]): Topology {
  // Addresses in 198.18.0.0/15 (RFC 2544, benchmarking): room for any number of variants, and no
  // address a policy of the castle names. Pod addresses never match CIDR selectors anyway.
  const ip = (n: number): string =>
    `198.${18 + Math.floor(n / 65536)}.${Math.floor(n / 256) % 256}.${n % 256}`;
  return {
    nodes: [
      probeNode(CONTROL_PLANE, "control-plane", ip(1)),
      probeNode(NODE_A, "worker", ip(2)),
      probeNode(NODE_B, "worker", ip(3)),
    ],
    pods: variants.flatMap((v, i) =>
      (["a", "b"] as const).map((side, s) => ({
        id: podId(namespace, side, i),
        kind: "pod" as const,
        namespace,
        labels: v.labels,
        namespaceLabels: { [NAMESPACE_NAME_LABEL]: namespace },
        serviceAccount: v.serviceAccount,
        node: side === "a" ? NODE_A : NODE_B,
        ips: [ip(256 + 2 * i + s)],
      })),
    ),
    externals: [],
  };
}

/** Whether a rule of the evaluated policies opens this side, and if not, why. */
function opened(r: DirectionResult): { open: boolean; byDefaultOnly: boolean; reason: string } {
  if (r.allowed && r.allowedBy.length > 0) return { open: true, byDefaultOnly: false, reason: r.reason };
  if (r.allowed)
    return {
      open: false,
      byDefaultOnly: true,
      reason: `allowed only by default, not by a rule (${r.reason})`,
    };
  return { open: false, byDefaultOnly: false, reason: r.reason };
}

/**
 * Asks the engine whether the CiliumNetworkPolicies of `namespace` among `policies` (cluster-wide ones and
 * other namespaces' are left out) open every probed flow between two of its pods, on both sides. `ports`
 * are probed besides NAMESPACE_PROBE_PORTS. The probe is enforced (audit mode off) with native routing:
 * the tunnel port's datapath drop (DROP_ENCAP_PROHIBITED) is no policy's doing.
 */
export function probeNamespace(
  policies: CiliumPolicyObject[],
  namespace: string,
  ports: readonly NamespacePortProbe[] = [],
): NamespaceProbeResult {
  const own = namespacePoliciesOf(policies, namespace);
  const variants = podVariants(own);
  const engine = new PolicyEngine(own, probeTopology(namespace, variants), {
    auditMode: false,
    routingMode: "native",
  });
  const probes = new Map<string, NamespacePortProbe>();
  for (const p of [...NAMESPACE_PROBE_PORTS, ...ports]) probes.set(`${p.protocol}/${p.port}`, p);

  const gaps = new Map<Direction, NamespaceGap>();
  let probedFlows = 0;
  // Every ordered pair of variants, the sender on node A: a pair and its reverse are both in the list,
  // so every two variants are asked both ways.
  for (let i = 0; i < variants.length; i++) {
    for (let j = 0; j < variants.length; j++) {
      for (const p of probes.values()) {
        probedFlows++;
        const v = engine.evaluate({
          from: podId(namespace, "a", i),
          to: podId(namespace, "b", j),
          protocol: p.protocol,
          port: p.port,
        });
        for (const direction of ["egress", "ingress"] as const) {
          const side = v[direction];
          const o = opened(side);
          if (o.open) continue;
          const gap = gaps.get(direction);
          if (gap) gap.closedFlows++;
          else
            gaps.set(direction, {
              direction,
              from: variants[i],
              to: variants[j],
              protocol: p.protocol,
              port: p.port,
              reason: o.reason,
              deniedBy: [...side.deniedBy],
              byDefaultOnly: o.byDefaultOnly,
              closedFlows: 1,
            });
        }
      }
    }
  }
  const refused = engine.rejected.map((r) => ({ ref: r.ref, reason: r.reason, by: r.by }));
  return {
    namespace,
    policies: own.map(policyRef),
    refused,
    open: gaps.size === 0,
    gaps: (["egress", "ingress"] as const).flatMap((d) => (gaps.has(d) ? [gaps.get(d) as NamespaceGap] : [])),
    probedFlows,
  };
}
