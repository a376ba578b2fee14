import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import type { KindNodes } from "../../config/castleConfig";
import {
  buildKindConfig,
  clusterIdentity,
  INFRA_ROLE_LABEL,
  kindContainerNames,
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

// kind writes a new cluster's context into a kubeconfig and makes it the current context. The castle hands
// the kubeconfig to Pulumi instead, so kind gets a scratch file: the user's ~/.kube/config and current
// context stay as they were (an `existing` stack relying on the ambient context must not end up on kind).
const SCRATCH = `scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
`;

// Idempotent: an existing cluster of that name is adopted, so a failed `pulumi up` can be re-run and a
// workshop laptop that already has the cluster does not fail, but only when its nodes are the ones this
// stack's kindNodes give (a NodePatch on a node that does not exist would create a phantom Node). kind's
// own output goes to stderr so that stdout carries only the kubeconfig.
const CREATE = `set -eu
${SCRATCH}if kind get clusters 2>/dev/null | grep -qx "$CASTLE_CLUSTER"; then
  have=$(kind get nodes --name "$CASTLE_CLUSTER" 2>/dev/null | sort | tr '\n' ' ')
  want=$(printf '%s\n' $CASTLE_NODES | sort | tr '\n' ' ')
  if [ "$have" != "$want" ]; then
    echo "cilium-castle: kind cluster $CASTLE_CLUSTER already exists with nodes [ $have] but this stack's kindNodes give [ $want]. Delete it with 'kind delete cluster --name $CASTLE_CLUSTER', or set kindNodes to match it, then run again." >&2
    exit 1
  fi
  echo "kind cluster $CASTLE_CLUSTER already exists with the configured nodes; adopting it" >&2
else
  kind create cluster --name "$CASTLE_CLUSTER" --config - --kubeconfig "$scratch/kubeconfig" >&2
fi
kind get kubeconfig --name "$CASTLE_CLUSTER"
`;

const DELETE = `set -eu
${SCRATCH}kind delete cluster --name "$CASTLE_CLUSTER" --kubeconfig "$scratch/kubeconfig" >&2
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
  /** Which cluster instance the kubeconfig points at (see clusterIdentity); changes when kind recreates it. */
  public readonly identity: pulumi.Output<string>;

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
        environment: {
          CASTLE_CLUSTER: args.clusterName,
          CASTLE_NODES: kindContainerNames(args.clusterName, args.nodes).join(" "),
        },
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
    // A hash of the cluster's CA: no secret in it, so it may show in diffs.
    this.identity = pulumi.unsecret(this.clusterCommand.stdout.apply(clusterIdentity));

    this.provider = new k8s.Provider(
      `${name}-k8s`,
      {
        kubeconfig: this.kubeconfig,
        // The provider is replaced only when this changes (pulumi-kubernetes provider/pkg/provider:
        // DiffConfig). It names the cluster instance: when kind recreates the cluster (a new kindNodes or
        // node image), every object in it is replaced on the new cluster instead of staying in state
        // while gone from the cluster.
        clusterIdentifier: pulumi.interpolate`kind-${args.clusterName}-${this.identity}`,
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
      identity: this.identity,
    });
  }
}
