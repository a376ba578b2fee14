// The flows the verifier asks about: endpoint classes of the castle and the ports that matter to each.

import * as PORT from "../vocabulary/ports";
import type { CastleInputs } from "./objects";
import type { FlowProtocol, NodeRole } from "./engine";
import { WORKLOAD_PORT } from "./topology";

export interface PortProbe {
  port: number;
  protocol: FlowProtocol;
}

export const tcpProbe = (port: number): PortProbe => ({ port, protocol: "TCP" });
export const udpProbe = (port: number): PortProbe => ({ port, protocol: "UDP" });
export const probeText = (p: PortProbe): string => `${p.port}/${p.protocol.toLowerCase()}`;

/** Every port the node layer is about, on every node class. */
export const NODE_PORTS: PortProbe[] = [
  tcpProbe(PORT.SSH),
  tcpProbe(PORT.KUBE_APISERVER),
  tcpProbe(PORT.ETCD_CLIENT),
  tcpProbe(PORT.KUBELET),
  tcpProbe(PORT.CILIUM_HEALTH),
  tcpProbe(PORT.HUBBLE_PEER),
  tcpProbe(PORT.HTTP),
  tcpProbe(PORT.HTTPS),
  udpProbe(PORT.VXLAN),
];

export interface EndpointClass {
  /** Stable id, e.g. `node:infra`, `role:prometheus`, `user:exposed+metrics`, `world`. */
  id: string;
  label: string;
  kind: "node" | "role" | "user" | "external";
  /** Endpoint id to send from. */
  source: string;
  /** Endpoint ids to send to; for user classes [first namespace's web, second namespace's web?]. */
  targets: string[];
  ports: PortProbe[];
  /** Namespaces in a user class. */
  namespaces?: string[];
}

export function userClassKey(ns: { exposed: boolean; metrics: boolean }): string {
  const flags = [ns.exposed ? "exposed" : "", ns.metrics ? "metrics" : ""].filter(Boolean);
  return flags.length ? flags.join("+") : "plain";
}

/** The castle's endpoint classes: identical user namespaces collapse into one class. */
export function endpointClasses(inputs: CastleInputs, opts: { collapse?: boolean } = {}): EndpointClass[] {
  const collapse = opts.collapse ?? true;
  const out: EndpointClass[] = [];
  for (const role of ["control-plane", "infra", "worker"] as NodeRole[]) {
    const node = inputs.topology.nodes.find((n) => n.role === role);
    if (node)
      out.push({
        id: `node:${role}`,
        label: `${role} node`,
        kind: "node",
        source: node.name,
        targets: [node.name],
        ports: NODE_PORTS,
      });
  }
  for (const r of inputs.roles) {
    const served = [...(r.servesAll?.ports ?? []), ...(r.servesKubeApiServer?.ports ?? [])].flatMap((p) =>
      p.protocol === "ANY"
        ? [udpProbe(p.port), tcpProbe(p.port)]
        : [{ port: p.port, protocol: p.protocol as FlowProtocol }],
    );
    out.push({
      id: `role:${r.name}`,
      label: `${r.name} (${r.namespace})`,
      kind: "role",
      source: `role:${r.name}`,
      targets: [`role:${r.name}`],
      ports: served.length > 0 ? served : [tcpProbe(WORKLOAD_PORT)],
    });
  }
  const groups = new Map<string, string[]>();
  for (const ns of inputs.userNamespaces) {
    // Uncollapsed, a namespace keeps its id when its labels change, so a diff shows the flows that change.
    const key = collapse ? userClassKey(ns) : ns.name;
    groups.set(key, [...(groups.get(key) ?? []), ns.name]);
  }
  for (const [key, names] of [...groups.entries()].sort()) {
    out.push({
      id: `user:${key}`,
      label: collapse
        ? `user namespaces [${key}] ×${names.length}`
        : `namespace ${key} [${userClassKey(inputs.userNamespaces.find((n) => n.name === key)!)}]`,
      kind: "user",
      source: `pod:${names[0]}/client`,
      targets: names.slice(0, 2).map((n) => `pod:${n}/web`),
      ports: [tcpProbe(WORKLOAD_PORT)],
      namespaces: names,
    });
  }
  out.push({
    id: "world",
    label: "world (internet)",
    kind: "external",
    source: "world",
    targets: ["world"],
    ports: [tcpProbe(PORT.HTTPS)],
  });
  if (inputs.jumphostCidrs.length > 0) {
    const j = `jumphost:${inputs.jumphostCidrs[0]}`;
    out.push({
      id: "jumphost",
      label: `jumphost ${inputs.jumphostCidrs[0]}`,
      kind: "external",
      source: j,
      targets: [],
      ports: [],
    });
  }
  return out;
}

/** The column of a user class's own namespace (its client to its own web pod). */
export const OWN_NAMESPACE = "own-namespace";

export interface ClassPair {
  from: EndpointClass;
  /** The destination class, or undefined for the source's own namespace. */
  to: EndpointClass | undefined;
  toId: string;
  /** The endpoint probed; undefined when there is none (a class against itself with one member). */
  target: string | undefined;
  ports: PortProbe[];
}

/**
 * Every class against every class that can be sent to, on the destination's ports, and each user class
 * against its own namespace. A class against itself probes its second member, if it has one: the same
 * endpoint is never judged against itself.
 */
export function classPairs(classes: EndpointClass[]): ClassPair[] {
  const destinations = classes.filter((c) => c.targets.length > 0);
  const out: ClassPair[] = [];
  for (const src of classes) {
    for (const dst of destinations) {
      const target = dst.id === src.id ? (dst.kind === "user" ? dst.targets[1] : undefined) : dst.targets[0];
      out.push({ from: src, to: dst, toId: dst.id, target, ports: dst.ports });
    }
    if (src.kind === "user") {
      const own = src.source.replace(/\/client$/, "/web");
      out.push({ from: src, to: undefined, toId: OWN_NAMESPACE, target: own, ports: src.ports });
    }
  }
  return out;
}
