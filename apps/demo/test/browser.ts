/**
 * What the browser test needs around a page: the built site (dist/) on a loopback server, and a
 * real browser driving it — Debian's chromium through playwright-core (Chrome DevTools protocol),
 * Debian's firefox-esr through puppeteer-core (WebDriver BiDi) — behind one small {@link DemoPage}
 * interface, so one scenario list runs on both. Every console error, page error, failed request and
 * request to anything but the site itself is recorded.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, relative } from 'node:path';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';

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
/** Debian's browsers, or $CHROMIUM / $FIREFOX. */
export const BROWSERS = {
  chromium: process.env.CHROMIUM ?? '/usr/bin/chromium',
  firefox: process.env.FIREFOX ?? '/usr/bin/firefox-esr',
} as const;
/** A browser the test drives. */
export type BrowserName = keyof typeof BROWSERS;

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

/** Everything that went wrong on a page, by kind. */
export interface PageProblems {
  console: string[];
  pageErrors: string[];
  failedRequests: string[];
  foreignRequests: string[];
}

/** The few things the scenarios do with a page, the same on every browser. */
export interface DemoPage {
  readonly problems: PageProblems;
  /** Loads a path of the site. */
  goto(path: string): Promise<void>;
  /** Runs `fn(arg)` in the page and returns its (serialisable) result. */
  evaluate<T, A = undefined>(fn: (arg: A) => T, arg?: A): Promise<T>;
  /** Waits until `fn(arg)` is true in the page. */
  waitUntil<A = undefined>(fn: (arg: A) => boolean, arg?: A, timeoutMs?: number): Promise<void>;
  /** Clicks the element (at `position` inside it, if given). */
  click(selector: string, position?: { x: number; y: number }): Promise<void>;
  /** Sets an input's, textarea's or select's value and fires `input` and `change`, as a visitor would. */
  fill(selector: string, value: string): Promise<void>;
  /** Resizes the viewport (CSS pixels). */
  setViewport(width: number, height: number): Promise<void>;
  /** Saves a full-page screenshot as test artifact `<browser>-<name>.png`. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** A running browser with a fresh profile. */
export interface DemoBrowser {
  newPage(): Promise<DemoPage>;
  close(): Promise<void>;
}

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  // WebGL2 on Mesa through ANGLE's EGL (under xvfb), rather than SwiftShader.
  '--use-angle=gl-egl',
  '--ignore-gpu-blocklist',
];
/** Firefox preferences that keep it off the network: no updates, telemetry, captive-portal or safe-browsing calls. */
const FIREFOX_PREFS = {
  'app.update.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'toolkit.telemetry.enabled': false,
  'webgl.force-enabled': true,
};

/** Longest single call to Firefox (puppeteer's default is 180 s). */
const PROTOCOL_TIMEOUT_MS = 900_000;

function shotPath(browser: BrowserName, name: string): string {
  mkdirSync(SHOTS, { recursive: true });
  return join(SHOTS, `${browser}-${name}.png`);
}

const setValue = ([selector, value]: [string, string]): void => {
  const element = document.querySelector(selector) as HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement | null;
  if (element === null) throw new Error(`no element ${selector}`);
  element.value = value;
  element.dispatchEvent(new Event('input', { bubbles: true }));
  element.dispatchEvent(new Event('change', { bubbles: true }));
};

/** Where a page's events are turned into {@link PageProblems}, the same for every browser. */
function recorder(origin: string) {
  const problems: PageProblems = { console: [], pageErrors: [], failedRequests: [], foreignRequests: [] };
  return {
    problems,
    console(type: string, text: string): void {
      if (type === 'error') problems.console.push(text);
    },
    pageError(message: string): void {
      problems.pageErrors.push(message);
    },
    failed(url: string, reason: string | undefined): void {
      problems.failedRequests.push(`${url}: ${reason}`);
    },
    response(url: string, status: number): void {
      if (status >= 400) problems.failedRequests.push(`${url}: HTTP ${status}`);
    },
    request(url: string): void {
      const own = url.startsWith(origin) || url.startsWith('data:') || url.startsWith('blob:') || url.startsWith('about:');
      if (!own) problems.foreignRequests.push(url);
    },
  };
}

/** Starts `name` with a fresh profile, its pages opening on `origin`. */
export async function launch(name: BrowserName, origin: string): Promise<DemoBrowser> {
  const profile = mkdtempSync(join(tmpdir(), `engram-demo-${name}-`));
  const cleanUp = (): void => rmSync(profile, { recursive: true, force: true });
  return name === 'chromium' ? launchChromium(profile, origin, cleanUp) : launchFirefox(profile, origin, cleanUp);
}

async function launchChromium(profile: string, origin: string, cleanUp: () => void): Promise<DemoBrowser> {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: BROWSERS.chromium,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  return {
    async newPage(): Promise<DemoPage> {
      const page = await context.newPage();
      const record = recorder(origin);
      page.on('console', (message) => record.console(message.type(), message.text()));
      page.on('pageerror', (error) => record.pageError(error.message));
      page.on('requestfailed', (request) => record.failed(request.url(), request.failure()?.errorText));
      page.on('response', (response) => record.response(response.url(), response.status()));
      // Context-wide, so requests from workers count too.
      context.on('request', (request) => record.request(request.url()));
      const { problems } = record;
      return {
        problems,
        goto: async (path) => {
          await page.goto(`${origin}/${path}`);
        },
        evaluate: (fn, arg) => page.evaluate(fn, arg as never),
        waitUntil: async (fn, arg, timeoutMs = 120_000) => {
          await page.waitForFunction(fn, arg as never, { timeout: timeoutMs, polling: 100 });
        },
        click: (selector, position) => page.locator(selector).click(position ? { position } : {}),
        fill: (selector, value) => page.evaluate(setValue, [selector, value] as [string, string]),
        setViewport: (width, height) => page.setViewportSize({ width, height }),
        screenshot: async (name) => {
          const path = shotPath('chromium', name);
          await page.screenshot({ path, fullPage: true });
          return path;
        },
        close: () => page.close(),
      };
    },
    async close() {
      await context.close();
      cleanUp();
    },
  };
}

async function launchFirefox(profile: string, origin: string, cleanUp: () => void): Promise<DemoBrowser> {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: BROWSERS.firefox,
    headless: true,
    userDataDir: profile,
    extraPrefsFirefox: FIREFOX_PREFS,
    defaultViewport: { width: 1280, height: 900 },
    // A wait for slow training (the benchmark's) is one long protocol call.
    protocolTimeout: PROTOCOL_TIMEOUT_MS,
  });
  return {
    async newPage(): Promise<DemoPage> {
      const page = await browser.newPage();
      const record = recorder(origin);
      page.on('console', (message) => record.console(message.type(), message.text()));
      page.on('pageerror', (error) => record.pageError(String((error as Error).message ?? error)));
      page.on('requestfailed', (request) => record.failed(request.url(), request.failure()?.errorText));
      page.on('response', (response) => record.response(response.url(), response.status()));
      page.on('request', (request) => record.request(request.url()));
      const { problems } = record;
      return {
        problems,
        goto: async (path) => {
          await page.goto(`${origin}/${path}`);
        },
        evaluate: (fn, arg) => page.evaluate(fn as never, arg as never) as never,
        waitUntil: async (fn, arg, timeoutMs = 120_000) => {
          await page.waitForFunction(fn as never, { timeout: timeoutMs, polling: 100 }, arg as never);
        },
        click: async (selector, position) => {
          await page.click(selector, position ? { offset: position } : {});
        },
        fill: async (selector, value) => {
          await page.evaluate(setValue, [selector, value] as [string, string]);
        },
        setViewport: (width, height) => page.setViewport({ width, height }),
        screenshot: async (name) => {
          const path = shotPath('firefox', name);
          await page.screenshot({ path: path as `${string}.png`, fullPage: true });
          return path;
        },
        close: () => page.close(),
      };
    },
    async close() {
      await browser.close();
      cleanUp();
    },
  };
}
