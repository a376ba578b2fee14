// The castle's properties, evaluated with enforcement semantics (as if audit mode were off): the rule set
// must hold them before anyone switches audit mode off.

import * as PORT from "../vocabulary/ports";
import type { PortSpec } from "../vocabulary/roles";
import { PolicyEngine } from "./engine";
import type { CastleInputs } from "./objects";
import { FlowProtocol } from "./engine";
import { LIFELINES, lifelineFlows } from "./lifelines";
import { userClassKey } from "./probes";
import { WORKLOAD_PORT } from "./topology";

export interface PropertyResult {
  property: string;
  holds: boolean;
  /** Flows checked for this property. */
  checked: number;
  failures: string[];
}

interface Expectation {
  from: string;
  to: string;
  protocol: FlowProtocol;
  port: number;
  allowed: boolean;
}

export function checkCastle(inputs: CastleInputs): PropertyResult[] {
  const engine = new PolicyEngine(inputs.policies, inputs.topology, {
    hostFirewall: inputs.hostFirewall,
    routingMode: inputs.routingMode,
    mutualAuth: inputs.mutualAuth,
    ciliumVersion: inputs.ciliumVersion,
    auditMode: false,
  });
  const run = (property: string, expectations: Expectation[]): PropertyResult => {
    const failures: string[] = [];
    for (const e of expectations) {
      const v = engine.evaluate({ from: e.from, to: e.to, protocol: e.protocol, port: e.port });
      const allowed = v.verdict === "allowed";
      if (allowed !== e.allowed) {
        const by = [v.egress, v.ingress]
          .flatMap((d) => (allowed ? d.allowedBy : d.enforcedBy))
          .map((r) => r.name);
        failures.push(
          `${e.from} → ${e.to} ${e.port}/${e.protocol.toLowerCase()} is ${allowed ? "allowed" : "dropped"}, expected ${e.allowed ? "allowed" : "dropped"}${by.length ? ` (${[...new Set(by)].join(", ")})` : ""}`,
        );
      }
    }
    return { property, holds: failures.length === 0, checked: expectations.length, failures };
  };

  // User namespaces, two per class: enough to meet every pair of classes, and a class with itself.
  const byClass = new Map<string, typeof inputs.userNamespaces>();
  for (const ns of inputs.userNamespaces) {
    const k = userClassKey(ns);
    if ((byClass.get(k) ?? []).length < 2) byClass.set(k, [...(byClass.get(k) ?? []), ns]);
  }
  const reps = [...byClass.values()].flat();
  const web = (ns: string): string => `pod:${ns}/web`;
  const client = (ns: string): string => `pod:${ns}/client`;
  const tcp = (from: string, to: string, port: number, allowed: boolean): Expectation => ({
    from,
    to,
    protocol: "TCP",
    port,
    allowed,
  });

  const ingressRoles = inputs.roles
    .filter((r) => r.reachesLabelledNamespaces?.label === "exposed")
    .map((r) => `role:${r.name}`);
  const metricsRoles = inputs.roles
    .filter((r) => r.reachesLabelledNamespaces?.label === "metrics")
    .map((r) => `role:${r.name}`);
  const otherRoles = inputs.roles
    .map((r) => `role:${r.name}`)
    .filter((r) => !ingressRoles.includes(r) && !metricsRoles.includes(r));
  const jumphosts = inputs.jumphostCidrs.map((c) => `jumphost:${c}`);

  const results: PropertyResult[] = [];
  results.push(
    run(
      "no user namespace reaches another user namespace",
      reps.flatMap((a) =>
        reps
          .filter((b) => b.name !== a.name)
          .map((b) => tcp(client(a.name), web(b.name), WORKLOAD_PORT, false)),
      ),
    ),
  );
  // The talk's default rule: inside a namespace everything may talk (user namespaces, and infra
  // namespaces that hold several roles).
  const infraPairs = inputs.roles.flatMap((a) =>
    inputs.roles
      .filter((b) => b.name !== a.name && b.namespace === a.namespace)
      .map((b) => tcp(`role:${a.name}`, `role:${b.name}`, WORKLOAD_PORT, true)),
  );
  results.push(
    run("every namespace reaches itself", [
      ...reps.map((ns) => tcp(client(ns.name), web(ns.name), WORKLOAD_PORT, true)),
      ...infraPairs,
    ]),
  );
  // Only the role(s) that reach `label` get in (own namespace aside); a namespace both exposed and
  // metrics is reached by both roles, so each property checks its own roles against the other ones.
  const onlyRolesReach = (
    label: "exposed" | "metrics",
    allowed: string[],
    otherLabelRoles: string[],
  ): Expectation[] =>
    reps.flatMap((ns) => [
      ...allowed.map((r) => tcp(r, web(ns.name), WORKLOAD_PORT, ns[label])),
      ...otherRoles.map((r) => tcp(r, web(ns.name), WORKLOAD_PORT, false)),
      ...(ns[label === "exposed" ? "metrics" : "exposed"]
        ? []
        : otherLabelRoles.map((r) => tcp(r, web(ns.name), WORKLOAD_PORT, false))),
      tcp("world", web(ns.name), WORKLOAD_PORT, false),
      ...jumphosts.map((j) => tcp(j, web(ns.name), WORKLOAD_PORT, false)),
    ]);
  results.push(
    run(
      "only the ingress role reaches exposed namespaces",
      onlyRolesReach("exposed", ingressRoles, metricsRoles),
    ),
  );
  results.push(
    run("only Prometheus reaches metrics namespaces", onlyRolesReach("metrics", metricsRoles, ingressRoles)),
  );
  const dnsRoles = inputs.roles.filter((r) => r.egressFromEveryPod).map((r) => `role:${r.name}`);
  const pods = [
    ...inputs.roles.map((r) => `role:${r.name}`),
    ...reps.flatMap((n) => [client(n.name), web(n.name)]),
  ];
  const udp = (from: string, to: string, port: number, allowed: boolean): Expectation => ({
    from,
    to,
    protocol: "UDP",
    port,
    allowed,
  });
  results.push(
    dnsRoles.length === 0
      ? {
          property: "every pod reaches DNS",
          holds: false,
          checked: 0,
          failures: ["no infra role serves DNS to every pod (egressFromEveryPod)"],
        }
      : run(
          "every pod reaches DNS",
          pods.flatMap((p) =>
            dnsRoles
              .filter((d) => d !== p)
              .flatMap((d) => [udp(p, d, PORT.DNS, true), tcp(p, d, PORT.DNS, true)]),
          ),
        ),
  );
  const nodes = inputs.topology.nodes.map((n) => n.name);
  results.push(
    run(
      "only the jumphost reaches node SSH",
      nodes.flatMap((n) => [
        tcp("world", n, PORT.SSH, false),
        ...jumphosts.map((j) => tcp(j, n, PORT.SSH, true)),
        ...pods.map((p) => tcp(p, n, PORT.SSH, false)),
      ]),
    ),
  );
  // What each infra role needs to do its job, from its role entry: the API server both ways, the nodes'
  // ports it calls. Flows from the API server come from a control-plane node's host (or an external API
  // server), so they meet the tunnel's remote-node identity (engine.ts, peer) as the real ones do.
  const apiServers = [
    ...(inputs.topology.kubeApiServerNodes ??
      inputs.topology.nodes.filter((n) => n.role === "control-plane").map((n) => n.name)),
    ...inputs.topology.externals.filter((x) => x.kubeApiServer).map((x) => x.id),
  ];
  results.push(
    run(
      "every namespace of the cluster can work",
      inputs.roles.flatMap((role) => {
        const pod = `role:${role.name}`;
        // A role's declared ports, each as one allowed flow ("ANY" asked as TCP).
        const onPorts = (from: string, to: string, ports: PortSpec[]): Expectation[] =>
          ports.map((p) => ({
            from,
            to,
            protocol: (p.protocol === "ANY" ? "TCP" : p.protocol) as FlowProtocol,
            port: p.port,
            allowed: true,
          }));
        return [
          ...(role.kubeApiServer ? apiServers.map((a) => tcp(pod, a, PORT.KUBE_APISERVER, true)) : []),
          ...apiServers.flatMap((a) => onPorts(a, pod, role.servesKubeApiServer?.ports ?? [])),
          ...nodes.flatMap((n) => onPorts(pod, n, role.nodePorts?.ports ?? [])),
        ];
      }),
    ),
  );
  results.push(
    run(
      "no lifeline is cut when enforced",
      LIFELINES.flatMap((l) => lifelineFlows(l, inputs.topology)).map((f) => ({
        from: f.from,
        to: f.to,
        protocol: f.protocol,
        port: f.port ?? 0,
        allowed: true,
      })),
    ),
  );
  return results;
}

export function formatCheck(results: PropertyResult[], source: string): string {
  const lines = [`Castle properties of ${source} (evaluated as enforced):`];
  for (const r of results) {
    lines.push(`  ${r.holds ? "✓" : "✗"} ${r.property} (${r.checked} flows)`);
    for (const f of r.failures.slice(0, 10)) lines.push(`      ${f}`);
    if (r.failures.length > 10) lines.push(`      ... and ${r.failures.length - 10} more`);
  }
  const broken = results.filter((r) => !r.holds).length;
  lines.push(
    broken === 0
      ? "All castle properties hold."
      : `${broken} castle propert${broken === 1 ? "y is" : "ies are"} broken.`,
  );
  return lines.join("\n");
}
