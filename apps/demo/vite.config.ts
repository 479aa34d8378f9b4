import { basename, resolve } from 'node:path';
import { type Plugin, defineConfig } from 'vite';

const NODE_BUILTIN = /^node:/;

/** The pages in the navigation, in order. */
const NAVIGATION = [
  ['ntm.html', 'Neural Turing Machine'],
  ['dnc.html', 'DNC'],
  ['memnet.html', 'Memory network'],
  ['lm.html', 'Long text'],
  ['train-lm.html', 'Train on your text'],
] as const;
const FOOTER = 'Everything runs in this tab: no server, no network beyond this site’s own files.';

/**
 * What every page shares, written once: the head's charset, viewport, icon, stylesheet and sharing
 * tags (from the page's own title and description), the header with the navigation (the current
 * page marked), and the footer.
 */
function pageChrome(): Plugin {
  return {
    name: 'engram-demo-page-chrome',
    transformIndexHtml: {
      order: 'pre',
      handler(html, { filename }) {
        const page = basename(filename);
        const title = /<title>(.*?)<\/title>/.exec(html)?.[1] ?? 'Engram demo';
        const description = /<meta name="description" content="(.*?)"/.exec(html)?.[1] ?? '';
        const head = [
          '<meta charset="utf-8" />',
          '<meta name="viewport" content="width=device-width, initial-scale=1" />',
          `<meta property="og:title" content="${title}" />`,
          `<meta property="og:description" content="${description}" />`,
          '<meta name="theme-color" content="#0f1117" />',
          // No favicon request: the site loads only what it uses.
          '<link rel="icon" href="data:," />',
          '<link rel="stylesheet" href="./src/shared/style.css" />',
        ].join('\n    ');
        const links = NAVIGATION.map(([href, label]) => `<a href="./${href}"${href === page ? ' aria-current="page"' : ''}>${label}</a>`).join('\n        ');
        const header = `<header class="top">\n      <a class="brand" href="./index.html">Engram</a>\n      <nav>\n        ${links}\n      </nav>\n    </header>`;
        return html
          .replace('<head>', `<head>\n    ${head}`)
          .replace('<body>', `<body>\n    ${header}`)
          .replace('</body>', `  <footer class="muted small">${FOOTER}</footer>\n  </body>`);
      },
    },
  };
}

// A static multi-page app: `base: './'` makes every URL relative, so dist/ can be hosted under any
// path (or opened from a file server) without rebuilding.
export default defineConfig({
  base: './',
  plugins: [pageChrome()],
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      // The packages import Node modules only inside their file and download helpers, which the
      // pages never call; leave those imports alone instead of stubbing them.
      external: NODE_BUILTIN,
      input: {
        index: resolve(import.meta.dirname, 'index.html'),
        ntm: resolve(import.meta.dirname, 'ntm.html'),
        dnc: resolve(import.meta.dirname, 'dnc.html'),
        memnet: resolve(import.meta.dirname, 'memnet.html'),
        lm: resolve(import.meta.dirname, 'lm.html'),
        'train-lm': resolve(import.meta.dirname, 'train-lm.html'),
      },
    },
  },
  worker: { format: 'es', rollupOptions: { external: NODE_BUILTIN } },
  preview: { host: '127.0.0.1' },
  server: { host: '127.0.0.1' },
});
