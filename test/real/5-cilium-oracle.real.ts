// The engine against Cilium's own policy code (castle-cilium-oracle, built from github.com/cilium/cilium
// v1.19.5 and v1.20.0): the conformance suite, the dev stack's matrix and a 50-namespace stack, one
// direction at a time. Every disagreement must be a datapath effect of the checked-in table.

import { strict as assert } from "assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import * as YAML from "yaml";
import { parseCastleConfig } from "../../config/castleConfig";
import { PROJECT_DIR, recordCastle, renderedObjects, withProjectDefaults } from "../../render/render";
import { compareFlows, compareStack, Comparison, runOracle } from "../../scripts/conformance/compare";
import { DATAPATH_EFFECTS } from "../../scripts/conformance/datapathEffects";
import { randomRun } from "../../scripts/conformance/random";
import type { CiliumPolicyObject } from "../../verifier/engine";
import { fromObjects, fromStack } from "../../cli/sources";
import { CASES } from "../verifier/cases";
import { devRawConfig, shared } from "../harness";

for (const version of ["1.19", "1.20"] as const) {
  describe(`real tier: the engine against Cilium ${version}'s policy code`, () => {
    let bin: string;
    before(() => {
      const r = spawnSync(
        "bash",
        [path.join(PROJECT_DIR, "scripts", "tools.sh"), "build", `cilium-oracle-${version}`],
        {
          encoding: "utf8",
        },
      );
      assert.equal(r.status, 0, r.stderr);
      bin = r.stdout.trim();
    });
    const oracle = (input: Parameters<typeof runOracle>[2]): ReturnType<typeof runOracle> =>
      runOracle(bin, version, input);

    it("agrees on the conformance suite but for the datapath effects of the table", () => {
      let compared = 0;
      const unexplained: string[] = [];
      const seen = new Set<string>();
      for (const c of CASES) {
        const policies = c.policies.flatMap((p) =>
          typeof p === "string"
            ? YAML.parseAllDocuments(p)
                .map((d) => d.toJS() as CiliumPolicyObject)
                .filter(Boolean)
            : [p],
        );
        const r = compareFlows(
          {
            policies,
            topology: c.topology,
            hostFirewall: c.options?.hostFirewall ?? true,
            ciliumClusterName: c.topology.clusterName ?? "default",
            // The engine reads each case with the semantics of the Cilium it is compared with.
            options: { ...c.options, ciliumVersion: version },
          },
          [{ ...c.flow }],
          oracle,
        );
        compared += r.compared;
        // Both refuse the same policies (the agent's refusals; the API server's are the engine's alone).
        for (const d of r.refusalDisagreements) unexplained.push(`${c.id}: ${d}`);
        // The engine marks what the datapath decided; the table must hold that effect for this case.
        for (const d of r.explained) {
          if (
            DATAPATH_EFFECTS.some(
              (e) => e.id === d.effect && e.caseId === c.id && e.direction === d.direction,
            )
          )
            seen.add(`${c.id}/${d.direction}`);
          else
            unexplained.push(`${c.id} ${d.direction}: ${d.effect} is not the table's effect for this case`);
        }
        for (const d of r.disagreements as Comparison[]) {
          const effect = DATAPATH_EFFECTS.find((e) => e.caseId === c.id && e.direction === d.direction);
          if (effect) seen.add(`${c.id}/${d.direction}`);
          else
            unexplained.push(
              `${c.id} ${d.direction}: engine ${d.engine} (${d.engineReason}), Cilium ${d.cilium} (${d.ciliumReason})`,
            );
        }
      }
      console.log(
        `      ${CASES.length} cases, ${compared} flows compared, ${seen.size} explained by the datapath table`,
      );
      assert.deepEqual(unexplained, []);
      assert.deepEqual(
        DATAPATH_EFFECTS.filter((e) => !seen.has(`${e.caseId}/${e.direction}`)).map((e) => e.caseId),
        [],
        "every entry of the table still explains a disagreement",
      );
    });

    it("agrees on every probe of the dev stack's matrix", async () => {
      const r = compareStack({ ...(await fromStack("dev")), ciliumVersion: version }, oracle);
      console.log(
        `      dev: ${r.compared} flows compared, ${r.disagreements.length} disagree, ${r.explained.length} decided by the datapath (${[...new Set(r.explained.map((e) => e.effect))].join(", ") || "none"})`,
      );
      assert.ok(r.compared > 500);
      assert.deepEqual(r.disagreements, []);
      assert.deepEqual(r.refusalDisagreements, []);
      assert.deepEqual(r.refused, [], "Cilium imports every policy of the stack");
    });

    it("agrees on 10,000 random flows over 500 random policy sets of the castle's vocabulary", async () => {
      const r = randomRun({ ...(await fromStack("dev")), ciliumVersion: version }, oracle, {
        sets: 500,
        flowsPerSet: 20,
        seed: 1,
      });
      console.log(
        `      random: ${r.compared} flows compared, ${r.findings.length} disagree, ${r.authDecided} allowed only after authentication, ${r.refused} policies Cilium refuses`,
      );
      assert.ok(r.compared >= 10_000);
      assert.deepEqual(r.refusalFindings, [], "both refuse the same policies");
      // The sets reach the fields that need cluster state: authentication on both sides.
      assert.ok(r.authDecided > 0, "no flow met a rule with authentication");
      assert.deepEqual(
        r.findings.map(
          (f) => `seed ${f.seed}: ${JSON.stringify(f.disagreement)} ${JSON.stringify(f.policies)}`,
        ),
        [],
      );
    });

    it("would find and shrink a disagreement (the host firewall told apart)", async () => {
      const faulty = (input: Parameters<typeof oracle>[0]): ReturnType<typeof oracle> =>
        oracle({ ...input, options: { ...input.options, enableHostFirewall: false } });
      const r = randomRun(await fromStack("dev"), faulty, { sets: 20, flowsPerSet: 20, seed: 1 });
      assert.ok(r.findings.length > 0);
      const f = r.findings[0]!;
      assert.equal(f.policies.length, 1, "shrunk to one policy");
      assert.equal(f.disagreement.ciliumReason, "host firewall disabled (default allow)");
    });

    it("agrees on a 50-namespace stack", async () => {
      const raw = {
        ...devRawConfig(),
        userNamespaces: Array.from({ length: 50 }, (_, i) => ({
          name: `team-${i}`,
          exposed: i % 2 === 0,
          metrics: i % 3 === 0,
        })),
      };
      const rec = await recordCastle(parseCastleConfig(withProjectDefaults(raw)), "ns50");
      const inputs = fromObjects(
        renderedObjects(rec).map((o) => o.object),
        "stack ns50",
      );
      const r = compareStack({ ...inputs, ciliumVersion: version }, oracle);
      console.log(
        `      ns50: ${r.compared} flows compared, ${r.disagreements.length} disagree, ${r.explained.length} decided by the datapath`,
      );
      assert.deepEqual(r.disagreements, []);
      assert.deepEqual(r.refusalDisagreements, []);
    });
  });
}

// The command a user runs (and CI, through this tier): both Cilium versions, the dev stack's matrix, the
// talk's companion policies over the dev stack's matrix, and 500 random policy sets, each version's own line.
describe("real tier: npm run conformance:cilium", () => {
  for (const args of [
    ["--stack", "dev"],
    ["--stack", "dev", "--policies", shared("reference", "cilium-netpol-demo")],
    ["--stack", "dev", "--random", "500"],
  ]) {
    it(`${args.join(" ")}: every flow agrees, for 1.19 and 1.20`, () => {
      const r = spawnSync("npm", ["run", "-s", "conformance:cilium", "--", ...args], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
      });
      console.log(
        r.stdout
          .split("\n")
          .filter((l) => /flows compared/.test(l))
          .map((l) => `      ${l}`)
          .join("\n"),
      );
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      const counts = [...r.stdout.matchAll(/([\d,]+) flows compared, (\d+) disagree/g)].map((m) => [
        Number(m[1]!.replace(/,/g, "")),
        Number(m[2]),
      ]);
      assert.equal(counts.length, 2, r.stdout);
      for (const [compared, disagree] of counts) {
        assert.equal(disagree, 0);
        if (args.includes("--random")) assert.ok(compared! >= 10_000, `${compared} flows`);
      }
    });
  }
});
