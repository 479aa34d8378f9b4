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

/** Runs a peer script and parses the JSON object on its last line of output. */
export function runPeer(script, args) {
  const out = execFileSync(PYTHON, [script, ...args.map(String)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop());
}

/** The median of a list of numbers. */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
