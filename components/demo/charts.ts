// Pure: the workshop's pinned charts and their values. Each release name is fixed, because the infra
// roles' pod selectors match the labels these charts derive from it (see components/layers/infra/roles.ts).

import type { HelmValues } from "../../lib/helm/values";
import { ChartRef, DEMO_CHART_REFS } from "../../lib/helm/charts";
import { INFRA_ROLE_LABEL } from "../../vocabulary/labels";

export interface DemoChart {
  /** The infra role whose pods the chart runs. */
  role: string;
  release: string;
  chart: ChartRef;
  values: HelmValues;
}

/**
 * How the demo's infra components are placed on the infra nodes. On kind the castle labels the infra
 * nodes itself, so they are required (and the ingress controller must sit on the node whose host ports
 * kind maps). On an existing cluster the castle cannot know that any node carries the label: there they
 * are preferred, so a cluster without infra nodes still runs the demo.
 */
export type InfraPlacement = "required" | "preferred";

const TOLERATE_INFRA = [{ key: INFRA_ROLE_LABEL, operator: "Exists", effect: "NoSchedule" }];

function onInfraNodes(placement: InfraPlacement): HelmValues {
  if (placement === "required")
    return { nodeSelector: { [INFRA_ROLE_LABEL]: "" }, tolerations: TOLERATE_INFRA };
  return {
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, preference: { matchExpressions: [{ key: INFRA_ROLE_LABEL, operator: "Exists" }] } },
        ],
      },
    },
    tolerations: TOLERATE_INFRA,
  };
}

/** The demo's charts with their values (the admission webhook's patch Job takes no affinity: tolerations only). */
export function demoCharts(placement: InfraPlacement): DemoChart[] {
  const infra = onInfraNodes(placement);
  const patchJob = placement === "required" ? infra : { tolerations: TOLERATE_INFRA };
  return [
    {
      role: "ingress-nginx",
      release: "ingress-nginx",
      chart: DEMO_CHART_REFS["ingress-nginx"],
      values: {
        controller: {
          // kind maps host ports 80/443 of the first infra node to the laptop (kind config extraPortMappings).
          hostPort: { enabled: true },
          service: { type: "NodePort" },
          ...infra,
          admissionWebhooks: { patch: patchJob },
        },
      },
    },
    {
      role: "prometheus",
      release: "prometheus",
      chart: DEMO_CHART_REFS["prometheus"],
      values: {
        // Only the server: the castle's Prometheus role is about scraping, not the rest of the stack.
        alertmanager: { enabled: false },
        "kube-state-metrics": { enabled: false },
        "prometheus-node-exporter": { enabled: false },
        "prometheus-pushgateway": { enabled: false },
        server: { persistentVolume: { enabled: false }, ...infra },
      },
    },
    {
      role: "metrics-server",
      release: "metrics-server",
      chart: DEMO_CHART_REFS["metrics-server"],
      values: {
        // kind's kubelets serve self-signed certificates.
        args: ["--kubelet-insecure-tls"],
        ...infra,
      },
    },
  ];
}

export const DEMO_WEB_IMAGE = "nginxinc/nginx-unprivileged:1.27-alpine";
export const DEMO_CLIENT_IMAGE = "curlimages/curl:8.11.1";
export const DEMO_WEB_PORT = 8080;

/**
 * The demo client's loop: its own namespace's web (allowed), every other demo namespace's web (crosses
 * a wall: AUDIT in audit mode, DROPPED when enforced) and the internet (AUDIT/DROPPED as well).
 */
export function demoClientScript(ownNamespace: string, otherNamespaces: string[]): string {
  const targets = [
    `http://demo-web.${ownNamespace}.svc.cluster.local`,
    ...otherNamespaces.map((ns) => `http://demo-web.${ns}.svc.cluster.local`),
    "https://example.com",
  ];
  return [
    "while true; do",
    `  for url in ${targets.join(" ")}; do`,
    '    code=$(curl -s -o /dev/null -m 3 -w "%{http_code}" "$url") || code=failed',
    '    echo "$(date -u +%H:%M:%S) $url $code"',
    "  done",
    "  sleep 10",
    "done",
  ].join("\n");
}
