import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

/** Debian's chromium package; deploy/ensure-browser.sh installs it. Nothing is downloaded. */
export const CHROMIUM_PATH = process.env['CAUSEWAY_CHROMIUM'] ?? '/usr/bin/chromium';

/**
 * Flags for a quiet, isolated headless run: no sandbox (containers and root have none), no GPU,
 * and none of the background traffic (updates, sync, QUIC probes) that would reach the internet
 * or make a test depend on it.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  /** Where this browser's profile lives; removed by close(). */
  userDataDir: string;
  close(): Promise<void>;
}

/**
 * Headless Chromium driven by playwright-core, with a fresh profile (no cookies, storage or
 * cache from an earlier run). Downloads are accepted so tests can read what the browser saved.
 */
export async function launchTestBrowser(
  options: { viewport?: { width: number; height: number } } = {},
): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: run deploy/ensure-browser.sh (installs Debian's chromium package)`,
    );
  }
  const userDataDir = mkdtempSync(join(tmpdir(), 'causeway-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    acceptDownloads: true,
    viewport: options.viewport ?? { width: 1280, height: 800 },
  });
  return {
    context,
    userDataDir,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

export type { Browser, BrowserContext };
