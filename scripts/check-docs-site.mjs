// Renders the documentation site (docs/site, built by `pnpm run docs`) in headless Debian chromium
// driven by playwright-core: every page of the guides, results and package reference is loaded from a
// loopback server, and the check fails on a console error, an uncaught page error, a failed request,
// or a link to a page that does not exist. Screenshots of the main pages go to docs/.site-check/.
// Usage: node scripts/check-docs-site.mjs   (CHROMIUM=/path/to/chromium, default /usr/bin/chromium)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const site = join(root, 'docs', 'site');
const shots = join(root, 'docs', '.site-check');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const PAGE_TIMEOUT_MS = 30_000;
const TYPES = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.md': 'text/markdown',
};

if (!existsSync(join(site, 'index.html'))) {
  console.error('docs site check: docs/site/index.html is missing (run `pnpm run docs` first)');
  process.exit(1);
}
if (!existsSync(CHROMIUM)) {
  console.error(`docs site check: no chromium at ${CHROMIUM} (Debian: apt-get install chromium; or set CHROMIUM)`);
  process.exit(1);
}
const { chromium } = createRequire(join(root, 'docs', 'package.json'))('playwright-core');

/** Every file of the site, as URL paths. */
function files(dir, prefix = '') {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path, `${prefix}${name}/`) : [`${prefix}${name}`];
  });
}
const served = new Set(files(site));
const server = createServer((request, response) => {
  const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)).replace(/^\/+/, '') || 'index.html';
  const file = join(site, path);
  // Browsers ask every origin for a favicon; the site has none, which is not a page error.
  if (path === 'favicon.ico') {
    response.writeHead(204);
    response.end();
    return;
  }
  if (relative(site, file).startsWith('..') || !served.has(path)) {
    response.writeHead(404);
    response.end('not found');
    return;
  }
  response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
  response.end(readFileSync(file));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}/`;

const pages = [...served].filter((p) => p.endsWith('.html')).sort();
const profile = mkdtempSync(join(tmpdir(), 'engram-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
  viewport: { width: 1280, height: 900 },
});
const problems = [];
const brokenLinks = new Set();
let formulas = 0;
rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });
const screenshotted = new Set([
  'index.html',
  'documents/Getting_started.html',
  'documents/Concepts.html',
  'documents/Language-model_results.html',
  'documents/results_memnet.html',
  'modules/_engram_memnet.html',
]);
try {
  const page = await context.newPage();
  let current = '';
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`${current}: console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`${current}: page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`${current}: request failed: ${request.url()} (${request.failure()?.errorText})`));
  page.on('requestfinished', async (request) => {
    const response = await request.response();
    if (response !== null && response.status() >= 400) problems.push(`${current}: ${response.status()} for ${request.url()}`);
  });
  for (const path of pages) {
    current = path;
    await page.goto(`${base}${path}`, { waitUntil: 'load', timeout: PAGE_TIMEOUT_MS });
    const title = await page.title();
    if (title.trim() === '') problems.push(`${path}: empty <title>`);
    // Links inside the site must point at files that exist.
    const links = await page.$$eval('a[href]', (anchors) => anchors.map((a) => a.href));
    for (const link of links) {
      if (!link.startsWith(base)) continue;
      const target = decodeURIComponent(new URL(link).pathname).replace(/^\/+/, '') || 'index.html';
      if (!served.has(target)) brokenLinks.add(`${path} → ${target}`);
    }
    // Every formula was turned into KaTeX's output (docs/typedoc-plugin-math.mjs): none is left as code.
    const leftover = await page.$$eval(
      'pre > code.math, code',
      (codes) =>
        codes.filter((c) => c.matches('pre > code.math') || (c.previousSibling?.textContent?.endsWith('$') && c.nextSibling?.textContent?.startsWith('$')))
          .length,
    );
    if (leftover > 0) problems.push(`${path}: ${leftover} formula(s) not rendered as mathematics`);
    formulas += await page.$$eval('.katex', (nodes) => nodes.length);
    if (screenshotted.has(path)) await page.screenshot({ path: join(shots, `${path.replace(/\W+/g, '-')}.png`), fullPage: false });
  }
} finally {
  await context.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
for (const link of brokenLinks) problems.push(`broken link: ${link}`);
if (problems.length > 0) {
  console.error(`docs site check: ${problems.length} problem(s) in ${pages.length} pages:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(
  `docs site check: ${pages.length} pages render in chromium without errors or broken links, ${formulas} formulas as mathematics; screenshots in docs/.site-check/`,
);
