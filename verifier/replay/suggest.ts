// The rule `castle replay` suggests for each would-drop group: one Cilium policy per dropping direction
// (ingress at the destination, egress at the source), placed in the layer that should allow it, with notes
// where the suggestion needs a human: deny rules no allow rule overrides, what the policy pack would refuse
// (user-namespace-walls, no-open-ssh), selectors that match more than the flows seen. The suggestions are
// only printed, never applied.

import * as YAML from "yaml";
import {
  CONTROL_PLANE_ROLE_LABEL,
  INFRA_ROLE_LABEL,
  K8S_POD_NAMESPACE_LABEL,
  LAYER_LABEL,
} from "../../vocabulary/labels";
import { SSH } from "../../vocabulary/ports";
import type {
  CiliumPolicyObject,
  Direction,
  EgressRule,
  IngressRule,
  LabelSelector,
  PolicyEngine,
  Rule,
  TopologyNode,
} from "../engine";
import type { CastleInputs } from "../objects";
import { type GroupAcc, MAX_PEERS } from "./aggregate";
import type { EpInfo } from "./endpoints";
import type { ReplayLayer, ReplaySuggestion } from "./types";

/**
 * Suggests the rules of one report. Names are unique per kind and namespace across the report, so that
 * applying every suggestion adds every policy: ask in the report's order.
 */
export class Suggester {
  private readonly usedNames = new Set<string>();

  constructor(
    private readonly engine: PolicyEngine,
    private readonly inputs: CastleInputs,
  ) {}

  /** The rule for one group: a policy per dropping direction an allow rule can fix, and the notes. */
  suggest(g: GroupAcc, directions: Direction[]): ReplaySuggestion {
    const notes: string[] = [];
    const policies: CiliumPolicyObject[] = [];
    const what = `${g.src.cls} to reach ${g.dst.cls} on ${g.portText}`;
    const description = `Allow ${what} (castle replay: ${g.count} flow${g.count === 1 ? "" : "s"} seen by Hubble)`;
    if (g.deniedBy.size > 0) {
      notes.push(
        `deny rules drop it (${[...g.deniedBy].sort().join(", ")}): deny wins over allow, so no allow rule fixes it; change those policies if the flow is wanted`,
      );
    }
    for (const d of directions) {
      if (g.deniedDirections.has(d)) continue;
      const subject = d === "ingress" ? g.dst : g.src;
      const peer = d === "ingress" ? g.src : g.dst;
      const layer = subject.kind === "host" ? "node" : (subject.layer ?? "user");
      const sectionRule =
        d === "ingress"
          ? this.ingressRule(g, peer, subject, notes)
          : this.egressRule(g, peer, subject, notes);
      const spec: Rule & { description: string } = {
        description: `${description}: ${d} at ${subject.cls}`,
        ...(subject.kind === "host"
          ? { nodeSelector: this.nodeSelector(subject, notes) }
          : { endpointSelector: this.podSelector(subject, false) }),
        ...(d === "ingress"
          ? { ingress: [sectionRule as IngressRule] }
          : { egress: [sectionRule as EgressRule] }),
      };
      const base = policyName(g, d, directions.length > 1);
      const scope = subject.kind === "host" ? "" : (subject.namespace as string);
      let name = base;
      for (let i = 2; this.usedNames.has(`${scope}/${name}`); i++)
        name = `${base.slice(0, 60 - String(i).length).replace(/-+$/, "")}-${i}`;
      this.usedNames.add(`${scope}/${name}`);
      policies.push(
        subject.kind === "host"
          ? {
              apiVersion: "cilium.io/v2",
              kind: "CiliumClusterwideNetworkPolicy",
              metadata: { name, labels: { [LAYER_LABEL]: layer } },
              spec,
            }
          : {
              apiVersion: "cilium.io/v2",
              kind: "CiliumNetworkPolicy",
              metadata: { name, namespace: subject.namespace, labels: { [LAYER_LABEL]: layer } },
              spec,
            },
      );
      this.layerNotes(g, d, subject, peer, layer, notes);
    }
    if (g.port === 0 && (g.protocol === "TCP" || g.protocol === "UDP" || g.protocol === "SCTP")) {
      notes.push(`Hubble printed no destination port: port "0" opens every ${g.protocol} port; narrow it`);
    }
    return {
      description: `Allow ${what}`,
      policies,
      yaml: policies.map((p) => YAML.stringify(p, { lineWidth: 0 })).join("---\n"),
      notes: [...new Set(notes)],
    };
  }

  private l4(g: GroupAcc): Pick<IngressRule, "toPorts" | "icmps"> {
    if (g.protocol === "ICMP" || g.protocol === "ICMPv6") {
      return {
        icmps: [{ fields: [{ type: g.icmpType ?? 0, family: g.protocol === "ICMP" ? "IPv4" : "IPv6" }] }],
      };
    }
    const rules =
      g.dnsProxyRefused && g.dnsQuery !== undefined ? { rules: { dns: [{ matchName: g.dnsQuery }] } } : {};
    return { toPorts: [{ ports: [{ port: String(g.port ?? 0), protocol: g.protocol }], ...rules }] };
  }

  private podSelector(e: EpInfo, withNamespace: boolean): LabelSelector {
    const matchLabels: Record<string, string> = {};
    for (const [k, v] of Object.entries(e.classLabels ?? {})) matchLabels[`k8s:${k}`] = v;
    if (withNamespace) matchLabels[K8S_POD_NAMESPACE_LABEL] = e.namespace ?? "default";
    return Object.keys(matchLabels).length > 0 ? { matchLabels } : {};
  }

  private nodeSelector(host: EpInfo, notes: string[]): LabelSelector {
    const node = this.inputs.topology.nodes.find((n) => n.name === host.node) as TopologyNode;
    if (node.role === "control-plane") return { matchLabels: { [CONTROL_PLANE_ROLE_LABEL]: "" } };
    if (node.role === "infra") return { matchLabels: { [INFRA_ROLE_LABEL]: "" } };
    notes.push("the nodeSelector selects every worker node (neither control-plane nor infra)");
    return {
      matchExpressions: [
        { key: CONTROL_PLANE_ROLE_LABEL, operator: "DoesNotExist" },
        { key: INFRA_ROLE_LABEL, operator: "DoesNotExist" },
      ],
    };
  }

  /** The entity a host peer is to the subject's agent: host (same node), kube-apiserver, remote-node. */
  private hostEntity(peer: EpInfo, subject: EpInfo): string {
    const labels = this.engine.identityLabels(peer.id, subject.node);
    if (labels.includes("reserved:host")) return "host";
    if (labels.includes("reserved:kube-apiserver")) return "kube-apiserver";
    return "remote-node";
  }

  private worldPeer(
    notes: string[],
    ips: Set<string>,
    ipsIncomplete: boolean,
    names?: Set<string>,
    namesIncomplete = true,
  ): { cidrs?: string[]; fqdns?: string[]; entities?: string[] } {
    if (names && names.size > 0 && !namesIncomplete) {
      // Every flow carried a destination name: toFQDNs (the castle's global-infra-dns sends DNS through the
      // proxy, which is what makes toFQDNs work).
      return { fqdns: [...names].sort() };
    }
    if (ips.size > 0 && !ipsIncomplete) {
      return { cidrs: [...ips].sort().map((ip) => `${ip}/${ip.includes(":") ? 128 : 32}`) };
    }
    notes.push(
      `more than ${MAX_PEERS} (or address-less) world peers: the rule uses the world entity; narrow it to CIDRs or FQDNs`,
    );
    return { entities: ["world"] };
  }

  private ingressRule(g: GroupAcc, peer: EpInfo, subject: EpInfo, notes: string[]): IngressRule {
    const rule: IngressRule = {};
    if (peer.kind === "pod") rule.fromEndpoints = [this.podSelector(peer, true)];
    else if (peer.kind === "host") rule.fromEntities = [this.hostEntity(peer, subject)];
    else {
      const w = this.worldPeer(notes, g.srcIps, g.srcIpsIncomplete);
      if (w.cidrs) rule.fromCIDR = w.cidrs;
      else rule.fromEntities = w.entities;
    }
    return { ...rule, ...this.l4(g) };
  }

  private egressRule(g: GroupAcc, peer: EpInfo, subject: EpInfo, notes: string[]): EgressRule {
    const rule: EgressRule = {};
    if (peer.kind === "pod") rule.toEndpoints = [this.podSelector(peer, true)];
    else if (peer.kind === "host") rule.toEntities = [this.hostEntity(peer, subject)];
    else {
      const w = this.worldPeer(notes, g.dstIps, g.dstIpsIncomplete, g.dnsNames, g.dnsNamesIncomplete);
      if (w.fqdns) rule.toFQDNs = w.fqdns.map((n) => ({ matchName: n.replace(/\.$/, "") }));
      else if (w.cidrs) rule.toCIDR = w.cidrs;
      else rule.toEntities = w.entities;
    }
    return { ...rule, ...this.l4(g) };
  }

  private layerNotes(
    g: GroupAcc,
    d: Direction,
    subject: EpInfo,
    peer: EpInfo,
    layer: ReplayLayer,
    notes: string[],
  ): void {
    if (subject.kind === "pod") {
      const ns = subject.namespace as string;
      if (!subject.nsKnown) {
        notes.push(
          `namespace ${ns} is not in ${this.inputs.source}: onboard it (userNamespaces) to get its allow-within-namespace, or give it an infra role`,
        );
      }
      if (Object.keys(subject.classLabels ?? {}).length === 0) {
        notes.push(
          `Hubble reported no labels for pods in ${ns}: the selector matches every pod of the namespace; narrow it`,
        );
      }
      if (layer === "user") {
        const crossNs = peer.kind === "pod" && peer.namespace !== ns;
        if (peer.kind !== "pod" || crossNs) {
          notes.push(
            `the policy pack's user-namespace-walls refuses ${peer.kind === "pod" ? "selectors reaching other namespaces" : peer.kind === "world" ? "CIDR, FQDN and entity peers" : "entity peers"} in user namespace policies: if the path is wanted it belongs to the infra layer (an infra role), otherwise it stays dropped`,
          );
        }
      }
      if (layer === "infra") {
        notes.push(
          "infra paths are infra roles in the castle (cilium-castle:infraRoles): make it a role entry if it is permanent",
        );
      }
    } else {
      notes.push(
        "host policies belong to the node layer (components/layers/node), which records the audit-mode annotation the policy pack checks",
      );
      if (d === "ingress" && g.protocol === "TCP" && g.port === SSH) {
        notes.push(
          "the policy pack's no-open-ssh refuses SSH from outside the jumphost CIDRs: if the source is a jumphost, add it to cilium-castle:jumphostCidrs instead",
        );
      }
    }
    if (peer.kind === "pod" && Object.keys(peer.classLabels ?? {}).length === 0 && d !== "ingress") {
      notes.push(
        `Hubble reported no labels for pods in ${peer.namespace}: the peer selector matches every pod of the namespace`,
      );
    }
  }
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

function shortName(e: EpInfo): string {
  if (e.kind === "pod") {
    const v = Object.values(e.classLabels ?? {});
    return v.length > 0 ? v[0] : (e.namespace ?? "pods");
  }
  return e.cls.replace(/^host /, "");
}

/** A DNS-label-safe policy name, at most 63 characters. */
function policyName(g: GroupAcc, d: Direction, both: boolean): string {
  const port =
    g.protocol === "ICMP" || g.protocol === "ICMPv6"
      ? `${g.protocol}-${g.icmpType ?? 0}`
      : `${g.port ?? 0}-${g.protocol}`;
  const base = slug(`replay ${shortName(g.src)} to ${shortName(g.dst)} ${port}${both ? ` ${d}` : ""}`);
  if (base.length <= 63) return base;
  let h = 0;
  for (const c of g.key + d) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  return `${base.slice(0, 54).replace(/-+$/, "")}-${h.toString(16).padStart(8, "0")}`;
}
