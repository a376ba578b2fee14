// Child of the benchmark: replays one file and reports its time and this process's peak memory.

import * as fs from "fs";
import { performance } from "perf_hooks";
import { fromStack } from "../cli/sources";
import { replay } from "../verifier/replay";

async function run(): Promise<void> {
  const inputs = await fromStack("dev");
  const baselineRssMiB = process.memoryUsage().rss / 1024 / 1024;
  const t0 = performance.now();
  const report = await replay(fs.createReadStream(process.argv[2]), inputs, {});
  const seconds = (performance.now() - t0) / 1000;
  // ru_maxrss is in KiB on Linux: the peak of the whole process, render included.
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    JSON.stringify({
      seconds,
      maxRssMiB,
      baselineRssMiB,
      groups: report.groups.length,
      flows: report.totals.flows,
    }) + "\n",
  );
}

run().catch((e) => {
  console.error(e);
  process.exit(1);
});
