/**
 * Opens a local HTML file in Debian's headless Chromium (`apt-get install chromium`) as a reader inside a bank
 * would: no sandbox (tests run as root), background networking, extensions and component updates off, no host
 * name resolving, a profile of its own. Fails loudly when Chromium is absent: the browser test never skips itself.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';

const CHROMIUM = '/usr/bin/chromium';

/** What Chromium made of the page: its DOM after load and a screenshot. */
export interface RenderedPage {
  readonly dom: string;
  readonly screenshot: PNG;
  readonly screenshotPath: string;
}

function chromium(args: readonly string[], profile: string) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install --no-install-recommends chromium`);
  }
  const run = spawnSync(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      // No host name resolves: a page that fetched by name would get nothing (IP literals and file: URLs are not
      // blocked here; the report's own CSP, which the test checks, forbids every fetch).
      '--host-resolver-rules=MAP * ~NOTFOUND',
      '--disable-component-update',
      '--disable-extensions',
      '--disable-sync',
      '--no-first-run',
      '--hide-scrollbars',
      `--user-data-dir=${profile}`,
      ...args,
    ],
    { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
  );
  if (run.status !== 0) throw new Error(`chromium failed (${run.status ?? run.signal}): ${run.stderr.slice(-2000)}`);
  return run.stdout;
}

/** Loads `htmlPath` and screenshots it at `width` × `height` into `screenshotPath`. */
export function renderPage(htmlPath: string, screenshotPath: string, width = 1100, height = 4200): RenderedPage {
  const profile = mkdtempSync(join(tmpdir(), 'mlp-chromium-'));
  try {
    const url = pathToFileURL(htmlPath).href;
    const dom = chromium(['--dump-dom', url], profile);
    chromium([`--window-size=${width},${height}`, `--screenshot=${screenshotPath}`, url], profile);
    return { dom, screenshot: PNG.sync.read(readFileSync(screenshotPath)), screenshotPath };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The inner markup of each `<figure id=…>` in a DOM, by id. */
export function figuresOf(dom: string): Map<string, string> {
  return new Map([...dom.matchAll(/<figure id="([^"]+)">(.*?)<\/figure>/gs)].map((m) => [m[1], m[2]]));
}

/** Pixels of a screenshot within `tolerance` (per channel) of the colour `#rrggbb`. */
export function pixelsOf(png: PNG, hex: string, tolerance = 12): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    const d = png.data;
    if (Math.abs(d[i] - r) <= tolerance && Math.abs(d[i + 1] - g) <= tolerance && Math.abs(d[i + 2] - b) <= tolerance)
      n++;
  }
  return n;
}
