// Validation helpers of the config module: every problem names the key, the value and the fix.

export const PROJECT = "cilium-castle";

export const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A Kubernetes object name such as a ServiceAccount's: dot-separated RFC 1123 labels. */
export const RFC1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const SECRET_MASK = "[secret]";

/**
 * The problems found in a stack's config. A value set with `--secret` is never shown, whatever its key
 * (a kubeconfig under a misspelled key is still a kubeconfig): `secretKeys` are the top-level keys the
 * CLI marked secret.
 */
export class Problems {
  readonly list: string[] = [];
  constructor(private readonly secretKeys: ReadonlySet<string> = new Set()) {}
  add(key: string, value: unknown, what: string, fix: string): void {
    const top = key.split(/[.[]/)[0]!;
    const shown = this.secretKeys.has(top) ? SECRET_MASK : show(value);
    this.list.push(`${PROJECT}:${key} = ${shown}: ${what}. Fix: ${fix}`);
  }
}

export function show(value: unknown): string {
  if (value === undefined) return "(unset)";
  // A stack file's encrypted value ({secure: <ciphertext>}), as the offline render reads it.
  if (isPlainObject(value) && typeof value.secure === "string") return SECRET_MASK;
  const s = JSON.stringify(value);
  return s.length > 120 ? s.slice(0, 117) + "..." : s;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** CLI config hands structured values over as JSON text. */
export function fromJsonText(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const t = v.trim();
  if (t.startsWith("{") || t.startsWith("[")) {
    try {
      return JSON.parse(t);
    } catch {
      return v;
    }
  }
  return v;
}

export function coerceString(p: Problems, key: string, v: unknown, fix: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "string") return v;
  p.add(key, v, `expected a string, got ${typeName(v)}`, fix);
  return undefined;
}

export function coerceBoolean(p: Problems, key: string, v: unknown): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "boolean") return v;
  if (v === "true") return true;
  if (v === "false") return false;
  p.add(key, v, `expected a boolean, got ${typeName(v)}`, `${setCommand(key, "true")} (or false)`);
  return undefined;
}

/**
 * The `pulumi config set` command that sets `key` to `value`. A key inside a structured value
 * (`kindNodes.workers`, `userNamespaces[0].exposed`) needs `--path`: without it the CLI stores a new
 * top-level key of that literal name (pulumi/pulumi sdk/go/common/resource/config/map.go, Map.Set reads the
 * name as a property path only when path is set). With `--path`, "true"/"false" and numbers are stored
 * typed (adjustObjectValue there).
 */
export function setCommand(key: string, value: string, opts: { secret?: boolean } = {}): string {
  const flags = [opts.secret ? "--secret" : "", /[.[]/.test(key) ? "--path" : ""].filter((f) => f !== "");
  return ["pulumi config set", ...flags, shellWord(key), value].join(" ");
}

/** The `pulumi config rm` command that removes `key`, or one entry inside a structured value. */
export function rmCommand(key: string): string {
  return ["pulumi config rm", ...(/[.[]/.test(key) ? ["--path"] : []), shellWord(key)].join(" ");
}

/**
 * The property path of `child` inside `parent`. A key holding `.`, `[` or `"` (a label key such as
 * app.kubernetes.io/name) is written `["..."]`, as pulumi/pulumi sdk/go/common/resource/properties_path.go
 * (ParsePropertyPath) reads it.
 */
export function childPath(parent: string, child: string): string {
  return /^[^.[\]"]+$/.test(child) ? `${parent}.${child}` : `${parent}[${JSON.stringify(child)}]`;
}

/** A word as a POSIX shell reads it back: quoted when it holds anything but safe characters (`[`, spaces). */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function typeName(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}

export function checkKnownKeys(
  p: Problems,
  key: string,
  obj: Record<string, unknown>,
  known: readonly string[],
): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) {
      const path = childPath(key, k);
      p.add(
        path,
        obj[k],
        `unknown key "${k}" (known keys: ${known.join(", ")})`,
        `${rmCommand(path)}, or correct its spelling to one of the known keys`,
      );
    }
  }
}

export function suggestLabel(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^-a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63);
  return s || "team-a";
}
