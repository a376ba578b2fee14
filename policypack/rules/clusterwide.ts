// Cluster-wide policies that select every endpoint must not open the cluster to the outside.

import { ResourceValidationPolicy } from "@pulumi/policy";
import { parseCidr } from "../../lib/net/cidr";
import { admitsEveryPeer, isClusterwide, Obj, policyId, rulesOf, selectsAll, violation } from "../lib";

const OUTSIDE = ["world", "world-ipv4", "world-ipv6", "all"];

export const clusterwideNoWorldIngress: ResourceValidationPolicy = {
  name: "clusterwide-no-world-ingress",
  description: "A CCNP that selects every endpoint may not allow ingress from world or all.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (!isClusterwide(args.type)) return;
    for (const rule of rulesOf(args.props)) {
      if (!selectsAll(rule.endpointSelector)) continue;
      (rule.ingress ?? []).forEach((r: Obj, i: number) => {
        const open = admitsEveryPeer(r)
          ? "every peer"
          : [
              ...(r.fromEntities ?? []).filter((e: string) => OUTSIDE.includes(e)),
              ...(r.fromCIDR ?? []).filter(
                (c: string) => parseCidr(c).ok && (parseCidr(c) as { prefix: number }).prefix === 0,
              ),
              ...(r.fromCIDRSet ?? [])
                .map((s: Obj) => s.cidr)
                .filter(
                  (c: string) =>
                    parseCidr(String(c)).ok && (parseCidr(String(c)) as { prefix: number }).prefix === 0,
                ),
            ].join(", ");
        if (open) {
          report(
            violation(
              `${policyId(args.props)} selects every endpoint (endpointSelector: {}) and its ingress[${i}] admits ${open}`,
              "that opens every pod of every namespace to the internet in one rule, across all walls",
              "select only the endpoints that serve the outside (e.g. the ingress controller) or admit cluster peers only",
            ),
          );
        }
      });
    }
  },
};

export const clusterwidePolicies = [clusterwideNoWorldIngress];
