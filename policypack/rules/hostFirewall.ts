// Host firewall rules: the first wall must exist, be audited before it is enforced, keep SSH to the
// jumphosts and keep the cluster's lifelines open.

import { ResourceValidationPolicy } from "@pulumi/policy";
import { CCNP_TYPE, INTRODUCED_IN_AUDIT_MODE } from "../../lib/cilium/policy";
import * as PORT from "../../vocabulary/ports";
import { Cidr, cidrContains, parseCidr } from "../../lib/net/cidr";
import {
  admitsEntity,
  admitsEveryPeer,
  admitsPort,
  isClusterwide,
  isHostRule,
  Obj,
  policyId,
  RELEASE_TYPE,
  rulesOf,
  selectsAll,
  violation,
} from "../lib";
import { stackPolicyOverInputs, unseen } from "../stackView";
import { isCiliumRelease as isCiliumHelmRelease } from "../../lib/helm/charts";
import { CONTROL_PLANE_ROLE_LABEL } from "../../vocabulary/labels";

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
    .map((r) => ({ urn: r.urn, props: r.props, rules: rulesOf(r.props).filter(isHostRule) }))
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
const WORLD_ENTITIES = ["world", "world-ipv4", "world-ipv6", "all"];

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
    rulesOf(args.props)
      .filter(isHostRule)
      .forEach((rule) =>
        (rule.ingress ?? []).forEach((r: Obj, i: number) => {
          if (!admitsPort(r, PORT.SSH, "TCP")) return;
          const where = `${policyId(args.props)} ingress[${i}]`;
          const why =
            "SSH to a node is root on the cluster; it must come from a jumphost, never from the internet";
          if (admitsEveryPeer(r))
            return report(violation(`${where} allows SSH (22/TCP) from everywhere`, why, fix));
          const world = (r.fromEntities ?? []).filter((e: string) => WORLD_ENTITIES.includes(e));
          if (world.length > 0)
            report(violation(`${where} allows SSH (22/TCP) from entity ${world.join(", ")}`, why, fix));
          const cidrs: string[] = [
            ...(r.fromCIDR ?? []),
            ...(r.fromCIDRSet ?? []).map((s: Obj) => s.cidr),
          ].filter((c) => c !== undefined);
          for (const text of cidrs) {
            const c = parseCidr(
              String(text).includes("/") ? String(text) : `${text}/${String(text).includes(":") ? 128 : 32}`,
            );
            if (!c.ok || c.prefix === 0 || !allowed.some((a) => cidrContains(a, c))) {
              report(
                violation(
                  `${where} allows SSH (22/TCP) from ${text}, outside the allowed jumphost CIDRs`,
                  why,
                  fix,
                ),
              );
            }
          }
        }),
      );
  },
};

interface Lifeline {
  what: string;
  port: number;
  protocol: "TCP" | "UDP";
  from: string;
  controlPlaneOnly: boolean;
}

const LIFELINES: Lifeline[] = [
  {
    what: "the Kubernetes API (6443/TCP) on control-plane nodes",
    port: PORT.KUBE_APISERVER,
    protocol: "TCP",
    from: "world",
    controlPlaneOnly: true,
  },
  {
    what: "etcd client (2379/TCP) from kube-apiserver",
    port: PORT.ETCD_CLIENT,
    protocol: "TCP",
    from: "kube-apiserver",
    controlPlaneOnly: true,
  },
  {
    what: "etcd peers (2380/TCP) from kube-apiserver",
    port: PORT.ETCD_PEER,
    protocol: "TCP",
    from: "kube-apiserver",
    controlPlaneOnly: true,
  },
  {
    what: "the kubelet (10250/TCP) from kube-apiserver",
    port: PORT.KUBELET,
    protocol: "TCP",
    from: "kube-apiserver",
    controlPlaneOnly: false,
  },
  {
    what: "Cilium health (4240/TCP) from remote-node",
    port: PORT.CILIUM_HEALTH,
    protocol: "TCP",
    from: "remote-node",
    controlPlaneOnly: false,
  },
  {
    what: "the VXLAN tunnel (8472/UDP) from host",
    port: PORT.VXLAN,
    protocol: "UDP",
    from: "host",
    controlPlaneOnly: false,
  },
  {
    what: "the VXLAN tunnel (8472/UDP) from remote-node",
    port: PORT.VXLAN,
    protocol: "UDP",
    from: "remote-node",
    controlPlaneOnly: false,
  },
];

/** Whether a host rule's nodeSelector covers every node, or (for control-plane lifelines) the control planes. */
function covers(rule: Obj, controlPlaneOnly: boolean): boolean {
  if (selectsAll(rule.nodeSelector)) return true;
  if (!controlPlaneOnly) return false;
  const ml = rule.nodeSelector?.matchLabels ?? {};
  return (
    Object.keys(ml).length === 1 &&
    ml[CONTROL_PLANE_ROLE_LABEL] === "" &&
    (rule.nodeSelector?.matchExpressions ?? []).length === 0
  );
}

export const nodeLifelines = stackPolicyOverInputs({
  name: "node-lifelines",
  description: "When host policies exist, together they still admit what keeps the cluster alive.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const hosts = hostPolicies(args.resources);
    // A lifeline may be in a cluster-wide policy out of sight: no verdict then (stack-content-visible).
    if (hosts.length === 0 || unseen(args.resources, [CCNP_TYPE]).length > 0) return;
    const rules = hosts.flatMap((h) => h.rules);
    for (const l of LIFELINES) {
      const allowed = rules.some(
        (rule) =>
          covers(rule, l.controlPlaneOnly) &&
          (rule.ingress ?? []).some((r: Obj) => admitsPort(r, l.port, l.protocol) && admitsEntity(r, l.from)),
      );
      // A deny on any node class that overlaps wins over every allow.
      const denied = rules.some((rule) =>
        (rule.ingressDeny ?? []).some(
          (r: Obj) => admitsPort(r, l.port, l.protocol) && admitsEntity(r, l.from),
        ),
      );
      if (!allowed || denied) {
        report(
          violation(
            `The host policies no longer admit ${l.what}${denied ? " (an ingressDeny rule blocks it)" : ""}`,
            "a missing lifeline is a lock-out waiting for enforcement: the control plane, etcd, kubelets or the pod network stop working once audit mode is off",
            `add it back to host-${l.controlPlaneOnly ? "cp" : "all"} (see components/layers/node/hostPolicies.ts)`,
          ),
        );
      }
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
