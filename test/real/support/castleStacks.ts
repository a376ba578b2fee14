// Stacks and cluster helpers shared by the real tier's steps.

import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildKindConfig } from "../../../components/cluster/kindConfig";
import { parseCastleConfig, RawConfig } from "../../../config/castleConfig";
import { readStackFile, recordCastle, renderedObjects, withProjectDefaults } from "../../../render/render";
import { nodesFromKindConfig, SimCluster, startSimCluster } from "../../../scripts/real/simCluster";

/** The dev stack's config (Pulumi.dev.yaml), keys without the project prefix. */
export function devConfig(): RawConfig {
  return readStackFile("dev");
}

/** A simulated cluster with the dev stack's kind topology. */
export async function startDevCluster(bin: string): Promise<SimCluster> {
  const config = parseCastleConfig(withProjectDefaults(devConfig()));
  const kind = buildKindConfig(config.clusterName, config.kindNodes, config.kindNodeImage);
  return startSimCluster({ binDir: bin, nodes: nodesFromKindConfig(kind) });
}

/**
 * Stands in for cilium-operator's CRD registration (there is no operator: no container runs): once the
 * Helm release has created the operator's Deployment, Cilium's own code registers the CRDs.
 */
export function startCrdRegistrar(bin: string, kubeconfigPath: string, logFile: string): ChildProcess {
  const fd = fs.openSync(logFile, "a");
  const child = spawn(
    path.join(bin, "castle-cilium-crds"),
    [
      "--kubeconfig",
      kubeconfigPath,
      "--wait-for-deployment",
      "kube-system/cilium-operator",
      "--timeout",
      "30m",
    ],
    { stdio: ["ignore", fd, fd], detached: true },
  );
  fs.closeSync(fd);
  return child;
}

export function stopProcess(child: ChildProcess | undefined): void {
  if (!child || child.exitCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // gone
  }
}

const POLICY_KINDS = ["CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"];

export interface PolicyObject {
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: unknown;
}

/** The Cilium policies the offline render (Pulumi mocks) creates for a stack config. */
export async function renderedPolicies(raw: RawConfig, stack: string): Promise<PolicyObject[]> {
  const rec = await recordCastle(parseCastleConfig(withProjectDefaults(raw)), stack);
  return renderedObjects(rec)
    .map((o) => o.object as unknown as PolicyObject)
    .filter((o) => POLICY_KINDS.includes(o.kind));
}

/** The Cilium policies live in the cluster. */
export async function livePolicies(cluster: SimCluster): Promise<PolicyObject[]> {
  const out: PolicyObject[] = [];
  for (const [plural, kind] of [
    ["ciliumnetworkpolicies", "CiliumNetworkPolicy"],
    ["ciliumclusterwidenetworkpolicies", "CiliumClusterwideNetworkPolicy"],
  ] as const) {
    const res = await cluster.request("GET", `/apis/cilium.io/v2/${plural}`);
    if (res.status === 404) continue; // the CRD is not registered
    if (res.status !== 200) throw new Error(`listing ${plural}: HTTP ${res.status}`);
    for (const item of res.body.items as PolicyObject[]) out.push({ ...item, kind });
  }
  return out;
}

export function policyKey(p: PolicyObject): string {
  return `${p.kind}/${p.metadata.namespace ?? ""}/${p.metadata.name}`;
}

/**
 * Stands in for the ingress-nginx controller's status updates (a simulated pod runs no controller): each
 * Ingress of class nginx gets the address of the node the controller runs on, as ingress-nginx writes it
 * (internal/ingress/status: the nodes' InternalIP without a publish service). The kubernetes provider
 * waits for that address before it counts an Ingress as created (pulumi-kubernetes await/ingress.go).
 */
export function startIngressStatusWriter(cluster: () => SimCluster | undefined): () => void {
  let stopped = false;
  const tick = async (): Promise<void> => {
    while (!stopped) {
      const c = cluster();
      try {
        const list = c ? await c.request("GET", "/apis/networking.k8s.io/v1/ingresses") : undefined;
        for (const ing of (list?.status === 200 ? list.body.items : []) as {
          metadata: { name: string; namespace: string };
          spec: { ingressClassName?: string };
          status?: { loadBalancer?: { ingress?: unknown[] } };
        }[]) {
          if (ing.spec.ingressClassName !== "nginx" || (ing.status?.loadBalancer?.ingress ?? []).length > 0)
            continue;
          await c!.request(
            "PATCH",
            `/apis/networking.k8s.io/v1/namespaces/${ing.metadata.namespace}/ingresses/${ing.metadata.name}/status`,
            { status: { loadBalancer: { ingress: [{ ip: "127.0.0.1" }] } } },
            "application/merge-patch+json",
          );
        }
      } catch {
        // the API server may be down on purpose (faults): try again
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  void tick();
  return () => {
    stopped = true;
  };
}

/**
 * The demo's values for a cluster whose pods are simulated: the API server itself would call two of the
 * demo's pods, and a simulated pod cannot answer. The ingress-nginx admission webhook would judge every
 * Ingress; metrics-server's aggregated API (v1beta1.metrics.k8s.io) would stay unavailable, and an
 * unavailable aggregated API blocks every namespace deletion (the namespace controller must discover every
 * resource type first). A real cluster keeps both.
 */
export const SIMULATED_DEMO_VALUES = {
  "ingress-nginx": { controller: { admissionWebhooks: { enabled: false } } },
  "metrics-server": { apiService: { create: false } },
};
