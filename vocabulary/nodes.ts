// A kind cluster's nodes: how many of each role, and the names kind gives them. The program creates them,
// the verifier models them and the workshop scripts find them by these names.

/** The dev stack's cluster, and the config's defaults for `clusterName` and `kindNodes`. */
export const DEFAULT_CLUSTER_NAME = "castle";
export const DEFAULT_KIND_NODES: KindNodes = { controlPlane: 1, infra: 1, workers: 2 };

/** How many nodes of each role a kind cluster has (config key `kindNodes`). */
export interface KindNodes {
  controlPlane: number;
  infra: number;
  workers: number;
}

export interface KindNodeName {
  name: string;
  role: "control-plane" | "infra" | "worker";
}

/**
 * The node names kind gives, in config order: `<cluster>-control-plane`, `<cluster>-control-plane2`, ...,
 * `<cluster>-worker`, `<cluster>-worker2`, ... Infra nodes are the first workers.
 */
export function kindNodeNames(clusterName: string, nodes: KindNodes): KindNodeName[] {
  const suffix = (i: number): string => (i === 0 ? "" : String(i + 1));
  const out: KindNodeName[] = [];
  for (let i = 0; i < nodes.controlPlane; i++)
    out.push({ name: `${clusterName}-control-plane${suffix(i)}`, role: "control-plane" });
  for (let i = 0; i < nodes.infra + nodes.workers; i++) {
    out.push({ name: `${clusterName}-worker${suffix(i)}`, role: i < nodes.infra ? "infra" : "worker" });
  }
  return out;
}
