// The comparison behind `npm run conformance:cilium` and the real tier's conformance part: the oracle's
// input and output, running it, and each flow asked of both the engine and Cilium. See cilium.ts for what
// each side is told.

import { spawnSync } from "node:child_process";
import * as path from "node:path";
import {
  CiliumPolicyObject,
  EngineOptions,
  Flow,
  PolicyEngine,
  Topology,
  TopologyService,
} from "../../verifier/engine";
import type { CastleInputs } from "../../verifier/objects";
import { classPairs, endpointClasses } from "../../verifier/probes";
import { DATAPATH_EFFECTS } from "./datapathEffects";

export interface OracleFlow {
  subject: string;
  direction: "ingress" | "egress";
  peer: { labels: string[] } | { ip: string; dnsName?: string };
  port?: number;
  protocol: string;
}

export interface OracleInput {
  clusterName: string;
  options: { enableHostFirewall: boolean; policyAuditMode: boolean; allowLocalhost?: "always" | "policy" };
  policies: unknown[];
  endpoints: {
    name: string;
    labels: string[];
    host?: boolean;
    nodeLabels?: Record<string, string>;
    namedPorts?: { name: string; port: number; protocol: string }[];
  }[];
  flows: OracleFlow[];
  services?: TopologyService[];
}

export interface OracleOutput {
  cilium: string;
  refused: { policy: string; stage: string; reason: string }[];
  warnings?: string[];
  results: {
    verdict: "allowed" | "denied" | "error";
    reason: string;
    rules?: string[];
    /** The auth type the chosen policy map entry requires (explicit or derived), if any. */
    auth?: string;
  }[];
}

export interface Comparison {
  from: string;
  to: string;
  port: string;
  direction: "ingress" | "egress";
  engine: "allowed" | "denied";
  /** The authentication the engine says the allowing entry requires. */
  engineAuth?: string;
  cilium: string;
  ciliumAuth?: string;
  ciliumReason: string;
  ciliumRules: string[];
  engineReason: string;
}

/** Cilium's cluster name for a stack: the Helm value cluster.name, or the agent's default. */
export function ciliumClusterName(inputs: CastleInputs): string {
  return inputs.ciliumClusterName ?? "default";
}

/** Runs the oracle binary of a Cilium minor version on one input. */
export function runOracle(binDir: string, version: "1.19" | "1.20", input: OracleInput): OracleOutput {
  const r = spawnSync(path.join(binDir, `castle-cilium-oracle-${version}`), [], {
    input: JSON.stringify(input),
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`castle-cilium-oracle-${version}: ${r.stderr || r.error?.message}`);
  return JSON.parse(r.stdout) as OracleOutput;
}

/** A flow to ask both about: endpoint ids of the topology, and labels for the report. */
export interface ProbeFlow {
  from: string;
  to: string;
  fromLabel?: string;
  toLabel?: string;
  protocol: Flow["protocol"];
  port?: number;
  icmpType?: number;
}

export interface CompareResult {
  compared: number;
  disagreements: Comparison[];
  /**
   * Flows the engine says the datapath decided (DirectionResult.datapathEffect) and Cilium's policy code,
   * which cannot see the datapath, answers otherwise: each with its effect of datapathEffects.ts.
   */
  explained: (Comparison & { effect: string })[];
  /** Flows both say an entry allows only after authentication (of the same type). */
  authDecided: number;
  /** Policies one side refuses and the other imports (the agent's refusals; not the API server's). */
  refusalDisagreements: string[];
  refused: OracleOutput["refused"];
  engineRefused: string[];
  cilium: string;
}

/**
 * Asks the engine and Cilium about each flow, one direction at a time: the sender's egress policy and
 * the receiver's ingress policy (an outside address has neither).
 */
export function compareFlows(
  subject: {
    policies: CiliumPolicyObject[];
    topology: Topology;
    hostFirewall: boolean;
    ciliumClusterName?: string;
    /** The stack's (CastleInputs); they win over the same keys of `options`. */
    routingMode?: EngineOptions["routingMode"];
    ciliumVersion?: EngineOptions["ciliumVersion"];
    options?: EngineOptions;
  },
  probes: ProbeFlow[],
  oracle: (input: OracleInput) => OracleOutput,
): CompareResult {
  const engine = new PolicyEngine(subject.policies, subject.topology, {
    ...(subject.options ?? {}),
    ...(subject.routingMode ? { routingMode: subject.routingMode } : {}),
    ...(subject.ciliumVersion ? { ciliumVersion: subject.ciliumVersion } : {}),
    hostFirewall: subject.hostFirewall,
    auditMode: false,
  });
  const subjects = new Map<string, OracleInput["endpoints"][number]>();
  // The agent labels every pod with its own cluster name; the engine uses the stack's. Given to Cilium as
  // the agent would label them, so that only what the two make of the same cluster can differ.
  const clusterName = subject.ciliumClusterName ?? "default";
  const asAgent = (labels: string[]): string[] =>
    labels.map((l) =>
      l.startsWith("k8s:io.cilium.k8s.policy.cluster=")
        ? `k8s:io.cilium.k8s.policy.cluster=${clusterName}`
        : l,
    );
  const nodeOf = (id: string): string | undefined => engine.endpoint(id).node;
  const subjectOf = (id: string): string | undefined => {
    const e = engine.endpoint(id);
    if (e.kind === "world") return undefined;
    if (!subjects.has(id)) {
      subjects.set(
        id,
        e.kind === "host"
          ? { name: id, host: true, labels: ["reserved:host"], nodeLabels: e.labels }
          : {
              name: id,
              labels: asAgent(engine.identityLabels(id)),
              ...(e.namedPorts
                ? {
                    namedPorts: Object.entries(e.namedPorts).map(([name, port]) => ({
                      name,
                      port,
                      protocol: "TCP",
                    })),
                  }
                : {}),
            },
      );
    }
    return id;
  };
  // A peer as the agent on the subject's node sees it: a host on another node arrives at a pod through
  // the tunnel as reserved:remote-node only (engine.ts, peer); both sides are told that identity.
  const peerOf = (id: string, observer: string | undefined, towardPod = false): OracleFlow["peer"] => {
    const e = engine.endpoint(id);
    if (e.kind === "world") {
      const ip = e.ips?.[0] ?? "203.0.113.10";
      // The DNS answers the engine is told (fqdnMap) are what Cilium's DNS proxy would have seen.
      const name = Object.entries(subject.options?.fqdnMap ?? {}).find(([, ips]) => ips.includes(ip))?.[0];
      return name ? { ip, dnsName: name } : { ip };
    }
    return { labels: asAgent(engine.identityLabels(id, observer, towardPod)) };
  };
  const flows: OracleFlow[] = [];
  const meta: (Omit<Comparison, "cilium" | "ciliumReason" | "ciliumRules"> & { effect?: string })[] = [];
  for (const p of probes) {
    const v = engine.evaluate({
      from: p.from,
      to: p.to,
      protocol: p.protocol,
      port: p.port,
      ...(p.icmpType !== undefined ? { icmpType: p.icmpType } : {}),
    } as Flow);
    const port = p.protocol.startsWith("ICMP")
      ? `${p.protocol.toLowerCase()}/${p.icmpType ?? "?"}`
      : `${p.port}/${p.protocol.toLowerCase()}`;
    for (const direction of ["egress", "ingress"] as const) {
      const subjectId = subjectOf(direction === "egress" ? p.from : p.to);
      if (!subjectId) continue;
      const peer =
        direction === "egress"
          ? peerOf(p.to, nodeOf(p.from))
          : peerOf(p.from, nodeOf(p.to), engine.endpoint(p.to).kind === "pod");
      flows.push({
        subject: subjectId,
        direction,
        peer,
        protocol: p.protocol,
        ...(p.protocol.startsWith("ICMP") ? { icmpType: p.icmpType } : { port: p.port }),
      });
      const d = v[direction];
      meta.push({
        from: p.fromLabel ?? p.from,
        to: p.toLabel ?? p.to,
        port,
        direction,
        engine: d.allowed ? "allowed" : "denied",
        ...(d.auth ? { engineAuth: d.auth } : {}),
        engineReason: d.reason,
        ...(d.datapathEffect ? { effect: d.datapathEffect } : {}),
      });
    }
  }
  // Every node's host endpoint is identity 1 with that node's labels, each in its own agent: one oracle
  // run per host subject, and one for all the pods.
  const runs = new Map<string, number[]>();
  flows.forEach((f, i) => {
    const key = subjects.get(f.subject)?.host ? f.subject : "";
    runs.set(key, [...(runs.get(key) ?? []), i]);
  });
  const results: OracleOutput["results"] = [];
  let out: OracleOutput | undefined;
  for (const [host, indexes] of runs) {
    const o = oracle({
      clusterName,
      options: {
        enableHostFirewall: subject.hostFirewall,
        policyAuditMode: false,
        ...(subject.options?.allowLocalhost ? { allowLocalhost: subject.options.allowLocalhost } : {}),
      },
      policies: subject.policies,
      services: subject.topology.services ?? [],
      endpoints: [...subjects.values()].filter((e) => (host ? e.name === host : !e.host)),
      flows: indexes.map((i) => flows[i]!),
    });
    indexes.forEach((i, j) => (results[i] = o.results[j]!));
    out = out ?? o;
  }
  const disagreements: Comparison[] = [];
  const explained: CompareResult["explained"] = [];
  let authDecided = 0;
  results.forEach((r, i) => {
    const { effect, ...m } = meta[i]!;
    // The oracle names the authentication an allowing entry requires; the datapath drops the flow until
    // Cilium's auth manager has authenticated the pair (engine.ts, authOf). Both must name the same type,
    // and the engine's verdict is then its own reading of the datapath (without mutual auth: dropped).
    const ciliumAuth = r.verdict === "allowed" ? (r.auth ?? "") : "";
    if (ciliumAuth !== "" && ciliumAuth === (m.engineAuth ?? "")) {
      authDecided++;
      return;
    }
    if (r.verdict === m.engine && ciliumAuth === (m.engineAuth ?? "")) return;
    const c = {
      ...m,
      cilium: r.verdict,
      ...(ciliumAuth ? { ciliumAuth } : {}),
      ciliumReason: ciliumAuth ? `${r.reason}, after authentication "${ciliumAuth}"` : r.reason,
      ciliumRules: r.rules ?? [],
    };
    if (effect && DATAPATH_EFFECTS.some((e) => e.id === effect)) explained.push({ ...c, effect });
    else disagreements.push(c);
  });
  // Which policies each side refuses: the agent's refusals must be the same (the API server's, which the
  // oracle is not asked about, may only be the engine's).
  const refKey = (r: { kind: string; namespace?: string; name: string }): string =>
    `${r.kind} ${r.namespace ? `${r.namespace}/` : ""}${r.name}`;
  const ciliumRefused = new Set((out?.refused ?? []).map((x) => x.policy));
  const engineRefusedBy = new Map(engine.rejected.map((x) => [refKey(x.ref), x]));
  const refusalDisagreements = [
    ...[...ciliumRefused]
      .filter((name) => !engineRefusedBy.has(name))
      .map(
        (name) =>
          `${name}: Cilium refuses it (${out?.refused.find((x) => x.policy === name)?.reason}), the engine does not`,
      ),
    ...[...engineRefusedBy]
      .filter(([name, x]) => x.by === "agent" && !ciliumRefused.has(name))
      .map(([name, x]) => `${name}: the engine refuses it (${x.reason}), Cilium does not`),
  ];
  return {
    compared: flows.length,
    disagreements,
    explained,
    authDecided,
    refusalDisagreements,
    refused: out?.refused ?? [],
    engineRefused: engine.rejected.map(
      (x) => `${x.ref.kind} ${x.ref.namespace ? `${x.ref.namespace}/` : ""}${x.ref.name}: ${x.reason}`,
    ),
    cilium: out?.cilium ?? "",
  };
}

/** Every probe of the stack's matrix (classes against classes, on the destination's ports). */
export function matrixProbes(inputs: CastleInputs): ProbeFlow[] {
  return classPairs(endpointClasses(inputs, { collapse: true })).flatMap((p) =>
    p.target
      ? p.ports.map((port) => ({
          from: p.from.source,
          to: p.target!,
          fromLabel: p.from.id,
          toLabel: p.toId,
          protocol: port.protocol,
          port: port.port,
        }))
      : [],
  );
}

export function compareStack(
  inputs: CastleInputs,
  oracle: (input: OracleInput) => OracleOutput,
): CompareResult {
  return compareFlows(inputs, matrixProbes(inputs), oracle);
}
