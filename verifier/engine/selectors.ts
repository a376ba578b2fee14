// Endpoint selectors: Kubernetes LabelSelectors over Cilium label sets, plus the namespace scoping Cilium
// applies when it imports a CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy, and the entity table.

import {
  LabelSet,
  parseSelectorKey,
  POLICY_LABEL_CLUSTER,
  RESERVED,
  SOURCE_ANY,
  SOURCE_K8S,
  SOURCE_RESERVED,
} from "./labels";
import type { LabelSelector } from "./types";
import { POD_NAMESPACE_LABEL } from "../../vocabulary/labels";

export type Operator = "In" | "NotIn" | "Exists" | "DoesNotExist";

export interface Requirement {
  source: string;
  key: string;
  op: Operator;
  values: readonly string[];
}

const OPERATORS: readonly Operator[] = ["In", "NotIn", "Exists", "DoesNotExist"];

export class SelectorError extends Error {}

/**
 * A compiled endpoint selector. Keys carry a source ("k8s", "reserved", "any"); a key written without a
 * source means "any" (pkg/labels/labels.go GetExtendedKeyFrom). matchLabels are kept apart from
 * matchExpressions because Cilium's AddMatch overwrites a matchLabels entry (pkg/policy/api/selector.go).
 */
export class EndpointSelector {
  private readonly reqs: Requirement[];
  private readonly valueSets: (ReadonlySet<string> | undefined)[];

  private constructor(
    private readonly matchLabels: ReadonlyMap<string, { source: string; key: string; value: string }>,
    private readonly matchExpressions: readonly Requirement[],
  ) {
    this.reqs = [
      ...[...matchLabels.values()].map((m): Requirement => ({
        source: m.source,
        key: m.key,
        op: "In",
        values: [m.value],
      })),
      ...matchExpressions,
    ];
    this.valueSets = this.reqs.map((r) =>
      r.op === "In" || r.op === "NotIn" ? new Set(r.values) : undefined,
    );
  }

  /** The selector that selects everything (an empty LabelSelector, Cilium's WildcardEndpointSelector). */
  static wildcard(): EndpointSelector {
    return new EndpointSelector(new Map(), []);
  }

  /** One reserved label, e.g. reserved:host (pkg/policy/api/entity.go endpointSelectorHost). */
  static reserved(name: string): EndpointSelector {
    return EndpointSelector.wildcard().withMatch(SOURCE_RESERVED, name, "");
  }

  /** Compiles a Kubernetes LabelSelector; throws SelectorError on an invalid one. */
  static fromK8s(sel: LabelSelector | undefined | null): EndpointSelector {
    const ml = new Map<string, { source: string; key: string; value: string }>();
    for (const [raw, value] of Object.entries(sel?.matchLabels ?? {})) {
      const { source, key } = parseSelectorKey(raw);
      ml.set(`${source}:${key}`, {
        source,
        key,
        value: value === null || value === undefined ? "" : String(value),
      });
    }
    const exprs: Requirement[] = [];
    for (const e of sel?.matchExpressions ?? []) {
      // Operators are case-sensitive in k8s.io/apimachinery LabelSelectorAsSelector.
      if (!OPERATORS.includes(e.operator)) {
        throw new SelectorError(`"${String(e.operator)}" is not a valid label selector operator`);
      }
      const values = (e.values ?? []).map(String);
      if ((e.operator === "In" || e.operator === "NotIn") && values.length === 0) {
        throw new SelectorError(`operator ${e.operator} on "${e.key}" needs at least one value`);
      }
      if ((e.operator === "Exists" || e.operator === "DoesNotExist") && values.length > 0) {
        throw new SelectorError(`operator ${e.operator} on "${e.key}" takes no values`);
      }
      const { source, key } = parseSelectorKey(e.key);
      exprs.push({ source, key, op: e.operator, values });
    }
    return new EndpointSelector(ml, exprs);
  }

  /** AddMatch: sets matchLabels[source:key] = value, replacing an existing entry for that exact key. */
  withMatch(source: string, key: string, value: string): EndpointSelector {
    const ml = new Map(this.matchLabels);
    ml.set(`${source}:${key}`, { source, key, value });
    return new EndpointSelector(ml, this.matchExpressions);
  }

  /** AddMatchExpression(key, Exists). */
  withExists(source: string, key: string): EndpointSelector {
    return new EndpointSelector(this.matchLabels, [
      ...this.matchExpressions,
      { source, key, op: "Exists", values: [] },
    ]);
  }

  get requirements(): readonly Requirement[] {
    return this.reqs;
  }

  isWildcard(): boolean {
    return this.reqs.length === 0;
  }

  /** HasKey: a requirement on exactly this source and key (pkg/policy/api/selector.go). */
  hasKey(source: string, key: string): boolean {
    return this.reqs.some((r) => r.source === source && r.key === key);
  }

  /** HasKeyPrefix on the extended key "<source>.<key>". */
  hasKeyPrefix(source: string, keyPrefix: string): boolean {
    return this.reqs.some((r) => r.source === source && r.key.startsWith(keyPrefix));
  }

  /** True when the selector names any reserved-source label. */
  hasReservedKey(): boolean {
    return this.reqs.some((r) => r.source === SOURCE_RESERVED);
  }

  /**
   * Kubernetes requirement semantics (k8s.io/apimachinery/pkg/labels Requirement.Matches) over a Cilium
   * label set: In needs the key with one of the values, NotIn and DoesNotExist also hold when the key is
   * absent. An "any" source accepts labels from every source.
   */
  matches(ls: LabelSet): boolean {
    for (let i = 0; i < this.reqs.length; i++) {
      const r = this.reqs[i];
      const found = ls.lookup(r.source, r.key);
      switch (r.op) {
        case "Exists":
          if (found.length === 0) return false;
          break;
        case "DoesNotExist":
          if (found.length > 0) return false;
          break;
        case "In": {
          const set = this.valueSets[i] as ReadonlySet<string>;
          if (!found.some((l) => set.has(l.value))) return false;
          break;
        }
        case "NotIn": {
          const set = this.valueSets[i] as ReadonlySet<string>;
          if (found.some((l) => set.has(l.value))) return false;
          break;
        }
      }
    }
    return true;
  }

  toString(): string {
    if (this.reqs.length === 0) return "{}";
    return this.reqs
      .map((r) => {
        const k = `${r.source}:${r.key}`;
        switch (r.op) {
          case "Exists":
            return k;
          case "DoesNotExist":
            return `!${k}`;
          case "In":
            return r.values.length === 1 ? `${k}=${r.values[0]}` : `${k} in (${r.values.join(",")})`;
          case "NotIn":
            return `${k} notin (${r.values.join(",")})`;
        }
      })
      .join(", ");
  }
}

// ---------------------------------------------------------------------------------------------------
// Namespace scoping. pkg/k8s/apis/cilium.io/utils/utils.go:
//   ParseToCiliumRule: a CNP's endpointSelector always gets AddMatch(k8s:io.kubernetes.pod.namespace, ns)
//   ("The PodSelector should only reflect to the same namespace the policy is being stored"); a CCNP's
//   endpointSelector is used as written; a nodeSelector is used as written.
//   getEndpointSelector (fromEndpoints/toEndpoints): selectors naming a reserved: label are left alone;
//   otherwise, when the selector has no io.kubernetes.pod.namespace key (k8s: or any:),
//     - CCNP: add "k8s:io.kubernetes.pod.namespace Exists" (unless the subject matches reserved:init),
//       "to make sure that we are only allowing traffic for cilium managed k8s endpoints";
//     - CNP: add k8s:io.kubernetes.pod.namespace=<ns>, unless the selector names a
//       io.cilium.k8s.namespace.labels.* key (then it reaches pods of every namespace with that label).
// ---------------------------------------------------------------------------------------------------

const NS_LABELS_PREFIX_NO_DOT = "io.cilium.k8s.namespace.labels";

export function scopeSubjectSelector(
  sel: EndpointSelector,
  policyNamespace: string | undefined,
): EndpointSelector {
  if (policyNamespace === undefined) return sel;
  return sel.withMatch(SOURCE_K8S, POD_NAMESPACE_LABEL, policyNamespace);
}

export function scopePeerSelector(
  sel: EndpointSelector,
  policyNamespace: string | undefined,
  subjectMatchesInit: boolean,
  clusterName?: string,
): EndpointSelector {
  if (sel.hasReservedKey()) return sel;
  let scoped = sel;
  if (!sel.hasKey(SOURCE_K8S, POD_NAMESPACE_LABEL) && !sel.hasKey(SOURCE_ANY, POD_NAMESPACE_LABEL)) {
    if (policyNamespace === undefined) {
      if (!subjectMatchesInit) scoped = sel.withExists(SOURCE_K8S, POD_NAMESPACE_LABEL);
    } else if (
      !sel.hasKeyPrefix(SOURCE_K8S, NS_LABELS_PREFIX_NO_DOT) &&
      !sel.hasKeyPrefix(SOURCE_ANY, NS_LABELS_PREFIX_NO_DOT)
    ) {
      scoped = sel.withMatch(SOURCE_K8S, POD_NAMESPACE_LABEL, policyNamespace);
    }
  }
  // addClusterFilterByDefault (pkg/k8s/apis/cilium.io/utils/utils.go getEndpointSelector): every
  // non-reserved peer selector without a cluster key is scoped to the local cluster, whatever it says about
  // namespaces, so a selector left unscoped by its namespace key (`io.kubernetes.pod.namespace NotIn`) still
  // selects no world or node identity. No cluster name: policy-default-local-cluster is off.
  if (
    clusterName !== undefined &&
    !scoped.hasKey(SOURCE_K8S, POLICY_LABEL_CLUSTER) &&
    !scoped.hasKey(SOURCE_ANY, POLICY_LABEL_CLUSTER)
  )
    scoped = scoped.withMatch(SOURCE_K8S, POLICY_LABEL_CLUSTER, clusterName);
  return scoped;
}

/**
 * The keys of a selector, as written, that name a pod's namespace or its namespace's labels: a CNP peer
 * selector with one is left unscoped by scopePeerSelector, so it reaches pods of other namespaces.
 */
export function namespaceKeysOf(sel: LabelSelector | undefined | null): string[] {
  if (!sel) return [];
  const raw = [
    ...Object.keys(sel.matchLabels ?? {}),
    ...(sel.matchExpressions ?? []).map((e) => String(e.key)),
  ];
  return raw.filter((k) => {
    const { source, key } = parseSelectorKey(k);
    return (
      (source === SOURCE_K8S || source === SOURCE_ANY) &&
      (key === POD_NAMESPACE_LABEL || key.startsWith(`${NS_LABELS_PREFIX_NO_DOT}.`))
    );
  });
}

// ---------------------------------------------------------------------------------------------------
// Entities, pkg/policy/api/entity.go EntitySelectorMapping + InitEntities; documented at
// https://docs.cilium.io/en/stable/security/policy/language/#entities-based .
// "cluster" = host, remote-node, init, ingress, health, unmanaged, kube-apiserver and every pod carrying
// k8s:io.cilium.k8s.policy.cluster=<cluster name>. "all" is the wildcard selector (world included).
// ---------------------------------------------------------------------------------------------------

export const ENTITIES = [
  "all",
  "world",
  "world-ipv4",
  "world-ipv6",
  "cluster",
  "host",
  "init",
  "ingress",
  "unmanaged",
  "remote-node",
  "health",
  "none",
  "kube-apiserver",
  // Cilium 1.20 (pkg/policy/api/entity.go EntityClusterMesh); 1.19's agent and CRD do not know it.
  "cluster-mesh",
] as const;

export type Entity = (typeof ENTITIES)[number];

export function isEntity(name: string): name is Entity {
  return (ENTITIES as readonly string[]).includes(name);
}

/** The reserved identities of the cluster and cluster-mesh entities (pkg/policy/api/entity.go clusterSelectors). */
const CLUSTER_RESERVED = [
  RESERVED.host,
  RESERVED.remoteNode,
  RESERVED.init,
  RESERVED.ingress,
  RESERVED.health,
  RESERVED.unmanaged,
  RESERVED.kubeApiServer,
];

export function entitySelectors(entity: Entity, clusterName: string): EndpointSelector[] {
  const r = EndpointSelector.reserved;
  switch (entity) {
    case "all":
      return [EndpointSelector.wildcard()];
    case "world":
      return [r(RESERVED.world), r(RESERVED.worldIPv4), r(RESERVED.worldIPv6)];
    case "world-ipv4":
      return [r(RESERVED.worldIPv4)];
    case "world-ipv6":
      return [r(RESERVED.worldIPv6)];
    case "host":
      return [r(RESERVED.host)];
    case "init":
      return [r(RESERVED.init)];
    case "ingress":
      return [r(RESERVED.ingress)];
    case "unmanaged":
      return [r(RESERVED.unmanaged)];
    case "remote-node":
      return [r(RESERVED.remoteNode)];
    case "health":
      return [r(RESERVED.health)];
    case "none":
      return [r(RESERVED.none)];
    case "kube-apiserver":
      return [r(RESERVED.kubeApiServer)];
    case "cluster":
      return [
        ...CLUSTER_RESERVED.map(r),
        EndpointSelector.wildcard().withMatch(SOURCE_K8S, POLICY_LABEL_CLUSTER, clusterName),
      ];
    case "cluster-mesh":
      // The cluster's reserved identities and every endpoint of any cluster of the mesh (a cluster label,
      // whatever its value): pkg/policy/api/entity.go (1.20) EntityClusterMesh.
      return [
        ...CLUSTER_RESERVED.map(r),
        EndpointSelector.wildcard().withExists(SOURCE_K8S, POLICY_LABEL_CLUSTER),
      ];
  }
}
