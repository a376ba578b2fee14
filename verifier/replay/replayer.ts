// The evaluation of `castle replay`: each line of `hubble observe -o json` is parsed (hubble.ts), its two
// sides placed in the castle's model (endpoints.ts), and the flow judged by the policy engine; drops are
// counted into groups (aggregate.ts) and the report gets a suggested rule per group (suggest.ts).
//
// Streaming: lines are read one at a time and only aggregates are kept (counters, one entry per group,
// bounded caches), so a capture of millions of lines is never held in memory. Per line the cost is one
// JSON.parse plus a few map lookups: endpoints are mapped once per distinct (labels, namespace, node) and
// verdicts computed once per (source endpoint, destination endpoint, protocol, port); replies Hubble marks
// as such are counted without being parsed; the flow object is reused from line to line.
//
// Judged as if enforced: the engine runs with audit mode off whatever the stack says, because the question
// is what turning audit mode off would break. Replies are not judged (they follow their connection's
// conntrack entry, as in the engine).

import { PolicyEngine, Topology, Verdict } from "../engine";
import { HubbleLineParser, ReplayFlow, verdictName } from "../hubble";
import type { CastleInputs } from "../objects";
import { DropGroups, GroupAcc, inc, newTotals } from "./aggregate";
import { differentPods, EndpointMap, EpInfo, MAX_CACHE } from "./endpoints";
import { gunzipIfNeeded, INVALID_SAMPLES, readLines } from "./input";
import { Suggester } from "./suggest";
import type { ReplayOptions, ReplayReport, ReplayTotals } from "./types";

/** Lines between two calls of ReplayOptions.progress. */
export const PROGRESS_EVERY = 10_000;

type VerdictEntry = { drop: false } | { drop: true; group: GroupAcc };
const ALLOWED: VerdictEntry = { drop: false };

/** The flow's `"verdict":` value read from the raw line (a name, or an enum number). */
function verdictIn(text: string): string {
  const at = text.indexOf('"verdict":');
  if (at < 0) return "VERDICT_UNKNOWN";
  const from = at + '"verdict":'.length;
  if (text.charCodeAt(from) === 34 /* " */) {
    const end = text.indexOf('"', from + 1);
    return end < 0 ? "VERDICT_UNKNOWN" : text.slice(from + 1, end);
  }
  const v = parseInt(text.slice(from, from + 3), 10);
  return (Number.isNaN(v) ? undefined : verdictName(v)) ?? "VERDICT_UNKNOWN";
}

/** Replays flows one line at a time; `replay()` feeds it from a stream. */
export class Replayer {
  private readonly totals: ReplayTotals = newTotals();
  private engine!: PolicyEngine;
  private readonly nodeNames: string[];
  private readonly endpoints: EndpointMap;
  private readonly verdicts = new Map<string, VerdictEntry>();
  private readonly groups = new DropGroups();
  private readonly parser = new HubbleLineParser();
  private readonly invalid: ReplayReport["invalid"] = { samples: [] };

  constructor(
    private readonly inputs: CastleInputs,
    private readonly opts: ReplayOptions = {},
  ) {
    this.nodeNames = inputs.topology.nodes.map((n) => n.name);
    this.endpoints = new EndpointMap(inputs, opts, {
      podAdded: (p) => this.engine.addPod(p, this.nodeNames),
      externalAdded: () => this.buildEngine(),
    });
    this.buildEngine();
  }

  private buildEngine(): void {
    const t = this.inputs.topology;
    const topology: Topology = { ...t, externals: [...t.externals, ...this.endpoints.extraExternals] };
    this.engine = new PolicyEngine(this.inputs.policies, topology, {
      auditMode: false,
      hostFirewall: this.inputs.hostFirewall ?? true,
      routingMode: this.inputs.routingMode ?? "tunnel",
      mutualAuth: this.inputs.mutualAuth,
      ciliumVersion: this.inputs.ciliumVersion ?? "1.19",
    });
    for (const p of this.endpoints.addedPods) this.engine.addPod(p, this.nodeNames);
  }

  /** Feeds one line of `hubble observe -o json`. */
  line(text: string): void {
    const n = ++this.totals.linesRead;
    if (n % PROGRESS_EVERY === 0 && this.opts.progress) this.opts.progress(n);
    if (this.reply(text)) return;
    const p = this.parser.parse(text);
    switch (p.kind) {
      case "flow":
        this.flow(p.flow);
        return;
      case "blank":
        this.totals.blankLines++;
        return;
      case "invalid":
        this.totals.invalidLines++;
        if (this.invalid.samples.length < INVALID_SAMPLES)
          this.invalid.samples.push({ line: n, why: p.reason });
        if (this.invalid.firstLine === undefined) this.invalid.firstLine = text.slice(0, 80);
        return;
      case "event":
        inc(this.totals.events, p.event);
        return;
      case "unsupported":
        this.totals.flows++;
        inc(this.totals.hubbleVerdicts, p.verdict ?? "VERDICT_UNKNOWN");
        this.skip(p.reason);
    }
  }

  /**
   * Replies are only counted, so a line that says so in Hubble's own words is not parsed: `"is_reply":true`
   * (or the older `"reply":true` without is_reply). Inside JSON strings quotes are escaped, so the bare
   * key can only be a field; Flow has no nested is_reply/reply/verdict fields. Its verdict is read in place.
   */
  private reply(text: string): boolean {
    if (text.lastIndexOf('"is_reply":true') < 0) {
      if (text.indexOf('"reply":true') < 0 || text.indexOf('"is_reply":') >= 0) return false;
    }
    const t = this.totals;
    t.flows++;
    t.replies++;
    inc(t.hubbleVerdicts, verdictIn(text));
    return true;
  }

  private skip(reason: string): void {
    this.totals.skipped++;
    inc(this.totals.skippedByReason, reason);
  }

  /** Judges one normalized flow. */
  flow(f: ReplayFlow): void {
    const t = this.totals;
    t.flows++;
    const hv = f.verdict ?? "VERDICT_UNKNOWN";
    inc(t.hubbleVerdicts, hv);
    if (f.isReply) {
      t.replies++;
      if (f.replySource !== "is_reply" && f.replySource !== "reply") t.repliesGuessed++;
      return;
    }
    const ctx = this.endpoints.node(f.node);
    const src = this.endpoints.resolve(f.src, ctx);
    if ("skip" in src) return this.skip(src.skip);
    let dst = this.endpoints.resolve(f.dst, ctx);
    if ("skip" in dst) return this.skip(dst.skip);
    if (src.kind === "world" && dst.kind === "world") return this.skip("no cluster endpoint on either side");
    if (src === dst && src.kind === "pod" && differentPods(f.src, f.dst)) dst = this.endpoints.twin(src);

    const dnsName = dst.kind === "world" ? f.dnsName : undefined;
    const key = `${src.id}\x01${dst.id}\x01${f.protocol}\x01${f.port ?? f.icmpType}\x01${dnsName ?? ""}\x01${f.dnsQuery ?? ""}`;
    let v = this.verdicts.get(key);
    if (v === undefined) {
      v = this.judge(f, src, dst, dnsName);
      if (this.verdicts.size >= MAX_CACHE) this.verdicts.clear();
      this.verdicts.set(key, v);
    }
    t.judged++;
    if (!v.drop) {
      t.allowed++;
      if (hv === "DROPPED" || hv === "AUDIT") t.hubbleDropsAllowed++;
      return;
    }
    t.wouldDrop++;
    if (hv === "AUDIT") t.wouldDropHubbleAudit++;
    else if (hv === "DROPPED") t.wouldDropHubbleDropped++;
    this.groups.count(v.group, f, src, dst, hv, dnsName);
  }

  /** Asks the engine; a drop joins (or opens) its group. */
  private judge(f: ReplayFlow, src: EpInfo, dst: EpInfo, dnsName: string | undefined): VerdictEntry {
    const v: Verdict = this.engine.evaluate({
      from: src.id,
      to: dst.id,
      protocol: f.protocol,
      port: f.port,
      icmpType: f.icmpType,
      dnsName,
      dnsQuery: f.dnsQuery,
    });
    if (v.verdict === "allowed") return ALLOWED;
    return { drop: true, group: this.groups.add(f, src, dst, v) };
  }

  /** The report of the lines fed so far. */
  report(): ReplayReport {
    const suggester = new Suggester(this.engine, this.inputs);
    const groups = this.groups.report((g, directions) => suggester.suggest(g, directions));
    const notes: string[] = [];
    for (const m of this.endpoints.nodeMappings) {
      if (m.how === "first worker") {
        notes.push(
          `Hubble node ${m.hubble} is not a node of ${this.inputs.source}: its host traffic is judged as ${m.node} (the first worker); map it with --node-map ${m.hubble}=<node>`,
        );
      }
    }
    if (this.inputs.auditMode) {
      notes.push("the stack runs in policy audit mode: flows are judged as if enforced (audit mode off)");
    }
    return {
      source: this.inputs.source,
      totals: structuredClone(this.totals),
      nodes: [...this.endpoints.nodeMappings],
      groups,
      endpoints: {
        pods: this.endpoints.addedPods.length,
        externals: this.endpoints.extraExternals.length,
      },
      notes,
      invalid: structuredClone(this.invalid),
    };
  }
}

/**
 * Replays `hubble observe -o json` lines from a stream against a stack's policies, as if enforced.
 * Reads line by line and keeps only aggregates.
 */
export async function replay(
  input: NodeJS.ReadableStream,
  inputs: CastleInputs,
  opts: ReplayOptions = {},
): Promise<ReplayReport> {
  const r = new Replayer(inputs, opts);
  await readLines(gunzipIfNeeded(input), (line) => r.line(line));
  return r.report();
}

/** Replays lines already in memory (tests, small captures). */
export function replayLines(
  lines: Iterable<string>,
  inputs: CastleInputs,
  opts: ReplayOptions = {},
): ReplayReport {
  const r = new Replayer(inputs, opts);
  for (const l of lines) r.line(l);
  return r.report();
}
