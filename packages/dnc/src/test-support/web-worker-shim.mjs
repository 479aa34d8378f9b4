// Runs dist/dnc-web-worker.js in a worker_threads Worker as if in a browser's Web Worker: `self`'s postMessage and
// onmessage, bridged to the thread's port (web-workers.test.ts).
// As a browser does, messages that arrive before the script has run wait for it.
import { parentPort } from 'node:worker_threads';

const early = [];
globalThis.postMessage = (message, transfer) => parentPort.postMessage(message, transfer);
parentPort.on('message', (data) => (globalThis.onmessage ? globalThis.onmessage({ data }) : early.push(data)));
await import('../../dist/dnc-web-worker.js');
for (const data of early.splice(0)) globalThis.onmessage?.({ data });
