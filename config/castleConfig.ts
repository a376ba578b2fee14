// The one typed config module. Every stack value passes through parseCastleConfig before any resource is
// registered, so a typo fails `pulumi preview` with a message instead of a half-built cluster.
//
// Raw values arrive in two shapes: from the Pulumi CLI every value is a string (structured values as
// JSON), from a stack YAML file (offline render, tests) they are already typed. `coerce*` accepts both.
//
// The keys, their defaults, types, bounds and enums come from config/schema.ts; the checks here add what a
// schema cannot say (CIDRs, RFC 1123 names, a chart mirror's archives) and a fix command per problem.

import { parseCidr } from "../lib/net/cidr";
import {
  ChartMirror,
  ChartRef,
  ciliumChart,
  DEMO_CHART_REFS,
  missingFromMirror,
  parseChartMirror,
} from "../lib/helm/charts";
import type { InfraRole } from "../vocabulary/roles";
import { infraNamespaces } from "../vocabulary/roles";
import { parseInfraRoles } from "./parseInfraRoles";
import {
  ClusterProvider,
  CONFIG_KEYS,
  DEFAULTS,
  DemoChartValuesSchema,
  isSecretKey,
  KindNodesSchema,
  knownKeys,
  literalValues,
  MIN_CILIUM_MINOR,
  shapeOf,
  StackConfigSchema,
  UserNamespaceEntry,
  UserNamespaceSchema,
} from "./schema";
import {
  checkKnownKeys,
  coerceBoolean,
  coerceString,
  fromJsonText,
  isPlainObject,
  Problems,
  RFC1123_LABEL,
  rmCommand,
  SECRET_MASK,
  setCommand,
  shellWord,
  suggestLabel,
  typeName,
} from "./validate";

export { PROJECT } from "./validate";
export { CONFIG_KEYS, DEFAULT_KIND_NODE_IMAGE, DEFAULTS, KIND_VERSION } from "./schema";
export type { ClusterProvider, ConfigKey } from "./schema";

import type { KindNodes } from "../vocabulary/nodes";

export type { KindNodes };

/** A user namespace after parsing: the flags a stack file may leave out are filled in. */
export type UserNamespaceConfig = Required<UserNamespaceEntry>;

/** A secret config value. `value` is undefined when the stack file holds it encrypted (offline render). */
export interface SecretValue {
  secret: true;
  value: string | undefined;
}

export interface CastleConfig {
  clusterName: string;
  clusterProvider: ClusterProvider;
  kindNodes: KindNodes;
  kindNodeImage: string;
  ciliumVersion: string;
  policyAuditMode: boolean;
  ciliumDevices: string[];
  ciliumValues: Record<string, unknown>;
  jumphostCidrs: string[];
  userNamespaces: UserNamespaceConfig[];
  installDemo: boolean;
  kubeconfig: SecretValue | undefined;
  /** Where the charts come from; undefined means their public repositories. */
  chartMirror: ChartMirror | undefined;
  /** Extra Helm values per demo release, deep-merged over the demo's own. */
  demoChartValues: Record<string, Record<string, unknown>>;
  /** The effective infra roles: defaults, `ingressController` and `infraRoles` applied. */
  roles: InfraRole[];
}

/** The fix for a structured key holding the wrong type: a path set cannot index into it, so drop it first. */
function replaceWith(key: string, set: string): string {
  return `${rmCommand(key)}, then ${set}`;
}

/**
 * Namespaces the castle itself owns or that Kubernetes reserves. A user namespace with one of these names
 * would hand a tenant the walls of the castle.
 */
export const RESERVED_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease", "default"];

import { CastleConfigError } from "./errors";

export { CastleConfigError };

/** Raw config as read from the CLI or a stack file, keyed without the `cilium-castle:` namespace. */
export type RawConfig = Record<string, unknown>;

function parseKindNodes(p: Problems, raw: unknown): KindNodes {
  const v = fromJsonText(raw);
  const d = DEFAULTS.kindNodes;
  if (v === undefined) return { ...d };
  if (!isPlainObject(v)) {
    p.add(
      "kindNodes",
      v,
      `expected an object ${shapeOf(KindNodesSchema)}, got ${typeName(v)}`,
      replaceWith(
        "kindNodes",
        `${setCommand("kindNodes.workers", String(d.workers))} (and likewise controlPlane, infra)`,
      ),
    );
    return { ...d };
  }
  checkKnownKeys(p, "kindNodes", v, knownKeys(KindNodesSchema));
  const count = (field: keyof KindNodes): number => {
    const key = `kindNodes.${field}`;
    const x = v[field] === undefined ? undefined : Number(v[field]);
    if (x === undefined) return d[field];
    const ok =
      typeof v[field] === "number" || (typeof v[field] === "string" && /^-?\d+$/.test(v[field] as string));
    const { minimum, maximum } = KindNodesSchema.properties[field];
    if (!ok || !Number.isInteger(x)) {
      p.add(key, v[field], `expected a whole number`, setCommand(key, String(d[field])));
      return d[field];
    }
    if (minimum !== undefined && x < minimum) {
      // Every role needs a node: the infra taint keeps ingress off workers, and workers carry the
      // demo apps and Hubble; zero of either leaves pods Pending.
      p.add(
        key,
        v[field],
        `must be at least ${minimum} (the castle needs a node of every role: control plane, infra, worker)`,
        setCommand(key, String(Math.max(minimum, d[field]))),
      );
      return d[field];
    }
    if (maximum !== undefined && x > maximum) {
      p.add(
        key,
        v[field],
        `more than ${maximum} nodes of one role is beyond what kind runs on one machine`,
        setCommand(key, String(d[field])),
      );
      return d[field];
    }
    return x;
  };
  return { controlPlane: count("controlPlane"), infra: count("infra"), workers: count("workers") };
}

function parseStringArray(p: Problems, key: string, raw: unknown, example: string): string[] | undefined {
  const v = fromJsonText(raw);
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    p.add(
      key,
      v,
      `expected an array of strings, got ${typeName(v)}`,
      replaceWith(key, setCommand(`${key}[0]`, example)),
    );
    return undefined;
  }
  const out: string[] = [];
  v.forEach((item, i) => {
    if (typeof item !== "string") {
      p.add(
        `${key}[${i}]`,
        item,
        `expected a string, got ${typeName(item)}`,
        setCommand(`${key}[${i}]`, example),
      );
    } else {
      out.push(item);
    }
  });
  return out;
}

function parseJumphostCidrs(p: Problems, raw: unknown): string[] {
  const list = parseStringArray(p, "jumphostCidrs", raw, "10.1.101.110/32");
  if (list === undefined) return [...DEFAULTS.jumphostCidrs];
  const seen = new Set<string>();
  const out: string[] = [];
  list.forEach((cidr, i) => {
    const key = `jumphostCidrs[${i}]`;
    const parsed = parseCidr(cidr);
    if (!parsed.ok) {
      p.add(
        key,
        cidr,
        `not a CIDR: ${parsed.reason}`,
        `give an address with a prefix length, e.g. 10.1.101.110/32`,
      );
      return;
    }
    if (parsed.prefix === 0) {
      // A /0 jumphost is SSH from the whole internet: exactly what the host firewall is there to stop.
      p.add(
        key,
        cidr,
        `a /0 range opens SSH on every node to the whole internet`,
        `list only your jumphosts' addresses, e.g. 10.1.101.110/32`,
      );
      return;
    }
    if (parsed.canonical !== cidr) {
      p.add(key, cidr, `host bits are set, so the range is ambiguous`, `write it as ${parsed.canonical}`);
      return;
    }
    if (seen.has(cidr)) {
      p.add(key, cidr, `listed twice`, `remove the duplicate`);
      return;
    }
    seen.add(cidr);
    out.push(cidr);
  });
  return out;
}

function parseUserNamespaces(
  p: Problems,
  raw: unknown,
  infraNamespaces: readonly string[],
): UserNamespaceConfig[] {
  const v = fromJsonText(raw);
  // The default is the empty list: every namespace a stack has, it names.
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    p.add(
      "userNamespaces",
      v,
      `expected an array of ${shapeOf(UserNamespaceSchema)}, got ${typeName(v)}`,
      replaceWith("userNamespaces", setCommand("userNamespaces[0].name", "team-a")),
    );
    return [];
  }
  const seen = new Set<string>();
  const out: UserNamespaceConfig[] = [];
  v.forEach((entry0, i) => {
    const key = `userNamespaces[${i}]`;
    // `- team-a` is the obvious shorthand for `- name: team-a`.
    const entry = typeof entry0 === "string" ? { name: entry0 } : entry0;
    if (!isPlainObject(entry)) {
      p.add(
        key,
        entry0,
        `expected ${shapeOf(UserNamespaceSchema)}, got ${typeName(entry0)}`,
        setCommand(`${key}.name`, "team-a"),
      );
      return;
    }
    checkKnownKeys(p, key, entry, knownKeys(UserNamespaceSchema));
    const name = entry.name;
    if (typeof name !== "string") {
      p.add(`${key}.name`, name, `expected a namespace name (string)`, setCommand(`${key}.name`, "team-a"));
      return;
    }
    const maxName = UserNamespaceSchema.properties.name.maxLength ?? 63;
    if (name.length > maxName || !RFC1123_LABEL.test(name)) {
      p.add(
        `${key}.name`,
        name,
        `not an RFC 1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most ${maxName} characters)`,
        `use a name such as ${JSON.stringify(suggestLabel(name))}`,
      );
      return;
    }
    if (RESERVED_NAMESPACES.includes(name) || name.startsWith("kube-")) {
      p.add(
        `${key}.name`,
        name,
        `"${name}" is reserved by Kubernetes`,
        `pick a name of your own, e.g. team-${name.replace(/^kube-/, "")}`,
      );
      return;
    }
    if (infraNamespaces.includes(name)) {
      p.add(
        `${key}.name`,
        name,
        `"${name}" is an infrastructure namespace of the castle (${infraNamespaces.join(", ")}); user policies there would widen the walls`,
        `pick a name that is not an infrastructure namespace`,
      );
      return;
    }
    if (seen.has(name)) {
      p.add(`${key}.name`, name, `namespace "${name}" is listed twice`, `remove the duplicate entry`);
      return;
    }
    seen.add(name);
    const flag = (f: "exposed" | "metrics"): boolean =>
      coerceBoolean(p, `${key}.${f}`, entry[f]) ?? (UserNamespaceSchema.properties[f].default as boolean);
    out.push({ name, exposed: flag("exposed"), metrics: flag("metrics") });
  });
  return out;
}

function parseSecret(p: Problems, key: string, raw: unknown): SecretValue | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (isPlainObject(raw) && typeof raw.secure === "string") return { secret: true, value: undefined };
  if (typeof raw === "string") return { secret: true, value: raw };
  // On stdin, not as an argument: other users of the machine can read a command line in the process list.
  p.add(
    key,
    SECRET_MASK,
    `expected a string`,
    setCommand(key, "< ~/.kube/config", { secret: isSecretKey(key) }),
  );
  return undefined;
}

/**
 * Reads and validates every config value. Throws CastleConfigError listing every problem at once, so a
 * user fixes a stack file in one round.
 */
export function parseCastleConfig(raw: RawConfig, secretKeys: ReadonlySet<string> = new Set()): CastleConfig {
  // A key the schema marks secret is masked even when a stack file holds it in clear text.
  const p = new Problems(new Set([...secretKeys, ...CONFIG_KEYS.filter(isSecretKey)]));

  for (const k of Object.keys(raw)) {
    if (!(CONFIG_KEYS as string[]).includes(k)) {
      p.add(
        k,
        raw[k],
        `unknown config key (known keys: ${CONFIG_KEYS.join(", ")})`,
        `pulumi config rm ${shellWord(k)}, or correct its spelling`,
      );
    }
  }

  const props = StackConfigSchema.properties;
  const clusterName =
    coerceString(p, "clusterName", raw.clusterName, setCommand("clusterName", DEFAULTS.clusterName)) ??
    DEFAULTS.clusterName;
  // kind names docker containers `<name>-control-plane` etc. and the kube context `kind-<name>`; Cilium's
  // cluster.name is the same name (components/cilium/values.ts).
  const maxCluster = props.clusterName.maxLength ?? 32;
  if (!RFC1123_LABEL.test(clusterName) || clusterName.length > maxCluster) {
    p.add(
      "clusterName",
      clusterName,
      `must be lower-case letters, digits and '-', at most ${maxCluster} characters (kind names containers after it, and Cilium's cluster.name takes it)`,
      setCommand("clusterName", suggestLabel(clusterName).slice(0, maxCluster) || DEFAULTS.clusterName),
    );
  }

  const providerFix = setCommand("clusterProvider", DEFAULTS.clusterProvider);
  const providers = literalValues(props.clusterProvider);
  const clusterProvider =
    coerceString(p, "clusterProvider", raw.clusterProvider, providerFix) ?? DEFAULTS.clusterProvider;
  if (!providers.includes(clusterProvider)) {
    p.add(
      "clusterProvider",
      clusterProvider,
      `must be ${providers.map((v) => JSON.stringify(v)).join(" or ")}`,
      providerFix,
    );
  }

  const kindNodes = parseKindNodes(p, raw.kindNodes);

  const kindNodeImage =
    coerceString(p, "kindNodeImage", raw.kindNodeImage, rmCommand("kindNodeImage")) ?? DEFAULTS.kindNodeImage;
  // A tag or digest is required: an unpinned image makes two laptops build two different clusters.
  if (
    !/^[a-z0-9][a-z0-9./_-]*(:[\w.-]+)?(@sha256:[0-9a-f]{64})?$/.test(kindNodeImage) ||
    !/[:@]/.test(kindNodeImage)
  ) {
    p.add(
      "kindNodeImage",
      kindNodeImage,
      `expected an image reference such as ${DEFAULTS.kindNodeImage}`,
      rmCommand("kindNodeImage"),
    );
  }

  const versionFix = setCommand("ciliumVersion", DEFAULTS.ciliumVersion);
  const ciliumVersion =
    coerceString(p, "ciliumVersion", raw.ciliumVersion, versionFix) ?? DEFAULTS.ciliumVersion;
  const cv = /^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$/.exec(ciliumVersion);
  if (!cv) {
    p.add(
      "ciliumVersion",
      ciliumVersion,
      `expected a chart version such as ${DEFAULTS.ciliumVersion}`,
      versionFix,
    );
  } else if (Number(cv[1]) < 1 || (Number(cv[1]) === 1 && Number(cv[2]) < MIN_CILIUM_MINOR)) {
    // MIN_CILIUM_MINOR (config/schema.ts) says why.
    p.add(
      "ciliumVersion",
      ciliumVersion,
      `the castle needs Cilium 1.${MIN_CILIUM_MINOR} or newer`,
      versionFix,
    );
  }

  const policyAuditMode =
    coerceBoolean(p, "policyAuditMode", raw.policyAuditMode) ?? DEFAULTS.policyAuditMode;

  const ciliumDevices = parseStringArray(p, "ciliumDevices", raw.ciliumDevices, "eth0") ?? [
    ...DEFAULTS.ciliumDevices,
  ];
  ciliumDevices.forEach((d, i) => {
    // Cilium accepts interface names and `+`-suffixed prefixes (e.g. eth+).
    if (!/^[A-Za-z0-9_.:-]+\+?$/.test(d)) {
      p.add(
        `ciliumDevices[${i}]`,
        d,
        `not a network interface name or prefix`,
        `use names such as eth0 or eth+`,
      );
    }
  });

  const cvRaw = fromJsonText(raw.ciliumValues);
  let ciliumValues: Record<string, unknown> = { ...DEFAULTS.ciliumValues };
  if (cvRaw !== undefined) {
    if (isPlainObject(cvRaw)) ciliumValues = cvRaw;
    else
      p.add(
        "ciliumValues",
        cvRaw,
        `expected an object of Helm values, got ${typeName(cvRaw)}`,
        replaceWith("ciliumValues", setCommand("ciliumValues.hubble.ui.enabled", "true")),
      );
  }

  const jumphostCidrs = parseJumphostCidrs(p, raw.jumphostCidrs);
  const roles = parseInfraRoles(p, raw.infraRoles, raw.ingressController, clusterProvider === "kind");
  const userNamespaces = parseUserNamespaces(p, raw.userNamespaces, infraNamespaces(roles));
  const installDemo = coerceBoolean(p, "installDemo", raw.installDemo) ?? DEFAULTS.installDemo;
  const kubeconfig = parseSecret(p, "kubeconfig", raw.kubeconfig);
  if (kubeconfig && clusterProvider === "kind") {
    p.add(
      "kubeconfig",
      SECRET_MASK,
      `a kubeconfig is only used with clusterProvider "existing"; kind writes its own`,
      `${rmCommand("kubeconfig")}, or ${setCommand("clusterProvider", "existing")}`,
    );
  }

  const mirrorText =
    coerceString(p, "chartMirror", raw.chartMirror, rmCommand("chartMirror")) ?? DEFAULTS.chartMirror;
  const mirrorParse = parseChartMirror(mirrorText);
  let chartMirror: ChartMirror | undefined;
  if (!mirrorParse.ok) {
    p.add("chartMirror", mirrorText, mirrorParse.what, mirrorParse.fix);
  } else {
    chartMirror = mirrorParse.mirror;
    const charts: ChartRef[] = [
      ciliumChart(ciliumVersion),
      ...(installDemo ? Object.values(DEMO_CHART_REFS) : []),
    ];
    const missing = missingFromMirror(chartMirror, charts);
    if (missing.length > 0) {
      p.add(
        "chartMirror",
        mirrorText,
        `the folder lacks ${missing.join(", ")}`,
        `put the archives there (helm pull <repo>/<chart> --version <version> -d ${mirrorText}), or point chartMirror at the folder that has them`,
      );
    }
  }

  const demoChartValues = parseDemoChartValues(p, raw.demoChartValues);

  if (p.list.length > 0) throw new CastleConfigError(p.list);
  return {
    clusterName,
    clusterProvider: clusterProvider as ClusterProvider,
    kindNodes,
    kindNodeImage,
    ciliumVersion,
    policyAuditMode,
    ciliumDevices,
    ciliumValues,
    jumphostCidrs,
    userNamespaces,
    installDemo,
    kubeconfig,
    chartMirror,
    demoChartValues,
    roles,
  };
}

function parseDemoChartValues(p: Problems, raw: unknown): Record<string, Record<string, unknown>> {
  const v = fromJsonText(raw);
  if (v === undefined) return {};
  const releases = knownKeys(DemoChartValuesSchema);
  if (!isPlainObject(v)) {
    p.add(
      "demoChartValues",
      v,
      `expected an object of Helm values per demo release (${releases.join(", ")}), got ${typeName(v)}`,
      replaceWith(
        "demoChartValues",
        setCommand("demoChartValues.ingress-nginx.controller.replicaCount", "2"),
      ),
    );
    return {};
  }
  checkKnownKeys(p, "demoChartValues", v, releases);
  const out: Record<string, Record<string, unknown>> = {};
  for (const r of releases) {
    const values = v[r];
    if (values === undefined) continue;
    if (!isPlainObject(values)) {
      p.add(
        `demoChartValues.${r}`,
        values,
        `expected an object of Helm values, got ${typeName(values)}`,
        replaceWith(`demoChartValues.${r}`, `${setCommand(`demoChartValues.${r}.<key>`, "<value>")}`),
      );
      continue;
    }
    out[r] = values;
  }
  return out;
}
