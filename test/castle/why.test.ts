// castle why with ICMP types by name and code, and with the DNS name of toFQDNs and DNS rules.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { castle } from "./support";

const FQDN = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: client-to-api, namespace: demo-shop}
spec:
  description: the client may reach api.example.com on 443, and ask DNS for example.com names
  endpointSelector: {matchLabels: {app.kubernetes.io/name: demo-client}}
  egress:
  - toFQDNs: [{matchName: api.example.com}]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
  - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]
    toPorts: [{ports: [{port: "53", protocol: ANY}], rules: {dns: [{matchPattern: "*.example.com"}]}}]
`;

const first = (out: string): string => out.split("\n")[0]!;

describe("castle why: ICMP types and codes, DNS names", function () {
  this.timeout(120_000);
  let policies: string;
  before(() => {
    policies = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "castle-why-")), "fqdn.yaml");
    fs.writeFileSync(policies, FQDN);
  });
  const why = (...args: string[]) => castle("why", "--stack", "dev", "--enforce", ...args);

  it("an ICMP type by name is the same flow as by number", async () => {
    const byName = await why("--from", "world", "--to", "castle-worker", "--port", "icmp/EchoRequest");
    const byNumber = await why("--from", "world", "--to", "castle-worker", "--port", "icmp/8");
    assert.equal(byName.code, 0, byName.err);
    assert.equal(byName.out, byNumber.out);
    assert.match(first(byName.out), /^world → castle-worker icmp type 8: ALLOWED/);
  });

  it("an ICMP code is shown and never judged (Cilium's icmps match the type only)", async () => {
    const r = await why("--from", "world", "--to", "castle-worker", "--port", "icmp/8/0");
    assert.match(first(r.out), /icmp type 8 code 0 \(policies match the type only\): ALLOWED/);
  });

  it("a name that is no ICMP type is refused with the names to use", async () => {
    const r = await why("--from", "world", "--to", "castle-worker", "--port", "icmp/Bogus");
    assert.notEqual(r.code, 0);
    assert.match(
      r.err,
      /--port icmp\/Bogus: Bogus is not an ICMP type \(0-255, or a name such as EchoRequest/,
    );
    assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
  });

  it("--dns-name decides a toFQDNs rule: the resolved name is allowed, another is not", async () => {
    const client = [
      "--policies",
      policies,
      "--from",
      "pod:demo-shop/client",
      "--to",
      "world",
      "--port",
      "443",
    ];
    assert.match(first((await why(...client)).out), /: DENIED \(decided at egress\)$/);
    assert.match(
      first((await why(...client, "--dns-name", "api.example.com")).out),
      /443\/tcp to api\.example\.com: ALLOWED/,
    );
    assert.match(first((await why(...client, "--dns-name", "other.org")).out), /to other\.org: DENIED/);
  });

  it("--dns-query goes through the DNS proxy: a name the DNS rule allows, and one it refuses", async () => {
    const dns = [
      "--policies",
      policies,
      "--from",
      "pod:demo-shop/client",
      "--to",
      "role:coredns",
      "--port",
      "53/udp",
    ];
    assert.match(
      first((await why(...dns, "--dns-query", "api.example.com")).out),
      /asking DNS for api\.example\.com: ALLOWED \(decided at egress\), through the dns proxy/,
    );
    assert.match(
      first((await why(...dns, "--dns-query", "other.org")).out),
      /asking DNS for other\.org: DENIED \(decided at egress\), through the dns proxy/,
    );
  });
});
