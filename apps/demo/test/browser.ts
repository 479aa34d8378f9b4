/**
 * What the browser test needs around a page: the built site (dist/) on a loopback server, Debian's
 * chromium driven by playwright-core, and a record of every console error, page error, failed
 * request and request to anything but the site itself.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, relative } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.safetensors': 'application/octet-stream',
};

/** The site's folder. */
export const DIST = join(import.meta.dirname, '..', 'dist');
/** Where screenshots go (kept as test artifacts; .gitignored). */
export const SHOTS = join(import.meta.dirname, '..', '.screenshots');
/** Debian's chromium, or $CHROMIUM. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Serves `root` on 127.0.0.1 at a free port; answers 404 for anything outside it. */
export async function serve(root: string): Promise<{ server: Server; origin: string }> {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)).replace(/^\/+/, '') || 'index.html';
    const file = join(root, path);
    if (relative(root, file).startsWith('..') || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404);
      response.end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A chromium with its own fresh profile; WebGL2 on Mesa when `gpu` (through ANGLE's EGL), else SwiftShader. */
export async function launch(options: { gpu: boolean }): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'engram-demo-chromium-'));
  const args = [
    '--headless',
    '--no-sandbox',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
  ];
  if (options.gpu) args.push('--use-angle=gl-egl', '--ignore-gpu-blocklist');
  else args.push('--enable-unsafe-swiftshader');
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args, viewport: { width: 1280, height: 900 } });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Everything that went wrong on a page, by kind. */
export interface PageProblems {
  console: string[];
  pageErrors: string[];
  failedRequests: string[];
  foreignRequests: string[];
}

/** Opens `path` on the site and starts recording its problems. */
export async function open(context: BrowserContext, origin: string, path: string): Promise<{ page: Page; problems: PageProblems }> {
  const page = await context.newPage();
  const problems: PageProblems = { console: [], pageErrors: [], failedRequests: [], foreignRequests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') problems.console.push(message.text());
  });
  page.on('pageerror', (error) => problems.pageErrors.push(error.message));
  page.on('requestfailed', (request) => problems.failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.failedRequests.push(`${response.url()}: HTTP ${response.status()}`);
  });
  context.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) problems.foreignRequests.push(url);
  });
  await page.goto(`${origin}/${path}`);
  return { page, problems };
}

/** Saves a full-page screenshot as test artifact `name`.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
