// Cluster-wide policies that select the pods of every namespace must not open them to the outside.

import { ResourceValidationPolicy } from "@pulumi/policy";
import type { FlowProtocol } from "../../verifier/engine";
import { selectsPodsOfEveryNamespace } from "../../verifier/engine/ruleKind";
import { probePointsOf } from "../../verifier/probePoints";
import { isClusterwide, Obj, policyId, rulesOf, violation } from "../lib";
import { admitsAny, INTERNET_PROBE_IP, peerEntries, Probe } from "../rulePeers";

/**
 * The ports to ask about: every port and range edge the rule names (probePoints.ts), or, for a rule
 * that names none (every port), one TCP port, one UDP port and an ICMP echo.
 */
function probesFor(r: Obj): Probe[] {
  const named = probePointsOf([
    {
      apiVersion: "cilium.io/v2",
      kind: "CiliumClusterwideNetworkPolicy",
      metadata: { name: "p" },
      spec: { ingress: [r] },
    },
  ]).ports;
  const ports: { protocol: FlowProtocol; port?: number }[] =
    named.length > 0
      ? named
      : [{ protocol: "TCP", port: 80 }, { protocol: "UDP", port: 53 }, { protocol: "ICMP" }];
  return ports.map((p) => ({ peer: { ip: INTERNET_PROBE_IP }, ...p }));
}

export const clusterwideNoWorldIngress: ResourceValidationPolicy = {
  name: "clusterwide-no-world-ingress",
  description:
    "A CCNP whose endpointSelector selects the pods of every namespace (as the engine selects them) may not admit the internet.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (!isClusterwide(args.type)) return;
    for (const rule of rulesOf(args.props)) {
      // Not only `{}`: any subject the engine finds selecting a bare pod of two namespaces nobody named.
      if (!selectsPodsOfEveryNamespace(rule.endpointSelector)) continue;
      (rule.ingress ?? []).forEach((r: Obj, i: number) => {
        const probes = probesFor(r);
        // The engine decides whether the rule admits the internet; its peers, one at a time, say which.
        if (!admitsAny("pod", r, probes)) return;
        const open = peerEntries(r)
          .filter((e) => admitsAny("pod", e.rule, probes))
          .map((e) => (e.cidr === undefined ? e.text.replace(/^entity /, "") : e.text));
        report(
          violation(
            `${policyId(args.props)} selects the pods of every namespace (endpointSelector: ${JSON.stringify(rule.endpointSelector)}) and its ingress[${i}] admits ${open.length > 0 ? open.join(", ") : "every peer"}`,
            "that opens every pod of every namespace to the internet in one rule, across all walls",
            "select only the endpoints that serve the outside (e.g. the ingress controller) or admit cluster peers only",
          ),
        );
      });
    }
  },
};

export const clusterwidePolicies = [clusterwideNoWorldIngress];
