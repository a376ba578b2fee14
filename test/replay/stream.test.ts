// replay() on a stream: the line splitter's edge cases (CRLF, a last line without LF, UTF-8 split across
// chunks, string chunks, errors). stream.e2e.ts replays 200,000 lines through a PassThrough.

import { strict as assert } from "assert";
import { PassThrough, Readable } from "stream";
import { readLines, replay } from "../../verifier/replay";
import { CastleInputs, fromStack } from "../../cli/sources";
import { streamLine } from "./devFlows";

async function collect(input: Readable): Promise<string[]> {
  const out: string[] = [];
  await readLines(input, (l) => out.push(l));
  return out;
}

describe("replay: streaming", function () {
  let dev: CastleInputs;
  before(async () => {
    dev = await fromStack("dev");
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
    broken.write(streamLine(0) + "\n");
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
