import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PassThrough } from "stream";
import { main } from "../../cli/main";
import { loadStackConfig, renderedObjects, writeRender, withProjectDefaults } from "../../render/render";
import { parseCastleConfig, RawConfig } from "../../config/castleConfig";
import { devRawConfig, record } from "../harness";
import { fromStack } from "../../cli/sources";
import { buildMatrix } from "../../verifier/matrix";
import { matrixHtml } from "../../verifier/html";

export interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs the castle CLI in-process, as `npx castle ...` would. */
export async function castle(...argv: string[]): Promise<Run> {
  let out = "";
  let err = "";
  const stdin = new PassThrough();
  stdin.end();
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s), stdin, isTTY: false });
  return { code, out, err };
}

/** Renders a stack config (dev's, changed by `edit`) into a fresh directory, as npm run render --out does. */
export async function renderTo(
  edit: (raw: RawConfig) => RawConfig = (r) => r,
  name = "render",
): Promise<string> {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "castle-")), name);
  const config = parseCastleConfig(withProjectDefaults(edit(devRawConfig())));
  writeRender(dir, renderedObjects(await record(config, "dev")));
  return dir;
}

export { loadStackConfig };

/** The dev stack's matrix as `castle matrix --stack dev --format html` writes it. */
export async function devMatrixHtml(): Promise<string> {
  return matrixHtml(buildMatrix(await fromStack("dev")));
}
