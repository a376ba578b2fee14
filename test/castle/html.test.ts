// The HTML matrix: one self-contained page. html.e2e.ts renders it in headless Chromium.

import { strict as assert } from "assert";
import { devMatrixHtml } from "./support";

describe("castle matrix --format html", () => {
  let html: string;
  before(async () => {
    html = await devMatrixHtml();
  });

  it("is one self-contained page: no scripts, no external assets", () => {
    assert.match(html, /^<!doctype html>/);
    assert.ok(!/<script|<link|src=|url\(/i.test(html), "nothing to fetch");
    assert.match(html, /<title>Castle reachability: stack dev<\/title>/);
    assert.match(html, /<th scope="row">ingress-nginx \(ingress-nginx\)<\/th>/);
    assert.match(html, /title="global-infra-dns, kube-system\/allow-to-coredns">53\/udp</);
  });
});
