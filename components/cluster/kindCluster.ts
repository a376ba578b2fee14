import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import type { KindNodes } from "../../config/castleConfig";
import {
  buildKindConfig,
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

const CANNOT_TELL = "castle:cannot-tell:";
/** Lists kind clusters, or says (first line) why it cannot. */
export const LIST_CLUSTERS = `command -v kind >/dev/null 2>&1 || { echo "${CANNOT_TELL} kind is not on PATH"; exit 0; }
out=$(kind get clusters 2>&1) || { echo "${CANNOT_TELL} $(printf '%s' "$out" | head -1)"; exit 0; }
printf '%s\n' "$out"
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

    // The command has no read: a cluster deleted outside Pulumi (`kind delete cluster`, a Docker reset)
    // stays in state, and every later run would fail somewhere inside it (or wait out the CRD gate). Once
    // the command's stdout is known (an existing stack, or after create), kind is asked whether the
    // cluster is still there; the provider waits for that answer, so nothing reaches a missing cluster.
    const present = this.clusterCommand.stdout.apply(async (kubeconfig) => {
      const clusters = await command.local.run({
        command: LIST_CLUSTERS,
        environment: { CASTLE_CLUSTER: args.clusterName },
        logging: "none",
        addPreviousOutputInEnv: false,
      });
      const lines = clusters.stdout.split("\n");
      if (lines[0]?.startsWith(CANNOT_TELL)) {
        // No kind here (a preview on a CI runner) or no Docker: the cluster's fate is unknown, not gone.
        pulumi.log.warn(
          `cannot tell whether kind cluster ${args.clusterName} exists: ${lines[0].slice(CANNOT_TELL.length).trim()}`,
          this,
        );
      } else if (!lines.includes(args.clusterName)) {
        const stack = pulumi.getStack();
        const env = stack === "dev" ? "" : `STACK=${stack} `;
        throw new pulumi.RunError(
          `kind cluster ${args.clusterName} no longer exists: it was deleted outside Pulumi (kind delete cluster, a Docker reset), and every object in it with it. ` +
            `Run \`${env}npm run down\` to clear the stack (nothing is left to delete), then \`${env}npm run up\` to build the castle again.`,
        );
      }
      return kubeconfig;
    });
    this.kubeconfig = pulumi.secret(present);

    this.provider = new k8s.Provider(
      `${name}-k8s`,
      {
        kubeconfig: this.kubeconfig,
        // The provider is replaced only when this changes (pulumi-kubernetes provider/pkg/provider.go:
        // DiffConfig); a recreated cluster's new kubeconfig is an update of the provider. The objects in
        // the cluster are replaced with the cluster command instead (replaceWith, lib/pulumi/inCluster.ts),
        // so a new kind cluster gets every one of them, and a change of the command's script replaces
        // nothing.
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
            {
              parent: this,
              provider: this.provider,
              deletedWith: this.clusterCommand,
              replaceWith: [this.clusterCommand],
            },
          ),
      );

    this.registerOutputs({
      kubeconfig: this.kubeconfig,
      nodeNames: this.nodeNames,
      apiServer: this.apiServer,
    });
  }
}
