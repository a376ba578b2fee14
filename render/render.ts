// The offline render: a stack's config file in, the resources and Kubernetes objects it would create out.
// Emulates what the CLI does before the program runs (project defaults under stack values), then runs the
// program under mocks.

import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { parseCastleConfig, PROJECT, RawConfig, CastleConfig } from "../config/castleConfig";
import { buildCastle } from "../castle";
import { RecordOptions, recordProgram, Recording, RecordedResource } from "./recorder";
import { projectRoot } from "../lib/projectRoot";

export const PROJECT_DIR = projectRoot();

/** What the mocked kind command prints: a kubeconfig-shaped placeholder, never a real credential. */
export const MOCK_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n";

export interface ProjectFile {
  name: string;
  config: Record<
    string,
    { type?: string; default?: unknown; description?: string; secret?: boolean; items?: unknown }
  >;
}

export function readProjectFile(dir = PROJECT_DIR): ProjectFile {
  const doc = YAML.parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as ProjectFile;
  return { name: doc.name, config: doc.config ?? {} };
}

/** The stack's values for this project, without the `cilium-castle:` prefix (other namespaces ignored). */
export function readStackFile(stack: string, dir = PROJECT_DIR): RawConfig {
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) {
    const stacks = fs
      .readdirSync(dir)
      .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
      .filter((s): s is string => !!s);
    throw new Error(
      `no stack file ${path.basename(file)}; stacks with a config file here: ${stacks.join(", ") || "none"}`,
    );
  }
  const doc = (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const raw: RawConfig = {};
  for (const [k, v] of Object.entries(doc.config ?? {})) {
    const [ns, key] = k.includes(":")
      ? [k.slice(0, k.indexOf(":")), k.slice(k.indexOf(":") + 1)]
      : [PROJECT, k];
    if (ns === PROJECT) raw[key] = v;
  }
  return raw;
}

/** Stack values over the project's declared defaults, as the CLI merges them. */
export function withProjectDefaults(raw: RawConfig, project: ProjectFile = readProjectFile()): RawConfig {
  const merged: RawConfig = {};
  for (const [k, decl] of Object.entries(project.config)) {
    if (decl.default !== undefined) merged[k] = decl.default;
  }
  return { ...merged, ...raw };
}

export function loadStackConfig(stack: string, dir = PROJECT_DIR): CastleConfig {
  return parseCastleConfig(withProjectDefaults(readStackFile(stack, dir), readProjectFile(dir)));
}

/**
 * Runs the castle program for a config under mocks. The one function it calls, `command:local:run` for
 * `kind get clusters` (KindCluster's check that its cluster still exists), finds the cluster.
 */
export function recordCastle(
  config: CastleConfig,
  stack = "offline",
  calls: RecordOptions["calls"] = {},
): Promise<Recording> {
  return recordProgram(() => buildCastle(config).outputs, {
    stack,
    outputsByType: {
      "command:local:Command": () => ({ stdout: MOCK_KUBECONFIG, stderr: "" }),
    },
    calls: {
      "command:local:run": (args) => ({
        stdout: `${(args.environment as Record<string, string> | undefined)?.CASTLE_CLUSTER ?? ""}\n`,
        stderr: "",
      }),
      ...calls,
    },
  });
}

export interface InventoryEntry {
  type: string;
  name: string;
  urn: string;
  parent?: string;
  dependencies: string[];
  provider?: string;
  deletedWith?: string;
  inputs: Record<string, unknown>;
}

export function inventory(rec: Recording): InventoryEntry[] {
  return [...rec.resources]
    .sort((a, b) => a.urn.localeCompare(b.urn))
    .map((r) => ({
      type: r.type,
      name: r.name,
      urn: r.urn,
      ...(r.parent ? { parent: r.parent } : {}),
      dependencies: r.dependencies,
      ...(r.provider ? { provider: r.provider.replace(/::[^:]*$/, "") } : {}),
      ...(r.deletedWith ? { deletedWith: r.deletedWith } : {}),
      inputs: r.maskedInputs,
    }));
}

export interface RenderedObject {
  /** Relative path in the output directory, e.g. `ingress-nginx/CiliumNetworkPolicy-all-to-nginx.yaml`. */
  file: string;
  object: Record<string, unknown>;
}

const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

/** The Kubernetes objects of a recording, one per file, plus one values file per Helm release. */
export function renderedObjects(rec: Recording): RenderedObject[] {
  const out: RenderedObject[] = [];
  for (const r of rec.resources) {
    if (r.type === HELM_RELEASE) {
      const i = r.maskedInputs;
      out.push({
        file: `helm/${i.namespace}/${i.name}.values.yaml`,
        object: {
          release: i.name,
          namespace: i.namespace,
          chart: i.chart,
          version: i.version,
          repository: (i.repositoryOpts as { repo?: string })?.repo,
          values: i.values ?? {},
        },
      });
    } else if (isKubernetesObject(r)) {
      const obj = r.maskedInputs;
      const meta = (obj.metadata ?? {}) as { name?: string; namespace?: string };
      const dir = meta.namespace ?? "_cluster";
      // A patch changes an object it does not own; its file says so.
      const what = r.type.endsWith("Patch") ? `${obj.kind}Patch` : obj.kind;
      out.push({ file: `${dir}/${what}-${meta.name}.yaml`, object: obj });
    }
  }
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

function isKubernetesObject(r: RecordedResource): boolean {
  return (
    r.custom &&
    r.type.startsWith("kubernetes:") &&
    !r.type.startsWith("kubernetes:helm.sh") &&
    typeof r.inputs.kind === "string"
  );
}

export function toYaml(object: unknown): string {
  return YAML.stringify(object, { sortMapEntries: true, lineWidth: 0 });
}

const MARKER = ".castle-render";

/**
 * Writes the objects under `dir`, replacing a previous render there. A non-empty directory that is not a
 * previous render is left alone: the render never deletes files it did not write.
 */
export function writeRender(dir: string, objects: RenderedObject[]): void {
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    if (!fs.existsSync(path.join(dir, MARKER))) {
      throw new Error(
        `${dir} is not empty and holds no earlier render (${MARKER}); choose an empty or new directory`,
      );
    }
    fs.rmSync(dir, { recursive: true });
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, MARKER),
    "written by `npm run render`; the whole directory is replaced on the next render\n",
  );
  for (const o of objects) {
    const file = path.join(dir, o.file);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, toYaml(o.object));
  }
}
