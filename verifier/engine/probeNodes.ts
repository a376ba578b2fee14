// What the engine's probes (ruleProbe, namespaceProbe, wallProbe) share: their nodes, and reading the
// parts of a policy they take apart, which arrive unchecked.

import { CONTROL_PLANE_ROLE_LABEL } from "../../vocabulary/labels";
import type { TopologyNode } from "./types";

/** A node of a probe's topology: its hostname label, and the control-plane role label on a control plane. */
export function probeNode(name: string, role: "control-plane" | "worker", ip: string): TopologyNode {
  return {
    name,
    role,
    ips: [ip],
    labels: {
      "kubernetes.io/hostname": name,
      ...(role === "control-plane" ? { [CONTROL_PLANE_ROLE_LABEL]: "" } : {}),
    },
  };
}

/** A list field of a policy as written: anything else is no list. */
export const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** An object field of a policy as written: anything else is an empty object. */
export const recordOf = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === "object" ? (v as Record<string, unknown>) : {};
