// Where the castle's Helm charts come from: the public repositories, or a mirror (a local folder of chart
// archives, an OCI registry, or an HTTP chart repository) for clusters that may not reach the internet.
// Pure: the config module validates a mirror with it, the components turn a chart into Release arguments.

import * as fs from "node:fs";
import * as path from "node:path";

export interface ChartRef {
  /** The chart's name in its repository, and the archive's name prefix (`<name>-<version>.tgz`). */
  name: string;
  version: string;
  /** The public Helm repository. */
  repository: string;
}

export const CILIUM_CHART_REPOSITORY = "https://helm.cilium.io/";

/** Cilium's Helm release: the pack and the verifier find it by this name, whatever the chart's source. */
export const CILIUM_RELEASE = { name: "cilium", namespace: "kube-system" } as const;

/**
 * Whether a Helm release (its `name`, `namespace` and `chart`, as the Release resource or a render holds
 * them) is the castle's Cilium. By release: with a mirror the chart is a path or an oci:// reference. A
 * render written before releases were recorded names only the chart.
 */
export function isCiliumRelease(r: { name?: unknown; namespace?: unknown; chart?: unknown }): boolean {
  if (r.name !== undefined) return r.name === CILIUM_RELEASE.name && r.namespace === CILIUM_RELEASE.namespace;
  return r.chart === "cilium";
}

export function ciliumChart(version: string): ChartRef {
  return { name: "cilium", version, repository: CILIUM_CHART_REPOSITORY };
}

/** The workshop demo's pinned charts (components/demo/charts.ts adds their values). */
export const DEMO_CHART_REFS = {
  "ingress-nginx": {
    name: "ingress-nginx",
    version: "4.15.1",
    repository: "https://kubernetes.github.io/ingress-nginx",
  },
  prometheus: {
    name: "prometheus",
    version: "27.42.2",
    repository: "https://prometheus-community.github.io/helm-charts",
  },
  "metrics-server": {
    name: "metrics-server",
    version: "3.13.0",
    repository: "https://kubernetes-sigs.github.io/metrics-server/",
  },
} as const satisfies Record<string, ChartRef>;

export type ChartMirror =
  /** A folder of chart archives named as `helm pull` and `helm package` write them. */
  | { kind: "folder"; path: string }
  /** An OCI registry path under which each chart is `<path>/<name>` (`helm push` layout). */
  | { kind: "oci"; url: string }
  /** A classic chart repository (an index.yaml), e.g. a ChartMuseum, Artifactory or Harbor mirror. */
  | { kind: "http"; url: string };

export type MirrorParse =
  { ok: true; mirror: ChartMirror | undefined } | { ok: false; what: string; fix: string };

/** Reads the `chartMirror` config value; "" means the public repositories. */
export function parseChartMirror(text: string): MirrorParse {
  const t = text.trim();
  if (t === "") return { ok: true, mirror: undefined };
  if (t.startsWith("oci://")) {
    if (!/^oci:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._/-]*)?$/.test(t)) {
      return {
        ok: false,
        what: "not an OCI registry path (oci://<host>[:<port>]/<path>)",
        fix: "pulumi config set chartMirror oci://registry.example.com/charts",
      };
    }
    return { ok: true, mirror: { kind: "oci", url: t.replace(/\/+$/, "") } };
  }
  if (/^https?:\/\//.test(t)) {
    try {
      const u = new URL(t);
      if (u.username || u.password) {
        return {
          ok: false,
          what: "credentials in the URL would be stored in the stack file in clear text",
          fix: "give the URL without credentials and log in to the repository with helm (helm repo add / helm registry login)",
        };
      }
    } catch {
      return {
        ok: false,
        what: "not a URL",
        fix: "pulumi config set chartMirror https://charts.example.com/",
      };
    }
    return { ok: true, mirror: { kind: "http", url: t } };
  }
  const dir = t.startsWith("file://") ? t.slice("file://".length) : t;
  if (!path.isAbsolute(dir)) {
    return {
      ok: false,
      what: "a chart folder must be an absolute path (the program runs from the project folder, Pulumi's helm from wherever)",
      fix: `pulumi config set chartMirror "$(realpath ${dir})"`,
    };
  }
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    return {
      ok: false,
      what: "no such folder",
      fix: "create it with the chart archives (helm pull <repo>/<chart> --version <v> -d <folder>), or correct the path",
    };
  }
  return { ok: true, mirror: { kind: "folder", path: path.resolve(dir) } };
}

export function chartArchiveName(chart: ChartRef): string {
  return `${chart.name}-${chart.version}.tgz`;
}

/** The charts a folder mirror lacks, as archive names. A registry or repository is not checked offline. */
export function missingFromMirror(mirror: ChartMirror | undefined, charts: ChartRef[]): string[] {
  if (mirror?.kind !== "folder") return [];
  return charts.map(chartArchiveName).filter((f) => !fs.existsSync(path.join(mirror.path, f)));
}

/**
 * The chart version a Helm release (as the Release resource or a render holds it) installs: its `version`,
 * or, for an archive from a folder mirror (releaseChart gives no version then), the one in the archive's
 * name (chartArchiveName). Undefined when neither says.
 */
export function releaseChartVersion(r: { chart?: unknown; version?: unknown }): string | undefined {
  if (typeof r.version === "string" && r.version !== "") return r.version;
  if (typeof r.chart !== "string") return undefined;
  return /-(v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?)\.tgz$/.exec(path.basename(r.chart))?.[1];
}

/** The chart, version and repository arguments of a `helm.v3.Release` for a chart and a mirror. */
export function releaseChart(
  chart: ChartRef,
  mirror: ChartMirror | undefined,
): { chart: string; version?: string; repositoryOpts?: { repo: string } } {
  switch (mirror?.kind) {
    case undefined:
      return { chart: chart.name, version: chart.version, repositoryOpts: { repo: chart.repository } };
    case "http":
      return { chart: chart.name, version: chart.version, repositoryOpts: { repo: mirror.url } };
    case "oci":
      return { chart: `${mirror.url}/${chart.name}`, version: chart.version };
    case "folder":
      // A local archive carries its own version; helm refuses none, but a version flag is meaningless.
      return { chart: path.join(mirror.path, chartArchiveName(chart)) };
  }
}
