// The scripts of the Cilium CRD gate and the kind command, as sh parses them. The rest of the Cilium
// component is tested in process in cilium.test.ts.

import { execFileSync } from "child_process";
import { buildStack, byTypeName, devRawConfig, one, Recording } from "./harness";

describe("cilium: CRD readiness gate", () => {
  let rec: Recording;
  before(async () => {
    rec = await buildStack(devRawConfig());
  });
  const gate = (): ReturnType<typeof one> =>
    one(rec, byTypeName("command:local:Command", "castle-cilium-crd-gate"), "CRD gate");

  it("the gate script is valid POSIX sh", () => {
    execFileSync("sh", ["-n", "-c", gate().inputs.create as string]);
    const kind = one(rec, byTypeName("command:local:Command", "castle-kind"), "kind command");
    execFileSync("sh", ["-n", "-c", kind.inputs.create as string]);
    execFileSync("sh", ["-n", "-c", kind.inputs.delete as string]);
  });
});
