/**
 * Debian's Chromium driven by playwright-core (no browser download), as scripts/test-browser.js
 * does, with every request that is not a local file blocked: the deck must need no network.
 */
import * as fs from 'fs';
import type { Browser, BrowserContext } from 'playwright-core';

export const BROWSER_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** LONGLORA_CHROMIUM, else Debian's /usr/bin/chromium; null when there is none. */
export function chromiumPath(): string | null {
  const candidates = [process.env.LONGLORA_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => typeof p === 'string' && p !== '');
  return candidates.find((p) => fs.existsSync(p)) ?? null;
}

/** Why Chromium cannot be used, or null. */
export function chromiumProblem(): string | null {
  if (chromiumPath() === null) return 'no Chromium at $LONGLORA_CHROMIUM, /usr/bin/chromium or /usr/bin/chromium-browser: install Debian\'s with `apt-get install -y chromium` or set LONGLORA_CHROMIUM';
  try {
    require.resolve('playwright-core');
  } catch {
    return 'playwright-core is not installed: run `npm install` (it is a devDependency)';
  }
  return null;
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  const problem = chromiumProblem();
  if (executablePath === null || problem !== null) throw new Error(`slides: ${problem}`);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  return chromium.launch({ executablePath, headless: true, args: BROWSER_ARGS });
}

/** A 1280 x 720 context in which every non-local request is aborted and reported to `onBlocked`. */
export async function offlineContext(browser: Browser, onBlocked: (url: string) => void, viewport = { width: 1280, height: 720 }): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:') || url.startsWith('about:')) return route.continue();
    onBlocked(url);
    return route.abort();
  });
  return context;
}
