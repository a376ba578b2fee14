// The castle program as a function of its config, so that tests and the offline render can build any
// stack (mocha caches modules: a top-level program would run once per process).

import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { CastleConfig } from "./config/castleConfig";
import { KIND_NAMESPACES } from "./vocabulary/roles";
import { KindCluster } from "./components/cluster/kindCluster";
import { Cilium } from "./components/cilium/cilium";
import { buildCiliumValues, routingModeOf } from "./components/cilium/values";
import { ClusterPlacement } from "./lib/pulumi/inCluster";
import { NodeLayer } from "./components/layers/node/nodeLayer";
import { InfraLayer } from "./components/layers/infra/infraLayer";
import { UserNamespace } from "./components/layers/user/userNamespace";
import { Workshop } from "./components/demo/workshop";
import { castleModel, MODEL_CONFIGMAP } from "./config/model";

export interface Castle {
  cluster?: KindCluster;
  provider: k8s.Provider;
  cilium: Cilium;
  nodes: NodeLayer;
  infra: InfraLayer;
  users: UserNamespace[];
  workshop?: Workshop;
  model: k8s.core.v1.ConfigMap;
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
    chartMirror: config.chartMirror,
    values,
    kubeconfig,
    dependsOn: cluster?.infraNodeLabels ?? [],
  });

  // The three layers, outside in. Each policy waits for the CRD gate: the one thing they depend on.
  const crdGate = cilium.crdGate;
  const nodes = new NodeLayer(`${config.clusterName}-nodes`, {
    placement,
    crdGate,
    jumphostCidrs: config.jumphostCidrs,
    roles: config.roles,
    policyAuditMode: config.policyAuditMode,
  });
  const infra = new InfraLayer(`${config.clusterName}-infra`, {
    placement,
    crdGate,
    roles: config.roles,
    routingMode: routingModeOf(values),
    preexistingNamespaces: config.clusterProvider === "kind" ? KIND_NAMESPACES : [],
    ownsNamespaces: config.clusterProvider === "kind",
  });
  const users = config.userNamespaces.map(
    (ns) => new UserNamespace(`${config.clusterName}-user-${ns.name}`, { placement, crdGate, namespace: ns }),
  );
  // The castle's model for the verifier and the policy pack (see verifier/model.ts).
  const model = new k8s.core.v1.ConfigMap(
    `${config.clusterName}-castle-model`,
    {
      metadata: {
        name: MODEL_CONFIGMAP.name,
        namespace: MODEL_CONFIGMAP.namespace,
        labels: { "app.kubernetes.io/part-of": "cilium-castle" },
      },
      data: { [MODEL_CONFIGMAP.key]: JSON.stringify(castleModel(config), null, 2) },
    },
    {
      provider,
      ...(cluster ? { deletedWith: cluster.clusterCommand } : {}),
      dependsOn: [cilium.release],
    },
  );
  const workshop = config.installDemo
    ? new Workshop(`${config.clusterName}-demo`, {
        placement,
        roles: config.roles,
        userNamespaces: config.userNamespaces,
        chartMirror: config.chartMirror,
        infraPlacement: config.clusterProvider === "kind" ? "required" : "preferred",
        chartValues: config.demoChartValues,
        dependsOn: [infra, ...users],
      })
    : undefined;

  return {
    cluster,
    provider,
    cilium,
    nodes,
    infra,
    users,
    workshop,
    model,
    outputs: {
      clusterName: config.clusterName,
      clusterProvider: config.clusterProvider,
      kubeconfig: kubeconfig ?? "(ambient kubeconfig)",
      ciliumVersion: config.ciliumVersion,
      policyAuditMode: config.policyAuditMode,
      userNamespaces: config.userNamespaces.map((n) => n.name),
      hubbleObserve: "hubble observe -t policy-verdict -f --verdict AUDIT --verdict DROPPED",
    },
  };
}
