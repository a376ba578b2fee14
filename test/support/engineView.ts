// What the Pulumi engine hands a policy pack in a real run, built from a recorded (mocked) run of the
// program. Read from the pinned upstream code (pulumi v3.248.0, the Kubernetes provider at v4.25.0,
// pulumi-command v1.2.1, @pulumi/policy 1.21.0):
//
// - Resource policies get each registered resource's inputs, after the provider's Check and with
//   ignoreChanges applied (pkg/resource/deploy/step_generator.go: continueStepsFromImport, analyzeAll),
//   while the engine plans, in previews and updates alike, for creates, updates and sames.
// - Stack policies get the outputs of every resource in `news` (creates, updates, sames and replacements,
//   never deletes) once every step has run (AnalyzeResources: `Properties: v.Outputs`). A same keeps its
//   old outputs (step.go SameStep.Apply); a create or update has what the provider returned.
// - A create or update in preview whose provider config is not known (a kubeconfig that is an unknown
//   output) returns no properties at all: `{}` (sdk/go/common/resource/plugin/provider_plugin.go, Create
//   and Update, `if !pcfg.known`). That is every Kubernetes resource of a new kind stack's preview.
// - The Kubernetes provider returns the live object plus `__inputs` (pkg/provider/provider.go
//   checkpointObject), and the analyzer drops top-level `__` keys (analyzer_plugin.go, SkipInternalKeys).
//   In preview it dry-runs a create (server-set metadata, status removed) unless the kind is not served yet
//   (the Cilium CRDs before Cilium runs) or the resource is a Patch: then it echoes the inputs. A Helm
//   Release's outputs are its Release struct (pkg/provider/helm_release.go checkpointRelease: chart, name,
//   namespace, repositoryOpts, values, version, timeout, ...; not the SDK's `compat`), with `status` and
//   `resourceNames` unknown in preview and the release's status once installed.
// - pulumi-command's Command echoes its inputs; in preview its stdout and stderr are unknown
//   (provider/pkg/provider/local/commandController.go and pulumi-go-provider's infer: outputs that do not
//   mirror an input are computed in a preview create).
// - Values are marshalled with unknowns and secrets kept (analyzer_plugin.go); an unknown travels as a
//   sentinel string (sdk/go/common/resource/plugin/rpc.go). @pulumi/policy unwraps secrets to their values
//   (deserialize.js, proxySecrets false) and wraps props in unknownCheckingProxy (proxy.js): reading an
//   unknown throws, and its server turns that into an advisory "can't run policy ... during preview" for the
//   whole policy (server.js). The harness runs the same code: see policyHarness.ts.
//
// Not modelled: a component's registered outputs (fed as {}; no policy reads them), the provider's Check
// normalization of inputs, the API server's pruning of unknown fields in custom resources, and anything a
// controller writes later (a Deployment's status).

import * as crypto from "crypto";
import { MASK, RecordedResource, Recording, SECRET_SIG, SECRET_SIG_KEY } from "../../render/recorder";
import { MOCK_KUBECONFIG } from "../../render/render";
import type { Untyped as Obj } from "../../lib/untyped";

// Internal to @pulumi/policy (its .d.ts is stripped): the sentinel its proxy recognises, as the engine sends it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { unknownStringValue } = require("@pulumi/policy/proxy") as { unknownStringValue: string };

export const UNKNOWN = unknownStringValue;

// The harness stands for the engine and the API server, so it takes nothing from the pack it tests.
const RELEASE_TYPE = "kubernetes:helm.sh/v3:Release";
/** Set by the API server on every Namespace, always to its name (it overwrites any other value). */
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/** Which run of the real engine the harness stands for. */
export type EngineRun =
  /**
   * `pulumi preview` of a stack with nothing in state: every resource is a create. A kind stack's
   * Kubernetes provider is not configured (its kubeconfig is the kind command's output, unknown until it
   * has run): every Kubernetes resource's outputs are `{}`, and the commands' stdout and stderr unknown.
   * An existing cluster's provider is configured: dry-run objects, except the Cilium policies (their CRDs
   * are not served yet) and patches, which echo their inputs.
   */
  | "new-stack-preview"
  /**
   * `pulumi preview` of an update of a stack that is up, every resource changed: the provider is configured,
   * Kubernetes objects are the API server's (dry-run) objects, the Helm releases' status and resourceNames and
   * the commands' stdout and stderr are unknown; the cluster's own command is unchanged.
   */
  | "configured-preview"
  /** After `pulumi up`: live objects (server-set metadata, Namespaces labelled with their name, releases' status). */
  | "after-apply";

export const ENGINE_RUNS: EngineRun[] = ["new-stack-preview", "configured-preview", "after-apply"];

/** What the engine shows the pack of one resource, as JSON in the engine's wire form (secrets wrapped). */
export interface EngineResource {
  /** What resource policies get (inputs). */
  analyzed: Obj;
  /** What stack policies get (outputs). */
  outputs: Obj;
}

const secret = (value: unknown): Obj => ({ [SECRET_SIG_KEY]: SECRET_SIG, value });

/**
 * A recorded value as the engine holds it in this run: secrets wrapped again (where the recorder's masked
 * copy says so) and, when nothing has run yet, every value a command printed (in a recording, the mocked
 * kubeconfig) unknown.
 */
function asEngineHolds(v: unknown, masked: unknown, nothingRan: boolean): unknown {
  if (masked === MASK && v !== MASK) return secret(asEngineHolds(v, v, nothingRan));
  if (nothingRan && v === MOCK_KUBECONFIG) return UNKNOWN;
  if (Array.isArray(v))
    return v.map((x, i) => asEngineHolds(x, Array.isArray(masked) ? masked[i] : x, nothingRan));
  if (typeof v === "object" && v !== null) {
    const m = (typeof masked === "object" && masked !== null ? masked : v) as Obj;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asEngineHolds(x, m[k], nothingRan)]));
  }
  return v;
}

function containsUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (typeof v === "object" && v !== null) return Object.values(v).some(containsUnknown);
  return false;
}

/** The recorded provider resource of a resource (undefined: a default provider). */
export function providerOf(rec: Recording, r: RecordedResource): RecordedResource | undefined {
  return r.provider ? rec.byUrn(r.provider.replace(/::[^:]*$/, "")) : undefined;
}

const hex = (s: string, n: number): string => crypto.createHash("sha256").update(s).digest("hex").slice(0, n);
const uidOf = (urn: string): string => {
  const h = hex(urn, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};
const CREATED = "2026-01-01T00:00:00Z";

/** The managedFields entry of the provider's server-side apply (metadata and the top-level fields it set). */
function managedFields(obj: Obj): Obj[] {
  const keys = (o: Obj | undefined): Obj =>
    Object.fromEntries(Object.keys(o ?? {}).map((k) => [`f:${k}`, {}]));
  const meta = obj.metadata ?? {};
  const fieldsV1: Obj = {
    "f:metadata": {
      ...(meta.labels ? { "f:labels": keys(meta.labels) } : {}),
      ...(meta.annotations ? { "f:annotations": keys(meta.annotations) } : {}),
    },
  };
  for (const k of Object.keys(obj))
    if (!["apiVersion", "kind", "metadata"].includes(k)) fieldsV1[`f:${k}`] = {};
  return [
    {
      apiVersion: obj.apiVersion,
      fieldsType: "FieldsV1",
      fieldsV1,
      manager: "pulumi-kubernetes-fc2b7d8e",
      operation: "Apply",
      time: CREATED,
    },
  ];
}

/** Labels a kind node carries from its kubelet, under the ones a NodePatch adds. */
const nodeLabels = (name: string): Obj => ({
  "beta.kubernetes.io/arch": "amd64",
  "beta.kubernetes.io/os": "linux",
  "kubernetes.io/arch": "amd64",
  "kubernetes.io/hostname": name,
  "kubernetes.io/os": "linux",
});

/**
 * The API server's object for the inputs: what a create (dry-run or real) returns, or, `live`, the object as
 * it stands in the cluster. The API server labels every Namespace with its own name, overwriting any value.
 */
function serverObject(inputs: Obj, urn: string, live: boolean, patch: boolean): Obj {
  const meta = inputs.metadata ?? {};
  const kind = inputs.kind;
  const labels: Obj = {
    ...(kind === "Node" && patch ? nodeLabels(meta.name) : {}),
    ...(meta.labels ?? {}),
    ...(kind === "Namespace" ? { [NAMESPACE_NAME_LABEL]: meta.name } : {}),
  };
  const obj: Obj = {
    ...inputs,
    metadata: {
      ...meta,
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      uid: uidOf(urn),
      creationTimestamp: CREATED,
      ...(live ? { resourceVersion: String(parseInt(hex(urn, 6), 16)) } : {}),
      ...(kind === "Namespace" || kind === "Node" || kind === "ConfigMap" || kind === "Service"
        ? {}
        : { generation: 1 }),
    },
  };
  obj.metadata.managedFields = managedFields(inputs);
  if (kind === "Namespace") {
    obj.spec = { finalizers: ["kubernetes"], ...(inputs.spec ?? {}) };
    if (live) obj.status = { phase: "Active" };
  }
  if (kind === "Node" && live) obj.status = { conditions: [{ type: "Ready", status: "True" }] };
  return obj;
}

/** The fields of the provider's Release struct (helm_release.go), besides resourceNames and status. */
const RELEASE_FIELDS = [
  "allowNullValues",
  "atomic",
  "chart",
  "cleanupOnFail",
  "createNamespace",
  "dependencyUpdate",
  "description",
  "devel",
  "disableCRDHooks",
  "disableOpenapiValidation",
  "disableWebhooks",
  "forceUpdate",
  "keyring",
  "lint",
  "maxHistory",
  "name",
  "namespace",
  "postrender",
  "recreatePods",
  "renderSubchartNotes",
  "replace",
  "repositoryOpts",
  "resetValues",
  "reuseValues",
  "values",
  "skipCrds",
  "timeout",
  "verify",
  "version",
  "skipAwait",
  "waitForJobs",
];

function releaseOutputs(inputs: Obj, installed: boolean): Obj {
  // omitempty: false, "" and 0 are not there.
  const out: Obj = Object.fromEntries(
    RELEASE_FIELDS.filter((k) => inputs[k] !== undefined && inputs[k] !== false && inputs[k] !== "").map(
      (k) => [k, inputs[k]],
    ),
  );
  if (!installed) return { ...out, resourceNames: UNKNOWN, status: UNKNOWN };
  return {
    ...out,
    status: {
      name: inputs.name,
      namespace: inputs.namespace,
      chart: inputs.chart,
      version: inputs.version,
      appVersion: inputs.version,
      revision: 1,
      status: "deployed",
    },
  };
}

const COMMAND_TYPE = "command:local:Command";
const isPatch = (r: RecordedResource): boolean =>
  r.type.startsWith("kubernetes:") && r.type.endsWith("Patch");
const isCiliumResource = (r: RecordedResource): boolean => r.type.startsWith("kubernetes:cilium.io/");

/** What the engine shows the pack of every recorded resource in this run, by URN. */
export function engineView(rec: Recording, run: EngineRun): Map<string, EngineResource> {
  const nothingRan = run === "new-stack-preview";
  const held = new Map(
    rec.resources.map((r) => [r.urn, asEngineHolds(r.inputs, r.maskedInputs, nothingRan) as Obj]),
  );
  // The commands a provider waits for: the cluster's own command (kind), unchanged in an update's preview.
  const clusterCommands = new Set(
    rec.resources.filter((r) => r.type.startsWith("pulumi:providers:")).flatMap((p) => p.dependencies),
  );
  const unconfigured = (r: RecordedResource): boolean => {
    const p = providerOf(rec, r);
    return p !== undefined && containsUnknown(held.get(p.urn));
  };

  const outputsOf = (r: RecordedResource): Obj => {
    const inputs = held.get(r.urn)!;
    if (!r.custom) return {};
    if (r.type.startsWith("pulumi:providers:")) return inputs;
    if (r.type === COMMAND_TYPE) {
      const ran = run === "after-apply" || (run === "configured-preview" && clusterCommands.has(r.urn));
      const stdout = ran ? (clusterCommands.has(r.urn) ? MOCK_KUBECONFIG : "") : UNKNOWN;
      const wrap = (k: string, v: unknown): unknown =>
        r.additionalSecretOutputs.includes(k) ? secret(v) : v;
      return { ...inputs, stdout: wrap("stdout", stdout), stderr: wrap("stderr", ran ? "" : UNKNOWN) };
    }
    if (!r.type.startsWith("kubernetes:")) return inputs;
    if (run === "new-stack-preview" && unconfigured(r)) return {};
    if (r.type === RELEASE_TYPE) return releaseOutputs(inputs, run === "after-apply");
    if (run === "new-stack-preview") {
      // A create's preview: dry-run, unless the provider cannot (a kind not served yet, a patch).
      if (isPatch(r) || isCiliumResource(r)) return inputs;
      return serverObject(inputs, r.urn, false, false);
    }
    return serverObject(inputs, r.urn, true, isPatch(r));
  };

  return new Map(rec.resources.map((r) => [r.urn, { analyzed: held.get(r.urn)!, outputs: outputsOf(r) }]));
}
