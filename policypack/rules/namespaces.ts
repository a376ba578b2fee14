// Namespaces: each stays reachable from itself, DNS stays reachable, and user namespaces cannot widen
// the walls the infra layer builds.

import { PolicyResource } from "@pulumi/policy";
import { CCNP_TYPE, CNP_TYPE } from "../../lib/cilium/policy";
import {
  isCiliumPolicyType,
  isClusterwide,
  layerOf,
  NAMESPACE_PATCH_TYPE,
  NAMESPACE_TYPE,
  policyId,
  rulesOf,
  USER_NAMESPACE_COMPONENT,
  violation,
} from "../lib";
import { StackResource, stackPolicyOverInputs, unseen } from "../stackView";
import type { CiliumPolicyObject } from "../../verifier/engine";
import {
  namespacePoliciesOf,
  NamespaceProbePod,
  NamespaceProbeResult,
  probeNamespace,
} from "../../verifier/engine/namespaceProbe";
import { namespaceKeysOf } from "../../verifier/engine/selectors";
import { l4Text, OutsideKind, probeWalls, WallBreach } from "../../verifier/engine/wallProbe";
import { probePointsOf } from "../../verifier/probePoints";
import { NAMESPACE_NAME_LABEL, USER_NAMESPACE_LABELS } from "../../vocabulary/labels";

const ALLOW_WITHIN = "allow-within-namespace";

/**
 * A Cilium policy resource as the engine reads it: its kind is the resource's type, and only the fields
 * the engine reads are taken (a live object's status and managedFields stay behind).
 */
const asPolicyObject = (r: StackResource): CiliumPolicyObject => ({
  apiVersion: "cilium.io/v2",
  kind: isClusterwide(r.type) ? "CiliumClusterwideNetworkPolicy" : "CiliumNetworkPolicy",
  metadata: r.props.metadata ?? {},
  ...(r.props.spec !== undefined ? { spec: r.props.spec } : {}),
  ...(r.props.specs !== undefined ? { specs: r.props.specs } : {}),
});

/** A probe pod as a message names it: by the one label or service account it carries, if any. */
function podText(p: NamespaceProbePod, bare: string): string {
  const [label] = Object.entries(p.labels);
  if (label) return `a pod labelled ${label[0]}=${label[1]}`;
  return p.serviceAccount === "default" ? bare : `a pod of service account ${p.serviceAccount}`;
}

/** What the engine says about the directions the namespace's policies do not open. */
function gapsText(r: NamespaceProbeResult): string {
  return r.gaps
    .map(
      (g) =>
        `${g.direction} from ${podText(g.from, "one of its pods")} to ${podText(g.to, "another")} is not allowed (${g.closedFlows} of ${r.probedFlows} probed flows): ${g.reason}`,
    )
    .join("; ");
}

/** The violation for a namespace whose own policies do not open it to itself. */
function notOpen(r: NamespaceProbeResult): string {
  const ns = r.namespace;
  const own = r.policies.map((p) => p.name);
  const deniedBy = [...new Set(r.gaps.flatMap((g) => g.deniedBy.map((p) => `${ns}/${p.name}`)))];
  const refused = r.refused.find((x) => x.ref.name === ALLOW_WITHIN);
  const castleWay =
    "as UserNamespace and InfraLayer write it: ingress fromEndpoints [{}], egress toEndpoints [{}]";
  let rule: string;
  let fix: string;
  if (!own.includes(ALLOW_WITHIN)) {
    rule =
      own.length === 0
        ? `Namespace ${ns} has no allow-within-namespace policy: no CiliumNetworkPolicy of ${ns} lets its pods reach each other`
        : `Namespace ${ns} has no allow-within-namespace policy, and its CiliumNetworkPolicies (${own.join(", ")}) do not let its pods reach each other: ${gapsText(r)}`;
    fix = `add the CiliumNetworkPolicy allow-within-namespace to ${ns} (UserNamespace and InfraLayer do)`;
  } else if (refused) {
    rule = `Namespace ${ns}'s allow-within-namespace is refused by ${refused.by === "api-server" ? "the API server" : "the agent"}, so it takes no effect (${refused.reason}): ${gapsText(r)}`;
    fix = `correct ${ns}'s allow-within-namespace so that it is accepted, ${castleWay}`;
  } else if (deniedBy.length > 0) {
    rule = `Namespace ${ns}'s pods cannot reach each other despite its allow-within-namespace: ${gapsText(r)}`;
    fix = `narrow the deny rules of ${deniedBy.join(", ")} so they leave ${ns}'s own pods alone (a deny wins over every allow)`;
  } else {
    rule = `Namespace ${ns}'s allow-within-namespace does not let its pods reach each other: ${gapsText(r)}`;
    fix = `open ${ns}'s allow-within-namespace again on every port, ${castleWay}`;
  }
  return violation(
    rule,
    "the castle's cluster-wide policies switch on default deny everywhere, so unless the namespace's own policies allow it, even pods of the same namespace cannot talk",
    fix,
  );
}

const KIND_TEXT: Record<OutsideKind, string> = {
  world: "the internet",
  pod: "pods of other namespaces",
  host: "its own node",
  "remote-node": "other nodes",
  "kube-apiserver": "the kube-apiserver",
};

/**
 * What the engine says an item of a user namespace's policy admits from outside the namespace: the first
 * outside peer and port, how the item admits it, and the other kinds of outside peers it admits.
 */
function breachText(id: string, b: WallBreach): string {
  const where = `${id} ${b.specs !== undefined ? `specs[${b.specs}].` : ""}${b.direction}[${b.index}]`;
  const l4 = `${l4Text(b)}${b.dnsName !== undefined ? ` (resolved from ${b.dnsName})` : ""}`;
  let how: string;
  if (b.unmatchedServices)
    how =
      "while its toServices match no Service the rule has no peers, and a rule without peers admits every peer";
  else if (b.everyPeer) how = "a rule without peers admits every peer";
  else
    how = `through ${b.through.map((t) => `${t.field}[${t.index}] (${t.text})`).join(", ") || "its peers"}`;
  const also = b.kinds.slice(1).map((k) => KIND_TEXT[k]);
  return `${where} admits ${b.peer.text} on ${l4}: ${how}${also.length > 0 ? `; it also admits ${also.join(", ")}` : ""}`;
}

function fixFor(b: WallBreach): string {
  if (b.everyPeer)
    return "name the peers: fromEndpoints/toEndpoints selecting pods of this namespace by their own labels; anything wider is an infra role (ask the platform team)";
  if (b.through.some((t) => t.field === "toServices"))
    return "select the Service's pods with toEndpoints by their labels instead: toServices admits whatever the Services it names select or list as backends, in whichever namespace";
  return "ask the platform team for an infra role; user policies select pods of their own namespace by their own labels";
}

const ownedBy = (r: PolicyResource, type: string): boolean => {
  for (let cur = r.parent; cur; cur = cur.parent) if (cur.type === type) return true;
  return false;
};

export const namespacesReachable = stackPolicyOverInputs({
  name: "namespaces-reachable-and-dns",
  description:
    "The CiliumNetworkPolicies of every namespace of the stack and every infra namespace (the castle's allow-within-namespace) let any two of its pods talk, both ways, as the engine evaluates them; and global-infra-dns exists.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const policies = args.resources.filter((r) => isCiliumPolicyType(r.type));
    const namespaces = new Set<string>();
    for (const r of args.resources) {
      if (r.type === NAMESPACE_TYPE || r.type === NAMESPACE_PATCH_TYPE)
        namespaces.add(r.props.metadata?.name);
      if (isCiliumPolicyType(r.type) && layerOf(r.props) === "infra" && r.props.metadata?.namespace)
        namespaces.add(r.props.metadata.namespace);
    }
    // "Missing" is a verdict on what is out of sight too: none while a policy of that kind cannot be seen
    // (stack-content-visible says so). A namespace out of sight has no name here, so it is not listed.
    const blindNamespaced = unseen(args.resources, [CNP_TYPE]).length > 0;
    const blindClusterwide = unseen(args.resources, [CCNP_TYPE]).length > 0;
    if (!blindNamespaced) {
      // Each namespace's own policies, asked of the engine: do they open the namespace to itself, both
      // ways, whatever its pods' labels? Any of its policies may do it; the castle's is allow-within-namespace.
      const objects = policies.filter((p) => !isClusterwide(p.type)).map(asPolicyObject);
      for (const ns of [...namespaces].filter((n) => n).sort()) {
        // The ports and range edges the namespace's policies name, besides the probe's own.
        const ports = probePointsOf(namespacePoliciesOf(objects, ns)).ports;
        const r = probeNamespace(objects, ns, ports);
        if (!r.open) report(notOpen(r));
      }
    }
    if (policies.length > 0 && !blindClusterwide) {
      const dns = policies.find(
        (p) => isClusterwide(p.type) && p.props.metadata?.name === "global-infra-dns",
      );
      if (!dns) {
        report(
          violation(
            "The cluster-wide policy global-infra-dns is missing",
            "every pod needs DNS, and once any egress rule selects a pod its lookups are denied unless a rule allows them",
            "keep the coredns role's egressFromEveryPod (components/layers/infra/roles.ts)",
          ),
        );
      }
    }
  },
});

export const userNamespaceWalls = stackPolicyOverInputs({
  name: "user-namespace-walls",
  description:
    "No ingress or egress item of a user namespace's CiliumNetworkPolicies admits a peer outside the namespace, as the engine evaluates each item; user namespaces carry only the allowed labels.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      extraAllowedNamespaceLabels: {
        type: "array",
        items: { type: "string" },
        default: [],
        description:
          'Namespace labels (besides exposed and metrics) user namespaces may carry; values stay "true"/"false".',
      },
    },
  },
  validateStack: (args, report) => {
    const extra =
      args.getConfig<{ extraAllowedNamespaceLabels?: string[] }>().extraAllowedNamespaceLabels ?? [];
    const allowedLabels = [...USER_NAMESPACE_LABELS, ...extra];
    const userNamespaces = args.resources.filter(
      (r) => r.type === NAMESPACE_TYPE && ownedBy(r, USER_NAMESPACE_COMPONENT),
    );
    const names = new Set(userNamespaces.map((n) => n.props.metadata?.name));
    const why =
      "a user namespace's own policies may only open paths inside it; wider paths belong to the infra layer, reviewed once";

    for (const ns of userNamespaces) {
      for (const [k, v] of Object.entries((ns.props.metadata?.labels ?? {}) as Record<string, unknown>)) {
        // The API server's own label, on every live Namespace (outputs), always the namespace's name.
        if (k === NAMESPACE_NAME_LABEL && v === ns.props.metadata.name) continue;
        if (!allowedLabels.includes(k)) {
          report(
            violation(
              `User namespace ${ns.props.metadata.name} carries label ${k}=${String(v)}, which is not allowed`,
              "labels are how cluster-wide policies open walls; an unknown label may match a policy nobody reviewed for this namespace",
              `use only ${allowedLabels.join(", ")} (extend the list with the pack's extraAllowedNamespaceLabels)`,
            ),
            ns.urn,
          );
        } else if (v !== "true" && v !== "false") {
          report(
            violation(
              `User namespace ${ns.props.metadata.name} has ${k}: ${JSON.stringify(v)}; only "true" or "false" is allowed`,
              `global-infra policies match the exact value "true": any other value silently means no`,
              `set ${k}: "true" or "false"`,
            ),
            ns.urn,
          );
        }
      }
    }

    for (const r of args.resources.filter((x) => isCiliumPolicyType(x.type))) {
      const id = policyId(r.props);
      if (isClusterwide(r.type)) {
        if (ownedBy(r, USER_NAMESPACE_COMPONENT)) {
          report(
            violation(
              `User namespace component owns the cluster-wide policy ${id}`,
              "a cluster-wide policy applies to every namespace: a tenant would set rules for everyone",
              "use a CiliumNetworkPolicy in the namespace instead",
            ),
            r.urn,
          );
        }
        continue;
      }
      if (!names.has(r.props.metadata?.namespace)) continue;
      for (const rule of rulesOf(r.props)) {
        // A CNP's subject never leaves its namespace (the agent pins it there), so this is no widening but
        // the castle's convention: a tenant's policy selects its pods by their own labels, not by the
        // namespace's, which the infra layer reads. namespaceKeysOf is the engine's list of namespace keys.
        for (const key of namespaceKeysOf(rule.endpointSelector)) {
          report(
            violation(`${id} endpointSelector uses ${key}`, why, "select pods by their own labels only"),
            r.urn,
          );
        }
      }
      // Which outside peer each ingress and egress item admits, asked of the engine item by item.
      const walls = probeWalls(asPolicyObject(r));
      for (const b of walls.breaches) {
        report(violation(breachText(id, b), why, fixFor(b)), r.urn);
      }
      for (const e of walls.reservedEntities) {
        const where = `${id} ${e.specs !== undefined ? `specs[${e.specs}].` : ""}${e.direction}[${e.index}]`;
        report(
          violation(
            `${where} admits Cilium's reserved ${e.entities.length > 1 ? "identities" : "identity"} ${e.entities.join(", ")}, which no namespace holds`,
            why,
            "ask the platform team for an infra role; user policies select pods of their own namespace by their own labels",
          ),
          r.urn,
        );
      }
    }
  },
});

export const namespacePolicies = [namespacesReachable, userNamespaceWalls];
