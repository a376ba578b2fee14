import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { ClusterPlacement } from "../../../lib/pulumi/inCluster";
import { createPolicies } from "../policyResources";
import { buildNodePolicies, NodeLayerInput } from "./spec";

export interface NodeLayerArgs extends NodeLayerInput {
  placement: ClusterPlacement;
  crdGate: pulumi.Resource;
}

/** The outer wall: host-firewall policies for every node, the control planes and the infra nodes. */
export class NodeLayer extends pulumi.ComponentResource {
  public readonly policies: k8s.apiextensions.CustomResource[];

  constructor(name: string, args: NodeLayerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("castle:policy:NodeLayer", name, {}, opts);
    const specs = buildNodePolicies({ jumphostCidrs: args.jumphostCidrs, roles: args.roles });
    this.policies = createPolicies(this, name, specs, args.placement, args.crdGate);
    this.registerOutputs({ policies: specs.map((p) => p.metadata.name) });
  }
}
