// CIDR parsing shared by the config module, the policy pack and the verifier. IPv4 and IPv6, no
// dependencies: addresses become bigints so containment is one comparison.

export type IpFamily = 4 | 6;

export interface Cidr {
  ok: true;
  family: IpFamily;
  /** Network address as a bigint (host bits cleared). */
  network: bigint;
  prefix: number;
  /** The CIDR written with host bits cleared, e.g. 10.1.0.0/16. */
  canonical: string;
}

export type CidrResult = Cidr | { ok: false; reason: string };

export function parseIp(text: string): { family: IpFamily; value: bigint } | undefined {
  if (text.includes(":")) return parseIpv6(text);
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return { family: 4, value: v };
}

function parseIpv6(text: string): { family: IpFamily; value: bigint } | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? head.length !== 8 : missing < 1) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  let v = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return { family: 6, value: v };
}

export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 255n).toString()).join(".");
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((value >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups, as RFC 5952 asks.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

export function parseCidr(text: string): CidrResult {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return { ok: false, reason: "expected <address>/<prefix length>" };
  const ip = parseIp(m[1]);
  if (!ip) return { ok: false, reason: `"${m[1]}" is not an IPv4 or IPv6 address` };
  const bits = ip.family === 4 ? 32 : 128;
  const prefix = Number(m[2]);
  if (prefix > bits) return { ok: false, reason: `prefix length ${prefix} is larger than ${bits}` };
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  const network = ip.value & mask;
  return {
    ok: true,
    family: ip.family,
    network,
    prefix,
    canonical: `${formatIp(ip.family, network)}/${prefix}`,
  };
}

/** True when `inner` lies entirely inside `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || inner.prefix < outer.prefix) return false;
  const bits = outer.family === 4 ? 32 : 128;
  const shift = BigInt(bits - outer.prefix);
  return inner.network >> shift === outer.network >> shift;
}

/** True when the address lies inside the CIDR. */
export function cidrContainsIp(outer: Cidr, ip: { family: IpFamily; value: bigint }): boolean {
  if (outer.family !== ip.family) return false;
  const bits = outer.family === 4 ? 32 : 128;
  const shift = BigInt(bits - outer.prefix);
  return ip.value >> shift === outer.network >> shift;
}
