// Hubble flows for the dev stack, in `hubble observe -o json` form, for the benchmark: a mix of allowed,
// cross-namespace, world and host flows, replies and DNS, over a few hundred distinct pods. The lines are
// the replay tests' (scripts/hubbleFlows.ts), in a fixed rotation.

import * as fs from "fs";
import { EP, FlowSpec, flowLine } from "./hubbleFlows";

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);

function spec(i: number): FlowSpec {
  const k = i % 10;
  const shop = k < 5 ? EP.shopClient(i % 300) : EP.shopWeb(i % 300);
  const batch = EP.batchWeb((i >> 3) % 300);
  const nginx = EP.nginx(i % 4);
  const base = { node: "castle-worker", time: new Date(T0 + i).toISOString(), srcPort: 40000 + (i % 20000) };
  switch (k) {
    case 0: // crosses a wall
      return { ...base, src: shop, dst: batch, proto: "TCP", port: 8080, verdict: "AUDIT" };
    case 1:
      return { ...base, src: shop, dst: EP.coredns(), proto: "UDP", port: 53 };
    case 2:
      return { ...base, src: nginx, dst: shop, proto: "TCP", port: 8080 };
    case 3:
      return { ...base, src: shop, dst: EP.world(), proto: "TCP", port: 443, verdict: "AUDIT" };
    case 4:
      return { ...base, src: EP.world(), dst: EP.host(), proto: "TCP", port: 22, verdict: "AUDIT" };
    case 5: // a reply
      return { ...base, src: batch, dst: shop, proto: "TCP", port: 8080, isReply: true, syn: false };
    case 6:
      return { ...base, src: shop, dst: shop, proto: "TCP", port: 8080 };
    case 7:
      return { ...base, src: batch, dst: EP.coredns(), proto: "UDP", port: 53 };
    case 8:
      return { ...base, src: EP.host(), dst: batch, proto: "TCP", port: 8080 };
    default:
      return { ...base, src: nginx, dst: batch, proto: "TCP", port: 8080 };
  }
}

/** Writes `count` flow lines to `file`, in chunks, without holding them in memory. */
export function writeFlowFile(file: string, count: number): void {
  const fd = fs.openSync(file, "w");
  try {
    for (let i = 0; i < count; i += 10_000) {
      const chunk: string[] = [];
      for (let j = i; j < Math.min(count, i + 10_000); j++) chunk.push(flowLine(spec(j)));
      fs.writeSync(fd, chunk.join("\n") + "\n");
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** `npm run sample-flows -- <file> [count]`: a Hubble capture of the dev stack's demo, for the workshop. */
if (require.main === module) {
  const [file, countText] = process.argv.slice(2);
  const count = Number(countText ?? 2000);
  const usage = "usage: npm run sample-flows -- <file> [count]";
  if (file === "-h" || file === "--help") {
    console.log(usage);
    process.exit(0);
  }
  // A flag is never a file name: `--help` once became a 2 MB file.
  if (!file || file.startsWith("-") || !Number.isInteger(count) || count < 1) {
    console.error(file?.startsWith("-") ? `sample-flows: unknown option '${file}'\n${usage}` : usage);
    process.exit(2);
  }
  writeFlowFile(file, count);
  console.log(`wrote ${count} flows of the dev stack's demo to ${file}`);
}
