// Edits of a recorded stack, for the policy pack's mutation table: each returns a new recording.

import type { Recording, RecordedResource } from "../harness";
import type { Untyped as Obj } from "../../lib/untyped";

export function withResources(rec: Recording, edit: (resources: RecordedResource[]) => void): Recording {
  const resources = structuredClone(rec.resources);
  edit(resources);
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  return {
    resources,
    outputs: rec.outputs,
    byUrn: (u) => byUrn.get(u),
    ofType: (t) => resources.filter((r) => r.type === t),
  };
}

function find(
  resources: RecordedResource[],
  pred: (r: RecordedResource) => boolean,
  what: string,
): RecordedResource {
  const r = resources.find(pred);
  if (!r) throw new Error(`mutation: no ${what} in the recording`);
  return r;
}

export const policyNamed =
  (name: string, namespace?: string) =>
  (r: RecordedResource): boolean => {
    const meta = r.inputs.metadata as Obj | undefined;
    return (
      r.type.startsWith("kubernetes:cilium.io/v2:") && meta?.name === name && meta?.namespace === namespace
    );
  };

/** Edits the inputs of one resource (masked inputs follow, as no castle policy holds a secret). */
export function editInputs(
  rec: Recording,
  pred: (r: RecordedResource) => boolean,
  what: string,
  edit: (inputs: Obj) => void,
): Recording {
  return withResources(rec, (rs) => {
    const r = find(rs, pred, what);
    edit(r.inputs);
    r.maskedInputs = structuredClone(r.inputs);
  });
}

export function removeResource(
  rec: Recording,
  pred: (r: RecordedResource) => boolean,
  what: string,
): Recording {
  return withResources(rec, (rs) => {
    rs.splice(rs.indexOf(find(rs, pred, what)), 1);
  });
}

/** Adds a Cilium policy under `parentType` (the first component of that type), depending on the CRD gate. */
export function addPolicy(
  rec: Recording,
  opts: {
    parentType: string;
    parentName?: string;
    kind: "CiliumNetworkPolicy" | "CiliumClusterwideNetworkPolicy";
    name: string;
    namespace?: string;
    spec: Obj;
    dependsOnGate?: boolean;
  },
): Recording {
  return withResources(rec, (rs) => {
    const parent = find(
      rs,
      (r) => r.type === opts.parentType && (!opts.parentName || r.name === opts.parentName),
      opts.parentType,
    );
    const gate = find(rs, (r) => r.name.endsWith("-crd-gate"), "CRD gate");
    const type = `kubernetes:cilium.io/v2:${opts.kind}`;
    const parentQualified = parent.urn.split("::")[2];
    const inputs = {
      apiVersion: "cilium.io/v2",
      kind: opts.kind,
      metadata: { name: opts.name, ...(opts.namespace ? { namespace: opts.namespace } : {}) },
      spec: opts.spec,
    };
    rs.push({
      urn: `${parent.urn.split("::").slice(0, 2).join("::")}::${parentQualified}$${type}::${parent.name}-${opts.name}`,
      type,
      name: `${parent.name}-${opts.name}`,
      custom: true,
      parent: parent.urn,
      dependencies: opts.dependsOnGate === false ? [] : [gate.urn],
      deleteBeforeReplace: false,
      additionalSecretOutputs: [],
      replaceWith: [],
      ignoreChanges: [],
      inputs,
      maskedInputs: structuredClone(inputs),
    });
  });
}
