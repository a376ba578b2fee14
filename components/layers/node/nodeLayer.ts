import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { ClusterPlacement } from "../../../lib/pulumi/inCluster";
import { createPolicies } from "../policyResources";
import { INTRODUCED_IN_AUDIT_MODE } from "../../../lib/cilium/policy";
import { buildNodePolicies, NodeLayerInput } from "./hostPolicies";

export interface NodeLayerArgs extends NodeLayerInput {
  placement: ClusterPlacement;
  crdGate: pulumi.Resource;
  /** Cilium's audit mode now: recorded on each host policy when it is first created. */
  policyAuditMode: boolean;
}

/** The outer wall: host-firewall policies for every node, the control planes and the infra nodes. */
export class NodeLayer extends pulumi.ComponentResource {
  public readonly policies: k8s.apiextensions.CustomResource[];

  constructor(name: string, args: NodeLayerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("castle:policy:NodeLayer", name, {}, opts);
    const specs = buildNodePolicies({ jumphostCidrs: args.jumphostCidrs, roles: args.roles });
    const annotated = specs.map((p) => ({
      ...p,
      metadata: { ...p.metadata, annotations: { [INTRODUCED_IN_AUDIT_MODE]: String(args.policyAuditMode) } },
    }));
    // Later updates keep the value of the first creation: it records history, not the current mode.
    this.policies = createPolicies(this, name, annotated, args.placement, args.crdGate, new Map(), [
      `metadata.annotations["${INTRODUCED_IN_AUDIT_MODE}"]`,
    ]);
    this.registerOutputs({ policies: specs.map((p) => p.metadata.name) });
  }
}
