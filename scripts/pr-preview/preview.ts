// What `pulumi preview --json --event-log <file>` says, for a pull-request comment: the resource changes
// grouped by the castle's layers, the change counts, the policy pack's violations and the errors.
//
// The --json digest carries the steps and the change summary but no policy events: the CLI skips them
// (pkg/backend/display/json.go in pulumi v3.248.0: "we don't handle policy events in JSON serialization").
// The event log (one apitype.EngineEvent per line, sdk/go/common/apitype/events.go) carries them; the
// CLI offers --event-log only with PULUMI_DEBUG_COMMANDS=true, as Pulumi's Automation API uses it.

export interface PreviewStep {
  op: string;
  urn: string;
  type: string;
  name: string;
}

export interface PolicyViolation {
  policy: string;
  pack: string;
  level: string;
  message: string;
  urn?: string;
}

export interface PreviewReport {
  /** Counts by operation (create, update, replace, delete, same...). */
  changes: Record<string, number>;
  /** Steps other than `same`, grouped by layer, layers in the castle's order. */
  layers: { layer: string; steps: PreviewStep[] }[];
  violations: PolicyViolation[];
  /** Error diagnostics, verbatim. */
  errors: string[];
}

/** The castle's layers, in the order a reviewer reads them: the URN's type chain names the component. */
const LAYERS: [RegExp, string][] = [
  [/castle:cluster:KindCluster/, "cluster"],
  [/castle:cilium:Cilium/, "cilium"],
  [/castle:policy:NodeLayer/, "node layer"],
  [/castle:policy:InfraLayer/, "infra layer"],
  [/castle:policy:UserNamespace/, "user layer"],
  [/castle:demo:Workshop/, "demo"],
];

export function layerOf(urn: string): string {
  // urn:pulumi:<stack>::<project>::<parent types $ ... $ type>::<name>
  const types = urn.split("::")[2] ?? "";
  for (const [re, layer] of LAYERS) if (re.test(types)) return layer;
  return "other";
}

const LAYER_ORDER = [...LAYERS.map(([, l]) => l), "other"];

function nameOf(urn: string): string {
  return urn.split("::").slice(3).join("::");
}

interface Digest {
  steps?: { op: string; urn: string; newState?: { type?: string }; oldState?: { type?: string } }[];
  diagnostics?: { message?: string; severity?: string; urn?: string }[];
  changeSummary?: Record<string, number>;
}

interface EngineEvent {
  policyEvent?: {
    resourceUrn?: string;
    message: string;
    policyName: string;
    policyPackName: string;
    enforcementLevel: string;
  };
  diagnosticEvent?: { message: string; severity: string; urn?: string; ephemeral?: boolean };
  summaryEvent?: { resourceChanges?: Record<string, number> };
}

export class PreviewParseError extends Error {}

/** Reads the CLI's --json output (stdout) and its event log (may be empty when the run failed early). */
export function parsePreview(json: string, eventLog = ""): PreviewReport {
  let digest: Digest = {};
  if (json.trim()) {
    try {
      digest = JSON.parse(json) as Digest;
    } catch (e) {
      throw new PreviewParseError(`pulumi preview --json printed no JSON: ${(e as Error).message}`);
    }
  }
  const events: EngineEvent[] = [];
  eventLog.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    try {
      events.push(JSON.parse(line) as EngineEvent);
    } catch (e) {
      throw new PreviewParseError(`event log line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
  });
  const steps = (digest.steps ?? [])
    .filter((s) => s.op !== "same")
    .map((s) => ({
      op: s.op,
      urn: s.urn,
      type: s.newState?.type ?? s.oldState?.type ?? "",
      name: nameOf(s.urn),
    }));
  const byLayer = new Map<string, PreviewStep[]>();
  for (const s of steps) byLayer.set(layerOf(s.urn), [...(byLayer.get(layerOf(s.urn)) ?? []), s]);
  const violations = events
    .filter((e) => e.policyEvent)
    .map((e) => ({
      policy: e.policyEvent!.policyName,
      pack: e.policyEvent!.policyPackName,
      level: e.policyEvent!.enforcementLevel,
      message: e.policyEvent!.message.trim(),
      ...(e.policyEvent!.resourceUrn ? { urn: e.policyEvent!.resourceUrn } : {}),
    }));
  const errors = [
    ...(digest.diagnostics ?? []).filter((d) => d.severity === "error").map((d) => (d.message ?? "").trim()),
    ...events
      .filter((e) => e.diagnosticEvent?.severity === "error" && !e.diagnosticEvent.ephemeral)
      .map((e) => e.diagnosticEvent!.message.trim()),
  ];
  const summary = events.find((e) => e.summaryEvent)?.summaryEvent?.resourceChanges;
  return {
    changes: { ...(digest.changeSummary ?? summary ?? {}) },
    layers: LAYER_ORDER.filter((l) => byLayer.has(l)).map((layer) => ({ layer, steps: byLayer.get(layer)! })),
    violations,
    errors: [...new Set(errors)].filter(Boolean),
  };
}

/** Whether the pack refused the change: a mandatory violation stops `pulumi up`. */
export function packRefuses(r: PreviewReport): boolean {
  return r.violations.some((v) => v.level === "mandatory");
}
