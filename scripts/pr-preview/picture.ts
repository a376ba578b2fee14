// npm run -s pr-preview-picture -- <comment.md> <out.png>
// A preview comment as a reviewer sees it: the Markdown rendered to HTML (GitHub-flavoured, by marked) in a
// page styled like a GitHub comment, captured by headless Chromium. The README's picture comes from here.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const STYLE = `
body { margin: 0; background: #f6f8fa; font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; color: #1f2328; }
.comment { margin: 16px; background: #fff; border: 1px solid #d1d9e0; border-radius: 6px; }
.header { padding: 8px 16px; background: #f6f8fa; border-bottom: 1px solid #d1d9e0; border-radius: 6px 6px 0 0; color: #59636e; }
.header b { color: #1f2328; }
.body { padding: 16px; }
h3 { font-size: 1.25em; margin: 16px 0 8px; } h4 { font-size: 1em; margin: 16px 0 8px; }
h3:first-child { margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0 16px; display: block; overflow: auto; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; } th { font-weight: 600; } tr:nth-child(2n) { background: #f6f8fa; }
code { font: 85% ui-monospace, SFMono-Regular, Menlo, monospace; background: #818b981f; padding: .2em .4em; border-radius: 6px; }
pre { background: #f6f8fa; padding: 16px; border-radius: 6px; white-space: pre-wrap; } pre code { background: none; padding: 0; }
details summary { cursor: pointer; color: #0969da; } sub { color: #59636e; }
`;

/** The comment's Markdown as the HTML page the picture is taken of. */
export async function commentHtml(markdown: string, author = "github-actions[bot]"): Promise<string> {
  const { marked } = await import("marked");
  const html = await marked.parse(markdown, { gfm: true });
  return `<!doctype html><html><head><meta charset="utf-8"><style>${STYLE}</style></head><body>
<div class="comment"><div class="header"><b>${author}</b> commented</div><div class="body">${html}</div></div>
</body></html>`;
}

/** Chromium from CHROMIUM or Debian's and Google's usual paths, if there is one. */
export function findChromium(): string | undefined {
  for (const c of [
    process.env.CHROMIUM,
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
  ]) {
    if (c && fs.existsSync(c)) return c;
  }
  return undefined;
}

/** A PNG of a local HTML page as headless Chromium draws it at `size` ("width,height"), nothing fetched. */
export function screenshot(page: string, out: string, size: string): void {
  const chromium = findChromium();
  if (!chromium) throw new Error("no chromium (Debian: apt-get install chromium; or set CHROMIUM)");
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "castle-chromium-"));
  try {
    execFileSync(
      chromium,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--user-data-dir=${profile}`,
        "--hide-scrollbars",
        `--window-size=${size}`,
        `--screenshot=${path.resolve(out)}`,
        `file://${path.resolve(page)}`,
      ],
      { stdio: "ignore", timeout: 90_000 },
    );
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

export async function takePicture(markdown: string, out: string, size = "1400,1800"): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "castle-comment-"));
  const page = path.join(dir, "comment.html");
  fs.writeFileSync(page, await commentHtml(markdown));
  screenshot(page, out, size);
  fs.rmSync(dir, { recursive: true, force: true });
}

if (require.main === module) {
  const [input, out, size] = process.argv.slice(2);
  if (!input || !out) {
    process.stderr.write("usage: npm run -s pr-preview-picture -- <comment.md> <out.png> [width,height]\n");
    process.exit(2);
  }
  takePicture(fs.readFileSync(input, "utf8"), out, size).catch((e: Error) => {
    process.stderr.write(`pr-preview-picture: ${e.message}\n`);
    process.exit(1);
  });
}
