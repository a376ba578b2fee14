#!/usr/bin/env node
// npx castle ...: runs the compiled CLI (dist/, built by `npm ci` through the prepare script) when it is
// up to date with the TypeScript sources, else the sources through ts-node (transpile only: the tests
// type-check), so an edited checkout never runs stale code.
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const compiled = path.join(root, "dist", "cli", "main.js");
const SOURCES = ["castle.ts", "cli", "vocabulary", "lib", "config", "verifier", "components", "render"];

function newestSource(p) {
  let st;
  try {
    st = fs.statSync(p);
  } catch {
    return 0;
  }
  if (st.isFile()) return p.endsWith(".ts") ? st.mtimeMs : 0;
  let newest = 0;
  for (const e of fs.readdirSync(p)) newest = Math.max(newest, newestSource(path.join(p, e)));
  return newest;
}

function fresh() {
  let built;
  try {
    built = fs.statSync(compiled).mtimeMs;
  } catch {
    return false;
  }
  return SOURCES.every((s) => newestSource(path.join(root, s)) <= built);
}

let main;
if (process.env.CASTLE_FROM_SOURCE !== "1" && fresh()) {
  ({ main } = require(compiled));
} else {
  require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
  ({ main } = require("./main.ts"));
}
main(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  stdin: process.stdin,
  isTTY: Boolean(process.stderr.isTTY),
}).then((code) => {
  process.exitCode = code;
});
