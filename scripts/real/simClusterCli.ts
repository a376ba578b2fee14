// `npm run sim-cluster`: the simulated cluster of scripts/real/simCluster.ts in the foreground.

import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { buildKindConfig } from "../../components/cluster/kindConfig";
import { parseCastleConfig } from "../../config/castleConfig";
import { readStackFile, withProjectDefaults } from "../../render/render";
import { nodesFromKindConfig, startSimCluster } from "./simCluster";

/**
 * `npm run sim-cluster [-- --stack <name>] [--keep]`: a simulated cluster with the nodes of the stack's kind
 * config (dev by default) in the foreground; Ctrl-C stops it and removes its folder.
 */
async function main(argv: string[]): Promise<void> {
  const usage = "usage: npm run sim-cluster [-- --stack <name>] [--keep]";
  let stack = "dev";
  let keep = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--stack" && argv[i + 1]) stack = argv[++i]!;
    else if (argv[i] === "--keep") keep = true;
    else if (argv[i] === "--help" || argv[i] === "-h") {
      console.log(usage);
      return;
    } else throw new UsageError(`unknown argument '${argv[i]}'\n${usage}`);
  }
  const config = parseCastleConfig(withProjectDefaults(readStackFile(stack)));
  const kindConfig = buildKindConfig(config.clusterName, config.kindNodes, config.kindNodeImage);
  const binDir = execFileSync(
    "bash",
    [path.join(__dirname, "..", "tools.sh"), "build", "etcd", "kube", "kwok"],
    {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    },
  ).trim();
  const started = Date.now();
  const cluster = await startSimCluster({ binDir, nodes: nodesFromKindConfig(kindConfig), keep });
  console.log(
    `simulated cluster ready in ${((Date.now() - started) / 1000).toFixed(1)}s: ${kindConfig.nodes.length} nodes`,
  );
  console.log(`export KUBECONFIG=${cluster.kubeconfigPath}`);
  console.log(`logs: ${path.join(cluster.dir, "logs")}; Ctrl-C stops it`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await cluster.stop();
}

class UsageError extends Error {}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    console.error(e instanceof UsageError ? e.message : `sim-cluster: ${e.message}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}
