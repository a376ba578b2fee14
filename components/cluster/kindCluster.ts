import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import {
  buildKindConfig,
  caIdentity,
  clusterIdentity,
  kindContainerNames,
  kindApiServerEndpoint,
  kindConfigYaml,
  KindClusterConfig,
} from "./kindConfig";
import { INFRA_ROLE_LABEL } from "../../vocabulary/labels";
import { KindNodeName, KindNodes, kindNodeNames } from "../../vocabulary/nodes";

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

// The castle marks each kind cluster it builds with its owner (project/stack) and the hash of its kind
// config (kube-system/castle-kind), so the create script can tell its own clusters from anyone else's:
//   - no cluster of that name: create it;
//   - this stack's, from this very config: adopt it (a failed `pulumi up` can be re-run);
//   - this stack's, from another config: replace it (kind cannot change a running cluster's nodes). This
//     is how a topology change replaces the cluster: the new command resource creates the new cluster
//     before the old one's delete runs (create-before-delete; the cluster name is fixed), and DELETE then
//     leaves a cluster it did not create;
//   - another stack's: refuse (it would take that stack's cluster from under it);
//   - unmarked: adopt it only when its nodes are the ones kindNodes give (a NodePatch on a node that does
//     not exist would create a phantom Node), and mark it.
// kind's own output goes to stderr so that stdout carries only the kubeconfig.
const CREATE = `set -eu
${SCRATCH}command -v kubectl >/dev/null 2>&1 || {
  echo "cilium-castle: kubectl is not on PATH: the castle marks and checks its kind clusters with it (see README, Prerequisites)" >&2
  exit 1
}
cat > "$scratch/kind.yaml"
build() {
  kind create cluster --name "$CASTLE_CLUSTER" --config "$scratch/kind.yaml" --kubeconfig "$scratch/kubeconfig" >&2
}
mark() {
  kubectl --kubeconfig "$scratch/kubeconfig" -n kube-system create configmap castle-kind \\
    --from-literal=owner="$CASTLE_OWNER" --from-literal=configHash="$CASTLE_CONFIG_HASH" \\
    --dry-run=client -o yaml | kubectl --kubeconfig "$scratch/kubeconfig" apply -f - >&2
}
marker() {
  kubectl --kubeconfig "$scratch/kubeconfig" -n kube-system get configmap castle-kind --ignore-not-found \\
    -o "jsonpath={.data.$1}"
}
if kind get clusters 2>/dev/null | grep -qx "$CASTLE_CLUSTER"; then
  kind get kubeconfig --name "$CASTLE_CLUSTER" > "$scratch/kubeconfig"
  owner=$(marker owner)
  was=$(marker configHash)
  if [ -n "$owner" ] && [ "$owner" != "$CASTLE_OWNER" ]; then
    echo "cilium-castle: kind cluster $CASTLE_CLUSTER belongs to stack $owner. Give this stack a cluster of its own (pulumi config set clusterName <name>), or destroy that stack first." >&2
    exit 1
  elif [ -n "$owner" ] && [ "$was" = "$CASTLE_CONFIG_HASH" ]; then
    echo "kind cluster $CASTLE_CLUSTER already exists with this config; adopting it" >&2
  elif [ -n "$owner" ]; then
    echo "kind cluster $CASTLE_CLUSTER was built by this stack from another config; replacing it" >&2
    kind delete cluster --name "$CASTLE_CLUSTER" --kubeconfig "$scratch/old-kubeconfig" >&2
    build
    mark
  else
    have=$(kind get nodes --name "$CASTLE_CLUSTER" 2>/dev/null | sort | tr '\\n' ' ')
    want=$(printf '%s\\n' $CASTLE_NODES | sort | tr '\\n' ' ')
    if [ "$have" != "$want" ]; then
      echo "cilium-castle: kind cluster $CASTLE_CLUSTER already exists with nodes [ $have] but this stack's kindNodes give [ $want]. Delete it with 'kind delete cluster --name $CASTLE_CLUSTER', or set kindNodes to match it, then run again." >&2
      exit 1
    fi
    echo "kind cluster $CASTLE_CLUSTER already exists with the configured nodes; adopting it" >&2
    mark
  fi
else
  build
  mark
fi
kind get kubeconfig --name "$CASTLE_CLUSTER"
`;

const CANNOT_TELL = "castle:cannot-tell:";
const CA_LINE = "castle:ca:";
/**
 * Lists kind clusters, or says (first line) why it cannot; when $CASTLE_CLUSTER is among them, a last line
 * `castle:ca:<certificate-authority-data>` names its certificate authority.
 */
export const LIST_CLUSTERS = `command -v kind >/dev/null 2>&1 || { echo "${CANNOT_TELL} kind is not on PATH"; exit 0; }
out=$(kind get clusters 2>&1) || { echo "${CANNOT_TELL} $(printf '%s' "$out" | head -1)"; exit 0; }
printf '%s\\n' "$out"
if printf '%s\\n' "$out" | grep -qx "$CASTLE_CLUSTER"; then
  ca=$(kind get kubeconfig --name "$CASTLE_CLUSTER" 2>/dev/null | sed -n 's/^ *certificate-authority-data: *//p' | head -1)
  echo "${CA_LINE}$ca"
fi
`;
// Deletes the cluster this resource created, and no other: after a replacement the cluster of that name is
// the new one (its CA differs from the one in this resource's kubeconfig, PULUMI_COMMAND_STDOUT).
const DELETE = `set -eu
${SCRATCH}ca() { sed -n 's/^ *certificate-authority-data: *//p' | head -1; }
if kind get clusters 2>/dev/null | grep -qx "$CASTLE_CLUSTER"; then
  now=$(kind get kubeconfig --name "$CASTLE_CLUSTER" 2>/dev/null | ca)
  was=$(printf '%s\\n' "\${PULUMI_COMMAND_STDOUT:-}" | ca)
  if [ -z "$now" ]; then
    echo "cilium-castle: kind cluster $CASTLE_CLUSTER exists but 'kind get kubeconfig' fails: not deleting a cluster this resource cannot identify. Delete it by hand (kind delete cluster --name $CASTLE_CLUSTER) if it is yours." >&2
    exit 1
  fi
  if [ -n "$was" ] && [ -n "$now" ] && [ "$now" != "$was" ]; then
    echo "kind cluster $CASTLE_CLUSTER is a newer cluster than the one this resource created; leaving it" >&2
    exit 0
  fi
fi
kind delete cluster --name "$CASTLE_CLUSTER" --kubeconfig "$scratch/kubeconfig" >&2
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
  /** Which cluster instance the kubeconfig points at (see clusterIdentity): changes when kind recreates it. */
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
          CASTLE_CONFIG_HASH: createHash("sha256").update(configYaml).digest("hex").slice(0, 16),
          CASTLE_OWNER: `${pulumi.getProject()}/${pulumi.getStack()}`,
        },
        // The kubeconfig is on stdout: log kind's progress (stderr) only.
        logging: "stderr",
        // kind cannot change a running cluster's nodes: a new config means a new cluster.
        triggers: [configYaml],
      },
      {
        parent: this,
        additionalSecretOutputs: ["stdout"],
        // Not delete-before-replace, though the cluster name is fixed: the new command replaces the old
        // cluster itself (CREATE), and the old command's delete leaves the new one (DELETE). So the objects
        // in the old cluster are never deleted one by one: they go with it (deletedWith), and the engine
        // skips their deletes because the old command is deleted in the same run
        // (pkg/resource/deploy/step.go: isDeletedWith).
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
      const stack = pulumi.getStack();
      const env = stack === "dev" ? "" : `STACK=${stack} `;
      const fix = `Run \`${env}npm run down\` to clear the stack (nothing is left to delete), then \`${env}npm run up\` to build the castle again.`;
      const ca = lines.find((l) => l.startsWith(CA_LINE))?.slice(CA_LINE.length);
      if (lines[0]?.startsWith(CANNOT_TELL)) {
        // No kind here (a preview on a CI runner) or no Docker: the cluster's fate is unknown, not gone.
        pulumi.log.warn(
          `cannot tell whether kind cluster ${args.clusterName} exists: ${lines[0].slice(CANNOT_TELL.length).trim()}`,
          this,
        );
      } else if (!lines.includes(args.clusterName)) {
        throw new pulumi.RunError(
          `kind cluster ${args.clusterName} no longer exists: it was deleted outside Pulumi (kind delete cluster, a Docker reset), and every object in it with it. ${fix}`,
        );
      } else if (ca && caIdentity(ca) !== clusterIdentity(kubeconfig)) {
        throw new pulumi.RunError(
          `kind cluster ${args.clusterName} is not the one this stack created: it was deleted and created again outside Pulumi (its certificate authority changed), without this stack's objects. ${fix}`,
        );
      }
      return kubeconfig;
    });
    this.kubeconfig = pulumi.secret(present);
    // A hash of the cluster's CA: no secret in it, so it may show in diffs.
    this.identity = pulumi.unsecret(this.clusterCommand.stdout.apply(clusterIdentity));

    this.provider = new k8s.Provider(
      `${name}-k8s`,
      {
        kubeconfig: this.kubeconfig,
        // The provider is replaced only when this changes (pulumi-kubernetes provider/pkg/provider.go:
        // DiffConfig), and the engine replaces every resource on a replaced provider. The identifier names
        // the cluster instance (a hash of its CA), so when kind recreates the cluster (a new kindNodes or
        // node image) every object in it is created again on the new one.
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
    });
  }
}
