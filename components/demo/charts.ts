// Pure: the workshop's pinned charts and their values. Each release name is fixed, because the infra
// roles' pod selectors match the labels these charts derive from it (see components/layers/infra/roles.ts).

import { INFRA_ROLE_LABEL } from "../cluster/kindConfig";
import type { HelmValues } from "../cilium/values";

export interface DemoChart {
  /** The infra role whose pods the chart runs. */
  role: string;
  release: string;
  chart: string;
  version: string;
  repository: string;
  values: HelmValues;
}

// Infra components run on the infra nodes: select them and tolerate their taint.
const onInfraNodes = {
  nodeSelector: { [INFRA_ROLE_LABEL]: "" },
  tolerations: [{ key: INFRA_ROLE_LABEL, operator: "Exists", effect: "NoSchedule" }],
};

export const DEMO_CHARTS: DemoChart[] = [
  {
    role: "ingress-nginx",
    release: "ingress-nginx",
    chart: "ingress-nginx",
    version: "4.15.1",
    repository: "https://kubernetes.github.io/ingress-nginx",
    values: {
      controller: {
        // kind maps host ports 80/443 of the first infra node to the laptop (kind config extraPortMappings).
        hostPort: { enabled: true },
        service: { type: "NodePort" },
        ...onInfraNodes,
        admissionWebhooks: { patch: onInfraNodes },
      },
    },
  },
  {
    role: "prometheus",
    release: "prometheus",
    chart: "prometheus",
    version: "27.42.2",
    repository: "https://prometheus-community.github.io/helm-charts",
    values: {
      // Only the server: the castle's Prometheus role is about scraping, not the rest of the stack.
      alertmanager: { enabled: false },
      "kube-state-metrics": { enabled: false },
      "prometheus-node-exporter": { enabled: false },
      "prometheus-pushgateway": { enabled: false },
      server: { persistentVolume: { enabled: false }, ...onInfraNodes },
    },
  },
  {
    role: "metrics-server",
    release: "metrics-server",
    chart: "metrics-server",
    version: "3.13.0",
    repository: "https://kubernetes-sigs.github.io/metrics-server/",
    values: {
      // kind's kubelets serve self-signed certificates.
      args: ["--kubelet-insecure-tls"],
      ...onInfraNodes,
    },
  },
];

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
