// Parses the infra roles of a stack: the defaults (the talk's components), the ingress controller's
// namespace and labels from `ingressController`, and extra or replacing roles from `infraRoles`. The keys
// each entry may have, the port bounds and the protocols come from config/schema.ts.

import type { TObject, TProperties } from "@sinclair/typebox";
import {
  DEFAULT_INFRA_ROLES,
  KIND_INFRA_ROLES,
  INGRESS_ROLE,
  InfraRole,
  PolicyName,
  PortSpec,
  Protocol,
} from "../vocabulary/roles";
import {
  EgressFromEveryPodSchema,
  IngressControllerSchema,
  InfraRoleSchema,
  knownKeys,
  literalValues,
  PolicyNameSchema,
  PolicyWithPortsSchema,
  PortSchema,
  ReachesLabelledNamespacesSchema,
  shapeOf,
} from "./schema";
import {
  checkKnownKeys,
  fromJsonText,
  isPlainObject,
  Problems,
  RFC1123_LABEL,
  RFC1123_SUBDOMAIN,
  rmCommand,
  setCommand,
  typeName,
} from "./validate";

// Kubernetes label keys: optional DNS prefix, then a name of at most 63 characters.
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const EXAMPLE_ROLE = `{"name": "traefik", "namespace": "traefik", "podLabels": {"app.kubernetes.io/name": "traefik"}}`;

function parseLabels(
  p: Problems,
  key: string,
  v: unknown,
  required: boolean,
): Record<string, string> | undefined {
  if (v === undefined && !required) return undefined;
  if (!isPlainObject(v) || (required && Object.keys(v).length === 0)) {
    p.add(
      key,
      v,
      `expected a non-empty map of label key to value`,
      `e.g. {"app.kubernetes.io/name": "traefik"}`,
    );
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (!LABEL_KEY.test(k) || typeof val !== "string" || !LABEL_VALUE.test(val) || val.length > 63) {
      p.add(
        `${key}.${k}`,
        val,
        `not a valid Kubernetes label (key and string value)`,
        `use e.g. "app.kubernetes.io/name": "traefik"`,
      );
    } else out[k] = val;
  }
  return out;
}

/** A policy entry: `{name, description}`, plus the keys of its kind (`ports`, `dns`) that `schema` adds. */
function parsePolicyName(
  p: Problems,
  key: string,
  v: unknown,
  schema: TObject<TProperties> = PolicyNameSchema,
): PolicyName | undefined {
  if (v === undefined) return undefined;
  if (!isPlainObject(v)) {
    p.add(
      key,
      v,
      `expected ${shapeOf(schema)}, got ${typeName(v)}`,
      `e.g. {"name": "traefik-to-kapi", "description": "Allow Traefik to reach KAPI"}`,
    );
    return undefined;
  }
  checkKnownKeys(p, key, v, knownKeys(schema));
  const name = v.name;
  if (typeof name !== "string" || !RFC1123_LABEL.test(name) || name.length > 63) {
    p.add(
      `${key}.name`,
      name,
      `a policy name must be an RFC 1123 label`,
      `use lower-case letters, digits and '-', e.g. "traefik-to-kapi"`,
    );
    return undefined;
  }
  if (typeof v.description !== "string" || v.description.trim() === "") {
    p.add(
      `${key}.description`,
      v.description,
      `every Cilium policy needs a description`,
      `say what the policy allows`,
    );
    return undefined;
  }
  return { name, description: v.description };
}

const { port: PORT_SCHEMA, protocol: PROTOCOL_SCHEMA } = PortSchema.properties;
const PROTOCOLS = literalValues(PROTOCOL_SCHEMA) as Protocol[];

function parsePorts(p: Problems, key: string, v: unknown): PortSpec[] | undefined {
  const shape = shapeOf(PortSchema);
  if (!Array.isArray(v) || v.length === 0) {
    p.add(key, v, `expected a non-empty list of ${shape}`, `e.g. [{"port": 443, "protocol": "TCP"}]`);
    return undefined;
  }
  const [min, max] = [PORT_SCHEMA.minimum ?? 1, PORT_SCHEMA.maximum ?? 65535];
  const out: PortSpec[] = [];
  v.forEach((x, i) => {
    const k = `${key}[${i}]`;
    if (!isPlainObject(x)) return p.add(k, x, `expected ${shape}`, `e.g. {"port": 443, "protocol": "TCP"}`);
    checkKnownKeys(p, k, x, knownKeys(PortSchema));
    const port = Number(x.port);
    if (!Number.isInteger(port) || port < min || port > max)
      return p.add(`${k}.port`, x.port, `not a port number (${min}-${max})`, `e.g. 443`);
    const protocol = x.protocol ?? PROTOCOL_SCHEMA.default;
    if (!PROTOCOLS.includes(protocol as Protocol))
      return p.add(
        `${k}.protocol`,
        protocol,
        `must be ${PROTOCOLS.slice(0, -1).join(", ")} or ${PROTOCOLS[PROTOCOLS.length - 1]}`,
        `"${PROTOCOL_SCHEMA.default}"`,
      );
    out.push({ port, protocol: protocol as Protocol });
  });
  return out;
}

function withPorts<T extends PolicyName>(
  p: Problems,
  key: string,
  v: unknown,
): (T & { ports: PortSpec[] }) | undefined {
  const name = parsePolicyName(p, key, v, PolicyWithPortsSchema);
  if (!name) return undefined;
  const ports = parsePorts(p, `${key}.ports`, (v as Record<string, unknown>).ports);
  return ports ? ({ ...name, ports } as T & { ports: PortSpec[] }) : undefined;
}

function parseRole(p: Problems, key: string, v: unknown): InfraRole | undefined {
  if (!isPlainObject(v)) {
    p.add(key, v, `expected an infra role object, got ${typeName(v)}`, `e.g. ${EXAMPLE_ROLE}`);
    return undefined;
  }
  checkKnownKeys(p, key, v, knownKeys(InfraRoleSchema));
  const before = p.list.length;
  const name = v.name;
  if (typeof name !== "string" || !RFC1123_LABEL.test(name))
    p.add(`${key}.name`, name, `a role name must be an RFC 1123 label`, `e.g. "traefik"`);
  const namespace = v.namespace;
  if (typeof namespace !== "string" || !RFC1123_LABEL.test(namespace))
    p.add(`${key}.namespace`, namespace, `not a namespace name`, `e.g. "traefik"`);
  const podLabels = parseLabels(p, `${key}.podLabels`, v.podLabels, true);
  if (v.evidence !== undefined && typeof v.evidence !== "string")
    p.add(`${key}.evidence`, v.evidence, `expected a string`, `say where the pod labels come from`);
  const role: InfraRole = {
    name: name as string,
    namespace: namespace as string,
    podLabels: podLabels ?? {},
    evidence: (v.evidence as string | undefined) ?? (InfraRoleSchema.properties.evidence.default as string),
  };
  const kapi = parsePolicyName(p, `${key}.kubeApiServer`, v.kubeApiServer);
  if (kapi) role.kubeApiServer = kapi;
  const servesAll = withPorts(p, `${key}.servesAll`, v.servesAll);
  if (servesAll) role.servesAll = servesAll;
  if (v.egressFromEveryPod !== undefined) {
    const e = parsePolicyName(p, `${key}.egressFromEveryPod`, v.egressFromEveryPod, EgressFromEveryPodSchema);
    const dns = (v.egressFromEveryPod as Record<string, unknown>).dns;
    if (dns !== undefined && typeof dns !== "boolean")
      p.add(`${key}.egressFromEveryPod.dns`, dns, `expected a boolean`, `true or false`);
    if (!servesAll)
      p.add(
        `${key}.egressFromEveryPod`,
        "[...]",
        `needs servesAll: the ports every pod may reach`,
        `add servesAll with the ports`,
      );
    if (e) role.egressFromEveryPod = { ...e, ...(dns === true ? { dns: true } : {}) };
  }
  const sk = withPorts(p, `${key}.servesKubeApiServer`, v.servesKubeApiServer);
  if (sk) role.servesKubeApiServer = sk;
  if (v.reachesLabelledNamespaces !== undefined) {
    const r = v.reachesLabelledNamespaces;
    const rk = `${key}.reachesLabelledNamespaces`;
    if (!isPlainObject(r))
      p.add(
        rk,
        r,
        `expected ${shapeOf(ReachesLabelledNamespacesSchema)}`,
        `e.g. {"label": "exposed", "egress": {...}, "ingress": {...}}`,
      );
    else {
      checkKnownKeys(p, rk, r, knownKeys(ReachesLabelledNamespacesSchema));
      if (typeof r.label !== "string" || !LABEL_KEY.test(r.label))
        p.add(`${rk}.label`, r.label, `not a label key`, `e.g. "exposed"`);
      const egress = parsePolicyName(p, `${rk}.egress`, r.egress);
      const ingress = parsePolicyName(p, `${rk}.ingress`, r.ingress);
      if (!egress) p.add(`${rk}.egress`, r.egress, `required`, `{"name": ..., "description": ...}`);
      if (!ingress) p.add(`${rk}.ingress`, r.ingress, `required`, `{"name": ..., "description": ...}`);
      if (egress && ingress && typeof r.label === "string")
        role.reachesLabelledNamespaces = { label: r.label, egress, ingress };
    }
  }
  const np = withPorts(p, `${key}.nodePorts`, v.nodePorts);
  if (np) role.nodePorts = np;
  const nl = parseLabels(p, `${key}.namespaceLabels`, v.namespaceLabels, false);
  if (nl) role.namespaceLabels = nl;
  if (v.serviceAccount !== undefined) {
    if (typeof v.serviceAccount !== "string" || !RFC1123_SUBDOMAIN.test(v.serviceAccount))
      p.add(`${key}.serviceAccount`, v.serviceAccount, `not a service account name`, `e.g. "traefik"`);
    else role.serviceAccount = v.serviceAccount;
  }
  if (v.containerPorts !== undefined) {
    const cp = v.containerPorts;
    const ok =
      isPlainObject(cp) &&
      Object.entries(cp).every(
        ([n, port]) =>
          /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n) &&
          n.length <= 15 &&
          /[a-z]/.test(n) &&
          Number.isInteger(port) &&
          (port as number) >= 1 &&
          (port as number) <= 65535,
      );
    if (!ok)
      p.add(
        `${key}.containerPorts`,
        cp,
        `expected a map of port name (an IANA service name: lower-case, at most 15 characters) to port number`,
        `e.g. {"websecure": 8443}`,
      );
    else role.containerPorts = cp as Record<string, number>;
  }
  return p.list.length === before ? role : undefined;
}

/**
 * Effective roles: defaults (and, on kind, kind's own provisioner), the ingress override, then `infraRoles`
 * (a role with a default's name replaces it).
 */
export function parseInfraRoles(
  p: Problems,
  rawRoles: unknown,
  rawIngress: unknown,
  kind = false,
): InfraRole[] {
  let roles = [...DEFAULT_INFRA_ROLES, ...(kind ? KIND_INFRA_ROLES : [])].map((r) => ({ ...r }));
  const ingress = fromJsonText(rawIngress);
  if (ingress !== undefined) {
    if (!isPlainObject(ingress)) {
      p.add(
        "ingressController",
        ingress,
        `expected ${shapeOf(IngressControllerSchema)}, got ${typeName(ingress)}`,
        // A path set cannot index into a value of another type: drop it first.
        `${rmCommand("ingressController")}, then ${setCommand("ingressController.namespace", "traefik")}`,
      );
    } else {
      checkKnownKeys(p, "ingressController", ingress, knownKeys(IngressControllerSchema));
      const ns = ingress.namespace;
      if (ns !== undefined && (typeof ns !== "string" || !RFC1123_LABEL.test(ns)))
        p.add("ingressController.namespace", ns, `not a namespace name`, `e.g. traefik`);
      const labels = parseLabels(p, "ingressController.podLabels", ingress.podLabels, false);
      roles = roles.map((r) =>
        r.name === INGRESS_ROLE
          ? {
              ...r,
              namespace: typeof ns === "string" ? ns : r.namespace,
              podLabels: labels ?? r.podLabels,
              evidence: labels ? "ingressController in stack config" : r.evidence,
            }
          : r,
      );
    }
  }
  const extra = fromJsonText(rawRoles);
  if (extra !== undefined) {
    if (!Array.isArray(extra))
      p.add(
        "infraRoles",
        extra,
        `expected an array of infra roles, got ${typeName(extra)}`,
        `e.g. [${EXAMPLE_ROLE}]`,
      );
    else
      extra.forEach((raw, i) => {
        const role = parseRole(p, `infraRoles[${i}]`, raw);
        if (!role) return;
        const at = roles.findIndex((r) => r.name === role.name);
        if (at >= 0) roles[at] = role;
        else roles.push(role);
      });
  }
  checkPolicyNamesUnique(p, roles);
  return roles;
}

/** Policies the layers generate themselves; a role may not take their names. */
const CASTLE_POLICY_NAMES = [
  "allow-within-namespace",
  "allow-to-everywhere",
  "global-infra-cilium-health",
  "host-all",
  "host-cp",
  "host-infra",
];

function checkPolicyNamesUnique(p: Problems, roles: InfraRole[]): void {
  const seen = new Map<string, string>();
  for (const r of roles) for (const n of CASTLE_POLICY_NAMES) seen.set(`${r.namespace}/${n}`, "the castle");
  for (const n of CASTLE_POLICY_NAMES) seen.set(`/${n}`, "the castle");
  for (const r of roles) {
    const names: [string, PolicyName | undefined][] = [
      [r.namespace, r.kubeApiServer],
      [r.namespace, r.servesAll],
      ["", r.egressFromEveryPod],
      [r.namespace, r.servesKubeApiServer],
      ["", r.reachesLabelledNamespaces?.egress],
      ["", r.reachesLabelledNamespaces?.ingress],
      [r.namespace, r.nodePorts],
    ];
    for (const [scope, pn] of names) {
      if (!pn) continue;
      const id = `${scope}/${pn.name}`;
      const other = seen.get(id);
      if (other && other !== r.name) {
        p.add(
          "infraRoles",
          r.name,
          `policy "${pn.name}"${scope ? ` in namespace ${scope}` : ""} is generated by both ${other === "the castle" ? other : `role "${other}"`} and role "${r.name}"`,
          `give one of them another policy name`,
        );
      }
      seen.set(id, r.name);
    }
  }
}
