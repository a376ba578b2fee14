// What the engine models on top of Cilium's policy repository: effects of the datapath (or inputs the
// oracle is not given) that a comparison of policy verdicts cannot see. A disagreement between the engine
// and the oracle is explained only by an entry here; every other one fails `npm run conformance:cilium`
// and the real tier.

export interface DatapathEffect {
  /** The conformance case (test/verifier/cases.ts) whose disagreement it explains. */
  caseId: string;
  direction: "ingress" | "egress";
  /** What Cilium does, and why the oracle's repository layer does not show it. */
  why: string;
  /** The Cilium code that decides it (v1.19.5). */
  reference: string;
}

export const DATAPATH_EFFECTS: DatapathEffect[] = [
  {
    caseId: "sem-self-traffic",
    direction: "ingress",
    why: "a pod's traffic to itself (its own IP or 127.0.0.1) goes over the pod's loopback device and never passes Cilium's BPF programs, so no policy judges it; the oracle only asks the policy map",
    reference: "bpf/bpf_lxc.c (attached to the pod's veth, which loopback traffic never crosses)",
  },
  {
    caseId: "sem-cidr-match-mode-nodes",
    direction: "ingress",
    why: "with policy-cidr-match-mode=nodes the agent gives node addresses CIDR labels, so fromCIDR selects nodes; the oracle is given peers by identity and knows no node addresses",
    reference:
      "pkg/ipcache/metadata.go (resolveLabels: CIDR labels for node IPs when the mode includes nodes)",
  },
];
