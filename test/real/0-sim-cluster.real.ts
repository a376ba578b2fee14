// The real tier, part 0: the simulated cluster itself (scripts/real/simCluster.ts).

import { strict as assert } from "assert";
import * as fs from "node:fs";
import { toolsBin } from "../../scripts/real/workspace";
import { SimCluster } from "../../scripts/real/simCluster";
import { startDevCluster } from "./support/castleStacks";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function pidsOf(dir: string): number[] {
  // The components' pids, read from /proc: every process whose command line names the cluster's folder.
  return fs
    .readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("real tier: the simulated cluster", () => {
  it("two start side by side in under a minute, with the dev stack's nodes Ready, and stop leaving no process", async () => {
    const bin = toolsBin();
    const started = Date.now();
    const clusters: SimCluster[] = await Promise.all([startDevCluster(bin), startDevCluster(bin)]);
    try {
      const seconds = (Date.now() - started) / 1000;
      assert.ok(seconds < 60, `ready in ${seconds}s`);
      assert.notEqual(clusters[0]!.server, clusters[1]!.server, "each on its own ports");
      for (const c of clusters) {
        const nodes = (await c.get("/api/v1/nodes")).items as {
          metadata: { name: string; labels: Record<string, string> };
          spec: { taints?: { key: string }[] };
          status: { conditions: { type: string; status: string }[] };
        }[];
        assert.deepEqual(nodes.map((n) => n.metadata.name).sort(), [
          "castle-control-plane",
          "castle-worker",
          "castle-worker2",
          "castle-worker3",
        ]);
        for (const n of nodes) {
          assert.ok(
            n.status.conditions.some((x) => x.type === "Ready" && x.status === "True"),
            `${n.metadata.name} Ready`,
          );
        }
        const byName = new Map(nodes.map((n) => [n.metadata.name, n]));
        assert.equal(
          byName.get("castle-control-plane")!.metadata.labels["node-role.kubernetes.io/control-plane"],
          "",
        );
        assert.ok(
          (byName.get("castle-worker")!.spec.taints ?? []).some(
            (t) => t.key === "node-role.kubernetes.io/infra",
          ),
          "the infra node carries kind's infra taint (its label comes from the castle's NodePatch)",
        );
        assert.equal(
          byName.get("castle-worker")!.metadata.labels["node-role.kubernetes.io/infra"],
          undefined,
        );
      }
      assert.ok(
        pidsOf(clusters[0]!.dir).length >= 5,
        "etcd, API server, controller manager, scheduler, kwok",
      );
    } finally {
      const pids = clusters.flatMap((c) => pidsOf(c.dir));
      for (const c of clusters) await c.stop();
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(pids.filter(alive), [], "no process is left");
      for (const c of clusters) assert.ok(!fs.existsSync(c.dir), "the folder is removed");
    }
  });
});
