// Flows written for the dev stack: what replay judges, how it groups the would-drops, which layer it names,
// and that every suggested rule is valid YAML that, added to the stack's policies, lets the flow through.

import { strict as assert } from "assert";
import * as YAML from "yaml";
import { checkCiliumPolicy } from "../../verifier/engine/checkCiliumRule";
import { CiliumPolicyObject, PolicyEngine } from "../../verifier/engine";
import { formatReplay, replayLines, ReplayGroup, ReplayReport } from "../../verifier/replay";
import { CastleInputs, fromStack } from "../../cli/sources";
import { crdSchemaErrors } from "../support/ciliumSchemas";
import { JUMPHOST_IP, scenarioLines, SSH_IPS, WORLD_IP } from "./devFlows";
import { EP, flowLine, pod } from "../../scripts/hubbleFlows";

const withPolicies = (inputs: CastleInputs, extra: CiliumPolicyObject[]): CastleInputs => ({
  ...inputs,
  policies: [...inputs.policies, ...extra],
});

function group(r: ReplayReport, source: string, destination: string, port: string): ReplayGroup {
  const g = r.groups.find((x) => x.source === source && x.destination === destination && x.port === port);
  assert.ok(
    g,
    `no group ${source} -> ${destination} ${port} in ${JSON.stringify(r.groups.map((x) => x.source))}`,
  );
  return g;
}

/** The suggestion as a reviewer gets it: YAML documents, parsed back. */
function parsedSuggestion(g: ReplayGroup): CiliumPolicyObject[] {
  const docs = YAML.parseAllDocuments(g.suggestion.yaml);
  for (const d of docs) assert.deepEqual(d.errors, []);
  return docs.map((d) => d.toJS() as CiliumPolicyObject);
}

describe("replay: generated dev-stack flows", function () {
  this.timeout(120000);
  let dev: CastleInputs;
  let report: ReplayReport;
  const lines = scenarioLines();

  before(async () => {
    dev = await fromStack("dev");
    report = replayLines(lines, dev);
  });

  it("counts lines, replies, skips and would-drops", () => {
    assert.deepEqual(report.totals, {
      linesRead: 22,
      blankLines: 1,
      invalidLines: 0,
      events: { lost_events: 1, node_status: 1 },
      flows: 19,
      // the reply of the cross-namespace connection, and the old-style `reply: true` echo reply
      replies: 2,
      repliesGuessed: 0,
      // 2 in-namespace, 3 cross-namespace, nginx, 2 world, 2 DNS, 4 SSH, the jumphost, the zero-field SYN
      judged: 16,
      allowed: 7,
      wouldDrop: 9,
      skipped: 1,
      skippedByReason: { "reserved:health (Cilium health endpoint)": 1 },
      hubbleVerdicts: { FORWARDED: 8, AUDIT: 9, VERDICT_UNKNOWN: 2 },
      wouldDropHubbleAudit: 9,
      wouldDropHubbleDropped: 0,
      hubbleDropsAllowed: 0,
    });
    assert.deepEqual(report.nodes, [
      { hubble: "castle-worker2", node: "castle-worker2", how: "exact" },
      { hubble: "castle-worker", node: "castle-worker", how: "exact" },
    ]);
    // Pods are added per label set and node: demo-shop's web is seen on castle-worker2 and, as nginx's
    // peer, on castle-worker (the node decides whether a host peer is the local host).
    assert.deepEqual(report.endpoints, { pods: 7, externals: 0 });
  });

  it("groups the would-drops by source class, destination class and port, largest first", () => {
    assert.deepEqual(
      report.groups.map((g) => [g.count, g.source, g.destination, g.port, g.layer, g.directions.join("+")]),
      [
        [4, "world", "host castle-worker2", "22/TCP", "node", "ingress"],
        [
          3,
          "demo-shop/app.kubernetes.io/name=demo-client",
          "demo-batch/app.kubernetes.io/name=demo-web",
          "8080/TCP",
          "user",
          "egress+ingress",
        ],
        [2, "demo-batch/app.kubernetes.io/name=demo-client", "world", "443/TCP", "user", "egress"],
      ],
    );
    const ssh = report.groups[0];
    assert.deepEqual(ssh.sourceIps, SSH_IPS);
    assert.deepEqual(ssh.hubbleVerdicts, { AUDIT: 4 });
    assert.equal(ssh.firstTime, "2026-11-24T12:00:50.000000000Z");
    assert.equal(ssh.lastTime, "2026-11-24T12:00:53.000000000Z");
    const cross = report.groups[1];
    assert.deepEqual(cross.sourcePods, ["demo-client-7c9f-0", "demo-client-7c9f-1", "demo-client-7c9f-2"]);
    assert.deepEqual(cross.destinationPods, ["demo-web-8a21-0"]);
    assert.deepEqual(cross.deniedBy, []);
    const web = report.groups[2];
    assert.deepEqual([web.destinationIps, web.destinationNames], [[WORLD_IP], ["example.com"]]);
  });

  it("suggests a CCNP with nodeSelector for the node, CNPs in the namespaces for pods", () => {
    const [ssh, cross, web] = report.groups;
    assert.deepEqual(parsedSuggestion(ssh), [
      {
        apiVersion: "cilium.io/v2",
        kind: "CiliumClusterwideNetworkPolicy",
        metadata: {
          name: "replay-world-to-castle-worker2-22-tcp",
          labels: { "castle.cilium.io/layer": "node" },
        },
        spec: {
          description:
            "Allow world to reach host castle-worker2 on 22/TCP (castle replay: 4 flows seen by Hubble): ingress at host castle-worker2",
          nodeSelector: {
            matchExpressions: [
              { key: "node-role.kubernetes.io/control-plane", operator: "DoesNotExist" },
              { key: "node-role.kubernetes.io/infra", operator: "DoesNotExist" },
            ],
          },
          ingress: [
            {
              fromCIDR: ["198.51.100.7/32", "198.51.100.8/32"],
              toPorts: [{ ports: [{ port: "22", protocol: "TCP" }] }],
            },
          ],
        },
      },
    ]);
    assert.ok(ssh.suggestion.notes.some((n) => n.includes("no-open-ssh") && n.includes("jumphostCidrs")));

    const [egress, ingress] = parsedSuggestion(cross);
    assert.deepEqual(
      [egress.kind, egress.metadata.namespace, egress.metadata.labels, egress.spec?.endpointSelector],
      [
        "CiliumNetworkPolicy",
        "demo-shop",
        { "castle.cilium.io/layer": "user" },
        { matchLabels: { "k8s:app.kubernetes.io/name": "demo-client" } },
      ],
    );
    assert.deepEqual(egress.spec?.egress, [
      {
        toEndpoints: [
          {
            matchLabels: {
              "k8s:app.kubernetes.io/name": "demo-web",
              "k8s:io.kubernetes.pod.namespace": "demo-batch",
            },
          },
        ],
        toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }] }],
      },
    ]);
    assert.deepEqual(
      [ingress.metadata.namespace, ingress.spec?.endpointSelector, ingress.spec?.ingress],
      [
        "demo-batch",
        { matchLabels: { "k8s:app.kubernetes.io/name": "demo-web" } },
        [
          {
            fromEndpoints: [
              {
                matchLabels: {
                  "k8s:app.kubernetes.io/name": "demo-client",
                  "k8s:io.kubernetes.pod.namespace": "demo-shop",
                },
              },
            ],
            toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }] }],
          },
        ],
      ],
    );
    // The pack would refuse it in a user namespace: the report says so instead of pretending.
    assert.ok(cross.suggestion.notes.some((n) => n.includes("user-namespace-walls")));

    const [fqdn] = parsedSuggestion(web);
    assert.deepEqual(fqdn.spec?.egress, [
      { toFQDNs: [{ matchName: "example.com" }], toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }] },
    ]);
  });

  it("every suggested policy passes the CRD schema and the agent's checks", () => {
    const all = report.groups.flatMap(parsedSuggestion);
    assert.equal(all.length, 4);
    for (const p of all) {
      assert.deepEqual(crdSchemaErrors(p), [], p.metadata.name);
      assert.deepEqual(checkCiliumPolicy(p), [], p.metadata.name);
    }
    assert.deepEqual(new PolicyEngine([...dev.policies, ...all], dev.topology).rejected, []);
  });

  it("each suggestion, added to the policies, lets exactly its own group through (fresh engine)", () => {
    for (const g of report.groups) {
      const after = replayLines(lines, withPolicies(dev, parsedSuggestion(g)));
      assert.equal(after.totals.wouldDrop, report.totals.wouldDrop - g.count, g.suggestion.description);
      assert.equal(after.totals.allowed, report.totals.allowed + g.count);
      assert.ok(!after.groups.some((x) => x.source === g.source && x.destination === g.destination));
    }
  });

  it("the suggestions also allow the modelled endpoints of the stack (engine, enforcement)", () => {
    const [ssh, cross, web] = report.groups;
    const topology = {
      ...dev.topology,
      externals: [...dev.topology.externals, { id: "ssh-client", ip: SSH_IPS[1] }],
    };
    const engine = (extra: CiliumPolicyObject[]): PolicyEngine =>
      new PolicyEngine([...dev.policies, ...extra], topology, { auditMode: false });
    const flows = [
      {
        g: cross,
        flow: { from: "pod:demo-shop/client", to: "pod:demo-batch/web", protocol: "TCP", port: 8080 },
      },
      {
        g: web,
        flow: {
          from: "pod:demo-batch/client",
          to: "world",
          protocol: "TCP",
          port: 443,
          dnsName: "example.com",
        },
      },
      { g: ssh, flow: { from: "ssh-client", to: "castle-worker3", protocol: "TCP", port: 22 } },
    ] as const;
    for (const { g, flow } of flows) {
      assert.equal(engine([]).evaluate(flow).verdict, "denied", g.suggestion.description);
      assert.equal(engine(parsedSuggestion(g)).evaluate(flow).verdict, "allowed", g.suggestion.description);
    }
  });

  it("formats the report as a table (largest group first), JSON and Markdown", () => {
    const table = formatReplay(report, "table");
    const rows = table.split("\n");
    const header = rows.findIndex((l) => l.startsWith("#  COUNT"));
    assert.ok(header > 0, table);
    assert.match(rows[header + 1], /^1 +4 +world +host castle-worker2 +22\/TCP +node +ingress +AUDIT 4/);
    assert.match(rows[header + 2], /^2 +3 +demo-shop\/app\.kubernetes\.io\/name=demo-client +demo-batch/);
    assert.match(rows[0], /22 lines, 19 flows: 16 judged, 2 replies \(not judged\), 1 skipped/);
    assert.match(
      rows[1],
      /would drop: 9 flows in 3 groups; Hubble itself marked 9 of them AUDIT and 0 DROPPED/,
    );
    assert.ok(table.includes("kind: CiliumClusterwideNetworkPolicy"));
    assert.deepEqual(JSON.parse(formatReplay(report, "json")), JSON.parse(JSON.stringify(report)));
    const md = formatReplay(report, "markdown");
    assert.ok(md.startsWith("# castle replay: stack dev\n"));
    assert.ok(md.includes("| 1 | 4 | world | host castle-worker2 | 22/TCP | node | ingress | AUDIT 4 |"));
    assert.equal(md.split("```yaml").length - 1, 3);
  });
});

describe("replay: mapping Hubble endpoints onto the stack", function () {
  this.timeout(120000);
  let dev: CastleInputs;
  before(async () => {
    dev = await fromStack("dev");
  });
  const one = (spec: Parameters<typeof flowLine>[0], inputs?: CastleInputs): ReplayReport =>
    replayLines([flowLine(spec)], inputs ?? dev);

  it("the stack's namespace labels win over the capture's (the stack will set them)", () => {
    const stale = pod("demo-shop", { "app.kubernetes.io/name": "demo-web" }, "demo-web-1", {
      namespaceLabels: { exposed: "false", metrics: "false" },
    });
    const r = one({ src: EP.nginx(), dst: stale, proto: "TCP", port: 8080, node: "castle-worker" });
    assert.deepEqual([r.totals.allowed, r.totals.wouldDrop], [1, 0]);
  });

  it("two replicas with one identity are judged; a pod talking to itself is not", () => {
    const a = pod("team-x", { app: "api" }, "api-1");
    const b = pod("team-x", { app: "api" }, "api-2");
    const r = replayLines(
      [
        flowLine({ src: a, dst: b, proto: "TCP", port: 8080 }),
        flowLine({ src: a, dst: a, srcIp: "10.244.2.5", dstIp: "10.244.2.5", proto: "TCP", port: 8080 }),
      ],
      dev,
    );
    assert.deepEqual([r.totals.judged, r.totals.allowed, r.totals.wouldDrop], [2, 1, 1]);
    assert.equal(r.groups[0].source, "team-x/app=api");
    assert.equal(r.groups[0].destination, "team-x/app=api");
    assert.ok(r.groups[0].suggestion.notes.some((n) => n.startsWith("namespace team-x is not in stack dev")));
  });

  it("the local host reaches its pods (allow-localhost); a pod reaching its node is node-layer", () => {
    assert.equal(one({ src: EP.host(), dst: EP.batchWeb(), proto: "TCP", port: 8080 }).totals.allowed, 1);
    const r = one({ src: EP.shopClient(), dst: EP.host(), proto: "TCP", port: 10250 });
    assert.equal(r.groups.length, 1);
    const g = r.groups[0];
    assert.deepEqual(
      [g.source, g.destination, g.layer, g.directions],
      ["demo-shop/app.kubernetes.io/name=demo-client", "host castle-worker2", "node", ["egress", "ingress"]],
    );
    const [egress, ingress] = g.suggestion.policies;
    assert.deepEqual(egress.spec?.egress?.[0].toEntities, ["host"]);
    assert.equal(egress.metadata.labels?.["castle.cilium.io/layer"], "user");
    assert.equal(ingress.kind, "CiliumClusterwideNetworkPolicy");
    assert.equal(ingress.metadata.labels?.["castle.cilium.io/layer"], "node");
    const after = replayLines(
      [flowLine({ src: EP.shopClient(), dst: EP.host(), proto: "TCP", port: 10250 })],
      withPolicies(dev, g.suggestion.policies),
    );
    assert.equal(after.totals.allowed, 1);
  });

  it("remote-node and kube-apiserver become other nodes of the stack", () => {
    // Health checks from other nodes are allowed into every pod; anything else is not.
    assert.equal(
      one({ src: EP.remoteNode(), dst: EP.shopWeb(), proto: "TCP", port: 4240 }).totals.allowed,
      1,
    );
    const r = one({ src: EP.remoteNode(), dst: EP.shopWeb(), proto: "TCP", port: 8080 });
    assert.deepEqual(
      [
        r.groups[0].source,
        r.groups[0].layer,
        r.groups[0].suggestion.policies[0].spec?.ingress?.[0].fromEntities,
      ],
      ["remote-node", "user", ["remote-node"]],
    );
    // The API server calls the ingress-nginx admission webhook: kapi-to-nginx-admission.
    const kapi = { identity: 7, labels: ["reserved:kube-apiserver", "reserved:remote-node"] };
    const w = one({ src: kapi, dst: EP.nginx(), proto: "TCP", port: 8443, node: "castle-worker" });
    assert.deepEqual([w.totals.allowed, w.totals.wouldDrop], [1, 0]);
    const denied = one({ src: kapi, dst: EP.nginx(), proto: "TCP", port: 9443, node: "castle-worker" });
    assert.deepEqual(
      [
        denied.groups[0].source,
        denied.groups[0].layer,
        denied.groups[0].suggestion.policies[0].spec?.ingress?.[0].fromEntities,
      ],
      ["kube-apiserver", "infra", ["kube-apiserver"]],
    );
  });

  it("maps Hubble node names with nodeMap, by exact name, else to the first worker", () => {
    const line = flowLine({
      src: EP.world(),
      dst: EP.host(),
      srcIp: JUMPHOST_IP,
      proto: "TCP",
      port: 22,
      node: "c1/cp-1",
    });
    const fallback = replayLines([line], dev);
    assert.deepEqual(fallback.nodes, [{ hubble: "c1/cp-1", node: "castle-worker2", how: "first worker" }]);
    const mapped = replayLines([line], dev, { nodeMap: { "cp-1": "castle-control-plane" } });
    assert.deepEqual(mapped.nodes, [{ hubble: "c1/cp-1", node: "castle-control-plane", how: "nodeMap" }]);
    assert.equal(mapped.totals.allowed, 1);
    // 6443 is open on control planes only.
    const api = flowLine({
      src: EP.world(),
      dst: EP.host(),
      srcIp: WORLD_IP,
      proto: "TCP",
      port: 6443,
      node: "cp-1",
    });
    assert.equal(replayLines([api], dev, { nodeMap: { "cp-1": "castle-control-plane" } }).totals.allowed, 1);
    assert.equal(replayLines([api], dev).totals.wouldDrop, 1);
  });

  it("unlabelled addresses: in the cluster skipped, outside judged as world", () => {
    const r = replayLines(
      [
        flowLine({ src: {}, dst: EP.shopWeb(), srcIp: "10.244.3.3", proto: "TCP", port: 8080 }),
        flowLine({ src: {}, dst: EP.shopWeb(), srcIp: "203.0.113.50", proto: "TCP", port: 8080 }),
      ],
      dev,
    );
    assert.deepEqual(r.totals.skippedByReason, { "no identity labels for an in-cluster address": 1 });
    assert.deepEqual(
      r.groups.map((g) => [g.source, g.destination, g.directions.join("+")]),
      [["world", "demo-shop/app.kubernetes.io/name=demo-web", "ingress"]],
    );
  });

  it("a deny rule is reported: no allow rule is suggested for the direction it drops", () => {
    const deny: CiliumPolicyObject = {
      apiVersion: "cilium.io/v2",
      kind: "CiliumNetworkPolicy",
      metadata: { name: "no-batch", namespace: "demo-shop" },
      spec: {
        endpointSelector: {},
        egressDeny: [{ toEndpoints: [{ matchLabels: { "k8s:io.kubernetes.pod.namespace": "demo-batch" } }] }],
      },
    };
    const r = one(
      { src: EP.shopClient(), dst: EP.batchWeb(), proto: "TCP", port: 8080 },
      withPolicies(dev, [deny]),
    );
    const g = r.groups[0];
    assert.deepEqual(g.deniedBy, ["demo-shop/no-batch"]);
    assert.deepEqual(
      g.suggestion.policies.map((p) => p.metadata.namespace),
      ["demo-batch"],
    );
    assert.ok(g.suggestion.notes.some((n) => n.startsWith("deny rules drop it (demo-shop/no-batch)")));
  });

  it("gives suggested policies unique names per namespace (cluster-wide ones across the cluster)", () => {
    const r = replayLines(
      [
        flowLine({ src: EP.shopClient(), dst: EP.host(), proto: "TCP", port: 10250 }),
        flowLine({ src: EP.batchClient(), dst: EP.host(), proto: "TCP", port: 10250 }),
      ],
      dev,
    );
    const shop = group(r, "demo-shop/app.kubernetes.io/name=demo-client", "host castle-worker2", "10250/TCP");
    const batch = group(
      r,
      "demo-batch/app.kubernetes.io/name=demo-client",
      "host castle-worker2",
      "10250/TCP",
    );
    const names = [...shop.suggestion.policies, ...batch.suggestion.policies].map(
      (p) => `${p.kind} ${p.metadata.namespace ?? ""}/${p.metadata.name}`,
    );
    assert.deepEqual(names.sort(), [
      "CiliumClusterwideNetworkPolicy /replay-demo-client-to-castle-worker2-10250-tcp-ingress",
      "CiliumClusterwideNetworkPolicy /replay-demo-client-to-castle-worker2-10250-tcp-ingress-2",
      "CiliumNetworkPolicy demo-batch/replay-demo-client-to-castle-worker2-10250-tcp-egress",
      "CiliumNetworkPolicy demo-shop/replay-demo-client-to-castle-worker2-10250-tcp-egress",
    ]);
    // All of them together let both through.
    const after = replayLines(
      [
        flowLine({ src: EP.shopClient(), dst: EP.host(), proto: "TCP", port: 10250 }),
        flowLine({ src: EP.batchClient(), dst: EP.host(), proto: "TCP", port: 10250 }),
      ],
      withPolicies(dev, [...shop.suggestion.policies, ...batch.suggestion.policies]),
    );
    assert.deepEqual([after.totals.allowed, after.totals.wouldDrop], [2, 0]);
  });

  it("counts replies without parsing them, but only what Hubble itself marks as a reply", () => {
    const base = JSON.parse(flowLine({ src: EP.shopClient(), dst: EP.batchWeb(), proto: "TCP", port: 8080 }));
    const variant = (flow: object): string => JSON.stringify({ ...base, flow: { ...base.flow, ...flow } });
    const r = replayLines(
      [
        // A header value that spells the field is escaped inside its JSON string: not a reply.
        variant({ l7: { http: { headers: [{ key: "x", value: '{"is_reply":true}' }] } } }),
        // is_reply wins over the deprecated reply.
        variant({ reply: true, is_reply: false }),
        variant({ reply: true, is_reply: undefined, verdict: 2 }),
        variant({ is_reply: true, verdict: 4 }),
        variant({ is_reply: { value: true } }),
      ],
      dev,
    );
    assert.deepEqual([r.totals.judged, r.totals.wouldDrop, r.totals.replies], [2, 2, 3]);
    assert.deepEqual(r.totals.hubbleVerdicts, { FORWARDED: 3, DROPPED: 1, AUDIT: 1 });
  });

  it("ICMP: echo to the node drops only at the pod's egress (host-all allows it); across namespaces icmps", () => {
    const echo = (src: object, dst: object): string => flowLine({ src, dst, proto: "ICMPv4", icmpType: 8 });
    const toNode = replayLines([echo(EP.shopClient(), EP.host())], dev).groups;
    assert.deepEqual(
      toNode.map((x) => [x.destination, x.port, x.directions, x.layer]),
      [["host castle-worker2", "ICMP type 8", ["egress"], "user"]],
    );
    const r = replayLines([echo(EP.shopClient(), EP.batchWeb())], dev);
    const g = group(
      r,
      "demo-shop/app.kubernetes.io/name=demo-client",
      "demo-batch/app.kubernetes.io/name=demo-web",
      "ICMP type 8",
    );
    assert.deepEqual(g.suggestion.policies[1].spec?.ingress?.[0].icmps, [
      { fields: [{ type: 8, family: "IPv4" }] },
    ]);
    for (const p of g.suggestion.policies) assert.deepEqual(crdSchemaErrors(p), []);
    const after = replayLines(
      [echo(EP.shopClient(), EP.batchWeb())],
      withPolicies(dev, g.suggestion.policies),
    );
    assert.equal(after.totals.allowed, 1);
  });

  it("counts flows Hubble dropped that the stack allows", () => {
    const r = one({ src: EP.shopClient(), dst: EP.shopWeb(), proto: "TCP", port: 8080, verdict: "DROPPED" });
    assert.deepEqual([r.totals.allowed, r.totals.hubbleDropsAllowed], [1, 1]);
  });
});
