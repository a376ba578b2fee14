import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { UserNamespaceConfig } from "../../../config/castleConfig";
import { ClusterPlacement, inCluster } from "../../../lib/pulumi/inCluster";
import { createPolicies } from "../policyResources";
import { userNamespaceObject, userNamespacePolicies } from "./namespacePolicies";

export interface UserNamespaceArgs {
  placement: ClusterPlacement;
  crdGate: pulumi.Resource;
  namespace: UserNamespaceConfig;
}

/** A tenant's room in the castle: its namespace, labelled for the infra roles, and its default rule. */
export class UserNamespace extends pulumi.ComponentResource {
  public readonly namespace: k8s.core.v1.Namespace;
  public readonly policies: k8s.apiextensions.CustomResource[];

  constructor(name: string, args: UserNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("castle:policy:UserNamespace", name, {}, opts);
    const obj = userNamespaceObject(args.namespace);
    this.namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: obj.metadata },
      inCluster(this, args.placement),
    );
    this.policies = createPolicies(
      this,
      name,
      userNamespacePolicies(args.namespace),
      args.placement,
      args.crdGate,
      new Map([[args.namespace.name, this.namespace]]),
    );
    this.registerOutputs({ namespace: args.namespace.name, labels: obj.metadata.labels });
  }
}
