// What `castle replay` keeps of a capture: the totals (every line counted once, by kind and by Hubble's
// verdict) and the would-drop groups, one per (source class, destination class, port), each with its count,
// first and last time, Hubble's verdicts, the engine's reasons and a few sample pods and peers. Memory is
// bounded by the number of groups, never by the number of lines. The groups become the report's
// ReplayGroups here, each with the rule suggest.ts proposes.

import type { Direction, FlowProtocol, PolicyRef, Verdict } from "../engine";
import type { ReplayFlow } from "../hubble";
import type { EpInfo } from "./endpoints";
import type { ReplayGroup, ReplayLayer, ReplaySuggestion, ReplayTotals } from "./types";

/** Sample pod names kept per side of a group, and engine reasons kept per group. */
const MAX_SAMPLES = 3;
/** World addresses and DNS names kept per side of a group: with more, a suggestion names the world entity. */
export const MAX_PEERS = 10;

/** A would-drop group while the capture is read. */
export interface GroupAcc {
  key: string;
  src: EpInfo;
  dst: EpInfo;
  protocol: FlowProtocol;
  port?: number;
  icmpType?: number;
  portText: string;
  count: number;
  firstMs: number;
  lastMs: number;
  first?: string;
  last?: string;
  directions: Set<Direction>;
  hubble: Record<string, number>;
  deniedBy: Set<string>;
  /** Directions dropped by deny rules (an allow rule cannot fix them). */
  deniedDirections: Set<Direction>;
  reasons: Set<string>;
  dnsQuery?: string;
  dnsProxyRefused: boolean;
  srcPods: Set<string>;
  dstPods: Set<string>;
  srcIps: Set<string>;
  dstIps: Set<string>;
  dnsNames: Set<string>;
  /** A world peer without address / name, or more than MAX_PEERS of them. */
  srcIpsIncomplete: boolean;
  dstIpsIncomplete: boolean;
  dnsNamesIncomplete: boolean;
}

export function newTotals(): ReplayTotals {
  return {
    linesRead: 0,
    blankLines: 0,
    invalidLines: 0,
    events: {},
    flows: 0,
    replies: 0,
    repliesGuessed: 0,
    judged: 0,
    allowed: 0,
    wouldDrop: 0,
    skipped: 0,
    skippedByReason: {},
    hubbleVerdicts: {},
    wouldDropHubbleAudit: 0,
    wouldDropHubbleDropped: 0,
    hubbleDropsAllowed: 0,
  };
}

export function inc(m: Record<string, number>, k: string): void {
  m[k] = (m[k] ?? 0) + 1;
}

function addBounded(set: Set<string>, v: string | undefined, max: number): boolean {
  if (v === undefined) return false;
  if (set.size < max || set.has(v)) {
    set.add(v);
    return true;
  }
  return false;
}

const portText = (protocol: FlowProtocol, port?: number, icmpType?: number): string =>
  protocol === "ICMP" || protocol === "ICMPv6"
    ? `${protocol} type ${icmpType ?? 0}`
    : `${port ?? 0}/${protocol}`;

/**
 * A policy as the report names it: `namespace/name`, or `name` for a clusterwide one, as kubectl names
 * them. Not the engine's refText (verifier/engine/compile.ts), which prefixes the kind (`CNP ns/name`):
 * ReplayGroup.deniedBy and the suggestion notes use this form, and test/replay/scenario.test.ts asserts it.
 */
const policyRefName = (r: PolicyRef): string => (r.namespace ? `${r.namespace}/${r.name}` : r.name);

/** The would-drop groups of one replay. */
export class DropGroups {
  private readonly groups = new Map<string, GroupAcc>();

  /**
   * The group of a flow the engine drops, with the verdict's directions, reasons and deny rules added.
   * Called once per distinct verdict (the replayer caches them), so several verdicts can share a group.
   */
  add(f: ReplayFlow, src: EpInfo, dst: EpInfo, v: Verdict): GroupAcc {
    const pt = portText(f.protocol, f.port, f.icmpType);
    const gkey = `${src.cls}\x01${dst.cls}\x01${pt}`;
    let g = this.groups.get(gkey);
    if (!g) {
      g = {
        key: gkey,
        src,
        dst,
        protocol: f.protocol,
        port: f.port,
        icmpType: f.icmpType,
        portText: pt,
        count: 0,
        firstMs: Infinity,
        lastMs: -Infinity,
        directions: new Set(),
        hubble: {},
        deniedBy: new Set(),
        deniedDirections: new Set(),
        reasons: new Set(),
        dnsProxyRefused: false,
        srcPods: new Set(),
        dstPods: new Set(),
        srcIps: new Set(),
        dstIps: new Set(),
        dnsNames: new Set(),
        srcIpsIncomplete: false,
        dstIpsIncomplete: false,
        dnsNamesIncomplete: false,
      };
      this.groups.set(gkey, g);
    }
    for (const d of v.decidedBy) {
      g.directions.add(d);
      const r = v[d];
      if (g.reasons.size < MAX_SAMPLES) g.reasons.add(`${d}: ${r.reason}`);
      if (r.reason.startsWith("DNS proxy refused")) {
        g.dnsProxyRefused = true;
        g.dnsQuery ??= f.dnsQuery;
      } else if (r.deniedBy.length > 0) {
        g.deniedDirections.add(d);
        for (const p of r.deniedBy) g.deniedBy.add(policyRefName(p));
      }
    }
    return g;
  }

  /** Counts one would-drop flow in its group (its time, Hubble's verdict, sample pods and peers). */
  count(g: GroupAcc, f: ReplayFlow, src: EpInfo, dst: EpInfo, hv: string, dnsName: string | undefined): void {
    g.count++;
    inc(g.hubble, hv);
    if (f.time !== undefined) {
      const ms = Date.parse(f.time);
      if (!Number.isNaN(ms)) {
        if (ms < g.firstMs) {
          g.firstMs = ms;
          g.first = f.time;
        }
        if (ms > g.lastMs) {
          g.lastMs = ms;
          g.last = f.time;
        }
      }
    }
    addBounded(g.srcPods, f.src.podName, MAX_SAMPLES);
    addBounded(g.dstPods, f.dst.podName, MAX_SAMPLES);
    if (src.kind === "world" && !addBounded(g.srcIps, f.src.ip, MAX_PEERS)) g.srcIpsIncomplete = true;
    if (dst.kind === "world") {
      if (!addBounded(g.dstIps, f.dst.ip, MAX_PEERS)) g.dstIpsIncomplete = true;
      if (!addBounded(g.dnsNames, dnsName, MAX_PEERS)) g.dnsNamesIncomplete = true;
    }
  }

  /**
   * The report's groups, most flows first (ties by key, so the order is stable). `suggest` is asked in that
   * order, which is what keeps the suggested policy names the same from run to run.
   */
  report(suggest: (g: GroupAcc, directions: Direction[]) => ReplaySuggestion): ReplayGroup[] {
    return [...this.groups.values()]
      .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((g) => toReplayGroup(g, suggest));
  }
}

function toReplayGroup(
  g: GroupAcc,
  suggest: (g: GroupAcc, directions: Direction[]) => ReplaySuggestion,
): ReplayGroup {
  const directions = (["egress", "ingress"] as const).filter((d) => g.directions.has(d));
  // Ingress drops belong to the destination's layer; egress-only drops to the source's.
  const layer: ReplayLayer = (g.directions.has("ingress") ? g.dst.layer : g.src.layer) ?? "node";
  const out: ReplayGroup = {
    source: g.src.cls,
    destination: g.dst.cls,
    port: g.portText,
    protocol: g.protocol,
    count: g.count,
    layer,
    directions,
    hubbleVerdicts: { ...g.hubble },
    deniedBy: [...g.deniedBy].sort(),
    reasons: [...g.reasons],
    sourcePods: [...g.srcPods],
    destinationPods: [...g.dstPods],
    sourceIps: [...g.srcIps],
    destinationIps: [...g.dstIps],
    destinationNames: [...g.dnsNames],
    suggestion: suggest(g, directions),
  };
  if (g.port !== undefined) out.portNumber = g.port;
  if (g.icmpType !== undefined) out.icmpType = g.icmpType;
  if (g.first !== undefined) out.firstTime = g.first;
  if (g.last !== undefined) out.lastTime = g.last;
  return out;
}
