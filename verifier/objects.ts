// The verifier's inputs from Kubernetes objects: a render directory written by `npm run render -- --out`,
// plain YAML files of Cilium policies, or a stack's resources. No Pulumi here: the policy pack imports it.

import { isCiliumRelease, releaseChartVersion } from "../lib/helm/charts";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { CCNP_KIND, CNP_KIND } from "../lib/cilium/policy";
import { modelFromObjects } from "../config/model";
import { castleTopology } from "./topology";
import type { CiliumPolicyObject, CiliumVersion, Topology } from "./engine";
import type { InfraRole } from "../vocabulary/roles";
import type { Untyped as Obj } from "../lib/untyped";

export interface CastleInputs {
  /** What the inputs were read from, for messages. */
  source: string;
  policies: CiliumPolicyObject[];
  topology: Topology;
  auditMode: boolean;
  /** Cilium's hostFirewall.enabled: without it host policies are not enforced at all. */
  hostFirewall: boolean;
  userNamespaces: { name: string; exposed: boolean; metrics: boolean }[];
  jumphostCidrs: string[];
  /** The infra roles; role `r` is modelled as the pod `role:<r.name>`. */
  roles: InfraRole[];
  /** Cilium's Helm value cluster.name, when the render sets it (the agent's default is "default"). */
  ciliumClusterName?: string;
  /** Cilium's Helm value routingMode: "tunnel" unless the render sets "native" (the chart's default). */
  routingMode: "tunnel" | "native";
  /** Whose semantics apply where Cilium's minors differ: the Cilium release's chart version. */
  ciliumVersion: CiliumVersion;
  /**
   * Mutual authentication runs: the Helm values authentication.enabled (the agent's mesh-auth-enabled) and
   * authentication.mutual.spire.enabled. Without both, a rule with `authentication.mode: required` drops
   * its traffic (the chart's values.yaml: "policy enforcement will still block requests that require
   * authentication").
   */
  mutualAuth?: boolean;
}

/** 1.20 and later read as 1.20, anything older as 1.19: the two minors the engine knows. */
export function ciliumVersionOf(chartVersion: unknown): CiliumVersion {
  const m = /^v?(\d+)\.(\d+)/.exec(String(chartVersion ?? ""));
  return m && (Number(m[1]) > 1 || Number(m[2]) >= 20) ? "1.20" : "1.19";
}

export const isCiliumPolicy = (o: Obj): o is CiliumPolicyObject =>
  o?.apiVersion === "cilium.io/v2" && (o.kind === CNP_KIND || o.kind === CCNP_KIND);

/** The Cilium release, from the render's `helm/kube-system/cilium.values.yaml` object. */
function ciliumRelease(objects: Obj[]): Obj | undefined {
  return objects.find(
    (o) => o.values && isCiliumRelease({ name: o.release, namespace: o.namespace, chart: o.chart }),
  );
}

/** The Cilium chart's values. */
function ciliumValues(objects: Obj[]): Obj | undefined {
  return ciliumRelease(objects)?.values;
}

/** The castle's inputs from its Kubernetes objects (policies, Namespaces, the castle-model ConfigMap). */
export function fromObjects(objects: Obj[], source: string): CastleInputs {
  const model = modelFromObjects(objects);
  if (!model) {
    throw new Error(
      `${source}: no kube-system/castle-model ConfigMap, so node roles, infra roles and jumphosts are unknown; render the stack with this version of cilium-castle`,
    );
  }
  return {
    source,
    policies: objects.filter(isCiliumPolicy),
    topology: castleTopology(model),
    auditMode: model.policyAuditMode,
    hostFirewall: ciliumValues(objects)?.hostFirewall?.enabled === true,
    routingMode: ciliumValues(objects)?.routingMode === "native" ? "native" : "tunnel",
    ciliumVersion: ciliumVersionOf(releaseChartVersion(ciliumRelease(objects) ?? {})),
    mutualAuth:
      ciliumValues(objects)?.authentication?.enabled === true &&
      ciliumValues(objects)?.authentication?.mutual?.spire?.enabled === true,
    ...(typeof ciliumValues(objects)?.cluster?.name === "string"
      ? { ciliumClusterName: ciliumValues(objects)!.cluster.name as string }
      : {}),
    userNamespaces: model.userNamespaces,
    jumphostCidrs: model.jumphostCidrs,
    roles: model.roles,
  };
}

/** Every YAML document under a directory (or in a file), recursively, in a stable order. */
export function readYamlObjects(target: string): Obj[] {
  const files: string[] = [];
  const walk = (p: string): void => {
    if (fs.statSync(p).isDirectory()) {
      for (const f of fs.readdirSync(p).sort()) walk(path.join(p, f));
    } else if (/\.ya?ml$/.test(p)) files.push(p);
  };
  if (!fs.existsSync(target)) throw new Error(`${target} does not exist`);
  walk(target);
  return files.flatMap((f) =>
    YAML.parseAllDocuments(fs.readFileSync(f, "utf8"))
      .map((d) => {
        // The yaml package puts the line in its error (linePos): name the file with it.
        const e = d.errors[0];
        if (e) {
          const at = e.linePos?.[0];
          throw new Error(
            `${f}${at ? `:${at.line}:${at.col}` : ""}: not valid YAML: ${e.message.split("\n")[0]}`,
          );
        }
        return d.toJS() as Obj;
      })
      .filter((o) => o && typeof o === "object"),
  );
}

/** A render directory written by `npm run render -- --out <dir>`. */
export function fromRenderDir(dir: string): CastleInputs {
  return fromObjects(readYamlObjects(dir), dir);
}
