// replay() on a stream: 200,000 lines through a PassThrough, progress reports, and the line splitter's
// edge cases (CRLF, a last line without LF, UTF-8 split across chunks, string chunks, errors).

import { strict as assert } from "assert";
import { once } from "events";
import { PassThrough, Readable } from "stream";
import { readLines, replay } from "../../verifier/replay";
import { CastleInputs, fromStack } from "../../cli/sources";
import { SSH_IPS, WORLD_IP } from "./devFlows";
import { EP, flowLine } from "../../scripts/hubbleFlows";

/** Line i of the stream: ten kinds of lines in turn, 20,000 of each in 200,000. */
function line(i: number): string {
  const time = new Date(Date.UTC(2026, 10, 24, 12, 0, 0) + i).toISOString();
  switch (i % 10) {
    case 0: // allowed inside demo-shop
      return flowLine({ src: EP.shopClient(i % 50), dst: EP.shopWeb(), proto: "TCP", port: 8080, time });
    case 1: // across user namespaces
      return flowLine({
        src: EP.shopClient(i % 50),
        dst: EP.batchWeb(i % 7),
        proto: "TCP",
        port: 8080,
        srcPort: 32768 + (i % 20000),
        verdict: "AUDIT",
        time,
      });
    case 2: // ingress-nginx -> exposed namespace
      return flowLine({
        src: EP.nginx(i % 3),
        dst: EP.shopWeb(),
        proto: "TCP",
        port: 8080,
        node: "castle-worker",
        time,
      });
    case 3: // to the internet
      return flowLine({
        src: EP.batchClient(),
        dst: EP.world(),
        dstIp: WORLD_IP,
        destinationNames: ["example.com"],
        proto: "TCP",
        port: 443,
        verdict: "AUDIT",
        time,
      });
    case 4: // a reply
      return flowLine({
        src: EP.batchWeb(),
        dst: EP.shopClient(),
        proto: "TCP",
        srcPort: 8080,
        port: 41000,
        isReply: true,
        time,
      });
    case 5: // DNS
      return flowLine({ src: EP.batchClient(), dst: EP.coredns(i % 2), proto: "UDP", port: 53, time });
    case 6: // SSH from the internet
      return flowLine({
        src: EP.world(),
        dst: EP.host(),
        srcIp: SSH_IPS[Math.floor(i / 10) % 2],
        proto: "TCP",
        port: 22,
        verdict: "DROPPED",
        time,
      });
    case 7: // the old `reply` field, zero values omitted
      return JSON.stringify({
        flow: {
          l4: { ICMPv4: {} },
          source: EP.shopWeb(),
          destination: EP.shopClient(),
          node_name: "castle-worker2",
          reply: true,
        },
      });
    case 8: // health checks are left out
      return flowLine({ src: EP.remoteNode(), dst: EP.health(), proto: "TCP", port: 4240, time });
    default:
      return JSON.stringify({ lost_events: { source: "PERF_EVENT_RING_BUFFER", num_events_lost: 1 }, time });
  }
}

/** Writes lines into a stream, waiting for it to drain: nothing piles up in memory. */
async function feed(out: PassThrough, n: number): Promise<void> {
  let batch = "";
  for (let i = 0; i < n; i++) {
    batch += line(i) + "\n";
    if (batch.length > 64 * 1024 || i === n - 1) {
      if (!out.write(batch)) await once(out, "drain");
      batch = "";
    }
  }
  out.end();
}

async function collect(input: Readable): Promise<string[]> {
  const out: string[] = [];
  await readLines(input, (l) => out.push(l));
  return out;
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

  it("splits like readline: CRLF, a last line without LF, UTF-8 across chunks, string chunks", async () => {
    const text = 'a\r\n{"x":"é€😀"}\n\nlast';
    const bytes = Buffer.from(text, "utf8");
    // One byte per chunk splits every multi-byte character.
    const chunks = Array.from(bytes, (b) => Buffer.from([b]));
    const expected = ["a", '{"x":"é€😀"}', "", "last"];
    assert.deepEqual(await collect(Readable.from(chunks)), expected);
    assert.deepEqual(await collect(Readable.from([bytes])), expected);
    assert.deepEqual(await collect(Readable.from(["a\r\n{", '"x":"é€😀"}\n', "\nla", "st"])), expected);
    assert.deepEqual(await collect(Readable.from([Buffer.from("one\n")])), ["one"]);
    assert.deepEqual(await collect(Readable.from([])), []);
  });

  it("rejects when the stream fails or a line handler throws", async () => {
    const broken = new PassThrough();
    const p = replay(broken, dev);
    broken.write(line(0) + "\n");
    broken.destroy(new Error("connection reset"));
    await assert.rejects(p, /connection reset/);
    await assert.rejects(
      readLines(Readable.from([Buffer.from("a\nb\n")]), (l) => {
        if (l === "b") throw new Error("bad line b");
      }),
      /bad line b/,
    );
    await assert.rejects(
      replay(Readable.from([Buffer.from("x\n".repeat(10_000))]), dev, {
        progress: () => {
          throw new Error("stop");
        },
      }),
      /stop/,
    );
  });
});
