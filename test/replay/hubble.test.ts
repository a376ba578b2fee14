// verifier/hubble.ts: `hubble observe -o json` lines into normalized flows, on the real captures in
// ../shared/hubble and on the odd shapes proto3 JSON and older Hubble releases produce.

import { strict as assert } from "assert";
import * as fs from "fs";
import {
  HubbleLine,
  HubbleLineParser,
  HubbleStats,
  parseHubbleLine,
  parseHubbleObject,
  ReplayFlow,
} from "../../verifier/hubble";
import { capture, HUBBLE_DIR } from "./devFlows";

const linesOf = (file: string): string[] => {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
};

function flowOf(p: HubbleLine): ReplayFlow {
  assert.equal(p.kind, "flow", JSON.stringify(p));
  return (p as { kind: "flow"; flow: ReplayFlow }).flow;
}

const statsOf = (name: string): HubbleStats => {
  const st = new HubbleStats();
  for (const l of linesOf(capture(name))) st.add(parseHubbleLine(l));
  return st;
};

describe("replay: parsing hubble observe -o json", () => {
  it("knows every capture in ../shared/hubble (a new one needs its own expectations here)", () => {
    assert.deepEqual(
      fs
        .readdirSync(HUBBLE_DIR)
        .filter((f) => /\.jsonl?$/.test(f))
        .sort(),
      [
        "cilium-docs-export-rst-kind-samples.jsonl",
        "hubble-otel_basic-sample-10-flows.json",
        "hubble-otel_basic-sample-400-icmpv4-flows.json",
        "hubble-otel_basic-sample-400-tcp-flows.json",
        "hubble-otel_basic-sample-5-dns-flows.json",
      ],
    );
  });

  it("parses every line of every capture: no invalid line, every line a flow", () => {
    for (const f of fs.readdirSync(HUBBLE_DIR).filter((x) => /\.jsonl?$/.test(x))) {
      const st = statsOf(f);
      assert.deepEqual(
        { invalid: st.invalid, unsupported: st.unsupported, events: st.events, blank: st.blank },
        { invalid: 0, unsupported: 0, events: {}, blank: 0 },
        f,
      );
      assert.equal(st.flows, st.lines, f);
    }
  });

  it("cilium-docs kind samples: an IPv6 router solicitation and a TCP SYN, both DROPPED", () => {
    const st = statsOf("cilium-docs-export-rst-kind-samples.jsonl");
    assert.deepEqual(
      { lines: st.lines, flows: st.flows, replies: st.replies, blank: st.blank, invalid: st.invalid },
      { lines: 2, flows: 2, replies: 0, blank: 0, invalid: 0 },
    );
    assert.deepEqual(st.protocols, { ICMPv6: 1, TCP: 1 });
    assert.deepEqual(st.verdicts, { DROPPED: 2 });
    // Neither line says is_reply or reply: the direction comes from the ICMP type and the SYN flag.
    assert.deepEqual(st.replySources, { "icmp-type": 1, "tcp-flags": 1 });

    const [l1, l2] = linesOf(capture("cilium-docs-export-rst-kind-samples.jsonl")).map((l) =>
      flowOf(parseHubbleLine(l)),
    );
    assert.deepEqual(l1, {
      src: { labels: [], ip: "fe80::64d8:8aff:fe72:fc14" },
      dst: { labels: [], ip: "ff02::2" },
      protocol: "ICMPv6",
      icmpType: 133,
      isReply: false,
      replySource: "icmp-type",
      time: "2023-08-21T12:12:13.517394084Z",
      node: "kind-kind/kind-worker",
      verdict: "DROPPED",
      dropReason: "INVALID_SOURCE_IP",
    });
    assert.deepEqual(l2, {
      src: { labels: [], namespace: "default", podName: "xwing", ip: "10.244.1.60" },
      dst: { labels: [], namespace: "default", podName: "deathstar-7848d6c4d5-th9v2", ip: "10.244.1.5" },
      protocol: "TCP",
      port: 80,
      srcPort: 44916,
      isReply: false,
      replySource: "tcp-flags",
      time: "2023-08-21T12:12:18.510175415Z",
      node: "kind-kind/kind-worker",
      verdict: "DROPPED",
      dropReason: "POLICY_DENIED",
    });
  });

  it("hubble-otel 10 flows: TCP only, five replies marked with the old `reply` field", () => {
    const st = statsOf("hubble-otel_basic-sample-10-flows.json");
    assert.equal(st.lines, 10);
    assert.equal(st.flows, 10);
    assert.equal(st.replies, 5);
    assert.deepEqual(st.protocols, { TCP: 10 });
    assert.deepEqual(st.verdicts, { FORWARDED: 10 });
    assert.deepEqual(st.replySources, { reply: 5, ports: 4, "tcp-flags": 1 });
  });

  it("hubble-otel ICMPv4: 18 flows, 11 echo requests and 7 echo replies (type 0 is omitted)", () => {
    const st = statsOf("hubble-otel_basic-sample-400-icmpv4-flows.json");
    assert.equal(st.flows, 18);
    assert.deepEqual(st.protocols, { ICMP: 18 });
    assert.equal(st.replies, 7);
    assert.deepEqual(st.replySources, { is_reply: 11, "icmp-type": 7 });
    const flows = linesOf(capture("hubble-otel_basic-sample-400-icmpv4-flows.json")).map((l) =>
      flowOf(parseHubbleLine(l)),
    );
    assert.deepEqual(
      flows.reduce<Record<string, number>>(
        (m, f) => ((m[String(f.icmpType)] = (m[String(f.icmpType)] ?? 0) + 1), m),
        {},
      ),
      { 0: 7, 8: 11 },
    );
    // The second line: `"ICMPv4":{}` (type 0 = echo reply omitted), is_reply true, health -> host.
    assert.deepEqual(
      {
        src: flows[1].src.labels,
        dst: flows[1].dst.labels,
        icmpType: flows[1].icmpType,
        isReply: flows[1].isReply,
        replySource: flows[1].replySource,
      },
      {
        src: ["reserved:health"],
        dst: ["reserved:host"],
        icmpType: 0,
        isReply: true,
        replySource: "is_reply",
      },
    );
  });

  it("hubble-otel 400 TCP flows: 136 replies, 27 REDIRECTED to the proxy, 65 L7 events", () => {
    const st = statsOf("hubble-otel_basic-sample-400-tcp-flows.json");
    assert.equal(st.flows, 400);
    assert.deepEqual(st.protocols, { TCP: 400 });
    assert.deepEqual(st.verdicts, { FORWARDED: 373, REDIRECTED: 27 });
    assert.equal(st.replies, 136);
    // 350 lines carry is_reply (218 false, 132 true); 50 overlay lines carry neither field.
    assert.deepEqual(st.replySources, { is_reply: 350, ports: 45, "tcp-flags": 5 });
    const flows = linesOf(capture("hubble-otel_basic-sample-400-tcp-flows.json")).map((l) =>
      flowOf(parseHubbleLine(l)),
    );
    assert.equal(flows.filter((f) => f.type === "L7").length, 65);
    assert.equal(flows.filter((f) => f.isReply && f.replySource === "is_reply").length, 132);
    // A remote pod: labels but no namespace field (it is in the labels).
    const remote = flows.find((f) => f.src.namespace === undefined && f.src.identity === 3418);
    assert.ok(remote);
    assert.ok(remote.src.labels.includes("k8s:io.kubernetes.pod.namespace=bookinfo"));
  });

  it("hubble-otel 5 DNS flows: L7 DNS over TCP, the query name carried as dnsQuery", () => {
    const st = statsOf("hubble-otel_basic-sample-5-dns-flows.json");
    assert.equal(st.flows, 5);
    assert.equal(st.replies, 2);
    assert.deepEqual(st.protocols, { TCP: 5 });
    const first = flowOf(parseHubbleLine(linesOf(capture("hubble-otel_basic-sample-5-dns-flows.json"))[0]));
    assert.equal(first.dnsQuery, "istiod-istio-1611.istio-system.svc.istio-system.svc.cluster.local.");
    assert.equal(first.port, 53);
    assert.equal(first.type, "L7");
    assert.equal(first.src.podName, "node-local-dns-88zrp");
    assert.equal(first.dst.identity, 796);
  });

  it("the reusing parser of the replay loop reads every capture line like parseHubbleLine", () => {
    const reuse = new HubbleLineParser();
    let n = 0;
    for (const f of fs.readdirSync(HUBBLE_DIR).filter((x) => /\.jsonl?$/.test(x))) {
      for (const l of linesOf(capture(f))) {
        const fresh = parseHubbleLine(l);
        const reused = reuse.parse(l);
        assert.equal(reused.kind, fresh.kind);
        if (reused.kind === "flow") {
          // JSON drops the undefined fields the reused object keeps.
          assert.deepEqual(
            JSON.parse(JSON.stringify(reused.flow)),
            fresh.kind === "flow" ? fresh.flow : undefined,
          );
        }
        n++;
      }
    }
    assert.equal(n, 435);
  });

  it("accepts a bare Flow, JSON (camelCase) field names, enum numbers and BoolValue objects", () => {
    const camel = flowOf(
      parseHubbleLine(
        JSON.stringify({
          verdict: 4,
          Type: 1,
          trafficDirection: 2,
          IP: { source: "10.244.1.2", destination: "203.0.113.9" },
          l4: { UDP: { sourcePort: 40001, destinationPort: 5353 } },
          source: { identity: 30001, namespace: "a", podName: "p-1", labels: ["k8s:app=p"] },
          destination: { identity: 2, labels: ["reserved:world"] },
          destinationNames: ["api.example.org"],
          nodeName: "castle-worker2",
          isReply: { value: false },
          time: { seconds: 1700000000, nanos: 5000000 },
        }),
      ),
    );
    assert.deepEqual(camel, {
      src: { identity: 30001, labels: ["k8s:app=p"], namespace: "a", podName: "p-1", ip: "10.244.1.2" },
      dst: { identity: 2, labels: ["reserved:world"], ip: "203.0.113.9", names: ["api.example.org"] },
      protocol: "UDP",
      port: 5353,
      srcPort: 40001,
      isReply: false,
      replySource: "is_reply",
      dnsName: "api.example.org",
      time: "2023-11-14T22:13:20.005Z",
      node: "castle-worker2",
      verdict: "AUDIT",
      type: "L3_L4",
      trafficDirection: "EGRESS",
    });
    const boxed = flowOf(
      parseHubbleObject({ flow: { l4: { SCTP: { destination_port: 9 } }, is_reply: { value: true } } }),
    );
    assert.equal(boxed.protocol, "SCTP");
    assert.equal(boxed.isReply, true);
    assert.equal(boxed.srcPort, 0);
  });

  it("reads omitted zero values as zero / false and guesses the direction when Hubble does not say", () => {
    const f = (l4: object, extra: object = {}): ReplayFlow =>
      flowOf(parseHubbleObject({ flow: { l4, source: {}, destination: {}, ...extra } }));
    assert.deepEqual(
      [f({ TCP: {} }).port, f({ TCP: {} }).srcPort, f({ ICMPv4: {} }).icmpType, f({ ICMPv6: {} }).icmpType],
      [0, 0, 0, 0],
    );
    assert.equal(f({ TCP: { destination_port: 80 } }, { reply: true }).replySource, "reply");
    assert.equal(f({ TCP: { destination_port: 80 } }, { reply: false }).isReply, false);
    assert.deepEqual(
      [
        f({ TCP: { source_port: 8080, destination_port: 41000, flags: { SYN: true, ACK: true } } }),
        f({ TCP: { source_port: 41000, destination_port: 8080, flags: { SYN: true } } }),
        f({ TCP: { source_port: 8080, destination_port: 41000, flags: { ACK: true } } }),
        f({ UDP: { source_port: 41000, destination_port: 53 } }),
        f({ UDP: { source_port: 5000, destination_port: 6000 } }),
        f({ ICMPv6: { type: 129 } }),
        f({ ICMPv6: { type: 128 } }),
      ].map((x) => `${x.isReply} ${x.replySource}`),
      [
        "true tcp-flags",
        "false tcp-flags",
        "true ports",
        "false ports",
        "false default",
        "true icmp-type",
        "false icmp-type",
      ],
    );
    // is_reply wins over every guess.
    assert.equal(
      f({ TCP: { source_port: 8080, destination_port: 41000 } }, { is_reply: false }).isReply,
      false,
    );
  });

  it("tells non-flow lines apart: events, blank, not JSON, flows it cannot judge", () => {
    assert.deepEqual(
      parseHubbleLine('{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":3},"node_name":"n1"}'),
      { kind: "event", event: "lost_events" },
    );
    assert.deepEqual(parseHubbleLine('{"node_status":{"state_change":"NODE_CONNECTED"}}'), {
      kind: "event",
      event: "node_status",
    });
    assert.deepEqual(parseHubbleLine("   "), { kind: "blank" });
    assert.equal(parseHubbleLine("{not json").kind, "invalid");
    assert.equal(parseHubbleLine("[1,2]").kind, "invalid");
    assert.deepEqual(
      parseHubbleLine('{"flow":{"verdict":"FORWARDED","l4":{"IGMP":{"type":22}},"source":{}}}'),
      {
        kind: "unsupported",
        reason: "unsupported L4 protocol IGMP",
        verdict: "FORWARDED",
      },
    );
    assert.deepEqual(parseHubbleLine('{"flow":{"source":{},"destination":{}}}'), {
      kind: "unsupported",
      reason: "no L4 header",
      verdict: undefined,
    });
    assert.equal(
      (parseHubbleLine('{"flow":{"Type":"SOCK","l4":{"TCP":{}},"source":{}}}') as { reason: string }).reason,
      "socket trace event (Type SOCK)",
    );
    const st = new HubbleStats();
    for (const l of ['{"lost_events":{}}', "", "x", '{"flow":{"source":{}}}', '{"flow":{"l4":{"UDP":{}}}}'])
      st.add(parseHubbleLine(l));
    assert.deepEqual(
      [st.lines, st.events, st.blank, st.invalid, st.unsupported, st.flows],
      [5, { lost_events: 1 }, 1, 1, 1, 1],
    );
  });
});
