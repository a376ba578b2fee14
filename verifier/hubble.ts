// Parsing of `hubble observe -o json` output, one line at a time, into a small normalized flow.
//
// Each line is a GetFlowsResponse ({"flow": {...}, "node_name": ..., "time": ...}) or, from other tools, a
// bare Flow object. Field names follow cilium/cilium api/v1/flow/flow.proto (v1.18): the hubble CLI
// prints proto names (snake_case, `is_reply`, `source_port`), other protojson writers print JSON names
// (lowerCamelCase, `isReply`, `sourcePort`): both are accepted. proto3 JSON omits zero values, so a
// missing port, ICMP type or `reply` means 0 / false; `is_reply` is a google.protobuf.BoolValue, printed
// as a bare boolean (or, by some encoders, as {"value": ...}) and absent when Hubble does not know the
// direction ("May be absent (in which case it is unknown whether it is a reply or not)").

import type { FlowProtocol } from "./engine";
import type { Untyped as Obj } from "../lib/untyped";

/** One side of a flow, as Hubble reported it. */
export interface EndpointRef {
  /** Cilium's numeric security identity (1 host, 2 world, 4 health, 6 remote-node, ...). */
  identity?: number;
  /** Identity labels as Hubble prints them: "k8s:app=x", "reserved:host", "reserved:world". */
  labels: string[];
  namespace?: string;
  podName?: string;
  /** The flow's IP address on this side. */
  ip?: string;
  /** DNS names the agent knows for that address (source_names / destination_names). */
  names?: string[];
}

/** How `isReply` was decided. */
export type ReplySource = "is_reply" | "reply" | "tcp-flags" | "icmp-type" | "ports" | "default";

export interface ReplayFlow {
  src: EndpointRef;
  dst: EndpointRef;
  protocol: FlowProtocol;
  /** Destination port (TCP, UDP, SCTP); 0 when Hubble omitted it. */
  port?: number;
  srcPort?: number;
  /** ICMP / ICMPv6 type; 0 when Hubble omitted it (echo reply). */
  icmpType?: number;
  isReply: boolean;
  /** Where isReply comes from: Hubble's fields, or a guess when both `is_reply` and `reply` are absent. */
  replySource: ReplySource;
  /** A DNS name of the destination address (destination_names), for toFQDNs. */
  dnsName?: string;
  /** The name asked in a DNS request this flow carries (l7.dns.query), for DNS L7 rules. */
  dnsQuery?: string;
  time?: string;
  /** The node the flow was observed on, as Hubble names it (e.g. "kind-kind/kind-worker"). */
  node?: string;
  /** Hubble's verdict: FORWARDED, DROPPED, AUDIT, REDIRECTED, ... */
  verdict?: string;
  dropReason?: string;
  /** L3_L4, L7, SOCK. */
  type?: string;
  trafficDirection?: string;
}

export type HubbleLine =
  | { kind: "flow"; flow: ReplayFlow }
  | { kind: "blank" }
  /** Not JSON, or not an object. */
  | { kind: "invalid"; reason: string }
  /** A response without a flow: lost_events, node_status, agent_event, debug_event, ... */
  | { kind: "event"; event: string }
  /** A flow replay cannot judge (no L4 header, IGMP, ...). */
  | { kind: "unsupported"; reason: string; verdict?: string };

// flow.proto enum Verdict / TrafficDirection / FlowType, for encoders that print enum numbers.
const VERDICTS = [
  "VERDICT_UNKNOWN",
  "FORWARDED",
  "DROPPED",
  "ERROR",
  "AUDIT",
  "REDIRECTED",
  "TRACED",
  "TRANSLATED",
];
const DIRECTIONS = ["TRAFFIC_DIRECTION_UNKNOWN", "INGRESS", "EGRESS"];
const FLOW_TYPES = ["UNKNOWN_TYPE", "L3_L4", "L7", "SOCK"];

/** Reserved identities by number (pkg/identity/numericidentity.go), for flows that carry no labels. */
export const RESERVED_IDENTITIES: Record<number, string> = {
  1: "reserved:host",
  2: "reserved:world",
  3: "reserved:unmanaged",
  4: "reserved:health",
  5: "reserved:init",
  6: "reserved:remote-node",
  7: "reserved:kube-apiserver",
  8: "reserved:ingress",
  9: "reserved:world-ipv4",
  10: "reserved:world-ipv6",
};

/** Ephemeral ports start here on Linux (net.ipv4.ip_local_port_range 32768-60999). */
const EPHEMERAL_PORT_MIN = 32768;

// ICMP types that answer a request (RFC 792 / RFC 4443): echo reply, timestamp reply, info reply,
// address mask reply; ICMPv6 echo reply.
const ICMP4_REPLY_TYPES = new Set([0, 14, 16, 18]);
const ICMP6_REPLY_TYPES = new Set([129]);

/** A Verdict enum value by name (FORWARDED, DROPPED, AUDIT, ...), for encoders that print numbers. */
export const verdictName = (v: unknown): string | undefined => enumName(v, VERDICTS);

const enumName = (v: unknown, names: string[]): string | undefined =>
  typeof v === "number" ? (names[v] ?? String(v)) : typeof v === "string" ? v : undefined;

const num = (v: unknown): number | undefined => {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v !== "" && !Number.isNaN(Number(v))) return Number(v);
  return undefined;
};

/** A BoolValue (bare boolean, or {"value": ...}, or {} for false). */
function boolValue(v: unknown): boolean | undefined {
  if (typeof v === "boolean") return v;
  if (v !== null && typeof v === "object") return (v as Obj).value === true;
  return undefined;
}

function timeText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v !== null && typeof v === "object") {
    // google.protobuf.Timestamp as an object, as some non-protojson encoders print it.
    const s = num((v as Obj).seconds);
    if (s === undefined) return undefined;
    const nanos = num((v as Obj).nanos) ?? 0;
    return new Date(s * 1000 + Math.floor(nanos / 1e6)).toISOString();
  }
  return undefined;
}

const EMPTY: Obj = Object.freeze({}) as Obj;
const NO_LABELS: string[] = Object.freeze([]) as unknown as string[];

function freshRef(): EndpointRef {
  return {
    identity: undefined,
    labels: [],
    namespace: undefined,
    podName: undefined,
    ip: undefined,
    names: undefined,
  };
}

function freshFlow(): ReplayFlow {
  return {
    src: freshRef(),
    dst: freshRef(),
    protocol: "TCP",
    port: undefined,
    srcPort: undefined,
    icmpType: undefined,
    isReply: false,
    replySource: "default",
    dnsName: undefined,
    dnsQuery: undefined,
    time: undefined,
    node: undefined,
    verdict: undefined,
    dropReason: undefined,
    type: undefined,
    trafficDirection: undefined,
  };
}

/** Labels as Hubble printed them: the array itself when it holds only strings (no copy). */
function stringArray(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== "string") return v.filter((x) => typeof x === "string");
  }
  return v;
}

const nonEmpty = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

function fillRef(ref: EndpointRef, e: unknown, ip: unknown, names: unknown): void {
  const o: Obj = e !== null && typeof e === "object" ? (e as Obj) : EMPTY;
  ref.labels = stringArray(o.labels) ?? NO_LABELS;
  ref.identity = num(o.identity);
  ref.namespace = nonEmpty(o.namespace);
  ref.podName = nonEmpty(o.pod_name ?? o.podName);
  ref.ip = nonEmpty(ip);
  const n = stringArray(names);
  ref.names = n !== undefined && n.length > 0 ? n : undefined;
}

/**
 * Fills the L4 fields; returns why the flow cannot be judged, or undefined.
 *
 * Whether a packet is a reply: Hubble's `is_reply` when present, else the deprecated `reply` (true only
 * when set). When neither is present the direction is unknown and is guessed: a TCP SYN opens a
 * connection and SYN+ACK answers it; ICMP reply types are replies; otherwise a packet from a service port
 * to an ephemeral port (>= 32768) is a reply; otherwise it is taken as a request, which is what the
 * deprecated `reply: false` (omitted) meant.
 */
function fillL4(flow: Obj, out: ReplayFlow): string | undefined {
  const l4 = flow.l4;
  if (l4 === null || typeof l4 !== "object") return "no L4 header";
  let flags: Obj | undefined;
  const p = l4.TCP ?? l4.UDP ?? l4.SCTP;
  if (p !== null && typeof p === "object") {
    out.protocol = l4.TCP ? "TCP" : l4.UDP ? "UDP" : "SCTP";
    out.port = num(p.destination_port ?? p.destinationPort) ?? 0;
    out.srcPort = num(p.source_port ?? p.sourcePort) ?? 0;
    out.icmpType = undefined;
    if (out.protocol === "TCP" && p.flags !== null && typeof p.flags === "object") flags = p.flags;
  } else {
    const icmp = l4.ICMPv4 ?? l4.ICMPv6;
    if (icmp === null || typeof icmp !== "object") {
      const other = Object.keys(l4);
      return other.length > 0 ? `unsupported L4 protocol ${other[0]}` : "no L4 header";
    }
    out.protocol = l4.ICMPv4 ? "ICMP" : "ICMPv6";
    out.icmpType = num(icmp.type) ?? 0;
    out.port = undefined;
    out.srcPort = undefined;
  }

  const isReply = boolValue(flow.is_reply ?? flow.isReply);
  if (isReply !== undefined) {
    out.isReply = isReply;
    out.replySource = "is_reply";
  } else if (flow.reply === true) {
    out.isReply = true;
    out.replySource = "reply";
  } else if (flags !== undefined && flags.SYN === true) {
    out.isReply = flags.ACK === true;
    out.replySource = "tcp-flags";
  } else if (out.icmpType !== undefined) {
    out.isReply = (out.protocol === "ICMP" ? ICMP4_REPLY_TYPES : ICMP6_REPLY_TYPES).has(out.icmpType);
    out.replySource = "icmp-type";
  } else {
    const sp = out.srcPort ?? 0;
    const dp = out.port ?? 0;
    out.isReply = false;
    out.replySource = "default";
    if (sp > 0 && dp >= EPHEMERAL_PORT_MIN && sp < EPHEMERAL_PORT_MIN) {
      out.isReply = true;
      out.replySource = "ports";
    } else if (dp > 0 && sp >= EPHEMERAL_PORT_MIN && dp < EPHEMERAL_PORT_MIN) {
      out.replySource = "ports";
    }
  }
  return undefined;
}

/**
 * Normalizes one parsed JSON value (a GetFlowsResponse or a bare Flow) into `out`, overwriting every
 * field, and returns `flowResult` for a flow (so HubbleLineParser can reuse one object per line).
 */
function normalize(value: unknown, out: ReplayFlow, flowResult: HubbleLine): HubbleLine {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { kind: "invalid", reason: "not a JSON object" };
  }
  const o = value as Obj;
  let flow: Obj;
  let outer: Obj = EMPTY;
  if (o.flow !== null && typeof o.flow === "object") {
    flow = o.flow;
    outer = o;
  } else if (
    o.source !== undefined ||
    o.destination !== undefined ||
    o.IP !== undefined ||
    o.l4 !== undefined
  ) {
    flow = o;
  } else {
    const event = Object.keys(o).find((k) => k !== "node_name" && k !== "nodeName" && k !== "time");
    return { kind: "event", event: event ?? "empty" };
  }
  const verdict = enumName(flow.verdict, VERDICTS);
  const type = enumName(flow.Type ?? flow.type, FLOW_TYPES);
  if (type === "SOCK") return { kind: "unsupported", reason: "socket trace event (Type SOCK)", verdict };
  const bad = fillL4(flow, out);
  if (bad !== undefined) return { kind: "unsupported", reason: bad, verdict };

  const ip: Obj = flow.IP !== null && typeof flow.IP === "object" ? flow.IP : EMPTY;
  fillRef(out.src, flow.source, ip.source, flow.source_names ?? flow.sourceNames);
  fillRef(out.dst, flow.destination, ip.destination, flow.destination_names ?? flow.destinationNames);
  out.dnsName = out.dst.names?.[0];
  out.dnsQuery = nonEmpty(flow.l7?.dns?.query);
  out.time = timeText(flow.time) ?? timeText(outer.time);
  out.node = nonEmpty(flow.node_name ?? flow.nodeName ?? outer.node_name ?? outer.nodeName);
  out.verdict = verdict;
  const drop = flow.drop_reason_desc ?? flow.dropReasonDesc;
  out.dropReason = drop === undefined ? undefined : String(drop);
  out.type = type;
  out.trafficDirection = enumName(flow.traffic_direction ?? flow.trafficDirection, DIRECTIONS);
  return flowResult;
}

/** Drops the keys whose value is undefined (a fresh flow for callers that keep it). */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** Normalizes one parsed JSON value: a GetFlowsResponse or a bare Flow. Returns fresh objects. */
export function parseHubbleObject(value: unknown): HubbleLine {
  const flow = freshFlow();
  const r = normalize(value, flow, { kind: "flow", flow });
  if (r.kind === "flow") {
    if (flow.src.labels === NO_LABELS) flow.src.labels = [];
    if (flow.dst.labels === NO_LABELS) flow.dst.labels = [];
    compact(flow.src);
    compact(flow.dst);
    compact(flow);
  }
  return r;
}

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) if (line.charCodeAt(i) > 32) return false;
  return true;
}

function parseJson(line: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(line) };
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
}

/** Parses one line of `hubble observe -o json`. Never throws; returns fresh objects. */
export function parseHubbleLine(line: string): HubbleLine {
  if (isBlank(line)) return { kind: "blank" };
  const j = parseJson(line);
  return j.ok ? parseHubbleObject(j.value) : { kind: "invalid", reason: j.reason };
}

/**
 * A parser for hot loops: a flow result is ONE object, overwritten by the next call, and its label and
 * name arrays are Hubble's own. Copy what you keep. Allocating nothing per flow besides JSON.parse's own
 * objects keeps the young generation small (and V8 from pretenuring per-line objects into old space).
 */
export class HubbleLineParser {
  private readonly flow = freshFlow();
  private readonly result: HubbleLine = { kind: "flow", flow: this.flow };

  parse(line: string): HubbleLine {
    if (line.length === 0 || (line.charCodeAt(0) <= 32 && isBlank(line))) return BLANK;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      return { kind: "invalid", reason: `not JSON: ${(e as Error).message}` };
    }
    return normalize(value, this.flow, this.result);
  }
}

const BLANK: HubbleLine = Object.freeze({ kind: "blank" });

/** Counts over parsed lines: what a capture holds. */
export class HubbleStats {
  lines = 0;
  blank = 0;
  invalid = 0;
  flows = 0;
  replies = 0;
  unsupported = 0;
  /** Non-flow responses by kind (lost_events, node_status, ...). */
  readonly events: Record<string, number> = {};
  /** Flows by protocol: TCP, UDP, SCTP, ICMP, ICMPv6. */
  readonly protocols: Record<string, number> = {};
  /** Flows by Hubble verdict. */
  readonly verdicts: Record<string, number> = {};
  /** Flows by how isReply was decided. */
  readonly replySources: Record<string, number> = {};

  add(p: HubbleLine): void {
    this.lines++;
    switch (p.kind) {
      case "blank":
        this.blank++;
        return;
      case "invalid":
        this.invalid++;
        return;
      case "event":
        this.events[p.event] = (this.events[p.event] ?? 0) + 1;
        return;
      case "unsupported":
        this.unsupported++;
        return;
      case "flow": {
        const f = p.flow;
        this.flows++;
        if (f.isReply) this.replies++;
        this.protocols[f.protocol] = (this.protocols[f.protocol] ?? 0) + 1;
        const v = f.verdict ?? "VERDICT_UNKNOWN";
        this.verdicts[v] = (this.verdicts[v] ?? 0) + 1;
        this.replySources[f.replySource] = (this.replySources[f.replySource] ?? 0) + 1;
      }
    }
  }
}
