// One rule, asked of the engine on its own: does this ingress rule admit a connection from a given peer to
// a given port? The policy pack asks it to say which rule of a policy opens SSH or the whole cluster to the
// outside, and which of the rule's peers does, without a reading of Cilium of its own.
//
// The rule is put alone into a policy whose subject selector selects the probe's subject (a host for a
// host rule, a pod otherwise): which endpoints a rule applies to is a separate question from what it admits,
// and a rule's peers and ports mean the same on every endpoint it selects. The probe is enforced (audit mode
// off), with the host firewall on.

import { PolicyEngine } from "./engine";
import { probeNode } from "./probeNodes";
import type { CiliumPolicyObject, FlowProtocol, IngressRule, Topology } from "./types";

/** A peer of the probe: an outside address, or one of the cluster's own entities. */
export type ProbePeer =
  { ip: string } | { entity: "kube-apiserver" | "remote-node" | "host" | "cluster-pod" };

export interface RuleProbe {
  /** The rule's subject: a node's host endpoint (a rule with nodeSelector) or a pod. */
  subject: "host" | "pod";
  rule: IngressRule;
  peer: ProbePeer;
  protocol: FlowProtocol;
  port?: number;
}

export interface RuleProbeResult {
  admitted: boolean;
  /** The engine's reason: the rule that admitted, or why nothing did (including a refused rule). */
  reason: string;
}

const SUBJECT_NODE = "probe-node";
const PEER_NODE = "probe-peer-node";
const CONTROL_PLANE = "probe-control-plane";
const SUBJECT_POD = "pod:probe/subject";
const PEER_POD = "pod:probe-peer/peer";

function probeTopology(ips: string[]): Topology {
  const pod = (id: string, namespace: string, nodeName: string, ip: string): Topology["pods"][number] => ({
    id,
    kind: "pod",
    namespace,
    labels: { app: id.split("/")[1] },
    namespaceLabels: { "kubernetes.io/metadata.name": namespace },
    node: nodeName,
    ips: [ip],
  });
  return {
    // Addresses in TEST-NET-2 (RFC 5737): never one a caller probes as the outside.
    nodes: [
      probeNode(CONTROL_PLANE, "control-plane", "198.51.100.1"),
      probeNode(SUBJECT_NODE, "worker", "198.51.100.2"),
      probeNode(PEER_NODE, "worker", "198.51.100.3"),
    ],
    pods: [
      pod(SUBJECT_POD, "probe", SUBJECT_NODE, "198.51.100.10"),
      pod(PEER_POD, "probe-peer", PEER_NODE, "198.51.100.11"),
    ],
    externals: ips.map((ip, i) => ({ id: `outside-${i}`, ip })),
  };
}

function probePolicy(subject: RuleProbe["subject"], rule: IngressRule): CiliumPolicyObject {
  return {
    apiVersion: "cilium.io/v2",
    kind: "CiliumClusterwideNetworkPolicy",
    metadata: { name: "rule-probe" },
    spec:
      subject === "host" ? { nodeSelector: {}, ingress: [rule] } : { endpointSelector: {}, ingress: [rule] },
  };
}

/** Asks the engine about each probe; probes of one rule and subject share one engine. */
export function probeIngressRules(probes: RuleProbe[]): RuleProbeResult[] {
  const engines = new Map<string, PolicyEngine>();
  const ips = [...new Set(probes.flatMap((p) => ("ip" in p.peer ? [p.peer.ip] : [])))];
  const topology = probeTopology(ips);
  return probes.map((p) => {
    const key = `${p.subject} ${JSON.stringify(p.rule)}`;
    let engine = engines.get(key);
    if (!engine) {
      engine = new PolicyEngine([probePolicy(p.subject, p.rule)], topology, { auditMode: false });
      engines.set(key, engine);
    }
    if (engine.rejected.length > 0) return { admitted: false, reason: engine.rejected[0].reason };
    const to = p.subject === "host" ? SUBJECT_NODE : SUBJECT_POD;
    const from =
      "ip" in p.peer
        ? `outside-${ips.indexOf(p.peer.ip)}`
        : {
            "kube-apiserver": CONTROL_PLANE,
            "remote-node": PEER_NODE,
            host: SUBJECT_NODE,
            "cluster-pod": PEER_POD,
          }[p.peer.entity];
    const v = engine.evaluate({ from, to, protocol: p.protocol, port: p.port });
    return { admitted: v.ingress.allowed, reason: v.ingress.reason };
  });
}

export function probeIngressRule(probe: RuleProbe): RuleProbeResult {
  return probeIngressRules([probe])[0];
}
