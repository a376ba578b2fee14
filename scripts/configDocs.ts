// npm run config:docs [-- --check]: writes the stack config's documentation from its schema
// (config/schema.ts): `Pulumi.yaml`'s `config:` block, and the README's config table between
// <!-- config-table:start --> and <!-- config-table:end -->. Everything else in both files is kept byte for
// byte. With --check it writes nothing and exits 1 naming each stale file; test/configSchema.test.ts runs
// the same check in-process.
//
// Both outputs go through prettier, so that `prettier --check .` (npm run lint) agrees with the generator.

import * as fs from "node:fs";
import * as path from "node:path";
import { KindGuard, type TSchema } from "@sinclair/typebox";
import * as prettier from "prettier";
import * as YAML from "yaml";
import { CONFIG_KEYS, DEFAULTS, shapeOf, StackConfigSchema } from "../config/schema";

export const PROJECT_DIR = path.resolve(__dirname, "..");
export const TABLE_START = "<!-- config-table:start -->";
export const TABLE_END = "<!-- config-table:end -->";
export const FIX_COMMAND = "npm run config:docs";

/** A file the generator could not rewrite: a user mistake, reported without a stack trace. */
export class ConfigDocsError extends Error {}

interface PulumiConfigType {
  type?: "string" | "integer" | "boolean" | "array";
  items?: PulumiConfigType;
}

/**
 * The Pulumi project config type of a schema. Pulumi knows string, integer, boolean and array of those
 * (pulumi/pulumi sdk/go/common/workspace/project.json, simpleConfigType and configItemsType); an object, or
 * an array of objects, is declared without a type and the program validates it.
 */
function pulumiType(schema: TSchema): PulumiConfigType {
  if (KindGuard.IsString(schema)) return { type: "string" };
  if (KindGuard.IsInteger(schema)) return { type: "integer" };
  if (KindGuard.IsBoolean(schema)) return { type: "boolean" };
  if (KindGuard.IsUnion(schema) && schema.anyOf.every((s) => KindGuard.IsLiteralString(s)))
    return { type: "string" };
  if (KindGuard.IsArray(schema)) {
    const items = pulumiType(schema.items);
    return items.type ? { type: "array", items } : {};
  }
  return {};
}

/** Whether a shape names keys (`{...}`), which an untyped Pulumi declaration should then spell out. */
const namesKeys = (shape: string): boolean => shape.includes("{");

/** The `config:` block of Pulumi.yaml, as prettier formats it. */
export async function pulumiConfigBlock(dir = PROJECT_DIR): Promise<string> {
  const config: Record<string, Record<string, unknown>> = {};
  for (const key of CONFIG_KEYS) {
    const schema: TSchema = StackConfigSchema.properties[key];
    const { type, items } = pulumiType(schema);
    const shape = shapeOf(schema);
    const description: string = schema.description ?? "";
    config[key] = {
      ...(type ? { type } : {}),
      ...(items ? { items } : {}),
      default: DEFAULTS[key],
      description: type || !namesKeys(shape) ? description : `${description} Shape: ${shape}.`,
    };
  }
  const text = YAML.stringify({ config }, { lineWidth: 0 });
  return format(text, path.join(dir, "Pulumi.yaml"), "yaml");
}

/**
 * Pulumi.yaml with its `config:` block replaced: the block is the `config:` line and every indented or
 * blank line after it, up to the next line that starts in column 0 (a key or a comment), which is kept.
 */
export async function renderPulumiYaml(current: string, dir = PROJECT_DIR): Promise<string> {
  const lines = current.split("\n");
  const start = lines.findIndex((l) => /^config:\s*$/.test(l));
  if (start < 0)
    throw new ConfigDocsError(
      `${path.join(dir, "Pulumi.yaml")} has no top-level "config:" line. Fix: add a line "config:" where the block belongs, then run ${FIX_COMMAND}`,
    );
  let end = start + 1;
  while (end < lines.length && (lines[end] === "" || /^\s/.test(lines[end]!))) end++;
  // Blank lines before the next top-level entry separate it from the block: they stay.
  while (end > start + 1 && lines[end - 1] === "") end--;
  const block = (await pulumiConfigBlock(dir)).replace(/\n$/, "").split("\n");
  return [...lines.slice(0, start), ...block, ...lines.slice(end)].join("\n");
}

/** A digest in a table cell: its first and last four hex digits say which image it is. */
const shortDigests = (s: string): string =>
  s.replace(/@sha256:([0-9a-f]{4})[0-9a-f]{56}([0-9a-f]{4})/g, "@sha256:$1…$2");

/** A default as the table shows it: `castle`, `""`, `[]`, `{controlPlane: 1, infra: 1, workers: 2}`. */
function defaultText(v: unknown): string {
  const inline = (x: unknown): string => {
    if (Array.isArray(x)) return `[${x.map(inline).join(", ")}]`;
    if (typeof x === "object" && x !== null)
      return `{${Object.entries(x)
        .map(([k, val]) => `${k}: ${inline(val)}`)
        .join(", ")}}`;
    return typeof x === "string" ? JSON.stringify(x) : String(x);
  };
  const text = typeof v === "string" && v !== "" ? v : inline(v);
  return `\`${shortDigests(text)}\``;
}

/** A table cell: a `|` would end the cell, even inside a code span (GFM tables). */
const cell = (s: string): string => s.replace(/\|/g, "\\|");

/** The README's config table, one row per key, as prettier formats it. */
export async function configTable(dir = PROJECT_DIR): Promise<string> {
  const rows = CONFIG_KEYS.map((key) => {
    const schema: TSchema = StackConfigSchema.properties[key];
    // Shapes name keys in code spans; literal unions come with theirs.
    const type = shapeOf(schema).replace(/\{[^}]*\}/g, (m) => `\`${m}\``);
    return [`\`${key}\``, type, defaultText(DEFAULTS[key]), schema.description ?? ""];
  });
  const table = [["key", "type", "default", "meaning"], ["---", "---", "---", "---"], ...rows]
    .map((r) => `| ${r.map(cell).join(" | ")} |`)
    .join("\n");
  return format(table, path.join(dir, "README.md"), "markdown");
}

/** The README with the text between the table markers replaced by the generated table. */
export async function renderReadme(current: string, dir = PROJECT_DIR): Promise<string> {
  const start = current.indexOf(TABLE_START);
  const end = current.indexOf(TABLE_END);
  if (start < 0 || end < start)
    throw new ConfigDocsError(
      `${path.join(dir, "README.md")} lacks the config table markers. Fix: put ${TABLE_START} and ${TABLE_END}, each on a line of its own, around the config table, then run ${FIX_COMMAND}`,
    );
  const table = await configTable(dir);
  return `${current.slice(0, start + TABLE_START.length)}\n\n${table}\n${current.slice(end)}`;
}

async function format(text: string, file: string, parser: "yaml" | "markdown"): Promise<string> {
  const options = (await prettier.resolveConfig(file)) ?? {};
  return prettier.format(text, { ...options, parser });
}

export interface DocFile {
  file: string;
  current: string;
  wanted: string;
}

/** Each generated file with what it holds and what the schema says it should hold. */
export async function docFiles(dir = PROJECT_DIR): Promise<DocFile[]> {
  const read = (name: string): string => fs.readFileSync(path.join(dir, name), "utf8");
  const pulumiYaml = read("Pulumi.yaml");
  const readme = read("README.md");
  return [
    { file: "Pulumi.yaml", current: pulumiYaml, wanted: await renderPulumiYaml(pulumiYaml, dir) },
    { file: "README.md", current: readme, wanted: await renderReadme(readme, dir) },
  ];
}

/** What `npm run config:docs [-- --check]` does: returns the exit code and the lines it prints. */
export async function run(argv: string[], dir = PROJECT_DIR): Promise<{ code: number; out: string[] }> {
  const unknown = argv.filter((a) => a !== "--check");
  if (unknown.length > 0)
    return {
      code: 2,
      out: [`config:docs: unknown argument ${unknown.join(" ")}. Usage: ${FIX_COMMAND} [-- --check]`],
    };
  const check = argv.includes("--check");
  const out: string[] = [];
  let stale = 0;
  for (const f of await docFiles(dir)) {
    if (f.current === f.wanted) continue;
    stale++;
    if (check) out.push(`${f.file} is stale: it does not match config/schema.ts. Fix: ${FIX_COMMAND}`);
    else {
      fs.writeFileSync(path.join(dir, f.file), f.wanted);
      out.push(`wrote ${f.file}`);
    }
  }
  if (stale === 0) out.push("Pulumi.yaml and README.md match config/schema.ts");
  return { code: check && stale > 0 ? 1 : 0, out };
}

if (require.main === module) {
  run(process.argv.slice(2))
    .then(({ code, out }) => {
      (code === 0 ? console.log : console.error)(out.join("\n"));
      process.exit(code);
    })
    .catch((e: Error) => {
      console.error(e instanceof ConfigDocsError ? `config:docs: ${e.message}` : e.stack);
      process.exit(e instanceof ConfigDocsError ? 1 : 2);
    });
}
