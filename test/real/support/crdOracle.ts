// The API server's verdict on a CiliumNetworkPolicy/CiliumClusterwideNetworkPolicy from Cilium's own CRD
// YAML (pkg/k8s/apis/cilium.io/client/crds/v2), as kube-apiserver v1.35 (k8s.io/apiextensions-apiserver
// v0.35.4) would reach it, with Ajv over the version's openAPIV3Schema:
//
// - pkg/apiserver/customresource_handler.go (unstructuredSchemaCoercer.apply): an unknown field is pruned
//   (schema/pruning/algorithm.go) and a null without `nullable` or `default` dropped
//   (schema/defaulting/prunenulls.go) before validation, so neither is an error;
// - pkg/registry/customresource/strategy.go (PrepareForCreate): a create never sets status (the CRDs have
//   the status subresource), so status is not validated;
// - pkg/apiserver/validation/formats.go: only the formats listed there are checked (cidr with
//   ParseCIDRSloppy through kube-openapi's strfmt); others (idn-hostname, int32, int64) are ignored;
// - pkg/apiserver/schema/listtype/validation.go: x-kubernetes-list-type `set` refuses duplicates;
// - x-kubernetes-validations: the CEL rules; the one rule these CRDs carry (`has(self.a) || has(self.b)`)
//   is evaluated here, and any other rule fails the load, so a new rule upstream cannot pass unseen.
//
// Descriptions are dropped. Any x-kubernetes-* key not handled above fails the load too.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv, { Options, ValidateFunction } from "ajv";
import * as YAML from "yaml";
import { parseCidrSloppy } from "../../../verifier/crdVersions";
import type { Untyped } from "../../../lib/untyped";

type RegExpEngine = NonNullable<NonNullable<Options["code"]>["regExp"]>;
type Schema = Untyped;

/** The CRD files of the two kinds, under pkg/k8s/apis/cilium.io/client/crds/v2 of the Cilium module. */
export const CRD_FILES = {
  CiliumNetworkPolicy: "ciliumnetworkpolicies.yaml",
  CiliumClusterwideNetworkPolicy: "ciliumclusterwidenetworkpolicies.yaml",
} as const;

export type PolicyKind = keyof typeof CRD_FILES;

/** The module's directory in Go's module cache (downloaded through the proxy when missing). */
export function ciliumModuleDir(version: string): string {
  const r = spawnSync("go", ["mod", "download", "-json", `github.com/cilium/cilium@${version}`], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`go mod download github.com/cilium/cilium@${version}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { Dir: string }).Dir;
}

/** A CRD's served v2 openAPIV3Schema, as written upstream. */
export function crdSchemaOf(moduleDir: string, kind: PolicyKind): Schema {
  const file = path.join(moduleDir, "pkg/k8s/apis/cilium.io/client/crds/v2", CRD_FILES[kind]);
  const crd = YAML.parse(fs.readFileSync(file, "utf8")) as Untyped;
  const v2 = (crd.spec.versions as Untyped[]).find((v) => v.name === "v2" && v.served);
  if (!v2) throw new Error(`${file}: no served v2 version`);
  return v2.schema.openAPIV3Schema as Schema;
}

// formats.go supportedVersionedFormats (1.0; the 1.34 additions are k8s-short-name and k8s-long-name),
// compared after go-openapi's normalization (dashes removed).
const SUPPORTED_FORMATS = new Set(
  [
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
    "k8s-short-name",
    "k8s-long-name",
  ].map((f) => f.replace(/-/g, "")),
);
// The formats these CRDs use that the API server checks; a supported one missing here fails the load.
const CHECKED_FORMATS: Record<string, (v: string) => boolean> = {
  // The port of ParseCIDRSloppy, which 6-crd-versions.real.ts holds against the Go function itself.
  cidr: (v) => parseCidrSloppy(v) !== undefined,
  // status only, which a create never sets
  datetime: (v) => !Number.isNaN(Date.parse(v)),
};

/** `has(self.a) || has(self.b) ...`: the only CEL form these CRDs use. */
function celAsSchema(rule: string): Schema {
  const terms = rule.split("||").map((t) => /^\s*has\(self\.([A-Za-z0-9_]+)\)\s*$/.exec(t)?.[1]);
  if (terms.some((t) => t === undefined)) throw new Error(`unsupported CEL rule: ${rule}`);
  return { anyOf: terms.map((t) => ({ required: [t] })) };
}

/** The schema as the API server applies it, for Ajv; `cel` collects the rules with their messages. */
function forAjv(s: Schema, at: string, cel: { at: string; rule: string; message: string }[]): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    switch (k) {
      case "description":
      case "x-kubernetes-map-type": // atomic or granular: merge semantics, no validation
      case "x-kubernetes-int-or-string": // the CRD spells the anyOf out beside it
        break;
      case "x-kubernetes-list-type":
        if (v === "set") out.uniqueItems = true;
        else if (v !== "atomic") throw new Error(`${at}: x-kubernetes-list-type ${String(v)} is not handled`);
        break;
      case "x-kubernetes-validations":
        for (const r of v as Untyped[]) {
          const schema = celAsSchema(String(r.rule));
          cel.push({ at, rule: String(r.rule), message: String(r.message ?? `failed rule: ${r.rule}`) });
          out.allOf = [...((out.allOf as Schema[] | undefined) ?? []), schema];
        }
        break;
      case "format": {
        const f = String(v).replace(/-/g, "");
        if (!SUPPORTED_FORMATS.has(f)) break; // formats.go: an unsupported format is not checked
        if (!CHECKED_FORMATS[f]) throw new Error(`${at}: format ${String(v)} is not handled`);
        out.format = `k8s-${f}`;
        break;
      }
      case "properties":
      case "patternProperties":
        out[k] = Object.fromEntries(
          Object.entries(v as Record<string, Schema>).map(([p, ps]) => [p, forAjv(ps, `${at}.${p}`, cel)]),
        );
        break;
      case "items":
      case "additionalProperties":
      case "not":
        out[k] = typeof v === "object" ? forAjv(v as Schema, `${at}[]`, cel) : v;
        break;
      case "oneOf":
      case "anyOf":
      case "allOf":
        out[k] = [
          ...((out[k] as Schema[] | undefined) ?? []),
          ...(v as Schema[]).map((x) => forAjv(x, at, cel)),
        ];
        break;
      default:
        if (k.startsWith("x-kubernetes-")) throw new Error(`${at}: ${k} is not handled`);
        out[k] = v;
    }
  }
  return out;
}

/**
 * What the API server keeps of an object before validating it: unknown fields pruned and non-nullable
 * nulls without a default dropped, along the schema's properties, items and additionalProperties (the
 * structural skeleton; oneOf/anyOf branches add no fields in these CRDs).
 */
export function pruned(x: Untyped, s: Schema | undefined): Untyped {
  if (s === undefined) return x;
  if (Array.isArray(x)) return x.map((i) => pruned(i, s.items as Schema | undefined));
  if (x === null || typeof x !== "object") return x;
  const props = (s.properties ?? {}) as Record<string, Schema>;
  const extra = typeof s.additionalProperties === "object" ? (s.additionalProperties as Schema) : undefined;
  const out: Untyped = {};
  for (const [k, v] of Object.entries(x as Record<string, Untyped>)) {
    const ps = props[k] ?? extra;
    if (ps === undefined) continue; // pruning/algorithm.go: not in the schema
    if (v === null && ps.nullable !== true && ps.default === undefined) continue; // prunenulls.go
    out[k] = pruned(v, ps);
  }
  return out;
}

// Go writes Unicode classes as \pL or \PC, JavaScript as \p{L} or \P{C} (with the u flag).
function goRegExp(pattern: string, flags: string): RegExp {
  return new RegExp(
    pattern.replace(/\\([pP])([A-Z])/g, "\\$1{$2}"),
    flags.includes("u") ? flags : flags + "u",
  );
}

export interface CrdOracle {
  /** The Ajv errors of the object as stored (empty: the API server stores it). */
  errors(obj: Untyped): string[];
  /** The CEL rules the CRD carries, as evaluated. */
  cel: { at: string; rule: string; message: string }[];
}

/** The API server's schema check of one CRD. */
export function crdOracle(schema: Schema): CrdOracle {
  const cel: CrdOracle["cel"] = [];
  const { status: _status, ...properties } = schema.properties as Record<string, Schema>;
  void _status;
  const root = forAjv({ ...schema, properties }, "<root>", cel);
  const ajv = new Ajv({
    strict: false,
    allErrors: true,
    code: { regExp: goRegExp as unknown as RegExpEngine },
  });
  for (const [f, check] of Object.entries(CHECKED_FORMATS)) ajv.addFormat(`k8s-${f}`, check);
  const validate: ValidateFunction = ajv.compile(root);
  return {
    cel,
    errors: (obj) => {
      const { status: _s, ...rest } = obj as Record<string, Untyped>;
      void _s;
      const stored = pruned(rest, { ...schema, properties });
      return validate(stored)
        ? []
        : (validate.errors ?? []).map(
            (e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`,
          );
    },
  };
}
