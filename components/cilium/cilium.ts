import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import { ClusterPlacement, inCluster } from "../../lib/pulumi/inCluster";
import { ChartMirror, ciliumChart, CILIUM_RELEASE, releaseChart } from "../../lib/helm/charts";
import type { HelmValues } from "../../lib/helm/values";
import { CILIUM_POLICY_CRDS, crdGateScript } from "./crdGate";

export interface CiliumArgs {
  placement: ClusterPlacement;
  version: string;
  /** Where the chart comes from; undefined means https://helm.cilium.io/. */
  chartMirror?: ChartMirror;
  values: HelmValues;
  /** Kubeconfig for the gate's kubectl; undefined means the ambient kubeconfig. */
  kubeconfig?: pulumi.Input<string>;
  /** Resources the release must wait for, e.g. the infra node labels its tolerations rely on. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * Cilium from its Helm chart, plus the readiness gate the policy layers depend on: nothing that creates a
 * CiliumNetworkPolicy may start before `crdGate` has finished.
 */
export class Cilium extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;
  /** Completes when both Cilium policy CRDs are Established: the one dependency of every policy. */
  public readonly crdGate: command.local.Command;
  public readonly values: HelmValues;

  constructor(name: string, args: CiliumArgs, opts?: pulumi.ComponentResourceOptions) {
    super("castle:cilium:Cilium", name, {}, opts);
    this.values = args.values;

    this.release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: CILIUM_RELEASE.name,
        ...releaseChart(ciliumChart(args.version), args.chartMirror),
        namespace: CILIUM_RELEASE.namespace,
        values: args.values,
        // First pulls of the agent images on a laptop take minutes.
        timeout: 900,
      },
      inCluster(this, args.placement, args.dependsOn),
    );

    this.crdGate = new command.local.Command(
      `${name}-crd-gate`,
      {
        create: crdGateScript(),
        environment: args.kubeconfig ? { CASTLE_KUBECONFIG: args.kubeconfig } : {},
        logging: "stderr",
        // Re-check after every Cilium upgrade: a new chart may re-register the CRDs. On a new kind cluster
        // the kubeconfig in its environment changes, and the update runs the gate again.
        triggers: [args.version, [...CILIUM_POLICY_CRDS]],
      },
      {
        parent: this,
        dependsOn: [this.release],
        ...(args.placement.cluster ? { deletedWith: args.placement.cluster } : {}),
      },
    );

    this.registerOutputs({ releaseStatus: this.release.status, crdGate: this.crdGate.stdout });
  }
}
