// npm run conformance:cilium -- [--stack dev | --render <dir>] [--policies <path>] [--cilium 1.19|1.20]
//                                 [--json] [--random <policy sets> [--seed <n>]]
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
import { fromRenderDir, fromStack } from "../../cli/sources";
import { isCiliumPolicy, readYamlObjects } from "../../verifier/objects";
import { ciliumClusterName, Comparison, compareStack, runOracle } from "./compare";
import { randomRun } from "./random";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stack: { type: "string" },
      render: { type: "string" },
      policies: { type: "string" },
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
  let inputs = values.render ? fromRenderDir(values.render) : await fromStack(values.stack ?? "dev");
  if (values.policies !== undefined) {
    // As `castle --policies`: the stack's topology with other policies, e.g. the talk's companion set.
    const policies = readYamlObjects(values.policies).filter(isCiliumPolicy);
    if (policies.length === 0)
      throw new Error(
        `--policies ${values.policies}: no CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy found`,
      );
    inputs = { ...inputs, policies, source: `${inputs.source} with ${values.policies}` };
  }
  let failed = false;
  if (values.random !== undefined) {
    const sets = Number(values.random);
    const seed = Number(values.seed ?? 1);
    if (!Number.isInteger(sets) || sets < 1)
      throw new Error(`--random ${values.random}: expected a number of policy sets`);
    let failed = false;
    for (const version of versions) {
      const r = randomRun({ ...inputs, ciliumVersion: version }, (input) => runOracle(bin, version, input), {
        sets,
        flowsPerSet: 20,
        seed,
      });
      failed ||= r.findings.length > 0 || r.refusalFindings.length > 0;
      const lines = [
        `${sets} random policy sets over ${inputs.source}'s vocabulary (seed ${seed}) against Cilium ${version}:`,
        `${r.compared.toLocaleString("en-US")} flows compared, ${r.findings.length} disagree (distinct, shrunk); ` +
          `${r.authDecided.toLocaleString("en-US")} allowed only after authentication, ${r.refused} policies Cilium refuses, ` +
          `${r.refusalFindings.length} refused by one side only`,
        ...r.refusalFindings.map((f) => `  ${f}`),
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
    // The engine reads the stack with the semantics of the Cilium it is compared with.
    const r = compareStack({ ...inputs, ciliumVersion: version }, (input) => runOracle(bin, version, input));
    failed ||= r.disagreements.length > 0 || r.refusalDisagreements.length > 0;
    if (values.json) {
      process.stdout.write(JSON.stringify({ version, ...r }, null, 2) + "\n");
      continue;
    }
    const lines = [
      `${inputs.source} against Cilium ${r.cilium} (cluster name ${ciliumClusterName(inputs)}), as enforced:`,
      `${r.compared.toLocaleString("en-US")} flows compared, ${r.disagreements.length} disagree` +
        (r.explained.length
          ? `, ${r.explained.length} decided by the datapath (${[...new Set(r.explained.map((e) => e.effect))].join(", ")}: datapathEffects.ts)`
          : ""),
    ];
    if (r.refused.length)
      lines.push(`Cilium refuses: ${r.refused.map((x) => `${x.policy} (${x.reason})`).join("; ")}`);
    if (r.engineRefused.length) lines.push(`the engine refuses: ${r.engineRefused.join("; ")}`);
    for (const d of r.refusalDisagreements) lines.push(`  refused by one side only: ${d}`);
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
