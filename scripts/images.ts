// npm run images -- [--stack dev] [--charts <folder>] [--json]: every container image the stack runs,
// derived from the pins: the kind node image, each Helm release rendered by Helm's own engine with the
// stack's exact values (tools/go/chart-images), and the demo apps' images. For rooms with slow Wi-Fi,
// `npm run prepull` pulls them and loads them into the kind cluster, so the lab works offline once started.
//
// The charts come from the stack's chartMirror folder, or from --charts (a folder of chart archives, as
// `helm pull <repo>/<chart> --version <v>` writes them).

import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { DEMO_CLIENT_IMAGE, DEMO_WEB_IMAGE } from "../components/demo/charts";
import { CastleConfig, parseCastleConfig } from "../config/castleConfig";
import { chartArchiveName, ChartRef, ciliumChart, CILIUM_RELEASE, DEMO_CHART_REFS } from "../lib/helm/charts";
import { readStackFile, recordCastle, renderedObjects, withProjectDefaults } from "../lib/offline/render";

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
  const kubeVersion = /:(v\d+\.\d+\.\d+)/.exec(config.kindNodeImage)?.[1] ?? "v1.35.0";
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

/** `docker pull` each image, then `kind load docker-image` all but the node image into the cluster. */
export function prepull(list: ImageList, config: CastleConfig, run = defaultRun): void {
  const node = list.sources.find((s) => s.source === "kind node")?.images ?? [];
  for (const image of list.all) run("docker", ["pull", image]);
  const workload = list.all.filter((i) => !node.includes(i));
  if (workload.length > 0) run("kind", ["load", "docker-image", "--name", config.clusterName, ...workload]);
}

function defaultRun(cmd: string, args: string[]): void {
  console.error(`$ ${cmd} ${args.join(" ")}`);
  const res = spawnSync(cmd, args, { stdio: "inherit" });
  if (res.status !== 0)
    throw new ImagesError(
      `${cmd} ${args.slice(0, 2).join(" ")} failed (exit ${res.status ?? res.error?.message})`,
    );
}

function parseArgs(argv: string[]): { stack: string; charts?: string; json: boolean; pull: boolean } {
  const usage =
    "usage: npm run images -- [--stack <name>] [--charts <folder>] [--json]   (npm run prepull pulls them)";
  const out = {
    stack: process.env.STACK ?? "dev",
    charts: undefined as string | undefined,
    json: false,
    pull: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--stack" || a === "--charts") {
      const v = argv[++i];
      if (!v || v.startsWith("--")) throw new ImagesError(`${a} needs a value\n${usage}`);
      if (a === "--stack") out.stack = v;
      else out.charts = path.resolve(v);
    } else if (a === "--json") out.json = true;
    else if (a === "--pull") out.pull = true;
    else throw new ImagesError(`unknown argument '${a}'\n${usage}`);
  }
  return out;
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const config = parseCastleConfig(withProjectDefaults(readStackFile(args.stack)));
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
  const list = await stackImages(config, charts, bin);
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
