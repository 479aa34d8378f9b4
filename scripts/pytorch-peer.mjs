// Shared by the benchmarks that compare against PyTorch (packages/*/bench/run.mjs): where the peer
// lives, whether it can run, how to call it, and the median of repeated rounds.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The Python with Debian's python3-torch (override with ENGRAM_PYTHON). */
export const PYTHON = process.env.ENGRAM_PYTHON ?? '/usr/bin/python3';

/** True when PYTHON exists and imports torch. */
export function pytorchAvailable() {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs a peer script (with extra environment variables) and parses the JSON object on its last line of output. */
export function runPeer(script, args, env = {}) {
  const out = execFileSync(PYTHON, [script, ...args.map(String)], { encoding: 'utf8', env: { ...process.env, ...env } });
  return JSON.parse(out.trim().split('\n').pop());
}

/** The median of a list of numbers. */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Runs a peer script on `threads` threads at its best: with one thread as it is; with several, both with OpenBLAS
 * threaded as well (PyTorch's default) and with OpenBLAS on one thread under PyTorch's own threads, keeping the
 * faster (on small matrices the default can be several times slower than one thread). The result gains
 * `setting`, naming the environment that won ('' for the default). `rate` names the result's field to compare.
 */
export function runPeerAtBest(script, args, threads, rate = 'tokens_per_second') {
  const settings = threads === 1 ? [{}] : [{}, { OPENBLAS_NUM_THREADS: '1' }];
  const runs = settings.map((env) => ({ ...runPeer(script, args, env), setting: env.OPENBLAS_NUM_THREADS ? 'OPENBLAS_NUM_THREADS=1' : '' }));
  return runs.reduce((a, b) => (b[rate] > a[rate] ? b : a));
}
