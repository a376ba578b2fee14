// The real Hubble captures in ../shared/hubble replayed against the dev stack, as if enforced.

import { strict as assert } from "assert";
import * as fs from "fs";
import { CiliumPolicyObject } from "../../verifier/engine";
import { replay, ReplayGroup, ReplayReport } from "../../verifier/replay";
import { CastleInputs, fromStack } from "../../cli/sources";
import { capture } from "./devFlows";

const summary = (g: ReplayGroup): string =>
  `${g.count} ${g.source} -> ${g.destination} ${g.port} ${g.layer} ${g.directions.join("+")}`;

const withPolicies = (inputs: CastleInputs, extra: CiliumPolicyObject[]): CastleInputs => ({
  ...inputs,
  policies: [...inputs.policies, ...extra],
});

describe("replay: real captures against the dev stack", function () {
  this.timeout(120000);
  let dev: CastleInputs;
  const run = (name: string, inputs = dev): Promise<ReplayReport> =>
    replay(fs.createReadStream(capture(name)), inputs);

  before(async () => {
    dev = await fromStack("dev");
  });

  it("kind samples: the POLICY_DENIED SYN is a would-drop in default (user layer, both ends); the link-local RS is skipped", async () => {
    const r = await run("cilium-docs-export-rst-kind-samples.jsonl");
    assert.deepEqual(r.totals, {
      linesRead: 2,
      blankLines: 0,
      invalidLines: 0,
      events: {},
      flows: 2,
      replies: 0,
      repliesGuessed: 0,
      judged: 1,
      allowed: 0,
      wouldDrop: 1,
      skipped: 1,
      skippedByReason: { "no identity labels: link-local, multicast or loopback address": 1 },
      hubbleVerdicts: { DROPPED: 2 },
      wouldDropHubbleAudit: 0,
      wouldDropHubbleDropped: 1,
      hubbleDropsAllowed: 0,
    });
    // kind-kind/kind-worker is not a node of the dev stack: the first worker stands in, and the report says so.
    assert.deepEqual(r.nodes, [
      { hubble: "kind-kind/kind-worker", node: "castle-worker2", how: "first worker" },
    ]);
    assert.ok(r.notes.some((n) => n.includes("kind-kind/kind-worker") && n.includes("castle-worker2")));
    assert.equal(r.groups.length, 1);
    const g = r.groups[0];
    assert.deepEqual(
      {
        source: g.source,
        destination: g.destination,
        port: g.port,
        layer: g.layer,
        directions: g.directions,
        count: g.count,
        hubble: g.hubbleVerdicts,
        first: g.firstTime,
        last: g.lastTime,
        pods: [g.sourcePods, g.destinationPods],
      },
      {
        // Hubble gave namespaces and pod names but no labels: the class is the whole namespace.
        source: "default/*",
        destination: "default/*",
        port: "80/TCP",
        layer: "user",
        directions: ["egress", "ingress"],
        count: 1,
        hubble: { DROPPED: 1 },
        first: "2023-08-21T12:12:18.510175415Z",
        last: "2023-08-21T12:12:18.510175415Z",
        pods: [["xwing"], ["deathstar-7848d6c4d5-th9v2"]],
      },
    );
    // Egress: global-infra-dns selects every pod, so only DNS leaves default. Ingress: the health-check
    // CCNP selects every pod, so only remote-node health checks enter.
    assert.match(g.reasons[0], /^egress: .*default deny .*global-infra-dns/);
    assert.match(g.reasons[1], /^ingress: .*default deny .*global-infra-cilium-health/);
    assert.deepEqual(
      g.suggestion.policies.map((p) => `${p.kind} ${p.metadata.namespace}/${p.metadata.name}`),
      [
        "CiliumNetworkPolicy default/replay-default-to-default-80-tcp-egress",
        "CiliumNetworkPolicy default/replay-default-to-default-80-tcp-ingress",
      ],
    );
    assert.ok(g.suggestion.notes.some((n) => n.startsWith("namespace default is not in stack dev")));
    // The suggestion fixes it.
    const fixed = await run(
      "cilium-docs-export-rst-kind-samples.jsonl",
      withPolicies(dev, g.suggestion.policies),
    );
    assert.deepEqual([fixed.totals.judged, fixed.totals.allowed, fixed.totals.wouldDrop], [1, 1, 0]);
  });

  it("hubble-otel ICMPv4: only health checks and replies, nothing judged", async () => {
    const r = await run("hubble-otel_basic-sample-400-icmpv4-flows.json");
    assert.deepEqual(
      [r.totals.flows, r.totals.replies, r.totals.repliesGuessed, r.totals.judged, r.totals.skipped],
      [18, 7, 3, 0, 11],
    );
    assert.deepEqual(r.totals.skippedByReason, { "reserved:health (Cilium health endpoint)": 11 });
    assert.deepEqual(r.groups, []);
  });

  it("hubble-otel DNS: node-local-dns -> kube-dns 53/TCP is allowed by the infra layer", async () => {
    const r = await run("hubble-otel_basic-sample-5-dns-flows.json");
    assert.deepEqual(
      [r.totals.flows, r.totals.replies, r.totals.judged, r.totals.allowed, r.totals.wouldDrop],
      [5, 2, 3, 3, 0],
    );
  });

  it("hubble-otel 10 flows: istio-system is no namespace of the stack, so its traffic would drop", async () => {
    const r = await run("hubble-otel_basic-sample-10-flows.json");
    assert.deepEqual([r.totals.replies, r.totals.judged, r.totals.allowed, r.totals.wouldDrop], [5, 5, 3, 2]);
    assert.deepEqual(r.groups.map(summary), [
      "1 istio-system/app=prometheus -> bookinfo/app=reviews 15090/TCP user egress+ingress",
      "1 istio-system/app=telemetry -> istio-system/app=galley 9901/TCP user egress+ingress",
    ]);
    const cross = r.groups[0].suggestion;
    assert.deepEqual(
      cross.policies.map((p) => p.metadata.namespace),
      ["istio-system", "bookinfo"],
    );
    assert.ok(cross.notes.some((n) => n.includes("user-namespace-walls")));
  });

  it("hubble-otel 400 TCP flows: bookinfo is not onboarded; six groups, largest first", async () => {
    const r = await run("hubble-otel_basic-sample-400-tcp-flows.json");
    assert.deepEqual(
      {
        flows: r.totals.flows,
        replies: r.totals.replies,
        judged: r.totals.judged,
        allowed: r.totals.allowed,
        wouldDrop: r.totals.wouldDrop,
        skipped: r.totals.skippedByReason,
        hubble: r.totals.hubbleVerdicts,
      },
      {
        flows: 400,
        replies: 136,
        judged: 249,
        allowed: 5,
        wouldDrop: 244,
        skipped: {
          "identity not resolved: a pod reported as reserved:world": 14,
          "reserved:health (Cilium health endpoint)": 1,
        },
        hubble: { FORWARDED: 373, REDIRECTED: 27 },
      },
    );
    assert.deepEqual(r.groups.map(summary), [
      "87 bookinfo/app=ratings -> bookinfo/app=productpage 9080/TCP user egress+ingress",
      "73 bookinfo/app=productpage -> bookinfo/app=details 9080/TCP user egress+ingress",
      "71 bookinfo/app=productpage -> bookinfo/app=reviews 9080/TCP user egress+ingress",
      "10 bookinfo/app=reviews -> bookinfo/app=ratings 9080/TCP user egress+ingress",
      // kube-system may go anywhere (allow-to-everywhere): only the receiving side drops.
      "2 kube-system/app.kubernetes.io/name=otelcol-hubble-collector -> jaeger/app.kubernetes.io/name=jaeger-default 14250/TCP user ingress",
      // The Hubble peer port of a node is open to hubble-relay only.
      "1 kube-system/app.kubernetes.io/name=otelcol-hubble-collector -> host castle-worker2 4244/TCP node ingress",
    ]);
    const reviews = r.groups[2];
    assert.deepEqual(reviews.destinationPods.sort(), [
      "reviews-v1-545db77b95-j2n72",
      "reviews-v2-7bf8c9648f-r7bs2",
      "reviews-v3-84779c7bbc-6x8gl",
    ]);
    assert.deepEqual(reviews.hubbleVerdicts, { FORWARDED: 62, REDIRECTED: 9 });
    assert.equal(reviews.firstTime, "2021-11-10T10:40:56.465597700Z");
    assert.equal(reviews.lastTime, "2021-11-10T10:41:00.344826700Z");
    const host = r.groups[5].suggestion.policies;
    assert.equal(host.length, 1);
    assert.equal(host[0].kind, "CiliumClusterwideNetworkPolicy");
    assert.deepEqual(host[0].spec?.ingress, [
      {
        fromEndpoints: [
          {
            matchLabels: {
              "k8s:app.kubernetes.io/name": "otelcol-hubble-collector",
              "k8s:io.kubernetes.pod.namespace": "kube-system",
            },
          },
        ],
        toPorts: [{ ports: [{ port: "4244", protocol: "TCP" }] }],
      },
    ]);
    // With every suggestion added, nothing in the capture would drop any more.
    const fixed = await run(
      "hubble-otel_basic-sample-400-tcp-flows.json",
      withPolicies(
        dev,
        r.groups.flatMap((g) => g.suggestion.policies),
      ),
    );
    assert.deepEqual([fixed.totals.judged, fixed.totals.wouldDrop], [249, 0]);
  });
});
