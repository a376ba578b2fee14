// The scripts of the Cilium CRD gate and the kind command, as sh parses them. The rest of the Cilium
// component is tested in process in cilium.test.ts.

import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { crdGateScript } from "../components/cilium/crdGate";
import { buildStack, byTypeName, devRawConfig, one, Recording, tempDir } from "./harness";

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

  it("waits out a CRD whose status has no conditions yet (kubectl wait's accessor error), then passes", () => {
    // A stub kubectl: every CRD exists; `wait` fails twice as kubectl does on a CRD without conditions.
    const dir = tempDir("castle-gate-");
    const count = path.join(dir, "waits");
    fs.writeFileSync(
      path.join(dir, "kubectl"),
      `#!/bin/sh\ncase "$1" in\n  get) exit 0 ;;\n  wait)\n    n=$(cat "${count}" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "${count}"\n    if [ "$n" -le 2 ]; then echo 'error: .status.conditions accessor error: <nil> is of the type <nil>, expected []interface{}' >&2; exit 1; fi\n    exit 0 ;;\nesac\n`,
      { mode: 0o755 },
    );
    const r = spawnSync("sh", ["-c", crdGateScript(60)], {
      encoding: "utf8",
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, CASTLE_KUBECONFIG: "" },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /ciliumnetworkpolicies\.cilium\.io ciliumclusterwidenetworkpolicies\.cilium\.io established/,
    );
    assert.equal(fs.readFileSync(count, "utf8").trim(), "4", "two failed waits, then one per CRD");
  });

  it("gives up at the deadline with the CRD's name and what to look at", () => {
    const dir = tempDir("castle-gate-");
    fs.writeFileSync(
      path.join(dir, "kubectl"),
      `#!/bin/sh\ncase "$1" in\n  get) exit 0 ;;\n  wait) echo 'error: .status.conditions accessor error' >&2; exit 1 ;;\nesac\n`,
      { mode: 0o755 },
    );
    const r = spawnSync("sh", ["-c", crdGateScript(0)], {
      encoding: "utf8",
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, CASTLE_KUBECONFIG: "" },
    });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /cilium-castle: CRD ciliumnetworkpolicies\.cilium\.io was not Established within 0s; check 'kubectl get crd ciliumnetworkpolicies\.cilium\.io -o yaml'/,
    );
  });
});
