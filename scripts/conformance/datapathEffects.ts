// What the engine models on top of Cilium's policy repository: effects of the datapath (or inputs the
// oracle is not given) that a comparison of policy verdicts cannot see. A disagreement between the engine
// and the oracle is explained only by an entry here; every other one fails `npm run conformance:cilium`
// and the real tier.

export interface DatapathEffect {
  /** The effect's id, as the engine marks a verdict it models (DirectionResult.datapathEffect), if it does. */
  id?: string;
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
    id: "self-traffic",
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
  {
    id: "encap-prohibited",
    caseId: "sem-encap-prohibited",
    direction: "egress",
    why: "in tunnel routing a pod's UDP to the tunnel port (VXLAN 8472) is dropped before the policy lookup, so audit mode and allow rules cannot let it through; the oracle only asks the policy map",
    reference:
      "bpf/lib/policy.h (policy_can_egress: `if (src_id != HOST_ID && is_encap(dport, proto)) return DROP_ENCAP_PROHIBITED`)",
  },
];

/**
 * Datapath effects the engine models that never show as a disagreement: in the identities both sides are
 * told (tunnel-mode source identity), or read from a field of the oracle's answer (the auth type of the
 * policy map entry, compare.ts). The conformance case checks the engine's side, the oracle the policy
 * verdict for it.
 */
export const MODELLED_WITHOUT_DISAGREEMENT: DatapathEffect[] = [
  {
    id: "auth-required",
    caseId: "sem-auth-required",
    direction: "ingress",
    why: "an allow entry with an auth type (authentication.mode required, explicit or derived from a covering entry) returns DROP_POLICY_AUTH_REQUIRED, and auth_lookup lets the packet through only with an entry of Cilium's auth manager, which never exists without mutual authentication (Helm authentication.enabled and authentication.mutual.spire.enabled); a policy drop, so audit mode lets it through. The oracle reports the entry's auth type, and the comparison requires the engine's to be the same",
    reference:
      "bpf/lib/policy.h (__policy_check), bpf/lib/auth.h (auth_lookup), bpf/bpf_lxc.c; pkg/policy/mapstate.go (authPreferredInsert, lookup)",
  },
  {
    id: "tunnel-source-identity",
    caseId: "sem-tunnel-apiserver-to-pod",
    direction: "ingress",
    why: "in tunnel routing a host's packet to a pod on another node is encapsulated with reserved:remote-node as its source identity, and the receiving node takes the identity from the tunnel, not the ipcache: kube-apiserver never reaches the pod's policy",
    reference:
      "bpf/lib/encap.h (__encap_with_nodeid: `if (seclabel == HOST_ID) seclabel = LOCAL_NODE_ID`); the engine's peer identity (verifier/engine/engine.ts, peer)",
  },
];
