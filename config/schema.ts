// The stack config's one schema: every key's type, default, description and nested shape. From it come
// the TypeScript types (`Static<>`), DEFAULTS, the known keys the parser checks, the bounds and enums its
// messages name, `Pulumi.yaml`'s `config:` block and the README's config table (`npm run config:docs`
// writes both; test/configSchema.test.ts fails when either is stale).
//
// Why TypeBox (@sinclair/typebox): a TypeBox schema is a plain JSON Schema object, so the generator reads
// `type`, `items`, `default` and `description` straight off the object the TypeScript types come from, with
// no converter. zod would need a conversion step (zod -> JSON Schema) between the two, and a JSON Schema for
// ajv gives no static types. TypeBox is CommonJS-compatible and has no dependencies.
//
// The schema describes the value a user writes in a stack file. parseCastleConfig (castleConfig.ts) still
// does the checking by hand: from the Pulumi CLI every value arrives as text, `userNamespaces` takes a
// bare name as shorthand, and every message must name the key, the value and a fix, which JSON Schema
// validators do not produce.

import {
  Kind,
  KindGuard,
  Type,
  type Static,
  type TObject,
  type TProperties,
  type TSchema,
} from "@sinclair/typebox";
import { DEMO_CHART_REFS } from "../lib/helm/charts";
import { DEFAULT_CLUSTER_NAME, DEFAULT_KIND_NODES, type KindNodes } from "../vocabulary/nodes";
import type { InfraRole } from "../vocabulary/roles";
import { RFC1123_LABEL, RFC1123_SUBDOMAIN } from "./validate";

// kind v0.33.0 lists this image (with its digest) in its release notes; Cilium 1.19 is tested on
// Kubernetes 1.32-1.35. 1.35 node images need a cgroup v2 host: on cgroup v1, set kindNodeImage to
// kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d.
export const KIND_VERSION = "v0.33.0";
export const DEFAULT_KIND_NODE_IMAGE =
  "kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0";

/**
 * The oldest Cilium minor the castle supports: since 1.16 a CNP peer selector naming
 * io.kubernetes.pod.namespace may reach other namespaces; the layers and the policy pack are written for
 * those semantics.
 */
export const MIN_CILIUM_MINOR = 16;

/** Schema option marking a value that must be set with `pulumi config set --secret`. */
export const SECRET = "x-castle-secret";

const MAX_NODES_PER_ROLE = 20;

const nodeCount = (role: string) =>
  Type.Integer({ minimum: 1, maximum: MAX_NODES_PER_ROLE, description: `${role} nodes` });

export const KindNodesSchema = Type.Object(
  {
    controlPlane: nodeCount("control-plane"),
    infra: nodeCount("infra"),
    workers: nodeCount("worker"),
  },
  { additionalProperties: false },
);

export const UserNamespaceSchema = Type.Object(
  {
    name: Type.String({ pattern: RFC1123_LABEL.source, maxLength: 63, description: "namespace name" }),
    exposed: Type.Optional(
      Type.Boolean({ default: false, description: "the ingress controller may reach the namespace" }),
    ),
    metrics: Type.Optional(
      Type.Boolean({ default: false, description: "Prometheus may scrape the namespace" }),
    ),
  },
  { additionalProperties: false },
);

const Labels = (description: string) =>
  Type.Record(Type.String(), Type.String({ maxLength: 63 }), { description });

const HelmValues = (description: string, options: { default?: object } = {}) =>
  Type.Record(Type.String(), Type.Unknown(), { description, ...options });

export const PortSchema = Type.Object(
  {
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    protocol: Type.Optional(
      Type.Union([Type.Literal("TCP"), Type.Literal("UDP"), Type.Literal("ANY")], { default: "TCP" }),
    ),
  },
  { additionalProperties: false },
);

const policyNameProperties = {
  name: Type.String({
    pattern: RFC1123_LABEL.source,
    maxLength: 63,
    description: "the generated policy's name",
  }),
  description: Type.String({ minLength: 1, description: "what the policy allows" }),
};

export const PolicyNameSchema = Type.Object(policyNameProperties, { additionalProperties: false });

export const PolicyWithPortsSchema = Type.Object(
  { ...policyNameProperties, ports: Type.Array(PortSchema, { minItems: 1 }) },
  { additionalProperties: false },
);

export const EgressFromEveryPodSchema = Type.Object(
  {
    ...policyNameProperties,
    dns: Type.Optional(Type.Boolean({ description: "through Cilium's DNS proxy" })),
  },
  { additionalProperties: false },
);

export const ReachesLabelledNamespacesSchema = Type.Object(
  { label: Type.String(), egress: PolicyNameSchema, ingress: PolicyNameSchema },
  { additionalProperties: false },
);

/** An `infraRoles` entry: an InfraRole of vocabulary/roles.ts as a stack file writes it. */
export const InfraRoleSchema = Type.Object(
  {
    name: Type.String({ pattern: RFC1123_LABEL.source, description: "the role's identifier" }),
    namespace: Type.String({ pattern: RFC1123_LABEL.source }),
    podLabels: Labels("labels of the role's pods"),
    evidence: Type.Optional(
      Type.String({ default: "stack config", description: "where the labels come from" }),
    ),
    kubeApiServer: Type.Optional(PolicyNameSchema),
    servesAll: Type.Optional(PolicyWithPortsSchema),
    egressFromEveryPod: Type.Optional(EgressFromEveryPodSchema),
    servesKubeApiServer: Type.Optional(PolicyWithPortsSchema),
    reachesLabelledNamespaces: Type.Optional(ReachesLabelledNamespacesSchema),
    nodePorts: Type.Optional(PolicyWithPortsSchema),
    namespaceLabels: Type.Optional(Labels("labels the role's namespace must carry")),
    serviceAccount: Type.Optional(
      Type.String({
        pattern: RFC1123_SUBDOMAIN.source,
        description: "the service account the chart runs the pods as (policies may select it)",
      }),
    ),
    containerPorts: Type.Optional(
      Type.Record(
        Type.String({ pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", maxLength: 15 }),
        Type.Integer({ minimum: 1, maximum: 65535 }),
        {
          description: "the pods' named container ports, so named ports in policies resolve",
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export const IngressControllerSchema = Type.Object(
  {
    namespace: Type.Optional(Type.String({ pattern: RFC1123_LABEL.source })),
    podLabels: Type.Optional(Labels("labels of the controller's pods")),
  },
  { additionalProperties: false },
);

export const DemoChartValuesSchema = Type.Object(
  Object.fromEntries(
    Object.keys(DEMO_CHART_REFS).map((release) => [
      release,
      Type.Optional(HelmValues(`Helm values of the ${release} release`)),
    ]),
  ),
  { additionalProperties: false },
);

export const StackConfigSchema = Type.Object(
  {
    clusterName: Type.String({
      default: DEFAULT_CLUSTER_NAME,
      pattern: RFC1123_LABEL.source,
      // Cilium's cluster.name takes it, which the chart caps at 32 (templates/validate.yaml).
      maxLength: 32,
      description:
        "Name of the cluster: the kind cluster's name (kind names its node containers and the kube context after it), or the `clusterIdentifier` of an existing cluster. Cilium's `cluster.name` too, which labels every pod's identity and scopes every policy selector to this cluster.",
    }),
    clusterProvider: Type.Union([Type.Literal("kind"), Type.Literal("existing")], {
      default: "kind",
      description:
        "`kind` creates a local kind cluster; `existing` uses the ambient kubeconfig, or the `kubeconfig` secret.",
    }),
    kindNodes: Type.Object(KindNodesSchema.properties, {
      additionalProperties: false,
      default: { ...DEFAULT_KIND_NODES },
      description: `kind node counts per role, each 1 to ${MAX_NODES_PER_ROLE}; a key left out keeps its default. Infra nodes are labelled and tainted \`node-role.kubernetes.io/infra\`.`,
    }),
    kindNodeImage: Type.String({
      default: DEFAULT_KIND_NODE_IMAGE,
      description: `Pinned kind node image (from the kind ${KIND_VERSION} release notes). Use kindest/node v1.34.11 on cgroup v1 hosts.`,
    }),
    ciliumVersion: Type.String({
      default: "1.19.5",
      description: `Cilium Helm chart version (https://helm.cilium.io/), 1.${MIN_CILIUM_MINOR} or newer.`,
    }),
    policyAuditMode: Type.Boolean({
      default: true,
      description:
        "Cilium policy audit mode: would-be drops show as AUDIT in Hubble instead of being dropped. Turn off to enforce.",
    }),
    ciliumDevices: Type.Array(Type.String(), {
      default: [],
      description:
        "Network devices for the host firewall (e.g. `eth0`, or a prefix such as `eth+`). Empty means Cilium auto-detects them.",
    }),
    ciliumValues: HelmValues("Extra Cilium Helm values, deep-merged over the castle's values.", {
      default: {},
    }),
    jumphostCidrs: Type.Array(Type.String(), {
      default: [],
      description:
        "CIDRs allowed to reach SSH (22/TCP) on every node. Empty means no SSH rule at all; a /0 is refused.",
    }),
    userNamespaces: Type.Array(Type.Union([UserNamespaceSchema, Type.String()]), {
      default: [],
      description:
        "Tenant namespaces (`- team-a` is short for `- name: team-a`). `exposed` lets the ingress controller in, `metrics` lets Prometheus scrape.",
    }),
    installDemo: Type.Boolean({
      default: false,
      description:
        "Install the workshop demo (ingress-nginx, Prometheus, metrics-server and a demo app per user namespace).",
    }),
    kubeconfig: Type.String({
      default: "",
      [SECRET]: true,
      description:
        "Kubeconfig of an existing cluster (`clusterProvider: existing`), set with `--secret` from a file on stdin. Empty means the ambient kubeconfig.",
    }),
    chartMirror: Type.String({
      default: "",
      description:
        "Where the Cilium and demo charts come from instead of their public repositories: an absolute folder of chart archives (`<chart>-<version>.tgz`), `oci://<registry>/<path>`, or an http(s) chart repository. Empty means the public repositories.",
    }),
    demoChartValues: Type.Object(DemoChartValuesSchema.properties, {
      additionalProperties: false,
      default: {},
      description:
        "Extra Helm values for the workshop demo's releases, keyed by release, deep-merged over the demo's values.",
    }),
    ingressController: Type.Object(IngressControllerSchema.properties, {
      additionalProperties: false,
      default: {},
      description:
        "Overrides the ingress role's namespace and pod labels, e.g. to swap ingress-nginx for another controller.",
    }),
    infraRoles: Type.Array(InfraRoleSchema, {
      default: [],
      description:
        "Extra infra roles, or replacements of a default role by name; each policy entry is `{name, description}`, plus `ports` where it opens ports.",
    }),
  },
  { additionalProperties: false },
);

type StackProperties = (typeof StackConfigSchema)["properties"];

/** A stack's config as a user writes it, every key present (DEFAULTS has this shape). */
export type StackConfigEntry = Static<typeof StackConfigSchema>;
export type ConfigKey = keyof StackProperties;
export type ClusterProvider = Static<StackProperties["clusterProvider"]>;
/** A `userNamespaces` entry as written; `exposed` and `metrics` default to false. */
export type UserNamespaceEntry = Static<typeof UserNamespaceSchema>;
export type IngressControllerEntry = Static<typeof IngressControllerSchema>;
export type InfraRoleEntry = Static<typeof InfraRoleSchema>;

/** Every config key, in the schema's (and Pulumi.yaml's and the README's) order. */
export const CONFIG_KEYS = Object.keys(StackConfigSchema.properties) as ConfigKey[];

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    Object.values(v).forEach(deepFreeze);
    Object.freeze(v);
  }
  return v;
}

/** Every key's default, from the schema. Frozen: a parse copies what it hands out. */
export const DEFAULTS: Readonly<StackConfigEntry> = deepFreeze(
  Object.fromEntries(
    CONFIG_KEYS.map((k) => [k, structuredClone(StackConfigSchema.properties[k].default as unknown)]),
  ) as StackConfigEntry,
);

/** The keys an object schema knows, in its order. */
export function knownKeys(schema: TObject<TProperties>): string[] {
  return Object.keys(schema.properties);
}

/** The values a union of literals allows (e.g. clusterProvider's "kind", "existing"). */
export function literalValues(schema: TSchema): string[] {
  if (!KindGuard.IsUnion(schema)) return [];
  return schema.anyOf.filter((s) => KindGuard.IsLiteral(s)).map((s) => String(s.const));
}

/** Whether a top-level key holds a secret (`pulumi config set --secret`). */
export function isSecretKey(key: string): boolean {
  const schema = (StackConfigSchema.properties as Record<string, TSchema | undefined>)[key];
  return schema?.[SECRET] === true;
}

/**
 * A schema's shape in one line, as messages and the README show it: `{name, exposed?, metrics?}` for an
 * object (`?` marks an optional key), `array of ...`, `` `kind` | `existing` `` for literals.
 */
export function shapeOf(schema: TSchema): string {
  if (KindGuard.IsObject(schema)) {
    const required = new Set(schema.required ?? []);
    return `{${knownKeys(schema)
      .map((k) => (required.has(k) ? k : `${k}?`))
      .join(", ")}}`;
  }
  if (KindGuard.IsArray(schema)) {
    const item = schema.items;
    if (KindGuard.IsString(item)) return "array of strings";
    return `array of ${shapeOf(item)}`;
  }
  if (KindGuard.IsUnion(schema)) {
    const literals = literalValues(schema);
    if (literals.length === schema.anyOf.length) return literals.map((l) => `\`${l}\``).join(" | ");
    // A structured value with a shorthand (a user namespace as its bare name): the full form is the shape.
    const structured = schema.anyOf.find((s) => KindGuard.IsObject(s));
    if (structured) return shapeOf(structured);
  }
  if (KindGuard.IsRecord(schema)) return "object";
  if (KindGuard.IsString(schema)) return schema[SECRET] === true ? "secret string" : "string";
  if (KindGuard.IsInteger(schema)) return "integer";
  if (KindGuard.IsBoolean(schema)) return "boolean";
  throw new Error(`config/schema.ts: no shape for a ${String(schema[Kind])} schema`);
}

// Compile-time checks that the schema and the vocabulary's types describe the same things: tsc fails here
// when a key is added to one and not the other.
type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Expect<T extends true> = T;
export type SchemaMatchesVocabulary = [
  Expect<Equal<Static<typeof KindNodesSchema>, KindNodes>>,
  Expect<Equal<keyof InfraRoleEntry, keyof InfraRole>>,
  // Every role the castle builds could be written as an entry (DEFAULT_INFRA_ROLES as config).
  Expect<InfraRole extends InfraRoleEntry ? true : false>,
];
