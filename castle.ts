// The castle program as a function of its config, so that tests and the offline render can build any
// stack (mocha caches modules: a top-level program would run once per process).

import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { CastleConfig } from "./config/castleConfig";
import { KindCluster } from "./components/cluster/kindCluster";
import { Cilium } from "./components/cilium/cilium";
import { buildCiliumValues } from "./components/cilium/values";
import { ClusterPlacement } from "./lib/pulumi/inCluster";

export interface Castle {
  cluster?: KindCluster;
  provider: k8s.Provider;
  cilium: Cilium;
  outputs: Record<string, pulumi.Input<unknown>>;
}

export function buildCastle(config: CastleConfig): Castle {
  let cluster: KindCluster | undefined;
  let provider: k8s.Provider;
  let kubeconfig: pulumi.Input<string> | undefined;

  if (config.clusterProvider === "kind") {
    cluster = new KindCluster(config.clusterName, {
      clusterName: config.clusterName,
      nodes: config.kindNodes,
      nodeImage: config.kindNodeImage,
    });
    provider = cluster.provider;
    kubeconfig = cluster.kubeconfig;
  } else {
    // An existing cluster: the given kubeconfig, or the ambient one (KUBECONFIG / current context).
    kubeconfig = config.kubeconfig?.value !== undefined ? pulumi.secret(config.kubeconfig.value) : undefined;
    provider = new k8s.Provider(`${config.clusterName}-k8s`, {
      ...(kubeconfig ? { kubeconfig } : {}),
      clusterIdentifier: config.clusterName,
    });
  }

  const placement: ClusterPlacement = { provider, cluster: cluster?.clusterCommand };
  const values = buildCiliumValues({
    config,
    apiServer: cluster?.apiServer,
  });
  const cilium = new Cilium(`${config.clusterName}-cilium`, {
    placement,
    version: config.ciliumVersion,
    values,
    kubeconfig,
    dependsOn: cluster?.infraNodeLabels ?? [],
  });

  return {
    cluster,
    provider,
    cilium,
    outputs: {
      clusterName: config.clusterName,
      clusterProvider: config.clusterProvider,
      kubeconfig: kubeconfig ?? "(ambient kubeconfig)",
      ciliumVersion: config.ciliumVersion,
      policyAuditMode: config.policyAuditMode,
      hubbleObserve: "hubble observe -t policy-verdict -f --verdict AUDIT --verdict DROPPED",
    },
  };
}
