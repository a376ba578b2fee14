// castle replay refuses what is not Hubble output, reads gzip as is, and says which flag to use.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { PassThrough } from "stream";
import { castle } from "../castle/support";
import { main } from "../../cli/main";
import { capture } from "./devFlows";

describe("replay: input that is not hubble observe -o json", () => {
  let dir: string;
  let lines: string[];
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "castle-replay-input-"));
    lines = fs
      .readFileSync(capture("hubble-otel_basic-sample-10-flows.json"), "utf8")
      .split("\n")
      .filter((l) => l.trim());
  });
  const file = (name: string, content: string | Buffer): string => {
    fs.writeFileSync(path.join(dir, name), content);
    return path.join(dir, name);
  };
  const replayOf = async (f: string): Promise<{ code: number; err: string; out: string }> =>
    castle("replay", "--stack", "dev", f);

  it("an empty file, plain text and binary garbage: exit 1, what the input is and the right form", async () => {
    const empty = await replayOf(file("empty.json", ""));
    assert.equal(empty.code, 1);
    assert.match(
      empty.err,
      /^castle replay: \S+empty\.json is empty\. castle replay reads `hubble observe -o json` output: one JSON object per line/,
    );
    const text = await replayOf(file("notes.txt", "hello world\n"));
    assert.match(
      text.err,
      /notes\.txt holds no Hubble flow \(1 line; line 1: not JSON: Unexpected token 'h'/,
    );
    const garbage = Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919) % 256));
    const bin = await replayOf(file("garbage.bin", garbage));
    assert.equal(bin.code, 1);
    assert.match(bin.err, /It is not text: a binary file, or compressed otherwise than with gzip\./);
    assert.ok(/^[\x20-\x7e\n]*$/.test(bin.err), "the message is printable");
    assert.equal(bin.out, "", "no report: nothing was judged");
  });

  it("pretty-printed JSON and a JSON array are explained, with the jq that fixes them", async () => {
    const objects = lines.map((l) => JSON.parse(l));
    const pretty = await replayOf(file("pretty.json", JSON.stringify(objects[0], null, 2)));
    assert.match(
      pretty.err,
      /It holds pretty-printed JSON \(one object over many lines, as jq \. prints it\): print one object per line with jq -c \./,
    );
    const array = await replayOf(file("array.json", JSON.stringify(objects, null, 2)));
    assert.match(array.err, /It holds a JSON array: turn it into one object per line with jq -c '\.\[\]'/);
  });

  it("too many invalid lines among flows: refused with the first line numbers", async () => {
    const mixed = [...lines, ...Array.from({ length: 12 }, (_, i) => `garbage ${i}`)].join("\n");
    const r = await replayOf(file("mixed.json", mixed));
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /mixed\.json: 12 of 22 lines are not JSON objects \(line 11: not JSON: .*; line 12: .*; line 13: /,
    );
    // A stray line or two is fine (a truncated last line, say).
    const one = await replayOf(file("one-bad.json", [...lines, '{"truncated'].join("\n")));
    assert.equal(one.code, 0, one.err);
  });

  it("reads a gzip-compressed capture as is, from a file and from stdin", async () => {
    const gz = zlib.gzipSync(lines.join("\n") + "\n");
    const plain = await replayOf(file("flows.json", lines.join("\n") + "\n"));
    const zipped = await replayOf(file("flows.json.gz", gz));
    assert.equal(zipped.code, 0, zipped.err);
    assert.equal(zipped.out, plain.out);
    assert.match(zipped.out, /^castle replay \(stack dev, judged as if enforced\): 10 lines, 10 flows/);
    let out = "";
    const stdin = new PassThrough();
    stdin.end(gz);
    const code = await main(["replay", "--stack", "dev", "-"], {
      out: (x) => (out += x),
      err: () => undefined,
      stdin,
      isTTY: false,
    });
    assert.equal(code, 0);
    assert.equal(out, plain.out);
  });

  it("maps an unknown Hubble node with --node-map, the option its note names", async () => {
    const f = file("flows2.json", lines.join("\n") + "\n");
    const r = await castle("replay", "--stack", "dev", f);
    const node = /Hubble node (\S+) is not a node of stack dev: .* map it with --node-map \1=<node>/.exec(
      r.out,
    )?.[1];
    assert.ok(node, r.out);
    const mapped = await castle("replay", "--stack", "dev", f, "--node-map", `${node}=castle-worker`);
    assert.equal(mapped.code, 0, mapped.err);
    assert.ok(!/is not a node of stack dev/.test(mapped.out), mapped.out);
    const bad = await castle("replay", "--stack", "dev", f, "--node-map", "oops");
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--node-map oops: expected <hubble node>=<node of the stack>/);
  });
});
