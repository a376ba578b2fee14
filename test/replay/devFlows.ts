// The replay tests' data: real captures in ../shared/hubble, and the scenario's flows for the dev stack.

import * as path from "path";
import { shared } from "../harness";
import { EP, flowLine } from "../../scripts/hubbleFlows";

/** ../shared/hubble, or $CASTLE_SHARED_DIR/hubble. */
export const HUBBLE_DIR = shared("hubble");
export const capture = (name: string): string => path.join(HUBBLE_DIR, name);

export const WORLD_IP = "93.184.216.34";
export const SSH_IPS = ["198.51.100.7", "198.51.100.8"];
export const JUMPHOST_IP = "10.1.101.110";

const t = (s: number): string => `2026-11-24T12:00:${String(s).padStart(2, "0")}.000000000Z`;

/** The scenario of the tests: every kind of flow the brief lists, each a known number of times. */
export function scenarioLines(): string[] {
  const lines: string[] = [];
  // 1. allowed, inside a namespace (x2)
  for (let i = 0; i < 2; i++)
    lines.push(
      flowLine({ src: EP.shopClient(i), dst: EP.shopWeb(), proto: "TCP", port: 8080, time: t(1 + i) }),
    );
  // 2. across user namespaces: would drop at both ends, user layer (x3, Hubble says AUDIT)
  for (let i = 0; i < 3; i++)
    lines.push(
      flowLine({
        src: EP.shopClient(i),
        dst: EP.batchWeb(),
        proto: "TCP",
        port: 8080,
        srcPort: 41000 + i,
        verdict: "AUDIT",
        time: t(10 + i),
      }),
    );
  // 3. ingress-nginx -> the exposed namespace: allowed (observed on the infra node)
  lines.push(
    flowLine({
      src: EP.nginx(),
      dst: EP.shopWeb(),
      proto: "TCP",
      port: 8080,
      node: "castle-worker",
      time: t(20),
    }),
  );
  // 4. a pod -> the internet on 443: would drop at egress (x2, with the name the DNS proxy saw)
  for (let i = 0; i < 2; i++)
    lines.push(
      flowLine({
        src: EP.batchClient(),
        dst: EP.world(),
        dstIp: WORLD_IP,
        proto: "TCP",
        port: 443,
        srcPort: 42000 + i,
        destinationNames: ["example.com"],
        verdict: "AUDIT",
        time: t(30 + i),
      }),
    );
  // 5. a reply: not judged
  lines.push(
    flowLine({
      src: EP.batchWeb(),
      dst: EP.shopClient(),
      proto: "TCP",
      port: 41000,
      srcPort: 8080,
      syn: false,
      isReply: true,
      time: t(40),
    }),
  );
  // 6. a pod -> kube-dns 53/UDP, and the DNS request the proxy saw: allowed
  lines.push(flowLine({ src: EP.batchClient(), dst: EP.coredns(), proto: "UDP", port: 53, time: t(41) }));
  lines.push(
    flowLine({
      src: EP.batchClient(),
      dst: EP.coredns(),
      proto: "UDP",
      port: 53,
      dnsQuery: "example.com.",
      time: t(42),
    }),
  );
  // 7. SSH from the internet to a worker: would drop at the node (x4 from two addresses) ...
  for (let i = 0; i < 4; i++)
    lines.push(
      flowLine({
        src: EP.world(),
        dst: EP.host(),
        srcIp: SSH_IPS[i % 2],
        dstIp: "172.18.0.4",
        proto: "TCP",
        port: 22,
        srcPort: 50000 + i,
        verdict: "AUDIT",
        time: t(50 + i),
      }),
    );
  // ... but from the jumphost it is allowed.
  lines.push(
    flowLine({
      src: EP.world(),
      dst: EP.host(),
      srcIp: JUMPHOST_IP,
      dstIp: "172.18.0.4",
      proto: "TCP",
      port: 22,
      time: t(55),
    }),
  );
  // 8. zero fields omitted (no verdict, no source port, no identity) and the old `reply` field
  lines.push(
    JSON.stringify({
      flow: {
        IP: { source: "10.244.2.10", destination: "10.244.2.11", ipVersion: "IPv4" },
        l4: { ICMPv4: {} },
        source: { namespace: "demo-shop", labels: EP.shopWeb().labels },
        destination: { namespace: "demo-shop", labels: EP.shopClient().labels },
        node_name: "castle-worker2",
        reply: true,
      },
    }),
  );
  lines.push(
    JSON.stringify({
      flow: {
        time: t(58),
        l4: { TCP: { destination_port: 8080, flags: { SYN: true } } },
        source: { namespace: "demo-batch", labels: EP.batchClient().labels },
        destination: { namespace: "demo-batch", labels: EP.batchWeb().labels, pod_name: "demo-web-8a21-0" },
        node_name: "castle-worker2",
      },
    }),
  );
  // 9. not flows, and the health checks replay leaves out
  lines.push(
    JSON.stringify({
      lost_events: { source: "HUBBLE_RING_BUFFER", num_events_lost: 12, cpu: { value: 1 } },
      node_name: "castle-worker2",
      time: t(59),
    }),
  );
  lines.push(
    JSON.stringify({ node_status: { state_change: "NODE_CONNECTED", node_names: ["castle-worker"] } }),
  );
  lines.push("");
  lines.push(
    flowLine({
      src: EP.remoteNode(),
      dst: EP.health(),
      proto: "TCP",
      port: 4240,
      srcPort: 45000,
      time: t(59),
    }),
  );
  return lines;
}

/** Line i of the streaming tests: ten kinds of lines in turn, 20,000 of each in 200,000. */
export function streamLine(i: number): string {
  const time = new Date(Date.UTC(2026, 10, 24, 12, 0, 0) + i).toISOString();
  switch (i % 10) {
    case 0: // allowed inside demo-shop
      return flowLine({ src: EP.shopClient(i % 50), dst: EP.shopWeb(), proto: "TCP", port: 8080, time });
    case 1: // across user namespaces
      return flowLine({
        src: EP.shopClient(i % 50),
        dst: EP.batchWeb(i % 7),
        proto: "TCP",
        port: 8080,
        srcPort: 32768 + (i % 20000),
        verdict: "AUDIT",
        time,
      });
    case 2: // ingress-nginx -> exposed namespace
      return flowLine({
        src: EP.nginx(i % 3),
        dst: EP.shopWeb(),
        proto: "TCP",
        port: 8080,
        node: "castle-worker",
        time,
      });
    case 3: // to the internet
      return flowLine({
        src: EP.batchClient(),
        dst: EP.world(),
        dstIp: WORLD_IP,
        destinationNames: ["example.com"],
        proto: "TCP",
        port: 443,
        verdict: "AUDIT",
        time,
      });
    case 4: // a reply
      return flowLine({
        src: EP.batchWeb(),
        dst: EP.shopClient(),
        proto: "TCP",
        srcPort: 8080,
        port: 41000,
        isReply: true,
        time,
      });
    case 5: // DNS
      return flowLine({ src: EP.batchClient(), dst: EP.coredns(i % 2), proto: "UDP", port: 53, time });
    case 6: // SSH from the internet
      return flowLine({
        src: EP.world(),
        dst: EP.host(),
        srcIp: SSH_IPS[Math.floor(i / 10) % 2],
        proto: "TCP",
        port: 22,
        verdict: "DROPPED",
        time,
      });
    case 7: // the old `reply` field, zero values omitted
      return JSON.stringify({
        flow: {
          l4: { ICMPv4: {} },
          source: EP.shopWeb(),
          destination: EP.shopClient(),
          node_name: "castle-worker2",
          reply: true,
        },
      });
    case 8: // health checks are left out
      return flowLine({ src: EP.remoteNode(), dst: EP.health(), proto: "TCP", port: 4240, time });
    default:
      return JSON.stringify({ lost_events: { source: "PERF_EVENT_RING_BUFFER", num_events_lost: 1 }, time });
  }
}
