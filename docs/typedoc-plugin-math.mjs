// @ts-check
// A TypeDoc plugin that renders the documentation's mathematics with KaTeX, served from the site
// itself (no request leaves it): fenced ```math blocks, and inline maths written as GitHub writes it,
// $`…`$ — so the same text renders as maths on GitHub and on npm's README view too. A formula KaTeX
// cannot parse logs a console error, which scripts/check-docs-site.mjs turns into a failure.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { JSX, RendererEvent } from 'typedoc';

const katexDist = dirname(createRequire(import.meta.url).resolve('katex'));

const RENDER = `// Renders \`\`\`math blocks and inline $\`…\`$ with KaTeX (loaded before this script).
(() => {
  const render = (tex, target, displayMode) => {
    try {
      katex.render(tex, target, { displayMode, throwOnError: true, strict: 'error' });
      return true;
    } catch (error) {
      console.error('math: cannot render ' + JSON.stringify(tex) + ': ' + error.message);
      return false;
    }
  };
  for (const code of document.querySelectorAll('pre > code.math, pre > code.language-math')) {
    const block = document.createElement('div');
    block.className = 'math-display';
    if (render(code.textContent.trim(), block, true)) code.parentElement.replaceWith(block);
  }
  for (const code of document.querySelectorAll('code')) {
    const before = code.previousSibling;
    const after = code.nextSibling;
    if (before?.nodeType !== Node.TEXT_NODE || after?.nodeType !== Node.TEXT_NODE) continue;
    if (!before.textContent.endsWith('$') || !after.textContent.startsWith('$')) continue;
    const inline = document.createElement('span');
    inline.className = 'math-inline';
    if (!render(code.textContent, inline, false)) continue;
    before.textContent = before.textContent.slice(0, -1);
    after.textContent = after.textContent.slice(1);
    code.replaceWith(inline);
  }
})();
`;

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.renderer.hooks.on('head.end', (context) =>
    JSX.createElement(
      JSX.Fragment,
      null,
      JSX.createElement('link', { rel: 'stylesheet', href: context.relativeURL('assets/katex/katex.min.css') }),
      JSX.createElement('script', { defer: true, src: context.relativeURL('assets/katex/katex.min.js') }),
      JSX.createElement('script', { defer: true, src: context.relativeURL('assets/katex/render-math.js') }),
    ),
  );
  app.renderer.on(RendererEvent.END, (event) => {
    const out = join(event.outputDirectory, 'assets', 'katex');
    mkdirSync(out, { recursive: true });
    for (const file of ['katex.min.css', 'katex.min.js']) cpSync(join(katexDist, file), join(out, file));
    cpSync(join(katexDist, 'fonts'), join(out, 'fonts'), { recursive: true });
    writeFileSync(join(out, 'render-math.js'), RENDER);
  });
}
