// The words of `castle replay`'s answer: the options it takes and the report it returns (totals, node
// mappings, would-drop groups with their suggested rules). Every part of verifier/replay/ and every importer
// (cli/main.ts, the benchmarks, the tests) speaks these types, so they sit alone at the bottom of the
// folder and import nothing of it.

import type { CiliumPolicyObject, Direction, FlowProtocol } from "../engine";

export type ReplayLayer = "user" | "infra" | "node";
export type ReplayFormat = "table" | "json" | "markdown";

export interface ReplayOptions {
  /** Called every PROGRESS_EVERY lines with the number of lines read so far. */
  progress?: (linesRead: number) => void;
  /** Hubble node name -> stack node name, for clusters whose node names differ from the stack's. */
  nodeMap?: Record<string, string>;
  /**
   * Address ranges inside the cluster (pods, services): a flow side without identity labels and with such
   * an address cannot be placed, and is skipped. Default: kind's pod and service subnets; the stack's
   * node and modelled pod addresses are always added.
   */
  clusterCidrs?: string[];
}

export interface ReplaySuggestion {
  /** What the rule allows, in one sentence. */
  description: string;
  /** One policy per direction that drops (ingress at the destination, egress at the source). */
  policies: CiliumPolicyObject[];
  /** The policies as YAML documents separated by `---`. */
  yaml: string;
  /** Caveats: what the policy pack would say, what to narrow, what an allow rule cannot fix. */
  notes: string[];
}

export interface ReplayGroup {
  /** Source class: `ns/app=x`, `host castle-worker`, `remote-node`, `kube-apiserver`, `world`, `jumphost:<cidr>`. */
  source: string;
  destination: string;
  /** `443/TCP`, `53/UDP`, `ICMP type 8`, `ICMPv6 type 128`. */
  port: string;
  protocol: FlowProtocol;
  portNumber?: number;
  icmpType?: number;
  count: number;
  firstTime?: string;
  lastTime?: string;
  /** The layer that should allow it. */
  layer: ReplayLayer;
  /** The direction(s) enforcement would drop it in. */
  directions: Direction[];
  /** Hubble's own verdicts for these flows (FORWARDED, AUDIT, DROPPED, ...). */
  hubbleVerdicts: Record<string, number>;
  /** Policies whose deny rules drop it (an allow rule cannot fix those). */
  deniedBy: string[];
  /** The engine's explanation, per dropping direction (first flow). */
  reasons: string[];
  /** Up to 3 pod names Hubble reported on each side. */
  sourcePods: string[];
  destinationPods: string[];
  /** Up to 10 addresses / DNS names of world peers. */
  sourceIps: string[];
  destinationIps: string[];
  destinationNames: string[];
  suggestion: ReplaySuggestion;
}

export interface ReplayTotals {
  linesRead: number;
  blankLines: number;
  /** Lines that are not JSON objects. */
  invalidLines: number;
  /** Non-flow responses (lost_events, node_status, ...) by kind. */
  events: Record<string, number>;
  /** Lines holding a flow (judged + replies + skipped). */
  flows: number;
  /** Reply packets: not judged, they follow their connection. */
  replies: number;
  /** Of the replies, those Hubble did not mark (no is_reply / reply): guessed from TCP flags, ICMP type or ports. */
  repliesGuessed: number;
  judged: number;
  allowed: number;
  wouldDrop: number;
  skipped: number;
  skippedByReason: Record<string, number>;
  /** Every flow by Hubble's verdict. */
  hubbleVerdicts: Record<string, number>;
  /** Of the would-drop flows, how many Hubble marked AUDIT / DROPPED itself. */
  wouldDropHubbleAudit: number;
  wouldDropHubbleDropped: number;
  /** Judged flows Hubble marked AUDIT or DROPPED that the stack allows (fixed by the stack, or not a policy drop). */
  hubbleDropsAllowed: number;
}

export interface ReplayNodeMapping {
  hubble: string;
  node: string;
  how: "exact" | "nodeMap" | "first worker";
}

export interface ReplayReport {
  source: string;
  totals: ReplayTotals;
  nodes: ReplayNodeMapping[];
  /** Would-drop groups, most flows first. */
  groups: ReplayGroup[];
  /** Pod endpoints added from Hubble labels, world endpoints added for addresses policies tell apart. */
  endpoints: { pods: number; externals: number };
  notes: string[];
  /** The first lines that are not JSON objects (number and why), and the first of them, cut to 80 characters. */
  invalid: { samples: { line: number; why: string }[]; firstLine?: string };
}
