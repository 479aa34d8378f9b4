// Makes the apps' READMEs pages of the documentation site: each is copied to docs/.generated/ with
// the front matter TypeDoc reads (title, group) and its relative links rewritten to point from
// there, so the README stays the one text (on GitHub, on npm, and on the site).
// Usage: node scripts/docs-pages.mjs   (run by `pnpm run docs` before typedoc)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'docs', '.generated');

/** README → page: the source, the page's file name and its title in the site's menu. */
const PAGES = [
  { source: 'apps/cli/README.md', page: 'command-line.md', title: 'The command line' },
  { source: 'apps/demo/README.md', page: 'demo.md', title: 'The demo' },
];

mkdirSync(out, { recursive: true });
for (const { source, page, title } of PAGES) {
  const from = dirname(join(root, source));
  const text = readFileSync(join(root, source), 'utf8').replace(/\]\((?!https?:|#|mailto:)([^)\s]+)\)/g, (_, link) => {
    const [path, anchor] = link.split('#');
    const target = relative(out, resolve(from, path));
    return `](${target}${anchor === undefined ? '' : `#${anchor}`})`;
  });
  writeFileSync(join(out, page), `---\ntitle: ${title}\ngroup: Guides\n---\n\n${text}`);
}
console.log(`docs pages: ${PAGES.map((p) => p.source).join(', ')} → docs/.generated/`);
