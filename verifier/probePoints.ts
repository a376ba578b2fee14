// Probe points taken from the policies themselves, so that a diff sees what its two renders name: every
// CIDR (with the addresses on and just outside its edges), every port (with the edges of port ranges) and
// every entity. The class probes (probes.ts) ask about the castle's own endpoints and ports only: widening
// a CIDR from a /32 to a /8 moves no class probe, but it moves the probe at the /8's edge.

import { formatIp, parseCidr } from "../lib/net/cidr";
import type { CiliumPolicyObject, FlowProtocol, Rule } from "./engine";
import { PortProbe, probeText } from "./probes";

export interface ProbeAddress {
  ip: string;
  /** Why it is probed, e.g. `first address of 10.0.0.0/8`. */
  why: string;
}

export interface ProbePoints {
  addresses: ProbeAddress[];
  ports: PortProbe[];
  /** Entities named by the policies (the class probes stand for them: world, nodes, pods). */
  entities: string[];
}

type PeerRule = Record<string, unknown> & {
  toPorts?: { ports?: { port?: string | number; endPort?: number; protocol?: string }[] }[];
};

const CIDR_FIELDS = ["fromCIDR", "toCIDR"] as const;
const CIDR_SET_FIELDS = ["fromCIDRSet", "toCIDRSet"] as const;
const ENTITY_FIELDS = ["fromEntities", "toEntities"] as const;
const DIRECTIONS = ["ingress", "ingressDeny", "egress", "egressDeny"] as const;

/** The first and last address of a CIDR and the addresses just outside it, within the address family. */
export function cidrEdges(text: string): ProbeAddress[] {
  const c = parseCidr(text);
  if (!c.ok) return [];
  const bits = c.family === 4 ? 32 : 128;
  const first = c.network;
  const last = c.network + (1n << BigInt(bits - c.prefix)) - 1n;
  const max = (1n << BigInt(bits)) - 1n;
  const out: ProbeAddress[] = [{ ip: formatIp(c.family, first), why: `first address of ${c.canonical}` }];
  if (last !== first) out.push({ ip: formatIp(c.family, last), why: `last address of ${c.canonical}` });
  if (first > 0n) out.push({ ip: formatIp(c.family, first - 1n), why: `just below ${c.canonical}` });
  if (last < max) out.push({ ip: formatIp(c.family, last + 1n), why: `just above ${c.canonical}` });
  return out;
}

function rulesOf(p: CiliumPolicyObject): Rule[] {
  return [...(p.spec ? [p.spec] : []), ...(p.specs ?? [])];
}

function portProbes(
  port: string | number | undefined,
  endPort: number | undefined,
  protocol?: string,
): PortProbe[] {
  const n = typeof port === "number" ? port : /^\d+$/.test(port ?? "") ? Number(port) : undefined;
  // "0" (every port) and named ports have no edge to probe.
  if (n === undefined || n === 0 || n > 65535) return [];
  const numbers = new Set([n]);
  if (endPort !== undefined && endPort > n) {
    numbers.add(endPort);
    if (endPort < 65535) numbers.add(endPort + 1);
    if (n > 1) numbers.add(n - 1);
  }
  const proto = (protocol ?? "ANY").toUpperCase();
  const protocols: FlowProtocol[] = proto === "ANY" ? ["TCP", "UDP"] : [proto as FlowProtocol];
  return [...numbers].flatMap((p) => protocols.map((protocol) => ({ port: p, protocol })));
}

/** The probe points of a set of policies (sorted, without duplicates). */
export function probePointsOf(policies: CiliumPolicyObject[]): ProbePoints {
  const addresses = new Map<string, ProbeAddress>();
  const ports = new Map<string, PortProbe>();
  const entities = new Set<string>();
  for (const policy of policies) {
    for (const rule of rulesOf(policy)) {
      for (const dir of DIRECTIONS) {
        for (const peer of (rule[dir] ?? []) as PeerRule[]) {
          const cidrs: string[] = [];
          for (const f of CIDR_FIELDS) cidrs.push(...((peer[f] as string[] | undefined) ?? []));
          for (const f of CIDR_SET_FIELDS) {
            for (const set of (peer[f] as { cidr?: string; except?: string[] }[] | undefined) ?? []) {
              if (set.cidr) cidrs.push(set.cidr);
              cidrs.push(...(set.except ?? []));
            }
          }
          for (const c of cidrs)
            for (const a of cidrEdges(c)) if (!addresses.has(a.ip)) addresses.set(a.ip, a);
          for (const f of ENTITY_FIELDS)
            for (const e of (peer[f] as string[] | undefined) ?? []) entities.add(e);
          for (const pr of peer.toPorts ?? []) {
            for (const pp of pr.ports ?? []) {
              for (const probe of portProbes(pp.port, pp.endPort, pp.protocol))
                ports.set(probeText(probe), probe);
            }
          }
        }
      }
    }
  }
  return {
    addresses: [...addresses.values()].sort((x, y) => x.ip.localeCompare(y.ip, "en", { numeric: true })),
    ports: [...ports.values()].sort((x, y) => x.port - y.port || x.protocol.localeCompare(y.protocol)),
    entities: [...entities].sort(),
  };
}

/** Both renders' probe points together: a diff asks the same questions of each side. */
export function mergeProbePoints(a: ProbePoints, b: ProbePoints): ProbePoints {
  const addresses = new Map([...a.addresses, ...b.addresses].map((x) => [x.ip, x]));
  const ports = new Map([...a.ports, ...b.ports].map((p) => [probeText(p), p]));
  return {
    addresses: [...addresses.values()].sort((x, y) => x.ip.localeCompare(y.ip, "en", { numeric: true })),
    ports: [...ports.values()].sort((x, y) => x.port - y.port || x.protocol.localeCompare(y.protocol)),
    entities: [...new Set([...a.entities, ...b.entities])].sort(),
  };
}
