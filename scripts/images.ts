// npm run images -- [--stack dev] [--charts <folder>] [--json]: every container image the stack runs,
// derived from the pins: the kind node image, each Helm release rendered by Helm's own engine with the
// stack's exact values (tools/go/chart-images), and the demo apps' images. For rooms with slow Wi-Fi,
// `npm run prepull` pulls them, loads them into the kind cluster, and checks on every node that the kubelet
// will find each one by the exact reference its pod names.
//
// The charts come from the stack's chartMirror folder, or from --charts (a folder of chart archives, as
// `helm pull --repo <url> <chart> --version <v>` writes them).

import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { DEMO_CLIENT_IMAGE, DEMO_WEB_IMAGE } from "../components/demo/charts";
import { CastleConfig, parseCastleConfig } from "../config/castleConfig";
import { kindContainerNames } from "../components/cluster/kindConfig";
import { chartArchiveName, ChartRef, ciliumChart, CILIUM_RELEASE, DEMO_CHART_REFS } from "../lib/helm/charts";
import { readStackFile, recordCastle, renderedObjects, withProjectDefaults } from "../render/render";

export interface ImageList {
  /** Where each image comes from: "kind node", a Helm release's name, or "demo apps". */
  sources: { source: string; images: string[] }[];
  /** Every image, sorted and unique. */
  all: string[];
}

export class ImagesError extends Error {}

/** The chart a release installs, by release name. */
function chartOf(config: CastleConfig, release: string): ChartRef | undefined {
  if (release === CILIUM_RELEASE.name) return ciliumChart(config.ciliumVersion);
  return (DEMO_CHART_REFS as Record<string, ChartRef>)[release];
}

/** The stack's images, with Helm (castle-chart-images in `toolsBin`) rendering its releases. */
export async function stackImages(
  config: CastleConfig,
  chartsDir: string,
  toolsBin: string,
  kubeVersionOverride?: string,
): Promise<ImageList> {
  const rec = await recordCastle(config, "images");
  const releases = renderedObjects(rec)
    .filter((o) => o.file.startsWith("helm/"))
    .map((o) => o.object as { release: string; namespace: string; values: Record<string, unknown> });
  const input = releases.map((r) => {
    const chart = chartOf(config, r.release);
    if (!chart) throw new ImagesError(`release ${r.release}: no pinned chart is known for it`);
    const archive = path.join(chartsDir, chartArchiveName(chart));
    if (!fs.existsSync(archive)) {
      throw new ImagesError(
        `${archive} is missing: pull it with helm pull --repo ${chart.repository} ${chart.name} --version ${chart.version} -d ${chartsDir}`,
      );
    }
    return { release: r.release, namespace: r.namespace, chart: archive, values: r.values };
  });
  // Charts branch on .Capabilities.KubeVersion: a kind cluster runs its node image's version; an existing
  // cluster's version is the caller's to give (main refuses an existing stack without --kube-version).
  const kubeVersion = kubeVersionOverride ?? /:(v\d+\.\d+\.\d+)/.exec(config.kindNodeImage)?.[1] ?? "v1.35.0";
  const res = spawnSync(path.join(toolsBin, "castle-chart-images"), ["--kube-version", kubeVersion], {
    input: JSON.stringify(input),
    encoding: "utf8",
  });
  if (res.status !== 0) throw new ImagesError(`rendering the charts: ${res.stderr || res.error?.message}`);
  const rendered = JSON.parse(res.stdout) as { release: string; images: string[] }[];
  const sources = [
    ...(config.clusterProvider === "kind" ? [{ source: "kind node", images: [config.kindNodeImage] }] : []),
    ...rendered.map((r) => ({ source: r.release, images: r.images })),
    ...(config.installDemo
      ? [{ source: "demo apps", images: [DEMO_WEB_IMAGE, DEMO_CLIENT_IMAGE].sort() }]
      : []),
  ];
  return { sources, all: [...new Set(sources.flatMap((s) => s.images))].sort() };
}

/**
 * `docker pull` each image, `kind load docker-image` all but the node image into the cluster, then ask each
 * node's containerd (`crictl inspecti`, the lookup the kubelet does before it pulls) for every image by the
 * exact reference the pods use. A digest-pinned image that kind loaded may still not resolve by its digest
 * (`docker save` drops the registry's manifest digest: kind issues #2394 and #4028, the latter with Cilium's
 * images): those are named, and prepull fails, rather than promise an offline room it cannot give.
 */
export function prepull(
  list: ImageList,
  config: CastleConfig,
  run = defaultRun,
  probe: (cmd: string, args: string[]) => number | null = defaultProbe,
): void {
  refuseExistingCluster(config);
  const node = list.sources.find((s) => s.source === "kind node")?.images ?? [];
  for (const image of list.all) run("docker", ["pull", image]);
  const workload = list.all.filter((i) => !node.includes(i));
  if (workload.length === 0) return;
  run("kind", ["load", "docker-image", "--name", config.clusterName, ...workload]);
  const nodes = kindContainerNames(config.clusterName, config.kindNodes).filter(
    (n) => !n.endsWith("-external-load-balancer"),
  );
  const unresolved = new Map<string, string[]>();
  for (const image of workload) {
    for (const n of nodes) {
      if (probe("docker", ["exec", n, "crictl", "inspecti", "-q", image]) !== 0) {
        unresolved.set(image, [...(unresolved.get(image) ?? []), n]);
      }
    }
  }
  if (unresolved.size > 0) {
    const lines = [...unresolved].map(([image, on]) => `  ${image} (not on ${on.join(", ")})`);
    throw new ImagesError(
      `kind loaded every image, but ${unresolved.size} of ${workload.length} do not resolve on the nodes by the reference their pods use:\n${lines.join("\n")}\n` +
        `Digest-pinned images lose the registry's digest in kind load (kind issues #2394, #4028): the kubelet will pull these from the registry when their pods start, so the room needs the network for them. ` +
        `For a lab that starts offline, bring the cluster up before the day (npm run up) and keep it: its nodes keep what they pulled.`,
    );
  }
  console.error(
    `prepull: ${workload.length} images on each of ${nodes.length} nodes, found by their pods' references`,
  );
}

function refuseExistingCluster(config: CastleConfig): void {
  if (config.clusterProvider !== "kind") {
    throw new ImagesError(
      `this stack runs on an existing cluster (clusterProvider: existing): prepull loads images into the stack's kind cluster only. npm run images lists what to pull on that cluster's nodes.`,
    );
  }
}

function defaultProbe(cmd: string, args: string[]): number | null {
  return spawnSync(cmd, args, { stdio: "ignore" }).status;
}

function defaultRun(cmd: string, args: string[]): void {
  console.error(`$ ${cmd} ${args.join(" ")}`);
  const res = spawnSync(cmd, args, { stdio: "inherit" });
  if (res.status !== 0)
    throw new ImagesError(
      `${cmd} ${args.slice(0, 2).join(" ")} failed (exit ${res.status ?? res.error?.message})`,
    );
}

interface Args {
  stack: string;
  charts?: string;
  kubeVersion?: string;
  json: boolean;
  pull: boolean;
}

export function parseArgs(argv: string[]): Args {
  const usage =
    "usage: npm run images -- [--stack <name>] [--charts <folder>] [--kube-version v1.N.N] [--json]   (npm run prepull pulls them)";
  const out: Args = { stack: process.env.STACK ?? "dev", json: false, pull: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--stack" || a === "--charts" || a === "--kube-version") {
      const v = argv[++i];
      if (!v || v.startsWith("--")) throw new ImagesError(`${a} needs a value\n${usage}`);
      if (a === "--stack") out.stack = v;
      else if (a === "--charts") out.charts = path.resolve(v);
      else if (!/^v\d+\.\d+\.\d+$/.test(v))
        throw new ImagesError(
          `--kube-version ${v}: give the cluster's version as kubectl version prints it (v1.35.2)`,
        );
      else out.kubeVersion = v;
    } else if (a === "--json") out.json = true;
    else if (a === "--pull") out.pull = true;
    else throw new ImagesError(`unknown argument '${a}'\n${usage}`);
  }
  return out;
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const config = parseCastleConfig(withProjectDefaults(readStackFile(args.stack)));
  if (args.pull) refuseExistingCluster(config);
  if (config.clusterProvider !== "kind" && !args.kubeVersion) {
    throw new ImagesError(
      `stack ${args.stack} runs on an existing cluster: pass --kube-version with its Kubernetes version (kubectl version, Server Version), which the charts render for`,
    );
  }
  const charts = args.charts ?? (config.chartMirror?.kind === "folder" ? config.chartMirror.path : undefined);
  if (!charts) {
    throw new ImagesError(
      `stack ${args.stack} has no chartMirror folder: pass --charts <folder> with the chart archives (helm pull ... -d <folder>)`,
    );
  }
  const bin = execFileSync("bash", [path.join(__dirname, "tools.sh"), "build", "chart-images"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  const list = await stackImages(config, charts, bin, args.kubeVersion);
  if (args.pull) return prepull(list, config);
  if (args.json) console.log(JSON.stringify(list, null, 2));
  else for (const s of list.sources) console.log(`# ${s.source}\n${s.images.join("\n")}`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    console.error(e instanceof ImagesError ? `images: ${e.message}` : e.stack);
    process.exit(e instanceof ImagesError ? 1 : 2);
  });
}
