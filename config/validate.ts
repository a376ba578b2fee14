// Validation helpers of the config module: every problem names the key, the value and the fix.

export const PROJECT = "cilium-castle";

export const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

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
  p.add(key, v, `expected a boolean, got ${typeName(v)}`, `pulumi config set ${key} true (or false)`);
  return undefined;
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
      p.add(
        `${key}.${k}`,
        obj[k],
        `unknown key "${k}" (known keys: ${known.join(", ")})`,
        `remove it, or correct its spelling to one of the known keys`,
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
