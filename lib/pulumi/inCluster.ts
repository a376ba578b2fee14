import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

/**
 * How every resource inside the cluster is placed: on the cluster's provider, deleted with the cluster
 * (a kind cluster takes its objects with it, so Pulumi need not delete them one by one), and after
 * whatever it must wait for. Passed to each layer so that every child gets the same three options. (A
 * recreated kind cluster replaces the provider, and with it every object on it: KindCluster.)
 */
export interface ClusterPlacement {
  provider: k8s.Provider;
  /** The resource whose deletion removes the whole cluster; undefined for an existing cluster. */
  cluster?: pulumi.Resource;
}

export function inCluster(
  parent: pulumi.Resource,
  placement: ClusterPlacement,
  dependsOn: pulumi.Input<pulumi.Resource>[] = [],
): pulumi.CustomResourceOptions {
  return {
    parent,
    provider: placement.provider,
    ...(placement.cluster ? { deletedWith: placement.cluster } : {}),
    ...(dependsOn.length > 0 ? { dependsOn } : {}),
  };
}
