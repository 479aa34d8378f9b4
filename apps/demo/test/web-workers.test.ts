/**
 * `createNtmWebWorkers` (@engram/ntm/web-workers) in real browsers, as an app would use it: test/web-workers/ is
 * bundled with Vite (which finds the worker script inside @engram/ntm by its `new URL(…, import.meta.url)`), served,
 * and run in Debian's chromium and firefox-esr. A small NTM trained on 2 and 3 threads (and a small DNC on 2) must end
 * with one thread's weights up to the order of sums; the page also times batch-16 training on 1 and 2 threads (printed, not asserted).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSERS, type BrowserName, type DemoBrowser, launch, serve } from './browser.js';
import type { WebWorkersResult } from './web-workers/main.js';

const available = (Object.keys(BROWSERS) as BrowserName[]).filter((name) => existsSync(BROWSERS[name]));
const NODE_BUILTIN = /^node:/;

describe.runIf(available.length > 0)('NTM training on Web Workers', () => {
  let outDir: string;
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'engram-web-workers-'));
    await build({
      root: join(import.meta.dirname, 'web-workers'),
      base: './',
      configFile: false,
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true, target: 'es2022', rollupOptions: { external: NODE_BUILTIN } },
      worker: { format: 'es', rollupOptions: { external: NODE_BUILTIN } },
    });
    ({ server, origin } = await serve(outDir));
  }, 120_000);
  afterAll(() => {
    server?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it.each(available)(
    'in %s: the NTM on 2 and 3 threads and the DNC on 2 end with one thread’s weights up to the order of sums',
    async (name) => {
      let browser: DemoBrowser | undefined;
      try {
        browser = await launch(name, origin);
        const page = await browser.newPage();
        await page.goto('index.html');
        await page.waitUntil(() => (globalThis as unknown as { engramWebWorkers?: { done: boolean } }).engramWebWorkers?.done === true, undefined, 150_000);
        const result = await page.evaluate(() => (globalThis as unknown as { engramWebWorkers: WebWorkersResult }).engramWebWorkers);
        expect(result.error).toBeNull();
        expect(result.used).toEqual({ 1: 1, 2: 2, 3: 3 });
        for (const threads of [2, 3]) expect(result.differences[threads]).toBeLessThan(1e-4);
        expect(result.dncDifference).toBeLessThan(1e-4);
        expect(page.problems.pageErrors).toEqual([]);
        expect(page.problems.console).toEqual([]);
        expect(page.problems.failedRequests).toEqual([]);
        const rate = result.sequencesPerSecond;
        console.log(`${name}: batch 16, copy 1..20: ${rate[1]?.toFixed(1)} sequences/s on 1 thread, ${rate[2]?.toFixed(1)} on 2 (${result.cores} cores)`);
        await page.close();
      } finally {
        await browser?.close();
      }
    },
    240_000,
  );
});
