// ts-node transpiles every TypeScript file a mocha process loads, on every run: about 5 s of CPU for the
// unit tier, before its first test, and again in each parallel worker. This keeps ts-node's output on
// disk (node_modules/.cache/castle/ts-node), keyed by the file's path and source and by what else decides
// the output (the TypeScript and ts-node versions, tsconfig.json, the package types), and reads an
// unchanged file back instead. Loaded by the mocharc files right after ts-node/register/transpile-only.

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../../lib/projectRoot";

interface TsNodeService {
  compile(code: string, fileName: string, lineOffset?: number): string;
}

const service = (process as unknown as Record<symbol, TsNodeService | undefined>)[
  Symbol.for("ts-node.register.instance")
];
if (!service) throw new Error("test/support/transpileCache.ts: require ts-node/register before it");

const ROOT = projectRoot();
const DIR = path.join(ROOT, "node_modules", ".cache", "castle", "ts-node");
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), "utf8");
const packageType = (file: string): string => String((JSON.parse(read(file)) as { type?: string }).type);
const SALT = [
  read("node_modules/typescript/package.json"),
  read("node_modules/ts-node/package.json"),
  read("tsconfig.json"),
  // A package's type decides CommonJS or ES module output for the files under it.
  packageType("package.json"),
  packageType("policypack/package.json"),
].join("\0");

// ts-node maps stack traces only through the outputs it compiled itself: the ones read back are handed to
// source-map-support here, so a failing test still points at its TypeScript line.
const readBack = new Map<string, string>();
// eslint-disable-next-line @typescript-eslint/no-require-imports
(require("@cspotcode/source-map-support") as { install(o: object): void }).install({
  retrieveFile: (file: string) => readBack.get(file) ?? null,
});

const compile = service.compile.bind(service);
service.compile = (code, fileName, lineOffset = 0) => {
  const key = createHash("sha256").update(SALT).update(`\0${fileName}\0${lineOffset}\0`).update(code);
  const file = path.join(DIR, `${key.digest("hex")}.js`);
  if (fs.existsSync(file)) {
    const output = fs.readFileSync(file, "utf8");
    readBack.set(fileName, output);
    return output;
  }
  const output = compile(code, fileName, lineOffset);
  fs.mkdirSync(DIR, { recursive: true });
  // Parallel workers may write the same entry: each writes its own file and renames it into place.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, output);
  fs.renameSync(tmp, file);
  return output;
};
