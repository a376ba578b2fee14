// npm run conformance:cilium -- [--stack dev | --render <dir>] [--cilium 1.19|1.20] [--json]
//                                 [--random <policy sets> [--seed <n>]]
// The castle's engine against Cilium's own policy code (tools/go/cilium-oracle-*): every matrix probe of
// the stack, asked of both, one direction at a time (the egress policy of the sending endpoint, the
// ingress policy of the receiving one), as enforced. Prints `N flows compared, M disagree` and every
// disagreement, grouped; exits 1 when any disagrees. Both Cilium versions unless --cilium names one. The
// conformance suite is compared in the real tier (test/real/5-cilium-oracle.real.ts), where a disagreement
// passes only as a datapath effect of datapathEffects.ts.
//
// What each side is told is the same: the policies as the API server holds them, each endpoint's identity
// labels as the engine computes them, and each peer as the agent on the subject's node sees it (a pod by
// its labels, a node by reserved:host or reserved:remote-node, an outside address by its IP, which the
// oracle resolves as Cilium's ipcache does). Cilium's cluster name is the Helm value cluster.name, or
// "default" when unset (the agent's --cluster-name default, pkg/option/config.go).

import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { CiliumPolicyObject, EngineOptions, Flow, PolicyEngine, Topology } from "../../verifier/engine";
import type { CastleInputs } from "../../verifier/objects";
import { classPairs, endpointClasses } from "../../verifier/probes";
import { fromRenderDir, fromStack } from "../../verifier/sources";
import { randomRun } from "./random";

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
}

export interface OracleOutput {
  cilium: string;
  refused: { policy: string; stage: string; reason: string }[];
  warnings?: string[];
  results: { verdict: "allowed" | "denied" | "error"; reason: string; rules?: string[] }[];
}

export interface Comparison {
  from: string;
  to: string;
  port: string;
  direction: "ingress" | "egress";
  engine: "allowed" | "denied";
  cilium: string;
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
    options?: EngineOptions;
  },
  probes: ProbeFlow[],
  oracle: (input: OracleInput) => OracleOutput,
): CompareResult {
  const engine = new PolicyEngine(subject.policies, subject.topology, {
    ...(subject.options ?? {}),
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
  const peerOf = (id: string, observer: string | undefined): OracleFlow["peer"] => {
    const e = engine.endpoint(id);
    if (e.kind === "world") {
      const ip = e.ips?.[0] ?? "203.0.113.10";
      // The DNS answers the engine is told (fqdnMap) are what Cilium's DNS proxy would have seen.
      const name = Object.entries(subject.options?.fqdnMap ?? {}).find(([, ips]) => ips.includes(ip))?.[0];
      return name ? { ip, dnsName: name } : { ip };
    }
    return { labels: asAgent(engine.identityLabels(id, observer)) };
  };
  const flows: OracleFlow[] = [];
  const meta: Omit<Comparison, "cilium" | "ciliumReason" | "ciliumRules">[] = [];
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
      const peer = direction === "egress" ? peerOf(p.to, nodeOf(p.from)) : peerOf(p.from, nodeOf(p.to));
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
        engineReason: d.reason,
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
      endpoints: [...subjects.values()].filter((e) => (host ? e.name === host : !e.host)),
      flows: indexes.map((i) => flows[i]!),
    });
    indexes.forEach((i, j) => (results[i] = o.results[j]!));
    out = out ?? o;
  }
  const disagreements: Comparison[] = [];
  results.forEach((r, i) => {
    const m = meta[i]!;
    if (r.verdict !== m.engine)
      disagreements.push({ ...m, cilium: r.verdict, ciliumReason: r.reason, ciliumRules: r.rules ?? [] });
  });
  return {
    compared: flows.length,
    disagreements,
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

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stack: { type: "string" },
      render: { type: "string" },
      cilium: { type: "string" },
      json: { type: "boolean" },
      random: { type: "string" },
      seed: { type: "string" },
    },
    strict: true,
  });
  const versions = (values.cilium ? [values.cilium] : ["1.19", "1.20"]) as ("1.19" | "1.20")[];
  for (const v of versions)
    if (!["1.19", "1.20"].includes(v)) throw new Error(`--cilium ${v}: expected 1.19 or 1.20`);
  const build = spawnSync(
    "bash",
    [path.join(__dirname, "..", "tools.sh"), "build", ...versions.map((v) => `cilium-oracle-${v}`)],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  if (build.status !== 0) throw new Error("building the oracle failed");
  const bin = build.stdout.trim();
  const inputs = values.render ? fromRenderDir(values.render) : await fromStack(values.stack ?? "dev");
  let failed = false;
  if (values.random !== undefined) {
    const sets = Number(values.random);
    const seed = Number(values.seed ?? 1);
    if (!Number.isInteger(sets) || sets < 1)
      throw new Error(`--random ${values.random}: expected a number of policy sets`);
    let failed = false;
    for (const version of versions) {
      const r = randomRun(inputs, (input) => runOracle(bin, version, input), { sets, flowsPerSet: 20, seed });
      failed ||= r.findings.length > 0;
      const lines = [
        `${sets} random policy sets over ${inputs.source}'s vocabulary (seed ${seed}) against Cilium ${version}:`,
        `${r.compared.toLocaleString("en-US")} flows compared, ${r.findings.length} disagree (distinct, shrunk)`,
      ];
      for (const f of r.findings) {
        const d = f.disagreement;
        lines.push(
          `  seed ${f.seed}: ${d.direction} ${f.flow.from} -> ${f.flow.to} ${d.port}: engine ${d.engine} (${d.engineReason}), Cilium ${d.cilium} (${d.ciliumReason})`,
          ...JSON.stringify(f.policies)
            .match(/.{1,200}/g)!
            .map((l) => `    ${l}`),
        );
      }
      process.stdout.write(lines.join("\n") + "\n");
    }
    return failed ? 1 : 0;
  }
  for (const version of versions) {
    const r = compareStack(inputs, (input) => runOracle(bin, version, input));
    failed ||= r.disagreements.length > 0;
    if (values.json) {
      process.stdout.write(JSON.stringify({ version, ...r }, null, 2) + "\n");
      continue;
    }
    const lines = [
      `${inputs.source} against Cilium ${r.cilium} (cluster name ${ciliumClusterName(inputs)}), as enforced:`,
      `${r.compared.toLocaleString("en-US")} flows compared, ${r.disagreements.length} disagree`,
    ];
    if (r.refused.length)
      lines.push(`Cilium refuses: ${r.refused.map((x) => `${x.policy} (${x.reason})`).join("; ")}`);
    if (r.engineRefused.length) lines.push(`the engine refuses: ${r.engineRefused.join("; ")}`);
    const groups = new Map<string, Comparison[]>();
    for (const d of r.disagreements) {
      const key = `${d.direction} ${d.from} -> ${d.to}: engine ${d.engine}, Cilium ${d.cilium} (${d.ciliumReason}${d.ciliumRules.length ? `: ${d.ciliumRules.join(", ")}` : ""})`;
      groups.set(key, [...(groups.get(key) ?? []), d]);
    }
    for (const [key, list] of groups) lines.push(`  ${key} on ${list.map((d) => d.port).join(", ")}`);
    process.stdout.write(lines.join("\n") + "\n");
  }
  return failed ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`conformance:cilium: ${e.message}\n`);
      process.exit(2);
    },
  );
}
