// Host firewall rules: the first wall must exist, be audited before it is enforced, keep SSH to the
// jumphosts and keep the cluster's lifelines open.

import { ResourceValidationPolicy } from "@pulumi/policy";
import { CCNP_TYPE, INTRODUCED_IN_AUDIT_MODE } from "../../lib/cilium/policy";
import * as PORT from "../../vocabulary/ports";
import { Cidr, cidrContainsIp, parseCidr, parseIp } from "../../lib/net/cidr";
import { isClusterwide, Obj, policyId, RELEASE_TYPE, rulesOf, violation } from "../lib";
import { addressesOf, admitsAny, INTERNET_PROBE_IP, peerEntries, Probe } from "../rulePeers";
import { stackObjects } from "./castleProperties";
import { CiliumPolicyObject, PolicyEngine, Topology } from "../../verifier/engine";
import { isHostRule } from "../../verifier/engine/ruleKind";
import { LIFELINES, lifelineFlows } from "../../verifier/lifelines";
import { fromObjects } from "../../verifier/objects";
import { castleTopology } from "../../verifier/topology";
import { MODEL_CONFIGMAP } from "../../config/model";
import { DEFAULT_CLUSTER_NAME, DEFAULT_KIND_NODES } from "../../vocabulary/nodes";
import { stackPolicyOverInputs, unseen } from "../stackView";
import { isCiliumRelease as isCiliumHelmRelease } from "../../lib/helm/charts";

// By release name: with a chart mirror the chart is a path or an oci:// reference (lib/helm/charts.ts).
const isCiliumRelease = (type: string, props: Obj): boolean =>
  type === RELEASE_TYPE && isCiliumHelmRelease(props);

export const hostFirewallEnabled: ResourceValidationPolicy = {
  name: "cilium-host-firewall-enabled",
  description: "The Cilium Helm release enables the host firewall.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (!isCiliumRelease(args.type, args.props)) return;
    if (args.props.values?.hostFirewall?.enabled !== true) {
      report(
        violation(
          "The Cilium release must set hostFirewall.enabled: true",
          "without it Cilium ignores every host policy (nodeSelector), so the nodes have no wall at all",
          "set hostFirewall.enabled: true in the Cilium values (and remove any ciliumValues override that turns it off)",
        ),
      );
    }
  },
};

interface HostPolicy {
  urn: string;
  props: Obj;
  rules: Obj[];
}

function hostPolicies(resources: { type: string; props: Obj; urn: string }[]): HostPolicy[] {
  return resources
    .filter((r) => isClusterwide(r.type))
    .map((r) => ({ urn: r.urn, props: r.props, rules: rulesOf(r.props).filter((x) => isHostRule(x)) }))
    .filter((h) => h.rules.length > 0);
}

/** Cilium's audit mode from its release; undefined when no release is in sight (none, or one not seen). */
function ciliumAuditMode(resources: { type: string; props: Obj }[]): boolean | undefined {
  const release = resources.find((r) => isCiliumRelease(r.type, r.props));
  return release ? release.props.values?.policyAuditMode === true : undefined;
}

export const auditModeReminder = stackPolicyOverInputs({
  name: "host-policies-audit-mode-reminder",
  description: "Advisory: host policies are enforced because Cilium is not in policy audit mode.",
  enforcementLevel: "advisory",
  validateStack: (args, report) => {
    const hosts = hostPolicies(args.resources);
    if (hosts.length > 0 && ciliumAuditMode(args.resources) === false) {
      report(
        violation(
          `Host policies (${hosts.map((h) => policyId(h.props)).join(", ")}) are enforced: Cilium's policyAuditMode is off`,
          "a host policy that misses a flow cuts nodes off; audit mode shows such flows as AUDIT in Hubble first",
          "make sure `hubble observe --verdict AUDIT` showed no false positives before enforcing, or set policyAuditMode: true",
        ),
      );
    }
  },
});

export const auditBeforeEnforcement = stackPolicyOverInputs({
  name: "host-policies-audit-first",
  description: "Host policies must have been applied in audit mode before Cilium enforces them.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    if (ciliumAuditMode(args.resources) !== false) return;
    for (const h of hostPolicies(args.resources)) {
      // The program records the audit mode a host policy was created under and never updates it
      // (ignoreChanges). The engine resets ignored paths to the old inputs before Check and before any
      // policy runs, so the inputs (and, once applied, the live object) keep the first value: "false" here
      // means the policy is new in this very update. The release and the host policies are read from the
      // inputs the resource half saw: in the preview of a new kind stack their outputs are {}.
      const recorded = h.props.metadata?.annotations?.[INTRODUCED_IN_AUDIT_MODE];
      if (recorded !== "true") {
        report(
          violation(
            `Host policy ${policyId(h.props)} would be enforced in the same update that introduces it (policyAuditMode is off; ${INTRODUCED_IN_AUDIT_MODE}: ${recorded ?? "missing"})`,
            "an unaudited host firewall can lock operators and the control plane out of the nodes on its first day",
            "deploy the host policies with policyAuditMode: true first, watch Hubble for AUDIT verdicts, then turn audit mode off in a later update",
          ),
          h.urn,
        );
      }
    }
  },
});

/** RFC 1918 ranges: by default SSH may come only from private networks. */
export const DEFAULT_ALLOWED_JUMPHOST_CIDRS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

export const noOpenSsh: ResourceValidationPolicy = {
  name: "no-open-ssh",
  description:
    "No host policy allows SSH (22/TCP) from world, all, 0.0.0.0/0 or outside the allowed jumphost CIDRs.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      allowedJumphostCidrs: {
        type: "array",
        items: { type: "string" },
        default: DEFAULT_ALLOWED_JUMPHOST_CIDRS,
        description: "CIDRs SSH may come from; a rule's CIDR must lie inside one of them.",
      },
    },
  },
  validateResource: (args, report) => {
    if (!isClusterwide(args.type)) return;
    const allowed = (
      args.getConfig<{ allowedJumphostCidrs?: string[] }>().allowedJumphostCidrs ??
      DEFAULT_ALLOWED_JUMPHOST_CIDRS
    )
      .map(parseCidr)
      .filter((c): c is Cidr => c.ok);
    const fix = `allow 22/TCP only fromCIDR your jumphosts (config jumphostCidrs), within ${allowed.map((c) => c.canonical).join(", ")}`;
    const why = "SSH to a node is root on the cluster; it must come from a jumphost, never from the internet";
    const outsideAllowed = (ip: string): boolean => {
      const a = parseIp(ip);
      return a !== undefined && !allowed.some((c) => cidrContainsIp(c, a));
    };
    const ssh = (ips: string[]): Probe[] =>
      ips.filter(outsideAllowed).map((ip) => ({ peer: { ip }, protocol: "TCP" as const, port: PORT.SSH }));
    rulesOf(args.props)
      .filter((rule) => isHostRule(rule))
      .forEach((rule) =>
        (rule.ingress ?? []).forEach((r: Obj, i: number) => {
          const where = `${policyId(args.props)} ingress[${i}]`;
          // The engine says whether each peer entry, alone with the rule's ports, admits SSH from the
          // internet or from an address its CIDR names outside the jumphost CIDRs.
          let named = false;
          for (const e of peerEntries(r)) {
            const probes = ssh(e.cidr === undefined ? [INTERNET_PROBE_IP] : addressesOf(e.cidr));
            if (probes.length === 0 || !admitsAny("host", e.rule, probes)) continue;
            named = true;
            report(
              violation(
                e.cidr === undefined
                  ? `${where} allows SSH (22/TCP) from ${e.text}`
                  : `${where} allows SSH (22/TCP) from ${e.text}, outside the allowed jumphost CIDRs`,
                why,
                fix,
              ),
            );
          }
          // A rule that names no such peer and still admits the internet: no peer field at all, or a
          // selector that the engine matches against the world identity.
          if (!named && admitsAny("host", r, ssh([INTERNET_PROBE_IP])))
            report(violation(`${where} allows SSH (22/TCP) from everywhere`, why, fix));
        }),
      );
  },
};

/** The topology the lifelines are checked on: the stack's own (its castle model), or a default kind cluster. */
function lifelineTopology(resources: { type: string; props: Obj }[]): Topology {
  const objects = stackObjects(resources);
  if (objects.some((o) => o.kind === "ConfigMap" && o.metadata?.name === MODEL_CONFIGMAP.name))
    return fromObjects(objects, "this stack").topology;
  return castleTopology({
    clusterName: DEFAULT_CLUSTER_NAME,
    clusterProvider: "kind",
    kindNodes: DEFAULT_KIND_NODES,
    roles: [],
    userNamespaces: [],
    jumphostCidrs: [],
  });
}

export const nodeLifelines = stackPolicyOverInputs({
  name: "node-lifelines",
  description: "When host policies exist, together they still admit what keeps the cluster alive.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const hosts = hostPolicies(args.resources);
    // A lifeline may be in a cluster-wide policy out of sight: no verdict then (stack-content-visible).
    if (hosts.length === 0 || unseen(args.resources, [CCNP_TYPE]).length > 0) return;
    const topology = lifelineTopology(args.resources);
    const policies = args.resources
      .filter((r) => isClusterwide(r.type))
      .map((r) => r.props as CiliumPolicyObject);
    const engine = new PolicyEngine(policies, topology, { auditMode: false, hostFirewall: true });
    for (const l of LIFELINES) {
      const cut = lifelineFlows(l, topology)
        .map((f) => ({ f, v: engine.evaluate(f) }))
        .filter(({ v }) => v.verdict !== "allowed");
      if (cut.length === 0) continue;
      // A deny wins over every allow: say so, since adding an allow would not help.
      const denied = cut.some(({ v }) => v.ingress.deniedBy.length > 0 || v.egress.deniedBy.length > 0);
      const first = cut[0].f;
      report(
        violation(
          `The host policies no longer admit ${l.what}${denied ? " (an ingressDeny rule blocks it)" : ""}: ${first.from} → ${first.to} ${first.port}/${first.protocol.toLowerCase()} is dropped${cut.length > 1 ? ` (and ${cut.length - 1} more)` : ""}`,
          "a missing lifeline is a lock-out waiting for enforcement: the control plane, etcd, kubelets or the pod network stop working once audit mode is off",
          `add it back to host-${l.to === "control-plane" ? "cp" : "all"} (see components/layers/node/hostPolicies.ts)`,
        ),
      );
    }
  },
});

export const hostFirewallPolicies = [
  hostFirewallEnabled,
  auditModeReminder,
  auditBeforeEnforcement,
  noOpenSsh,
  nodeLifelines,
];
