// The API server's first word on a policy: the CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy CRD
// schemas of the stack's Cilium minor. @kubernetes-models/cilium (1.19's types; ESM-only, so loaded with
// a dynamic import()) judges the object as the API server stores it, and crdVersions.ts's rows for the
// version replace what the models judge otherwise. A policy the schema refuses is never stored, so it takes
// no effect: the CLI leaves it out of every verdict and says so, and the policy pack refuses the change.
//
// Messages are the API server's: the field path as kubectl prints it, the value, and the words of
// k8s.io/apimachinery pkg/util/validation/field/errors.go and k8s.io/kube-openapi pkg/validation/errors
// (through apiextensions-apiserver pkg/apiserver/validation/validation.go kubeOpenAPIResultToFieldErrors).

import { CNP_KIND } from "../lib/cilium/policy";
import type { Untyped } from "../lib/untyped";
import type { CiliumVersion } from "./engine";
import { CrdRow, matchesPath, MODEL_PATTERNS, patternOf, rowsFor, valuesAt } from "./crdVersions";

/** One error of the models' validator (Ajv's ErrorObject, as @kubernetes-models/validate throws them). */
interface ModelError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** A policy as the version's API server keeps it before validating, and the fields it dropped. */
export interface StoredPolicy {
  object: Untyped;
  /** JSON pointers of the fields the version's CRD does not have (rows of kind `prune`). */
  dropped: string[];
}

/**
 * What the version's API server validates and stores, as far as the rows say: nulls dropped (row `nulls`)
 * and the fields the version's CRD does not have pruned (rows `prune`; schema/pruning/algorithm.go).
 * Fields unknown to every version are left: nothing here reads them, and the agent's checks name them.
 */
export function storedAs<P extends Untyped>(
  props: P,
  ciliumVersion: CiliumVersion,
): StoredPolicy & { object: P } {
  const rows = rowsFor(ciliumVersion);
  const nulls = rows.some((r) => r.kind === "nulls");
  // A copy to prune: the caller's object stays as written.
  const copy = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(copy);
    if (x === null || typeof x !== "object") return x;
    return Object.fromEntries(
      Object.entries(x)
        .filter(([, v]) => !(nulls && v === null))
        .map(([k, v]) => [k, copy(v)]),
    );
  };
  const object = copy(props) as P;
  const dropped: string[] = [];
  for (const row of rows) {
    if (row.kind !== "prune") continue;
    for (const { pointer } of valuesAt(object, row.paths)) {
      const segs = pointer.split("/").slice(1);
      const parent = segs.slice(0, -1).reduce<Untyped>((o, s) => o[s], object);
      delete parent[segs[segs.length - 1]!];
      dropped.push(pointer);
    }
  }
  return { object, dropped };
}

/** The schema's complaints about one policy object, as that Cilium minor's API server gives them. */
export async function crdSchemaErrors(
  props: Untyped,
  ciliumVersion: CiliumVersion = "1.19",
): Promise<string[]> {
  const { object, dropped } = storedAs(props, ciliumVersion);
  const rows = rowsFor(ciliumVersion);
  const errors = (await modelErrors(object)).filter((e) => !rows.some((r) => replaces(r, e, object)));
  const out = describe(errors, object, dropped, ciliumVersion);
  for (const r of rows) out.push(...rowErrors(r, object));
  return [...new Set(out)];
}

async function modelErrors(stored: Untyped): Promise<ModelError[]> {
  // A value that fails a backtracking pattern becomes one that fails it at once (the models would take
  // minutes on a long label); its error names the same place, and messages read the value from `stored`.
  let object = stored;
  for (const { paths, pattern } of MODEL_PATTERNS)
    for (const x of valuesAt(stored, paths))
      if (typeof x.value === "string" && !patternOf(pattern).test(x.value)) {
        if (object === stored) object = JSON.parse(JSON.stringify(stored)) as Untyped;
        const segs = x.pointer.split("/").slice(1);
        segs.slice(0, -1).reduce<Untyped>((o, s) => o[s], object)[segs[segs.length - 1]!] = "!";
      }
  // The models' constructors take their own typed shape; the props are checked by validate() below.
  const model =
    object.kind === CNP_KIND
      ? await import("@kubernetes-models/cilium/cilium.io/v2/CiliumNetworkPolicy").then(
          ({ CiliumNetworkPolicy: M }) => new M(object as ConstructorParameters<typeof M>[0]),
        )
      : await import("@kubernetes-models/cilium/cilium.io/v2/CiliumClusterwideNetworkPolicy").then(
          ({ CiliumClusterwideNetworkPolicy: M }) => new M(object as ConstructorParameters<typeof M>[0]),
        );
  try {
    model.validate();
    return [];
  } catch (e) {
    const list = (e as { errors?: ModelError[] }).errors;
    if (Array.isArray(list)) return list;
    return [{ instancePath: "", keyword: "", params: {}, message: String((e as Error).message) }];
  }
}

/** Whether a row of the version says the API server does not raise this error of the models. */
function replaces(row: CrdRow, e: ModelError, object: Untyped): boolean {
  switch (row.kind) {
    case "enum":
    case "pattern":
    case "format":
      return e.keyword === row.kind && matchesPath(e.instancePath, row.paths);
    case "accept":
      return matchesPath(e.instancePath, row.paths) && row.when(valueAt(object, e.instancePath));
    default:
      return false;
  }
}

/** The version's own checks, where the models judge otherwise or not at all. */
function rowErrors(row: CrdRow, object: Untyped): string[] {
  const at = (paths: string[]) => valuesAt(object, paths);
  switch (row.kind) {
    case "enum":
      return at(row.paths)
        .filter((x) => !row.values.includes(x.value as string))
        .map(
          (x) =>
            `${fieldPath(x.pointer)}: Unsupported value: ${show(x.value)}: supported values: ${row.values.map((v) => JSON.stringify(v)).join(", ")}`,
        );
    case "pattern":
      return at(row.paths)
        .filter((x) => typeof x.value === "string" && !patternOf(row.pattern).test(x.value))
        .map((x) => invalid(x.pointer, x.value, `should match '${row.pattern}'`));
    case "format":
      return at(row.paths)
        .filter((x) => row.check && typeof x.value === "string" && !row.check(x.value))
        .map((x) => invalid(x.pointer, x.value, `must be of type ${row.format}: ${JSON.stringify(x.value)}`));
    case "unique":
      // listtype/validation.go (validateListSet): the second appearance of a value is named, once.
      return at(row.paths).flatMap(({ pointer, value }) => {
        if (!Array.isArray(value)) return [];
        const seen = value.map((v) => JSON.stringify(v));
        return seen.flatMap((v, i) =>
          seen.slice(0, i).filter((w) => w === v).length === 1
            ? [`${fieldPath(`${pointer}/${i}`)}: Duplicate value: ${show(value[i])}`]
            : [],
        );
      });
    case "type":
      return at(row.paths)
        .filter((x) => typeof x.value !== row.type)
        .map((x) =>
          invalid(x.pointer, x.value, `must be of type ${row.type}: ${JSON.stringify(jsonType(x.value))}`),
        );
    case "anyOfRoot":
      // A CEL rule on the object itself: the API server names no field (a nil field path).
      return row.fields.some((f) => object[f] !== undefined)
        ? []
        : [`<nil>: Invalid value: "object": ${row.message}`];
    case "nulls":
    case "prune":
    case "accept":
      return [];
  }
}

/** The models' errors that stand, in the API server's words. */
function describe(
  errors: ModelError[],
  object: Untyped,
  dropped: string[],
  ciliumVersion: CiliumVersion,
): string[] {
  const composite = new Set(
    errors.filter((e) => e.keyword === "oneOf" || e.keyword === "anyOf").map((e) => e.instancePath),
  );
  const pruned = rowsFor(ciliumVersion).flatMap((r) => (r.kind === "prune" ? [r] : []));
  const droppedUnder = (at: string): string[] =>
    dropped.filter((d) => d.startsWith(`${at}/`)).map((d) => d.slice(at.length + 1).replace(/\//g, "."));
  return errors.flatMap((e) => {
    const p = e.params;
    const value = valueAt(object, e.instancePath);
    switch (e.keyword) {
      case "required":
        // A failing branch of a oneOf/anyOf at the same place: said with the composite, below.
        if (composite.has(e.instancePath)) return [];
        return [`${fieldPath(`${e.instancePath}/${String(p.missingProperty)}`)}: Required value`];
      case "oneOf":
      case "anyOf": {
        const gone = droppedUnder(e.instancePath);
        // Alternatives the version's CRD does not have are not alternatives: pruned like their fields.
        const alternatives = errors
          .filter((x) => x.keyword === "required" && x.instancePath === e.instancePath)
          .map((x) => String(x.params.missingProperty))
          .filter((n) => !pruned.some((r) => matchesPath(`${e.instancePath}/${n}`, r.paths)));
        const passing = Array.isArray(p.passingSchemas) ? p.passingSchemas.length : 0;
        const what =
          e.keyword === "oneOf"
            ? `must validate one and only one schema (oneOf). ${passing > 1 ? `Found ${passing} valid alternatives` : "Found none valid"}`
            : "must validate at least one schema (anyOf)";
        const needs =
          passing > 1 || alternatives.length === 0 ? "" : `: one of ${alternatives.join(", ")} is required`;
        const note = gone.length
          ? ` (${gone.join(", ")}: not in Cilium ${ciliumVersion}'s CRD, dropped by the API server)`
          : "";
        return [`${fieldPath(e.instancePath)}: ${what}${needs}${note}`];
      }
      case "enum":
        return [
          `${fieldPath(e.instancePath)}: Unsupported value: ${show(value)}: supported values: ${((p.allowedValues as unknown[]) ?? []).map((v) => JSON.stringify(v)).join(", ")}`,
        ];
      case "pattern":
        return [invalid(e.instancePath, value, `should match '${String(p.pattern)}'`)];
      case "format":
        return [
          invalid(e.instancePath, value, `must be of type ${String(p.format)}: ${JSON.stringify(value)}`),
        ];
      case "type":
        return [
          invalid(
            e.instancePath,
            value,
            `must be of type ${String(p.type)}: ${JSON.stringify(jsonType(value))}`,
          ),
        ];
      case "maxItems": {
        const n = Number(p.limit);
        return [
          `${fieldPath(e.instancePath)}: Too many: ${Array.isArray(value) ? value.length : "?"}: must have at most ${n} ${n === 1 ? "item" : "items"}`,
        ];
      }
      case "minItems":
        return [
          invalid(
            e.instancePath,
            Array.isArray(value) ? value.length : value,
            `should have at least ${String(p.limit)} items`,
          ),
        ];
      case "maxLength":
        return [`${fieldPath(e.instancePath)}: Too long: may not be more than ${String(p.limit)} bytes`];
      case "minLength":
        return [invalid(e.instancePath, value, `should be at least ${String(p.limit)} chars long`)];
      case "maximum":
        return [invalid(e.instancePath, value, `should be less than or equal to ${String(p.limit)}`)];
      case "minimum":
        return [invalid(e.instancePath, value, `should be greater than or equal to ${String(p.limit)}`)];
      default:
        return [`${fieldPath(e.instancePath)}: Invalid value: ${show(value)}: ${e.message ?? e.keyword}`];
    }
  });
}

/** kube-openapi's sentence for a value: `<path> in body <what>`, after field.Invalid's prefix. */
function invalid(pointer: string, value: unknown, what: string): string {
  return `${fieldPath(pointer)}: Invalid value: ${show(value)}: ${fieldPath(pointer)} in body ${what}`;
}

/** `/spec/ingress/0/toPorts` as the API server writes a field path: `spec.ingress[0].toPorts`. */
export function fieldPath(pointer: string): string {
  const segs = pointer.split("/").slice(1);
  if (segs.length === 0) return "<nil>";
  return segs.reduce((acc, s, i) => (/^\d+$/.test(s) ? `${acc}[${s}]` : i === 0 ? s : `${acc}.${s}`), "");
}

/** A value as field errors print it: strings quoted, scalars bare, the rest as JSON. */
function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return v === undefined ? '""' : JSON.stringify(v);
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function valueAt(object: Untyped, pointer: string): unknown {
  return pointer
    .split("/")
    .slice(1)
    .reduce<unknown>(
      (o, s) => (o !== null && typeof o === "object" ? (o as Record<string, unknown>)[s] : undefined),
      object,
    );
}

/** The policies the API server would store, as it would store them, and a warning for each it refuses. */
export async function withoutSchemaRefusals<P extends Untyped>(
  policies: P[],
  ciliumVersion: CiliumVersion,
  errorsOf: (p: P, v: CiliumVersion) => Promise<string[]> = crdSchemaErrors,
): Promise<{ policies: P[]; warnings: string[] }> {
  const kept: P[] = [];
  const warnings: string[] = [];
  for (const p of policies) {
    const kind = p.kind === CNP_KIND ? "CNP" : "CCNP";
    const name = p.metadata?.namespace ? `${p.metadata.namespace}/${p.metadata?.name}` : p.metadata?.name;
    const errors = await errorsOf(p, ciliumVersion);
    if (errors.length > 0) {
      warnings.push(
        `${kind} ${name} is refused by the API server (Cilium ${ciliumVersion}'s CRD schema) (it takes no effect): ${errors.join("; ").replace(/\s+/g, " ")}`,
      );
      continue;
    }
    const stored = storedAs(p, ciliumVersion);
    for (const d of stored.dropped)
      warnings.push(
        `${kind} ${name} ${fieldPath(d)} is not a field of Cilium ${ciliumVersion}'s CRD: the API server drops it, and every verdict reads the policy without it`,
      );
    kept.push(stored.dropped.length > 0 ? stored.object : p);
  }
  return { policies: kept, warnings };
}
