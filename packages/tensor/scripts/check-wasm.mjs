// The wasm modules are embedded as base64 by build-wasm.mjs; this last build step checks that the
// embedded module made it into dist.
import { existsSync } from 'node:fs';
const target = new URL('../dist/cpu/kernels-wasm.generated.js', import.meta.url);
if (!existsSync(target)) {
  console.error('build: dist/cpu/kernels-wasm.generated.js is missing');
  process.exit(1);
}
