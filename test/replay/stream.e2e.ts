// replay() on a long stream: 200,000 lines through a PassThrough, with progress reports. The line
// splitter's edge cases are in stream.test.ts.

import { strict as assert } from "assert";
import { once } from "events";
import { PassThrough } from "stream";
import { replay } from "../../verifier/replay";
import { CastleInputs, fromStack } from "../../cli/sources";
import { SSH_IPS, streamLine } from "./devFlows";

/** Writes lines into a stream, waiting for it to drain: nothing piles up in memory. */
async function feed(out: PassThrough, n: number): Promise<void> {
  let batch = "";
  for (let i = 0; i < n; i++) {
    batch += streamLine(i) + "\n";
    if (batch.length > 64 * 1024 || i === n - 1) {
      if (!out.write(batch)) await once(out, "drain");
      batch = "";
    }
  }
  out.end();
}

describe("replay: streaming", function () {
  this.timeout(300000);
  let dev: CastleInputs;
  before(async () => {
    dev = await fromStack("dev");
  });

  it("replays 200,000 lines from a PassThrough, keeps aggregates, reports progress every 10,000 lines", async () => {
    const input = new PassThrough();
    const progress: number[] = [];
    const [report] = await Promise.all([
      replay(input, dev, { progress: (n) => progress.push(n) }),
      feed(input, 200_000),
    ]);
    assert.equal(progress.length, 20);
    assert.deepEqual(
      progress,
      Array.from({ length: 20 }, (_, i) => (i + 1) * 10_000),
    );
    assert.deepEqual(report.totals, {
      linesRead: 200_000,
      blankLines: 0,
      invalidLines: 0,
      events: { lost_events: 20_000 },
      flows: 180_000,
      replies: 40_000,
      repliesGuessed: 0,
      judged: 120_000,
      allowed: 60_000,
      wouldDrop: 60_000,
      skipped: 20_000,
      skippedByReason: { "reserved:health (Cilium health endpoint)": 20_000 },
      hubbleVerdicts: { FORWARDED: 100_000, AUDIT: 40_000, DROPPED: 20_000, VERDICT_UNKNOWN: 20_000 },
      wouldDropHubbleAudit: 40_000,
      wouldDropHubbleDropped: 20_000,
      hubbleDropsAllowed: 0,
    });
    // Equal counts: ties are broken by class, so the order is stable.
    assert.deepEqual(
      report.groups.map((g) => [g.count, g.source, g.destination, g.port, g.layer]),
      [
        [20_000, "demo-batch/app.kubernetes.io/name=demo-client", "world", "443/TCP", "user"],
        [
          20_000,
          "demo-shop/app.kubernetes.io/name=demo-client",
          "demo-batch/app.kubernetes.io/name=demo-web",
          "8080/TCP",
          "user",
        ],
        [20_000, "world", "host castle-worker2", "22/TCP", "node"],
      ],
    );
    const cross = report.groups[1];
    assert.equal(cross.firstTime, "2026-11-24T12:00:00.001Z");
    assert.equal(cross.lastTime, "2026-11-24T12:03:19.991Z");
    // Samples stay bounded however many pods there are.
    assert.equal(cross.sourcePods.length, 3);
    assert.deepEqual(report.groups[2].sourceIps, SSH_IPS);
    assert.deepEqual(report.endpoints, { pods: 7, externals: 0 });
  });
});
