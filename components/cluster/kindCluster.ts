import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import type { KindNodes } from "../../config/castleConfig";
import {
  buildKindConfig,
  INFRA_ROLE_LABEL,
  kindApiServerEndpoint,
  kindConfigYaml,
  kindNodeNames,
  KindClusterConfig,
  KindNodeName,
} from "./kindConfig";

export interface KindClusterArgs {
  clusterName: string;
  nodes: KindNodes;
  nodeImage: string;
}

// Idempotent: an existing cluster of that name is adopted, so a failed `pulumi up` can be re-run and a
// workshop laptop that already has the cluster does not fail. kind's own output goes to stderr so that
// stdout carries only the kubeconfig.
const CREATE = `set -eu
if kind get clusters 2>/dev/null | grep -qx "$CASTLE_CLUSTER"; then
  echo "kind cluster $CASTLE_CLUSTER already exists; adopting it" >&2
else
  kind create cluster --name "$CASTLE_CLUSTER" --config - >&2
fi
kind get kubeconfig --name "$CASTLE_CLUSTER"
`;

const DELETE = `set -eu
kind delete cluster --name "$CASTLE_CLUSTER" >&2
`;

/**
 * A kind cluster built from stack config: one command resource that creates (or adopts) the cluster and
 * returns its kubeconfig, the Kubernetes provider that talks to it, and the infra role labels on its
 * infra nodes.
 */
export class KindCluster extends pulumi.ComponentResource {
  /** The kubeconfig, as a secret: it holds the cluster-admin client key. */
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly provider: k8s.Provider;
  /** The command whose deletion deletes the cluster: in-cluster resources are `deletedWith` it. */
  public readonly clusterCommand: command.local.Command;
  public readonly kindConfig: KindClusterConfig;
  public readonly nodeNames: KindNodeName[];
  public readonly apiServer: { host: string; port: number };
  public readonly infraNodeLabels: k8s.core.v1.NodePatch[];

  constructor(name: string, args: KindClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("castle:cluster:KindCluster", name, {}, opts);

    this.kindConfig = buildKindConfig(args.clusterName, args.nodes, args.nodeImage);
    const configYaml = kindConfigYaml(this.kindConfig);
    this.nodeNames = kindNodeNames(args.clusterName, args.nodes);
    this.apiServer = kindApiServerEndpoint(args.clusterName, args.nodes);

    this.clusterCommand = new command.local.Command(
      `${name}-kind`,
      {
        create: CREATE,
        delete: DELETE,
        stdin: configYaml,
        environment: { CASTLE_CLUSTER: args.clusterName },
        // The kubeconfig is on stdout: log kind's progress (stderr) only.
        logging: "stderr",
        // kind cannot change a running cluster's nodes: a new config means a new cluster.
        triggers: [configYaml],
      },
      {
        parent: this,
        additionalSecretOutputs: ["stdout"],
        // The cluster name is fixed, so the old cluster must go before the new one is created.
        deleteBeforeReplace: true,
      },
    );

    this.kubeconfig = pulumi.secret(this.clusterCommand.stdout);

    this.provider = new k8s.Provider(
      `${name}-k8s`,
      {
        kubeconfig: this.kubeconfig,
        // Recreating the cluster changes the kubeconfig (new port, new certificates); the identifier
        // keeps that an update of the provider instead of a replacement of every object in it.
        clusterIdentifier: `kind-${args.clusterName}`,
      },
      { parent: this, dependsOn: [this.clusterCommand] },
    );

    // kubelets may not label themselves node-role.kubernetes.io/* (NodeRestriction), so the infra role
    // label that host-infra and the infra tolerations rely on is applied through the API.
    this.infraNodeLabels = this.nodeNames
      .filter((n) => n.role === "infra")
      .map(
        (n) =>
          new k8s.core.v1.NodePatch(
            `${name}-${n.name}-infra-role`,
            { metadata: { name: n.name, labels: { [INFRA_ROLE_LABEL]: "" } } },
            { parent: this, provider: this.provider, deletedWith: this.clusterCommand },
          ),
      );

    this.registerOutputs({
      kubeconfig: this.kubeconfig,
      nodeNames: this.nodeNames,
      apiServer: this.apiServer,
    });
  }
}
