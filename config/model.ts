// The castle model: what the verifier needs to know about a stack beyond its policies (node roles, infra
// roles, jumphosts). The program writes it into the cluster as the ConfigMap kube-system/castle-model, so
// the policy pack, `castle diff` on two renders and a reviewer all read the same thing. User namespaces
// are not in it: they are read from the Namespace objects, so adding one changes no other object.

import type { CastleConfig, UserNamespaceConfig } from "./castleConfig";
import type { InfraRole } from "../vocabulary/roles";
import { infraNamespaces } from "../vocabulary/roles";
import { USER_NAMESPACE_LABELS } from "../vocabulary/labels";
import type { Untyped as Obj } from "../lib/untyped";

/** What the verifier models a cluster from: its nodes, infra roles, user namespaces and jumphosts. */
export type ConfigForTopology = Pick<
  CastleConfig,
  "clusterName" | "clusterProvider" | "kindNodes" | "roles" | "userNamespaces" | "jumphostCidrs"
>;

export const MODEL_CONFIGMAP = { name: "castle-model", namespace: "kube-system", key: "model.json" } as const;

export type CastleModel = Omit<ConfigForTopology, "userNamespaces"> & { policyAuditMode: boolean };

export function castleModel(config: CastleConfig): CastleModel {
  return {
    clusterName: config.clusterName,
    clusterProvider: config.clusterProvider,
    kindNodes: config.kindNodes,
    roles: config.roles,
    jumphostCidrs: config.jumphostCidrs,
    policyAuditMode: config.policyAuditMode,
  };
}

/** The model and the user namespaces from a stack's Kubernetes objects (a render, or the pack's props). */
export function modelFromObjects(
  objects: Obj[],
): (CastleModel & { userNamespaces: UserNamespaceConfig[] }) | undefined {
  const cm = objects.find(
    (o) =>
      o.kind === "ConfigMap" &&
      o.metadata?.name === MODEL_CONFIGMAP.name &&
      o.metadata?.namespace === MODEL_CONFIGMAP.namespace,
  );
  const text = cm?.data?.[MODEL_CONFIGMAP.key];
  if (typeof text !== "string") return undefined;
  const model = JSON.parse(text) as CastleModel;
  const infra = new Set(infraNamespaces(model.roles as InfraRole[]));
  const userNamespaces = objects
    .filter((o) => o.kind === "Namespace" && typeof o.metadata?.name === "string")
    .filter((o) => !infra.has(o.metadata.name) && !o.metadata.name.startsWith("kube-"))
    .map((o) => {
      const labels = (o.metadata.labels ?? {}) as Record<string, string>;
      const flag = (k: (typeof USER_NAMESPACE_LABELS)[number]): boolean => labels[k] === "true";
      return { name: o.metadata.name as string, exposed: flag("exposed"), metrics: flag("metrics") };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return { ...model, userNamespaces };
}
