// A worker script for gradient-workers.test.ts: the test's replica, served over worker_threads.
import { serveGradients } from '../../dist/workers.js';
import { setupReplica } from './replica-fixture.mjs';

serveGradients(setupReplica);
