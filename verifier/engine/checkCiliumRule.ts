// What the CRD schema cannot see but the Cilium agent rejects. Mirrors Rule.Sanitize and friends in
// cilium/cilium pkg/policy/api/rule_validation.go, and the CNP-specific checks of
// pkg/k8s/apis/cilium.io/v2 (a namespaced policy may not select nodes). A policy the agent rejects is
// not enforced at all, so these are as serious as a schema error. Shared by tests and the policy pack.

import { parseCidr, cidrContains } from "../../lib/net/cidr";
import { CNP_KIND } from "../../lib/cilium/policy";

export interface RuleFinding {
  /** JSON path inside the object, e.g. `spec.ingress[1]`. */
  path: string;
  message: string;
}

/** Cilium's maxPorts: a toPorts entry may list at most 40 ports. */
export const MAX_PORTS_PER_RULE = 40;

// pkg/policy/api/entity.go EntitySelectorMapping: one list, shared with the verifier's engine.
export { ENTITIES as KNOWN_ENTITIES } from "./selectors";
import { ENTITIES as KNOWN_ENTITIES } from "./selectors";

// Field names of the Cilium 1.18 CRDs (pkg/policy/api). The API server prunes unknown fields of a
// structural CRD without a word, so a typo such as `fromEntity` turns a narrow rule into an empty one,
// and an empty ingress rule still switches on default deny while `toPort` would silently open all ports.
const FIELDS = {
  rule: [
    "description",
    "egress",
    "egressDeny",
    "enableDefaultDeny",
    "endpointSelector",
    "ingress",
    "ingressDeny",
    "labels",
    "log",
    "nodeSelector",
  ],
  ingress: [
    "authentication",
    "fromCIDR",
    "fromCIDRSet",
    "fromEndpoints",
    "fromEntities",
    "fromGroups",
    "fromNodes",
    "fromRequires",
    "icmps",
    "toPorts",
  ],
  ingressDeny: [
    "fromCIDR",
    "fromCIDRSet",
    "fromEndpoints",
    "fromEntities",
    "fromGroups",
    "fromNodes",
    "fromRequires",
    "icmps",
    "toPorts",
  ],
  egress: [
    "authentication",
    "icmps",
    "toCIDR",
    "toCIDRSet",
    "toEndpoints",
    "toEntities",
    "toFQDNs",
    "toGroups",
    "toNodes",
    "toPorts",
    "toRequires",
    "toServices",
  ],
  egressDeny: [
    "icmps",
    "toCIDR",
    "toCIDRSet",
    "toEndpoints",
    "toEntities",
    "toGroups",
    "toNodes",
    "toPorts",
    "toRequires",
    "toServices",
  ],
  portRule: ["listener", "originatingTLS", "ports", "rules", "serverNames", "terminatingTLS"],
  portDenyRule: ["ports"],
  port: ["endPort", "port", "protocol"],
  l7: ["dns", "http", "kafka", "l7", "l7proto"],
  selector: ["matchExpressions", "matchLabels"],
  cidrRule: ["cidr", "cidrGroupRef", "cidrGroupSelector", "except"],
  fqdn: ["matchName", "matchPattern"],
  icmpRule: ["fields"],
  icmpField: ["family", "type"],
  defaultDeny: ["egress", "ingress"],
} as const;

function unknownFields(
  obj: unknown,
  known: readonly string[],
  path: string,
  add: (path: string, message: string) => void,
): void {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return;
  for (const k of Object.keys(obj)) {
    if (!known.includes(k))
      add(
        `${path}.${k}`,
        `unknown field "${k}": the API server would drop it silently (known: ${known.join(", ")})`,
      );
  }
}

const INGRESS_L3 = ["fromEndpoints", "fromCIDR", "fromCIDRSet", "fromEntities", "fromNodes", "fromGroups"];
const EGRESS_L3 = [
  "toCIDR",
  "toCIDRSet",
  "toEndpoints",
  "toEntities",
  "toServices",
  "toFQDNs",
  "toGroups",
  "toNodes",
];
const SECTIONS = ["ingress", "ingressDeny", "egress", "egressDeny"] as const;

type Obj = Record<string, unknown>;
const asArray = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);
const len = (v: unknown): number => (Array.isArray(v) ? v.length : 0);

/** Checks a whole CNP/CCNP object (spec and specs). */
export function checkCiliumPolicy(policy: {
  kind?: unknown;
  spec?: unknown;
  specs?: unknown;
}): RuleFinding[] {
  const namespaced = policy.kind === CNP_KIND;
  const rules: [string, Obj][] = [];
  if (policy.spec && typeof policy.spec === "object") rules.push(["spec", policy.spec as Obj]);
  asArray(policy.specs).forEach((r, i) => rules.push([`specs[${i}]`, r]));
  if (rules.length === 0) return [{ path: "spec", message: "the policy has neither spec nor specs" }];
  return rules.flatMap(([path, rule]) => checkCiliumRule(rule, { namespaced, path }));
}

/** Checks one rule (a `spec`). */
export function checkCiliumRule(rule: Obj, opts: { namespaced: boolean; path?: string }): RuleFinding[] {
  const base = opts.path ?? "spec";
  const out: RuleFinding[] = [];
  const add = (path: string, message: string): void => {
    out.push({ path, message });
  };

  unknownFields(rule, FIELDS.rule, base, add);
  for (const sel of ["endpointSelector", "nodeSelector"])
    unknownFields(rule[sel], FIELDS.selector, `${base}.${sel}`, add);
  unknownFields(rule.enableDefaultDeny, FIELDS.defaultDeny, `${base}.enableDefaultDeny`, add);
  const hasEndpointSelector = rule.endpointSelector !== undefined && rule.endpointSelector !== null;
  const hasNodeSelector = rule.nodeSelector !== undefined && rule.nodeSelector !== null;
  if (opts.namespaced && hasNodeSelector) {
    add(
      `${base}.nodeSelector`,
      "a CiliumNetworkPolicy may not use nodeSelector: host policies must be CiliumClusterwideNetworkPolicies",
    );
  }
  if (!hasEndpointSelector && !hasNodeSelector)
    add(base, "the rule must have an endpointSelector or a nodeSelector");
  if (hasEndpointSelector && hasNodeSelector)
    add(base, "the rule cannot have both endpointSelector and nodeSelector");
  const hostPolicy = hasNodeSelector;

  if (!SECTIONS.some((s) => rule[s] !== undefined)) {
    add(
      base,
      "the rule has no ingress, ingressDeny, egress or egressDeny section, so it selects endpoints and does nothing",
    );
  }

  for (const section of SECTIONS) {
    const ingress = section.startsWith("ingress");
    asArray(rule[section]).forEach((r, i) => {
      const path = `${base}.${section}[${i}]`;
      unknownFields(r, FIELDS[section], path, add);
      for (const k of [
        "fromEndpoints",
        "toEndpoints",
        "fromRequires",
        "toRequires",
        "fromNodes",
        "toNodes",
      ]) {
        asArray(r[k]).forEach((sel, j) => unknownFields(sel, FIELDS.selector, `${path}.${k}[${j}]`, add));
      }
      for (const k of ["fromCIDRSet", "toCIDRSet"]) {
        asArray(r[k]).forEach((c, j) => unknownFields(c, FIELDS.cidrRule, `${path}.${k}[${j}]`, add));
      }
      asArray(r.toFQDNs).forEach((f, j) => unknownFields(f, FIELDS.fqdn, `${path}.toFQDNs[${j}]`, add));
      asArray(r.icmps).forEach((ic, j) => {
        unknownFields(ic, FIELDS.icmpRule, `${path}.icmps[${j}]`, add);
        asArray(ic.fields).forEach((f, k) =>
          unknownFields(f, FIELDS.icmpField, `${path}.icmps[${j}].fields[${k}]`, add),
        );
      });
      const l3 = (ingress ? INGRESS_L3 : EGRESS_L3).filter((k) => len(r[k]) > 0);
      if (l3.length > 1)
        add(
          path,
          `combining ${l3[0]} and ${l3[1]} in one rule is not supported by Cilium: use one rule per peer kind`,
        );
      if (len(r.icmps) > 0 && len(r.toPorts) > 0)
        add(path, "icmps may not be combined with toPorts in one rule: use a separate rule");
      for (const key of ["fromEntities", "toEntities"]) {
        for (const e of asArray(r[key]) as unknown as string[]) {
          if (!(KNOWN_ENTITIES as readonly string[]).includes(e))
            add(`${path}.${key}`, `unsupported entity "${e}"`);
        }
      }
      for (const key of ["fromCIDR", "toCIDR"]) {
        for (const c of asArray(r[key]) as unknown as string[]) {
          if (!parseCidr(String(c)).ok && !parseCidr(`${c}/${String(c).includes(":") ? 128 : 32}`).ok)
            add(`${path}.${key}`, `unparsable CIDR "${c}"`);
        }
      }
      for (const key of ["fromCIDRSet", "toCIDRSet"]) {
        asArray(r[key]).forEach((set, j) => {
          if (set.cidrGroupRef) return;
          const cidr = parseCidr(String(set.cidr));
          if (!cidr.ok) return add(`${path}.${key}[${j}]`, `unparsable CIDR "${String(set.cidr)}"`);
          for (const ex of (set.except as string[] | undefined) ?? []) {
            const e = parseCidr(ex);
            if (!e.ok || !cidrContains(cidr, e))
              add(`${path}.${key}[${j}].except`, `${ex} is not inside ${String(set.cidr)}`);
          }
        });
      }
      asArray(r.toPorts).forEach((pr, j) => {
        const pp = `${path}.toPorts[${j}]`;
        unknownFields(pr, section.endsWith("Deny") ? FIELDS.portDenyRule : FIELDS.portRule, pp, add);
        unknownFields(pr.rules, FIELDS.l7, `${pp}.rules`, add);
        asArray(pr.ports).forEach((port, k) => unknownFields(port, FIELDS.port, `${pp}.ports[${k}]`, add));
        const ports = asArray(pr.ports);
        if (ports.length > MAX_PORTS_PER_RULE)
          add(
            pp,
            `too many ports (${ports.length}): Cilium allows at most ${MAX_PORTS_PER_RULE} per toPorts entry`,
          );
        const rules = (pr.rules ?? {}) as Obj;
        const dns = len(rules.dns) > 0;
        const l7 = ["http", "kafka", "dns", "l7"].filter((k) => len(rules[k]) > 0);
        if (ingress && dns)
          add(`${pp}.rules.dns`, "DNS rules are not allowed on ingress: DNS proxying is egress-only");
        if (hostPolicy && l7.length > 0)
          add(`${pp}.rules`, "host policies (nodeSelector) do not support L7 rules");
        if (l7.length > 1) add(`${pp}.rules`, `multiple L7 protocols (${l7.join(", ")}) in one port rule`);
        if (dns && ports.length === 0) add(`${pp}.rules.dns`, "DNS rules need the port 53 listed in ports");
        ports.forEach((p, k) => {
          // pkg/policy/api/utils.go L4Proto.Validate: the protocols without ports (VRRP, IGMP; GRE, IPIP,
          // IPV6, ESP, AH from 1.20, which 1.19's CRD refuses first) take port "0" only.
          const proto = String(p.protocol ?? "ANY").toUpperCase();
          const portless = ["VRRP", "IGMP", "GRE", "IPIP", "IPV6", "ESP", "AH"].includes(proto);
          if (!["TCP", "UDP", "SCTP", "ANY"].includes(proto) && !portless)
            add(`${pp}.ports[${k}].protocol`, `unknown protocol "${String(p.protocol)}"`);
          if (portless && !["", "0"].includes(String(p.port ?? "")))
            add(`${pp}.ports[${k}].port`, `protocol ${proto} has no ports: the port must be "0"`);
          if (l7.length > 0 && !dns && proto !== "TCP")
            add(`${pp}.ports[${k}]`, `L7 rules apply to TCP only, not ${proto}`);
          const port = String(p.port ?? "");
          if (port === "") add(`${pp}.ports[${k}].port`, "the port must be specified");
          else if (/^\d+$/.test(port) && Number(port) > 65535)
            add(`${pp}.ports[${k}].port`, `port ${port} is out of range`);
          if (dns && p.endPort !== undefined)
            add(`${pp}.ports[${k}]`, "DNS rules do not support port ranges");
        });
      });
      asArray(r.icmps).forEach((ic, j) => {
        asArray(ic.fields).forEach((f, k) => {
          if (f.family !== undefined && f.family !== "IPv4" && f.family !== "IPv6")
            add(`${path}.icmps[${j}].fields[${k}].family`, `wrong family "${String(f.family)}"`);
        });
      });
    });
  }
  return out;
}
