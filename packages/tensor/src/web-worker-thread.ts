/**
 * A Node worker thread posing as a browser's Web Worker, started by `webWorkerOnThread`: the global scope's
 * `postMessage` and `onmessage` are bridged to the thread's port, then the Web Worker's module (its URL in
 * `workerData.script`) is imported. Messages that arrive before that module has run wait for it, as in a browser.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EngramError } from './errors.js';

const port = parentPort;
if (port === null) throw new EngramError('web-worker-thread: not running in a worker thread');
const scope = globalThis as unknown as {
  postMessage: (message: unknown, transfer?: Transferable[]) => void;
  onmessage: ((event: { data: unknown }) => void) | null | undefined;
};
const early: unknown[] = [];
scope.postMessage = (message, transfer) => port.postMessage(message, transfer as never);
port.on('message', (data: unknown) => {
  if (scope.onmessage) scope.onmessage({ data });
  else early.push(data);
});
await import((workerData as { script: string }).script);
for (const data of early.splice(0)) scope.onmessage?.({ data });
