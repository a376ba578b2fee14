// Which of an ingress rule's peers open it, asked of the engine one peer entry at a time, so a message
// can name the entity or CIDR at fault. Whether the rule admits a flow at all is always asked of the whole
// rule first: splitting it only attributes what the engine already said.

import { parseCidr } from "../lib/net/cidr";
import type { FlowProtocol, IngressRule } from "../verifier/engine";
import { probeIngressRules, ProbePeer } from "../verifier/engine/ruleProbe";
import { cidrEdges } from "../verifier/probePoints";
import type { Obj } from "./lib";

/** An address on the internet for probes (TEST-NET-3, RFC 5737): outside every cluster and jumphost. */
export const INTERNET_PROBE_IP = "203.0.113.10";

export interface PeerEntry {
  /** How a message names it: `entity world`, or the CIDR as written. */
  text: string;
  /** Just the CIDR, for CIDR entries. */
  cidr?: string;
  /** The rule with this one peer and the rule's ports. */
  rule: IngressRule;
}

const l4 = (r: Obj): Pick<IngressRule, "toPorts" | "icmps"> => ({
  ...(r.toPorts !== undefined ? { toPorts: r.toPorts } : {}),
  ...(r.icmps !== undefined ? { icmps: r.icmps } : {}),
});

/** The rule's entity and CIDR peers, each alone with the rule's ports. */
export function peerEntries(r: Obj): PeerEntry[] {
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  return [
    ...list(r.fromEntities).map((e) => ({
      text: `entity ${String(e)}`,
      rule: { fromEntities: [String(e)], ...l4(r) },
    })),
    ...list(r.fromCIDR).map((c) => ({
      text: String(c),
      cidr: String(c),
      rule: { fromCIDR: [String(c)], ...l4(r) },
    })),
    ...list(r.fromCIDRSet).map((s) => ({
      text: String((s as Obj).cidr),
      cidr: String((s as Obj).cidr),
      rule: { fromCIDRSet: [s as NonNullable<IngressRule["fromCIDRSet"]>[number]], ...l4(r) },
    })),
  ];
}

/** The addresses inside a CIDR as written (bare addresses are /32 or /128) that a probe should try. */
export function addressesOf(cidr: string): string[] {
  const c = parseCidr(cidr.includes("/") ? cidr : `${cidr}/${cidr.includes(":") ? 128 : 32}`);
  if (!c.ok) return [];
  return cidrEdges(c.canonical)
    .filter((a) => a.why.startsWith("first") || a.why.startsWith("last"))
    .map((a) => a.ip);
}

export interface Probe {
  peer: ProbePeer;
  protocol: FlowProtocol;
  port?: number;
}

/** Whether the rule (on the given subject) admits any of the probes, as the engine evaluates it. */
export function admitsAny(subject: "host" | "pod", rule: IngressRule, probes: Probe[]): boolean {
  return probeIngressRules(probes.map((p) => ({ subject, rule, ...p }))).some((r) => r.admitted);
}
