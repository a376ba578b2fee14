// The input side of `castle replay`: a capture of `hubble observe -o json` arrives as a stream, perhaps
// gzip-compressed, is cut into lines, and afterwards is refused when it was not Hubble output at all
// (ReplayInputError). Nothing here knows about policies: the replayer (replayer.ts) judges the lines.

import { PassThrough } from "node:stream";
import { createGunzip } from "node:zlib";
import { count as n } from "./format";
import type { ReplayReport } from "./types";

/** Input that is not `hubble observe -o json` output: replaying it would answer "nothing dropped". */
export class ReplayInputError extends Error {}

/**
 * A gzip-compressed capture (hubble observe -o json | gzip) is read as is: the first two bytes decide
 * (RFC 1952's magic 1f 8b), so plain text passes through untouched.
 */
export function gunzipIfNeeded(input: NodeJS.ReadableStream): NodeJS.ReadableStream {
  const out = new PassThrough();
  const fail = (e: Error): void => void out.destroy(e);
  input.once("error", fail);
  const empty = (): void => void out.end();
  input.once("end", empty);
  input.once("data", (chunk: Buffer | string) => {
    input.pause();
    input.removeListener("end", empty);
    const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) {
      const gunzip = createGunzip();
      gunzip.once("error", (e) => fail(new ReplayInputError(`the gzip stream is broken: ${e.message}`)));
      gunzip.pipe(out);
      gunzip.write(b);
      input.pipe(gunzip);
    } else {
      out.write(b);
      input.pipe(out);
    }
    input.resume();
  });
  return out;
}

/**
 * Splits a stream into lines and hands each to `onLine`, holding no more than one chunk and one partial
 * line. Equivalent to readline.createInterface({ input, crlfDelay: Infinity }) (LF or CRLF line ends, a
 * last line without LF), but several times cheaper per line: readline alone costs about as much as
 * JSON.parse of a Hubble flow, this costs one Buffer.indexOf and one UTF-8 decode. Splitting bytes at 0x0A
 * is safe for UTF-8 (the byte never occurs inside a multi-byte sequence). The async iterator lets the
 * stream read the next chunk while this one is processed. Rejects on a stream error or when `onLine`
 * throws (the stream is then destroyed).
 */
export async function readLines(input: NodeJS.ReadableStream, onLine: (line: string) => void): Promise<void> {
  const emit = (line: string): void => onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
  let rest: Buffer | undefined;
  let restText = "";
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    if (typeof chunk === "string") {
      // A stream with an encoding set hands out strings.
      let i = 0;
      for (let j = chunk.indexOf("\n"); j >= 0; j = chunk.indexOf("\n", i)) {
        const part = chunk.slice(i, j);
        if (restText !== "") {
          emit(restText + part);
          restText = "";
        } else emit(part);
        i = j + 1;
      }
      if (i < chunk.length) restText += chunk.slice(i);
      continue;
    }
    let i = 0;
    let j = chunk.indexOf(10);
    if (j >= 0 && rest) {
      emit(Buffer.concat([rest, chunk.subarray(0, j)]).toString("utf8"));
      rest = undefined;
      i = j + 1;
      j = chunk.indexOf(10, i);
    }
    for (; j >= 0; j = chunk.indexOf(10, i)) {
      emit(chunk.toString("utf8", i, j));
      i = j + 1;
    }
    if (i < chunk.length) {
      // Copied: the stream may reuse its buffer.
      const tail = Buffer.from(chunk.subarray(i));
      rest = rest ? Buffer.concat([rest, tail]) : tail;
    }
  }
  if (rest && rest.length > 0) emit(rest.toString("utf8"));
  else if (restText !== "") emit(restText);
}

/** Invalid lines remembered by number (checkReplayInput names the first 3 of them). */
export const INVALID_SAMPLES = 5;

/** Refuses a capture with no flow, or with too many lines that are not flows (more than 1%, and 10). */
export function checkReplayInput(r: ReplayReport, what = "the input"): void {
  const t = r.totals;
  const form =
    "castle replay reads `hubble observe -o json` output: one JSON object per line (GetFlowsResponse), e.g. hubble observe -o json --last 10000 > flows.json";
  // Printable and short: a binary file's bytes would garble the terminal.
  const clean = (x: string): string => {
    const c = x.replace(/[^\x20-\x7e]/g, "?");
    return c.length > 70 ? `${c.slice(0, 67)}...` : c;
  };
  const samples = r.invalid.samples
    .slice(0, 3)
    .map((s) => `line ${s.line}: ${clean(s.why)}`)
    .join("; ");
  const lines = `${n(t.linesRead)} line${t.linesRead === 1 ? "" : "s"}`;
  if (t.linesRead === 0 || t.linesRead === t.blankLines)
    throw new ReplayInputError(`${what} is empty. ${form}.`);
  if (t.flows === 0) {
    const first = (r.invalid.firstLine ?? "").trim();
    const binary = [...first].filter((ch) => !/[\x20-\x7e]/.test(ch)).length > first.length / 10;
    const hint = binary
      ? "It is not text: a binary file, or compressed otherwise than with gzip."
      : first === "[" || first.startsWith("[{") || first.startsWith("[ {")
        ? "It holds a JSON array: turn it into one object per line with jq -c '.[]', or capture with -o json (not jsonpb)."
        : first === "{" || /^"\w+":/.test(first)
          ? "It holds pretty-printed JSON (one object over many lines, as jq . prints it): print one object per line with jq -c ., or capture with -o json directly."
          : "";
    throw new ReplayInputError(
      `${what} holds no Hubble flow (${lines}${samples ? `; ${samples}` : ""}). ${hint ? `${hint} ` : ""}${form}.`,
    );
  }
  if (t.invalidLines > 10 && t.invalidLines > t.linesRead / 100)
    throw new ReplayInputError(
      `${what}: ${n(t.invalidLines)} of ${lines} are not JSON objects (${samples}). ${form}.`,
    );
}
