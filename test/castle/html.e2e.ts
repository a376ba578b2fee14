// The HTML matrix in a real browser: headless Chromium renders it, and the screenshot shows the verdict
// colours a workshop audience reads.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { devMatrixHtml } from "./support";
import { countColour, decodePng } from "../support/png";
import { findChromium, screenshot } from "../../scripts/pr-preview/picture";

describe("castle matrix --format html", () => {
  let html: string;
  before(async () => {
    html = await devMatrixHtml();
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
