// A Web Worker script for web-gradient-workers.test.ts (run in Node by webWorkerOnThread): the test's replica, served
// by serveWebGradients.
import { serveWebGradients } from '../../dist/web-workers.js';
import { setupReplica } from './replica-fixture.mjs';

serveWebGradients(setupReplica);
