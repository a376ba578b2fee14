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
// data/db is no Service of the dev stack's model (it has default/kubernetes and kube-system/kube-dns).
const UNMODELLED =
  "castle: warning: CNP demo-shop/to-svc egress[0].toServices[0] names no Service of the cluster model (default/kubernetes, kube-system/kube-dns): Cilium gives the rule no peer from it";

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

  it("what the CRD schema refuses is refused by the API server, and left out of every verdict", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "castle-schema-"));
    const policy = (name: string, ingress: string, selector = "{}") =>
      `apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: ${name}, namespace: demo-shop}\nspec:\n  description: ${name}\n  endpointSelector: ${selector}\n  ingress:\n  - ${ingress}\n`;
    // The examples: each a policy the API server never stores.
    const file = path.join(dir, "refused.yaml");
    fs.writeFileSync(
      file,
      [
        policy("world-ipv4", "fromEntities: [world-ipv4]"),
        policy("lower-tcp", `toPorts: [{ports: [{port: "80", protocol: tcp}]}]`),
        policy("unquoted", "toPorts: [{ports: [{port: 80, protocol: TCP}]}]"),
        policy("icmp-typo", "icmps: [{fields: [{type: EchoRequst}]}]"),
        policy("bad-label", "{}", `{matchLabels: {app: "not a value!"}}`),
      ].join("---\n"),
    );
    for (const cache of ["on", "off"]) {
      process.env.CASTLE_RENDER_CACHE = cache;
      try {
        const r = await castle(
          "why",
          "--stack",
          "dev",
          "--policies",
          file,
          "--from",
          "world",
          "--to",
          "pod:demo-shop/web",
          "--port",
          "80",
        );
        const lines = r.err.trim().split("\n");
        assert.equal(lines.length, 5, r.err);
        for (const [name, why] of [
          [
            "world-ipv4",
            /spec\.ingress\[0\]\.fromEntities\[0\]: Unsupported value: "world-ipv4": supported values: "all", /,
          ],
          [
            "lower-tcp",
            /spec\.ingress\[0\]\.toPorts\[0\]\.ports\[0\]\.protocol: Unsupported value: "tcp": supported/,
          ],
          ["unquoted", /ports\[0\]\.port: Invalid value: 80: .* must be of type string: "integer"/],
          ["icmp-typo", /fields\[0\]\.type: Invalid value: "EchoRequst": .* should match/],
          ["bad-label", /matchLabels\.app: Invalid value: "not a value!": .* should match/],
        ] as const) {
          const line = lines.find((l) =>
            l.startsWith(
              `castle: warning: CNP demo-shop/${name} is refused by the API server (Cilium 1.19's CRD schema) (it takes no effect): `,
            ),
          );
          assert.ok(line, `${name}: ${r.err}`);
          assert.match(line, why);
        }
        // None of them is stored, so nothing selects demo-shop's web pod: default allow.
        assert.match(r.out, /^world → pod:demo-shop\/web 80\/tcp: ALLOWED/, r.out);
      } finally {
        delete process.env.CASTLE_RENDER_CACHE;
      }
    }
  });

  it("the dev stack's own policies give no warning", async () => {
    const r = await castle("check", "--stack", "dev");
    assert.equal(r.err, "");
    assert.equal(r.code, 0, r.out);
  });
});
