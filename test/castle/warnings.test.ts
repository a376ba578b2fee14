// Refused policies and fields the engine does not model are told before the result, on stderr, by every
// command that gives verdicts; nothing is skipped silently.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { castle } from "./support";

const POLICIES = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: bad-port, namespace: demo-shop}
spec:
  description: a port out of range
  endpointSelector: {}
  ingress:
  - toPorts: [{ports: [{port: "70000", protocol: TCP}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: to-svc, namespace: demo-shop}
spec:
  description: egress to a Service
  endpointSelector: {}
  egress:
  - toServices: [{k8sService: {serviceName: db, namespace: data}}]
`;

const REFUSED =
  'castle: warning: CNP demo-shop/bad-port is refused by the agent (it takes no effect): unable to parse port "70000"';
const UNMODELLED =
  "castle: warning: CNP demo-shop/to-svc egress[0].toServices is not modelled by the engine: its verdicts read that rule without it";

describe("castle: refused policies and unmodelled fields are told first", function () {
  this.timeout(120_000);
  let file: string;
  before(() => {
    file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "castle-warn-")), "policies.yaml");
    fs.writeFileSync(file, POLICIES);
  });

  const cases: [string, string[]][] = [
    ["why", ["--from", "pod:demo-shop/client", "--to", "world", "--port", "443"]],
    ["check", []],
    ["matrix", ["-o", "json"]],
  ];
  for (const [command, args] of cases) {
    it(`${command} prints both warnings on stderr, then its result`, async () => {
      const r = await castle(command, "--stack", "dev", "--policies", file, ...args);
      assert.deepEqual(r.err.trim().split("\n"), [REFUSED, UNMODELLED], r.err);
      assert.ok(r.out.length > 0, "the result still comes");
    });
  }

  it("replay prints them too", async () => {
    const flows = path.join(path.dirname(file), "flows.json");
    fs.writeFileSync(flows, "");
    const r = await castle("replay", "--stack", "dev", "--policies", file, flows);
    assert.ok(r.err.startsWith(`${REFUSED}\n${UNMODELLED}\n`), r.err);
  });

  it("the dev stack's own policies give no warning", async () => {
    const r = await castle("check", "--stack", "dev");
    assert.equal(r.err, "");
    assert.equal(r.code, 0, r.out);
  });
});
