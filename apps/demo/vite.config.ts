import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const NODE_BUILTIN = /^node:/;

// A static multi-page app: `base: './'` makes every URL relative, so dist/ can be hosted under any
// path (or opened from a file server) without rebuilding.
export default defineConfig({
  base: './',
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
        memnet: resolve(import.meta.dirname, 'memnet.html'),
      },
    },
  },
  worker: { format: 'es', rollupOptions: { external: NODE_BUILTIN } },
  preview: { host: '127.0.0.1' },
  server: { host: '127.0.0.1' },
});
