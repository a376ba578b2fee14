// The workshop's image list: derived from the pinned charts by Helm's own rendering with the stack's values.

import { strict as assert } from "assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { parseCastleConfig } from "../../config/castleConfig";
import { withProjectDefaults } from "../../render/render";
import { stackImages } from "../../scripts/images";
import { chartMirrorDir, toolsBin } from "../../scripts/real/workspace";
import { devConfig } from "./support/castleStacks";
import type { Untyped } from "../../lib/untyped";

function chartValues(archive: string, chart: string): Untyped {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "castle-chart-"));
  execFileSync("tar", ["xzf", archive, "-C", dir, `${chart}/values.yaml`]);
  return YAML.parse(fs.readFileSync(path.join(dir, chart, "values.yaml"), "utf8"));
}

describe("real tier: the images the stack runs", () => {
  let bin: string;
  let charts: string;
  before(() => {
    bin = toolsBin();
    charts = chartMirrorDir(fs.mkdtempSync(path.join(os.tmpdir(), "castle-images-")));
  });

  it("are the pinned charts' images as Helm renders them with the dev stack's values", async () => {
    const list = await stackImages(parseCastleConfig(withProjectDefaults(devConfig())), charts, bin);
    const cilium = chartValues(path.join(charts, "cilium-1.19.5.tgz"), "cilium");
    const pinned = (img: { repository: string; tag: string; digest: string }): string =>
      `${img.repository}:${img.tag}@${img.digest}`;
    const by = new Map(list.sources.map((s) => [s.source, s.images]));
    assert.deepEqual(by.get("kind node"), [parseCastleConfig({}).kindNodeImage]);
    // Cilium's agent, operator, Envoy and Hubble, with the digests the chart pins.
    for (const img of [cilium.image, cilium.envoy.image, cilium.hubble.relay.image]) {
      assert.ok(by.get("cilium")!.includes(pinned(img)), `${pinned(img)} in ${by.get("cilium")!.join(", ")}`);
    }
    assert.ok(by.get("cilium")!.some((i) => i.startsWith(`${cilium.operator.image.repository}-generic:`)));
    assert.ok(by.get("cilium")!.some((i) => i.startsWith("quay.io/cilium/hubble-ui:")));
    // What the values switch off is not pulled: the demo keeps only the Prometheus server.
    assert.deepEqual(
      list.all.filter((i) => /alertmanager|node-exporter|kube-state-metrics|pushgateway/.test(i)),
      [],
    );
    assert.ok(by.get("prometheus")!.some((i) => i.startsWith("quay.io/prometheus/prometheus:")));
    assert.ok(
      by
        .get("ingress-nginx")!
        .some((i) => i.startsWith("registry.k8s.io/ingress-nginx/controller:v1.15.1@sha256:")),
    );
    assert.deepEqual(by.get("demo apps"), [
      "curlimages/curl:8.11.1",
      "nginxinc/nginx-unprivileged:1.27-alpine",
    ]);
    assert.equal(new Set(list.all).size, list.all.length);
  });

  it("follow the stack's values: a component switched on adds its images, the webhook switched off drops its", async () => {
    const config = parseCastleConfig(
      withProjectDefaults({
        ...devConfig(),
        demoChartValues: {
          prometheus: { alertmanager: { enabled: true } },
          "ingress-nginx": { controller: { admissionWebhooks: { enabled: false } } },
        },
      }),
    );
    const list = await stackImages(config, charts, bin);
    assert.ok(
      list.all.some((i) => i.startsWith("quay.io/prometheus/alertmanager:")),
      list.all.join("\n"),
    );
    assert.ok(!list.all.some((i) => i.includes("kube-webhook-certgen")));
  });

  it("count an install's hooks but not `helm test` hooks, which an install never runs", () => {
    const chart = fs.mkdtempSync(path.join(os.tmpdir(), "castle-hooks-chart-"));
    fs.mkdirSync(path.join(chart, "templates"));
    fs.writeFileSync(path.join(chart, "Chart.yaml"), "apiVersion: v2\nname: hooks\nversion: 0.1.0\n");
    const pod = (name: string, image: string, hook?: string): string =>
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n` +
      (hook ? `  annotations:\n    "helm.sh/hook": ${hook}\n` : "") +
      `spec:\n  containers:\n    - name: c\n      image: ${image}\n`;
    fs.writeFileSync(path.join(chart, "templates", "app.yaml"), pod("app", "example.org/app:1"));
    fs.writeFileSync(
      path.join(chart, "templates", "job.yaml"),
      pod("setup", "example.org/setup:1", "pre-install,pre-upgrade"),
    );
    fs.writeFileSync(path.join(chart, "templates", "test.yaml"), pod("smoke", "example.org/smoke:1", "test"));
    const out = execFileSync(path.join(bin, "castle-chart-images"), [], {
      input: JSON.stringify([{ release: "hooks", namespace: "default", chart, values: {} }]),
      encoding: "utf8",
    });
    assert.deepEqual(JSON.parse(out), [
      { release: "hooks", images: ["example.org/app:1", "example.org/setup:1"] },
    ]);
  });
});
