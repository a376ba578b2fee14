import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { UserNamespaceConfig } from "../../config/castleConfig";
import { ClusterPlacement, inCluster } from "../../lib/pulumi/inCluster";
import { ChartMirror, releaseChart } from "../../lib/helm/charts";
import type { InfraRole } from "../../vocabulary/roles";
import { DEFAULT_INFRA_ROLES } from "../../vocabulary/roles";
import { deepMerge, HelmValues } from "../../lib/helm/values";
import {
  demoCharts,
  DEMO_CLIENT_IMAGE,
  DEMO_WEB_IMAGE,
  DEMO_WEB_PORT,
  demoClientScript,
  InfraPlacement,
} from "./charts";

export interface WorkshopArgs {
  placement: ClusterPlacement;
  roles: InfraRole[];
  userNamespaces: UserNamespaceConfig[];
  /** Where the charts come from; undefined means their public repositories. */
  chartMirror?: ChartMirror;
  /** Required on kind (the castle labels the infra nodes), preferred on an existing cluster. */
  infraPlacement: InfraPlacement;
  /** Extra values per release name, deep-merged over the demo's (config `demoChartValues`). */
  chartValues?: Record<string, HelmValues>;
  /** The infra layer and the user namespaces: charts and apps go into namespaces they create. */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** The workshop demo: real infra pods behind the policies and a small app per user namespace. */
export class Workshop extends pulumi.ComponentResource {
  public readonly releases: k8s.helm.v3.Release[];
  public readonly apps: pulumi.Resource[];

  constructor(name: string, args: WorkshopArgs, opts?: pulumi.ComponentResourceOptions) {
    super("castle:demo:Workshop", name, {}, opts);
    this.releases = [];
    const charts = demoCharts(args.infraPlacement);
    let ingressRelease: k8s.helm.v3.Release | undefined;
    for (const chart of charts) {
      const role = args.roles.find((r) => r.name === chart.role);
      const stock = DEFAULT_INFRA_ROLES.find((r) => r.name === chart.role);
      // A role swapped in config (e.g. Traefik for ingress-nginx) selects other pods: its chart is the
      // stack's own business, and installing ingress-nginx would put pods outside every policy.
      if (!role || JSON.stringify(role.podLabels) !== JSON.stringify(stock?.podLabels)) continue;
      const release = new k8s.helm.v3.Release(
        `${name}-${chart.release}`,
        {
          name: chart.release,
          ...releaseChart(chart.chart, args.chartMirror),
          namespace: role.namespace,
          values: deepMerge(chart.values, args.chartValues?.[chart.release] ?? {}),
          timeout: 900,
        },
        inCluster(this, args.placement, args.dependsOn),
      );
      this.releases.push(release);
      if (chart.role === "ingress-nginx") ingressRelease = release;
    }

    this.apps = [];
    const names = args.userNamespaces.map((n) => n.name);
    for (const ns of args.userNamespaces) {
      const opts = inCluster(this, args.placement, args.dependsOn);
      const labels = { "app.kubernetes.io/name": "demo-web", "app.kubernetes.io/part-of": "castle-demo" };
      this.apps.push(
        new k8s.apps.v1.Deployment(
          `${name}-${ns.name}-web`,
          {
            metadata: { name: "demo-web", namespace: ns.name, labels },
            spec: {
              replicas: 1,
              selector: { matchLabels: labels },
              template: {
                metadata: { labels },
                spec: {
                  containers: [
                    {
                      name: "web",
                      image: DEMO_WEB_IMAGE,
                      ports: [{ name: "http", containerPort: DEMO_WEB_PORT }],
                    },
                  ],
                },
              },
            },
          },
          opts,
        ),
        new k8s.core.v1.Service(
          `${name}-${ns.name}-web`,
          {
            metadata: { name: "demo-web", namespace: ns.name, labels },
            spec: { selector: labels, ports: [{ name: "http", port: 80, targetPort: "http" }] },
          },
          opts,
        ),
      );
      const clientLabels = {
        "app.kubernetes.io/name": "demo-client",
        "app.kubernetes.io/part-of": "castle-demo",
      };
      this.apps.push(
        new k8s.apps.v1.Deployment(
          `${name}-${ns.name}-client`,
          {
            metadata: { name: "demo-client", namespace: ns.name, labels: clientLabels },
            spec: {
              replicas: 1,
              selector: { matchLabels: clientLabels },
              template: {
                metadata: { labels: clientLabels },
                spec: {
                  containers: [
                    {
                      name: "client",
                      image: DEMO_CLIENT_IMAGE,
                      command: [
                        "/bin/sh",
                        "-c",
                        demoClientScript(
                          ns.name,
                          names.filter((n) => n !== ns.name),
                        ),
                      ],
                    },
                  ],
                },
              },
            },
          },
          opts,
        ),
      );
      if (ns.exposed) {
        // The controller's admission webhook judges every Ingress: creating one before the release is
        // ready fails with "failed calling webhook validate.nginx.ingress.kubernetes.io".
        const ingressOpts = inCluster(this, args.placement, [
          ...args.dependsOn,
          ...(ingressRelease ? [ingressRelease] : []),
        ]);
        this.apps.push(
          new k8s.networking.v1.Ingress(
            `${name}-${ns.name}-web`,
            {
              metadata: { name: "demo-web", namespace: ns.name, labels },
              spec: {
                ingressClassName: "nginx",
                rules: [
                  {
                    // *.localtest.me resolves to 127.0.0.1: `curl http://<ns>.localtest.me` from the laptop.
                    host: `${ns.name}.localtest.me`,
                    http: {
                      paths: [
                        {
                          path: "/",
                          pathType: "Prefix",
                          backend: { service: { name: "demo-web", port: { name: "http" } } },
                        },
                      ],
                    },
                  },
                ],
              },
            },
            ingressOpts,
          ),
        );
      }
    }
    this.registerOutputs({ releases: charts.map((c) => `${c.chart.name}@${c.chart.version}`), apps: names });
  }
}
