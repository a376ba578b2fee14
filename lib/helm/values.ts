// Helm values, and Helm's own rule for merging them.

export type HelmValues = Record<string, unknown>;

export function isPlainValues(v: unknown): v is HelmValues {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Helm's own merge rule: maps merge key by key, everything else (lists included) is replaced. */
export function deepMerge(base: HelmValues, extra: HelmValues): HelmValues {
  const out: HelmValues = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    out[k] = isPlainValues(v) && isPlainValues(out[k]) ? deepMerge(out[k] as HelmValues, v) : v;
  }
  return out;
}
