// The HTML matrix in a real browser: headless Chromium renders it, and the screenshot shows the verdict
// colours a workshop audience reads.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { fromStack } from "../../cli/sources";
import { buildMatrix } from "../../verifier/matrix";
import { matrixHtml } from "../../verifier/html";
import { countColour, decodePng } from "../support/png";
import { findChromium, screenshot } from "../../scripts/pr-preview/picture";

describe("castle matrix --format html", () => {
  let html: string;
  before(async () => {
    html = matrixHtml(buildMatrix(await fromStack("dev")));
  });

  it("is one self-contained page: no scripts, no external assets", () => {
    assert.match(html, /^<!doctype html>/);
    assert.ok(!/<script|<link|src=|url\(/i.test(html), "nothing to fetch");
    assert.match(html, /<title>Castle reachability: stack dev<\/title>/);
    assert.match(html, /<th scope="row">ingress-nginx \(ingress-nginx\)<\/th>/);
    assert.match(html, /title="global-infra-dns, kube-system\/allow-to-coredns">53\/udp</);
  });

  it("renders in headless Chromium with the verdict colours", function () {
    const chromium = findChromium();
    if (!chromium) {
      if (process.env.CI) assert.fail("Chromium is missing: .ci/run installs it (apt-get install chromium)");
      this.skip();
    }
    this.timeout(120000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "castle-html-"));
    const page = path.join(dir, "matrix.html");
    const shot = path.join(dir, "matrix.png");
    fs.writeFileSync(page, html);
    screenshot(page, shot, "2200,1400");
    const img = decodePng(fs.readFileSync(shot));
    assert.equal(img.width, 2200);
    assert.equal(img.height, 1400);
    // Whole cells in the verdict colours: allowed (green), AUDIT (orange), not applicable (grey).
    assert.ok(countColour(img, "#1e8e3e") > 50000, "allowed cells are green");
    assert.ok(countColour(img, "#f29900") > 50000, "audited cells are orange");
    assert.ok(countColour(img, "#e8eaed") > 5000, "diagonal cells are grey");
    assert.ok(countColour(img, "#202124") > 20000, "the header row is dark");
  });
});
