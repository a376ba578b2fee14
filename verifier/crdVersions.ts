// Where the API server's check of a CiliumNetworkPolicy/CiliumClusterwideNetworkPolicy differs from
// @kubernetes-models/cilium 4.0.0's validate(), per Cilium minor: one row per difference, with the upstream
// file that decides it. crdSchema.ts runs the models, then applies the rows of the stack's version.
//
// The models are generated from Cilium 1.19's Go types (kubernetes-models-ts third-party/cilium): their
// entity and protocol enums, kafka, l7proto and l7, and their serverNames and toFQDNs patterns are
// 1.19.5's. What they do not do as the API server does is in the rows for every version: kube-apiserver
// (k8s.io/apiextensions-apiserver v0.35.4) drops nulls before it validates, checks `cidr` with Go's
// parser, ignores `idn-hostname` and `int32`, refuses duplicates in an x-kubernetes-list-type `set`, and
// checks spec.description's type (the models leave it untyped). Cilium 1.20.0's
// CRD (pkg/k8s/apis/cilium.io/client/crds/v2/ciliumnetworkpolicies.yaml and
// ciliumclusterwidenetworkpolicies.yaml, descriptions aside) differs from 1.19.5's exactly by the rows
// for 1.20. test/real/6-crd-versions.real.ts proves both against the CRDs of the two Cilium modules.
//
// Unknown fields are not errors in any version: the API server prunes them before validating
// (pruning/algorithm.go, through customresource_handler.go's unstructuredSchemaCoercer), and a client
// that sends no fieldValidation (the Pulumi kubernetes provider) gets a warning at most
// (k8s.io/apiserver pkg/endpoints/handlers/rest.go fieldValidation: Warn by default). So the fields 1.20
// removed are pruned, like any unknown field, not refused by themselves.

import type { CiliumVersion } from "./engine";

/** The Cilium minors the engine knows, with the release whose CRDs each row was read from. */
export const CRD_RELEASES: Record<CiliumVersion, string> = { "1.19": "v1.19.5", "1.20": "v1.20.0" };
export const CILIUM_VERSIONS = Object.keys(CRD_RELEASES) as CiliumVersion[];
const ALL = CILIUM_VERSIONS;

// A path is a JSON pointer without the leading slash: `*` stands for any array index (or map key), and
// `a|b` for either segment. Every row applies in `spec` and in each entry of `specs`.
const inRules = (...suffixes: string[]): string[] => suffixes.flatMap((s) => [`spec/${s}`, `specs/*/${s}`]);
const INGRESS = "ingress|ingressDeny";
const EGRESS = "egress|egressDeny";
const SECTIONS = "ingress|ingressDeny|egress|egressDeny";
/** toPorts with L7 rules and serverNames: allow sections only (deny sections have PortDenyRule). */
const ALLOW = "ingress|egress";

const crdOf = (v: CiliumVersion): string =>
  `github.com/cilium/cilium ${CRD_RELEASES[v]} pkg/k8s/apis/cilium.io/client/crds/v2`;

/**
 * One difference between the models and a version's API server.
 * - `nulls`: the API server drops every null that stands for an object's field before it validates;
 * - `prune`: the API server drops the field before it validates (the models would judge it);
 * - `enum`, `pattern`, `format`: the models' error of that keyword at these paths is replaced by this
 *   version's own check (`format` without a check: the API server does not check it at all);
 * - `accept`: the models' errors at these paths are not the API server's when the value passes `when`;
 * - `unique`, `type`: checks the models lack;
 * - `anyOfRoot`: the CEL rule `has(self.a) || has(self.b)` on the object, which the models lack.
 */
export type CrdRow = { versions: readonly CiliumVersion[]; why: string; source: string } & (
  | { kind: "nulls" }
  | { kind: "prune"; paths: string[] }
  | { kind: "enum"; paths: string[]; values: readonly string[] }
  | { kind: "pattern"; paths: string[]; pattern: string }
  | { kind: "format"; paths: string[]; format: string; check?: (v: string) => boolean }
  | { kind: "accept"; paths: string[]; when: (v: unknown) => boolean }
  | { kind: "unique"; paths: string[] }
  | { kind: "type"; paths: string[]; type: "string" }
  | { kind: "anyOfRoot"; fields: readonly string[]; message: string }
);

export const CRD_ROWS: readonly CrdRow[] = [
  // Every version: the API server as it is, against the models.
  {
    versions: ALL,
    kind: "nulls",
    why: "no field of these CRDs is nullable: a null without a default is dropped, the ICMP family's defaulted (to a valid value), so a null field counts as absent",
    source:
      "k8s.io/apiextensions-apiserver v0.35.4 pkg/apiserver/customresource_handler.go (unstructuredSchemaCoercer.apply) and schema/defaulting/prunenulls.go",
  },
  {
    versions: ALL,
    kind: "format",
    format: "cidr",
    check: (v) => parseCidrSloppy(v) !== undefined,
    paths: inRules(
      `${INGRESS}/*/fromCIDR/*`,
      `${INGRESS}/*/fromCIDRSet/*/cidr`,
      `${INGRESS}/*/fromCIDRSet/*/except/*`,
      `${EGRESS}/*/toCIDR/*`,
      `${EGRESS}/*/toCIDRSet/*/cidr`,
      `${EGRESS}/*/toCIDRSet/*/except/*`,
    ),
    why: "`cidr` is Go's net.ParseCIDR as of Go 1.16 (leading zeros allowed, zones refused), not the models' is-cidr",
    source: "k8s.io/kube-openapi pkg/validation/strfmt/default.go isCIDR (k8s.io/utils/net ParseCIDRSloppy)",
  },
  {
    versions: ALL,
    kind: "format",
    format: "idn-hostname",
    paths: inRules(`${ALLOW}/*/toPorts/*/rules/http/*/host`),
    why: "idn-hostname is not a format the API server checks",
    source:
      "k8s.io/apiextensions-apiserver v0.35.4 pkg/apiserver/validation/formats.go supportedVersionedFormats",
  },
  {
    versions: ALL,
    kind: "accept",
    paths: inRules(`${SECTIONS}/*/icmps/*/fields/*/type`),
    when: (v) => Number.isInteger(v),
    why: "an ICMP type is int-or-string; int32 is not a format the API server checks, so any integer passes the schema",
    source:
      "k8s.io/apiextensions-apiserver v0.35.4 pkg/apiserver/validation/formats.go supportedVersionedFormats",
  },
  {
    versions: ALL,
    kind: "unique",
    paths: inRules(`${ALLOW}/*/toPorts/*/serverNames`),
    why: "serverNames is an x-kubernetes-list-type set: a repeated name is refused",
    source: "k8s.io/apiextensions-apiserver v0.35.4 pkg/apiserver/schema/listtype/validation.go",
  },
  {
    versions: ALL,
    kind: "type",
    type: "string",
    paths: inRules("description"),
    why: "the models leave spec.description untyped; the CRD says string",
    source: `${crdOf("1.19")} (spec.description)`,
  },
  // Cilium 1.20.
  {
    versions: ["1.20"],
    kind: "enum",
    values: [
      "all",
      "world",
      "cluster",
      "cluster-mesh",
      "host",
      "init",
      "ingress",
      "unmanaged",
      "remote-node",
      "health",
      "none",
      "kube-apiserver",
    ],
    paths: inRules(`${INGRESS}/*/fromEntities/*`, `${EGRESS}/*/toEntities/*`),
    why: "1.20 adds the entity cluster-mesh",
    source: "github.com/cilium/cilium v1.20.0 pkg/policy/api/entity.go (Entity's kubebuilder Enum)",
  },
  {
    versions: ["1.20"],
    kind: "enum",
    values: ["TCP", "UDP", "SCTP", "VRRP", "IGMP", "GRE", "IPIP", "IPV6", "ESP", "AH", "ANY"],
    paths: inRules(`${SECTIONS}/*/toPorts/*/ports/*/protocol`),
    why: "1.20 adds the protocols GRE, IPIP, IPV6, ESP and AH",
    source: "github.com/cilium/cilium v1.20.0 pkg/policy/api/l4.go (L4Proto's kubebuilder Enum)",
  },
  {
    versions: ["1.20"],
    kind: "prune",
    paths: inRules(`${ALLOW}/*/toPorts/*/rules/kafka|l7proto|l7`),
    why: "1.20's L7Rules has http and dns only: kafka, l7proto and l7 are unknown fields, dropped, and no longer alternatives of the rules' oneOf",
    source: "github.com/cilium/cilium v1.20.0 pkg/policy/api/l4.go (L7Rules)",
  },
  {
    versions: ["1.20"],
    kind: "pattern",
    pattern: "^([-a-zA-Z0-9_*]+[.]?)+$",
    paths: inRules(`${ALLOW}/*/toPorts/*/serverNames/*`),
    why: "1.20's serverNames pattern allows * anywhere in a label (1.19: only a leading *. or **.)",
    source: "github.com/cilium/cilium v1.20.0 pkg/policy/api/l4.go (ServerName's kubebuilder Pattern)",
  },
  {
    versions: ["1.20"],
    kind: "anyOfRoot",
    fields: ["spec", "specs"],
    message: "spec or specs must be provided",
    why: "1.20's CRDs carry the CEL rule has(self.spec) || has(self.specs) on the object",
    source:
      "github.com/cilium/cilium v1.20.0 pkg/k8s/apis/cilium.io/v2/cnp_types.go and ccnp_types.go (XValidation)",
  },
];

/**
 * The CRDs' patterns with nested quantifiers: Go's RE2 (the API server) runs them in linear time,
 * JavaScript's backtracking engine (the models' validators, and a row's own check) in time exponential in
 * the length of a label that fails them (a 33-character one takes minutes). Each with an equivalent
 * expression that runs in linear time: `(W+\.?)+` is `W+(\.W+)*\.?`.
 */
export const LINEAR_PATTERNS: ReadonlyMap<string, RegExp> = new Map([
  ["^([-a-zA-Z0-9_]+[.]?)+$", /^[-a-zA-Z0-9_]+(\.[-a-zA-Z0-9_]+)*\.?$/u],
  ["^([-a-zA-Z0-9_*]+[.]?)+$", /^[-a-zA-Z0-9_*]+(\.[-a-zA-Z0-9_*]+)*\.?$/u],
  ["^(\\*?\\*\\.)?([-a-zA-Z0-9_]+\\.?)+$", /^(\*?\*\.)?[-a-zA-Z0-9_]+(\.[-a-zA-Z0-9_]+)*\.?$/u],
]);

/**
 * Where the models check one of those patterns (1.19.5's, as the CRD has them): crdSchema.ts tests a value
 * there in linear time first, and hands the models a short value that fails the same way when it fails.
 */
export const MODEL_PATTERNS: readonly { paths: string[]; pattern: string }[] = [
  {
    paths: inRules("egress/*/toFQDNs/*/matchName", `${ALLOW}/*/toPorts/*/rules/dns/*/matchName`),
    pattern: "^([-a-zA-Z0-9_]+[.]?)+$",
  },
  {
    paths: inRules("egress/*/toFQDNs/*/matchPattern", `${ALLOW}/*/toPorts/*/rules/dns/*/matchPattern`),
    pattern: "^([-a-zA-Z0-9_*]+[.]?)+$",
  },
  { paths: inRules(`${ALLOW}/*/toPorts/*/serverNames/*`), pattern: "^(\\*?\\*\\.)?([-a-zA-Z0-9_]+\\.?)+$" },
];

/** A CRD pattern as a JavaScript expression that gives the same answers, in linear time where it matters. */
export function patternOf(pattern: string): RegExp {
  return LINEAR_PATTERNS.get(pattern) ?? new RegExp(pattern, "u");
}

/** The rows that apply to a version. */
export const rowsFor = (version: CiliumVersion): CrdRow[] =>
  CRD_ROWS.filter((r) => r.versions.includes(version));

// Patterns split once: a path is walked for every policy checked.
const compiled = new Map<string, string[][]>();
function segmentsOf(pattern: string): string[][] {
  let c = compiled.get(pattern);
  if (!c) compiled.set(pattern, (c = pattern.split("/").map((seg) => seg.split("|"))));
  return c;
}

/** Whether a JSON pointer (`/spec/ingress/0/...`) is one of a row's paths. */
export function matchesPath(pointer: string, patterns: readonly string[]): boolean {
  const segs = pointer.split("/").slice(1);
  return patterns.some((p) => {
    const ps = segmentsOf(p);
    return ps.length === segs.length && ps.every((alt, i) => alt[0] === "*" || alt.includes(segs[i]!));
  });
}

/** The values at a row's paths in an object, with their JSON pointers. */
export function valuesAt(obj: unknown, patterns: readonly string[]): { pointer: string; value: unknown }[] {
  const out: { pointer: string; value: unknown }[] = [];
  const walk = (x: unknown, segs: string[][], i: number, at: string): void => {
    if (i === segs.length) {
      out.push({ pointer: at, value: x });
      return;
    }
    if (x === null || typeof x !== "object") return;
    const alt = segs[i]!;
    for (const k of alt[0] === "*" ? Object.keys(x) : alt)
      if (Object.prototype.hasOwnProperty.call(x, k))
        walk((x as Record<string, unknown>)[k], segs, i + 1, `${at}/${k}`);
  };
  for (const p of patterns) walk(obj, segmentsOf(p), 0, "");
  return out;
}

/**
 * Go 1.16's net.ParseCIDR, as k8s.io/utils/internal/third_party/forked/golang/net/ip.go keeps it for the
 * API server's `cidr` format: decimal octets with leading zeros, IPv6 with an embedded IPv4 tail, no zone,
 * a decimal prefix length (leading zeros too) within the address's bits. Undefined when it fails.
 */
export function parseCidrSloppy(s: string): { bits: number; prefix: number } | undefined {
  const slash = s.indexOf("/");
  if (slash < 0) return undefined;
  const addr = s.slice(0, slash);
  const mask = s.slice(slash + 1);
  let bits = 32;
  let ip: number[] | undefined = parseIPv4(addr);
  if (ip === undefined) {
    bits = 128;
    ip = parseIPv6(addr);
  }
  const d = dtoi(mask);
  if (ip === undefined || !d.ok || d.i !== mask.length || d.n > bits) return undefined;
  return { bits, prefix: d.n };
}

// ip.go and parse.go of the fork, function by function.
const BIG = 0xffffff;

function dtoi(s: string): { n: number; i: number; ok: boolean } {
  let n = 0;
  let i = 0;
  for (; i < s.length && s[i]! >= "0" && s[i]! <= "9"; i++) {
    n = n * 10 + (s.charCodeAt(i) - 48);
    if (n >= BIG) return { n: BIG, i, ok: false };
  }
  return i === 0 ? { n: 0, i: 0, ok: false } : { n, i, ok: true };
}

function xtoi(s: string): { n: number; i: number; ok: boolean } {
  let n = 0;
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n = n * 16 + (c - 48);
    else if (c >= 97 && c <= 102) n = n * 16 + (c - 97) + 10;
    else if (c >= 65 && c <= 70) n = n * 16 + (c - 65) + 10;
    else break;
    if (n >= BIG) return { n: 0, i, ok: false };
  }
  return i === 0 ? { n: 0, i, ok: false } : { n, i, ok: true };
}

function parseIPv4(s: string): number[] | undefined {
  const p: number[] = [];
  for (let i = 0; i < 4; i++) {
    if (s.length === 0) return undefined;
    if (i > 0) {
      if (s[0] !== ".") return undefined;
      s = s.slice(1);
    }
    const d = dtoi(s);
    if (!d.ok || d.n > 0xff) return undefined;
    s = s.slice(d.i);
    p.push(d.n);
  }
  return s.length === 0 ? p : undefined;
}

function parseIPv6(s: string): number[] | undefined {
  const ip = new Array<number>(16).fill(0);
  let ellipsis = -1;
  if (s.length >= 2 && s[0] === ":" && s[1] === ":") {
    ellipsis = 0;
    s = s.slice(2);
    if (s.length === 0) return ip;
  }
  let i = 0;
  while (i < 16) {
    const x = xtoi(s);
    if (!x.ok || x.n > 0xffff) return undefined;
    if (x.i < s.length && s[x.i] === ".") {
      if (ellipsis < 0 && i !== 12) return undefined;
      if (i + 4 > 16) return undefined;
      const ip4 = parseIPv4(s);
      if (ip4 === undefined) return undefined;
      ip.splice(i, 4, ...ip4);
      s = "";
      i += 4;
      break;
    }
    ip[i] = x.n >> 8;
    ip[i + 1] = x.n & 0xff;
    i += 2;
    s = s.slice(x.i);
    if (s.length === 0) break;
    if (s[0] !== ":" || s.length === 1) return undefined;
    s = s.slice(1);
    if (s[0] === ":") {
      if (ellipsis >= 0) return undefined;
      ellipsis = i;
      s = s.slice(1);
      if (s.length === 0) break;
    }
  }
  if (s.length !== 0) return undefined;
  if (i < 16) {
    if (ellipsis < 0) return undefined;
    const n = 16 - i;
    for (let j = i - 1; j >= ellipsis; j--) ip[j + n] = ip[j]!;
    for (let j = ellipsis + n - 1; j >= ellipsis; j--) ip[j] = 0;
  } else if (ellipsis >= 0) return undefined;
  return ip;
}
