import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { ClusterPlacement, inCluster } from "../../../lib/pulumi/inCluster";
import { createPolicies } from "../policyResources";
import { InfraRole, infraNamespaceLabels, PREEXISTING_NAMESPACES } from "../../../vocabulary/roles";
import { buildInfraPolicies } from "./infraPolicies";
import type { RoutingMode } from "../../cilium/values";

export interface InfraLayerArgs {
  placement: ClusterPlacement;
  crdGate: pulumi.Resource;
  roles: InfraRole[];
  /** Namespaces the cluster brings besides kube-system (kind's local-path-storage): patched, never created. */
  preexistingNamespaces?: string[];
  /** Cilium's routing mode: who the API server's calls arrive as (infraPolicies.ts, apiServerCallers). */
  routingMode?: RoutingMode;
  /**
   * Whether the castle owns the infra namespaces (a cluster it creates). On an existing cluster they may
   * be there already, holding the controller's own install: server-side apply takes them over without
   * AlreadyExists (pulumi-kubernetes provider/pkg/await/await.go: Creation upserts), and destroy keeps
   * them (retainOnDelete), so the castle never deletes a namespace, and what runs in it, that it may not
   * have created. Kept as Namespace resources (not patches) so a stack's URNs stay as they were.
   */
  ownsNamespaces?: boolean;
}

/** The inner walls around the infrastructure namespaces: their namespaces, labels and policies. */
export class InfraLayer extends pulumi.ComponentResource {
  /** The namespaces the layer created, by name. */
  public readonly namespaces: Map<string, k8s.core.v1.Namespace>;
  /** Label patches of namespaces that existed before the castle (kube-system). */
  public readonly namespacePatches: k8s.core.v1.NamespacePatch[];
  public readonly policies: k8s.apiextensions.CustomResource[];

  constructor(name: string, args: InfraLayerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("castle:policy:InfraLayer", name, {}, opts);
    this.namespaces = new Map();
    this.namespacePatches = [];
    for (const [ns, labels] of infraNamespaceLabels(args.roles)) {
      if ([...PREEXISTING_NAMESPACES, ...(args.preexistingNamespaces ?? [])].includes(ns)) {
        if (Object.keys(labels).length > 0) {
          this.namespacePatches.push(
            new k8s.core.v1.NamespacePatch(
              `${name}-${ns}-labels`,
              { metadata: { name: ns, labels } },
              inCluster(this, args.placement),
            ),
          );
        }
      } else {
        this.namespaces.set(
          ns,
          new k8s.core.v1.Namespace(
            `${name}-${ns}`,
            { metadata: { name: ns, labels } },
            {
              ...inCluster(this, args.placement),
              ...(args.ownsNamespaces === false ? { retainOnDelete: true } : {}),
            },
          ),
        );
      }
    }
    const specs = buildInfraPolicies(args.roles, args.routingMode ?? "tunnel");
    this.policies = createPolicies(this, name, specs, args.placement, args.crdGate, this.namespaces);
    this.registerOutputs({
      namespaces: [...this.namespaces.keys()],
      policies: specs.map((p) => `${p.metadata.namespace ?? "(cluster)"}/${p.metadata.name}`),
    });
  }
}
