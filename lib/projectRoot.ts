// The project's root folder (where Pulumi.yaml is), from the TypeScript sources or their compiled copy in
// dist/ (the fast `castle` command runs the latter), so paths never depend on where the code was built.

import * as fs from "node:fs";
import * as path from "node:path";

export function projectRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml")) && fs.existsSync(path.join(dir, "package.json")))
      return dir;
    if (path.dirname(dir) === dir)
      throw new Error(`no Pulumi.yaml above ${from}: not inside the cilium-castle project`);
  }
}
