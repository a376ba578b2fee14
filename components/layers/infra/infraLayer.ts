import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { ClusterPlacement, inCluster } from "../../../lib/pulumi/inCluster";
import { createPolicies } from "../policyResources";
import { InfraRole, infraNamespaceLabels, PREEXISTING_NAMESPACES } from "./roles";
import { buildInfraPolicies } from "./spec";

export interface InfraLayerArgs {
  placement: ClusterPlacement;
  crdGate: pulumi.Resource;
  roles: InfraRole[];
  /**
   * Whether the castle owns the infra namespaces (a cluster it creates). On an existing cluster they may
   * be there already (created with the controller's own install): the castle then applies its labels
   * with server-side apply patches, which create a missing namespace but never delete one, instead of
   * Namespaces that fail with AlreadyExists.
   */
  ownsNamespaces?: boolean;
}

/** The inner walls around the infrastructure namespaces: their namespaces, labels and policies. */
export class InfraLayer extends pulumi.ComponentResource {
  /** The namespaces the layer created, by name. */
  public readonly namespaces: Map<string, k8s.core.v1.Namespace>;
  /** Label patches of namespaces the castle does not own (kube-system; every one on an existing cluster). */
  public readonly namespacePatches: k8s.core.v1.NamespacePatch[];
  public readonly policies: k8s.apiextensions.CustomResource[];

  constructor(name: string, args: InfraLayerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("castle:policy:InfraLayer", name, {}, opts);
    this.namespaces = new Map();
    this.namespacePatches = [];
    const namespaceOwners = new Map<string, pulumi.Resource>();
    for (const [ns, labels] of infraNamespaceLabels(args.roles)) {
      const preexisting = PREEXISTING_NAMESPACES.includes(ns);
      if (preexisting || args.ownsNamespaces === false) {
        if (!preexisting || Object.keys(labels).length > 0) {
          const patch = new k8s.core.v1.NamespacePatch(
            `${name}-${ns}-labels`,
            { metadata: { name: ns, labels } },
            inCluster(this, args.placement),
          );
          this.namespacePatches.push(patch);
          if (!preexisting) namespaceOwners.set(ns, patch);
        }
      } else {
        this.namespaces.set(
          ns,
          new k8s.core.v1.Namespace(
            `${name}-${ns}`,
            { metadata: { name: ns, labels } },
            inCluster(this, args.placement),
          ),
        );
        namespaceOwners.set(ns, this.namespaces.get(ns)!);
      }
    }
    const specs = buildInfraPolicies(args.roles);
    this.policies = createPolicies(this, name, specs, args.placement, args.crdGate, namespaceOwners);
    this.registerOutputs({
      namespaces: [...namespaceOwners.keys()],
      policies: specs.map((p) => `${p.metadata.namespace ?? "(cluster)"}/${p.metadata.name}`),
    });
  }
}
