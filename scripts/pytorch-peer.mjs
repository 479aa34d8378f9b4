// Shared by the benchmarks that compare against PyTorch (packages/*/bench/run.mjs): where the peer
// lives, whether it can run, how to call it, and the median of repeated rounds.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

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

/**
 * OpenBLAS's names for the kernels it falls back to when it does not recognise the CPU. OpenBLAS 0.3.21 (Debian 12's)
 * does not recognise some newer Xeons and takes its Prescott (SSE3) kernels: measured on such a machine, a 128 × 150 ·
 * 150 × 10,000 product ran at 13 GFLOPS against 55–67 with the SkylakeX or Cooperlake kernels.
 */
const GENERIC_CORES = new Set(['Prescott', 'Core2', 'Penryn', 'Dunnington', 'Katmai', 'Coppermine', 'Northwood', 'Banias', 'Atom', 'Nano']);

/** The OpenBLAS core PyTorch's BLAS runs (null where the BLAS is not OpenBLAS) under `env`. */
function openblasCore(env) {
  const probe = [
    'import ctypes, torch',
    'try:',
    "    lib = ctypes.CDLL('libopenblas.so.0'); lib.openblas_get_corename.restype = ctypes.c_char_p; print(lib.openblas_get_corename().decode())",
    'except OSError:',
    "    print('')",
  ].join('\n');
  const out = execFileSync(PYTHON, ['-c', probe], { encoding: 'utf8', env: { ...process.env, ...env } }).trim();
  return out === '' ? null : out;
}

let peerBlasCache;

/**
 * The BLAS the peer runs, and the environment it runs with so that it is an optimized one, as a user's would be
 * (pip's wheels bundle a BLAS that knows the CPU): where OpenBLAS falls back to generic kernels on a CPU with AVX-512
 * or AVX2, `OPENBLAS_CORETYPE` names SkylakeX or Haswell. A user's own OPENBLAS_CORETYPE is kept. `line` says which
 * core ran, for the benchmark's header.
 */
export function peerBlas() {
  if (peerBlasCache !== undefined) return peerBlasCache;
  let env = {};
  let core = openblasCore(env);
  let note = '';
  if (core !== null && GENERIC_CORES.has(core) && process.env.OPENBLAS_CORETYPE === undefined) {
    const flags = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
    const wanted = /\bavx512f\b/.test(flags) ? 'SkylakeX' : /\bavx2\b/.test(flags) ? 'Haswell' : null;
    if (wanted !== null) {
      env = { OPENBLAS_CORETYPE: wanted };
      note = ` (OpenBLAS took its generic ${core} kernels on this CPU; OPENBLAS_CORETYPE=${wanted} set for the peer)`;
      core = openblasCore(env);
    }
  }
  const blas = core === null ? 'not OpenBLAS (the reference BLAS unless another is installed)' : `OpenBLAS, core ${core}`;
  peerBlasCache = { env, core, line: `pytorch peer BLAS: ${blas}${note}` };
  return peerBlasCache;
}

/** Runs a peer script (with extra environment variables) and parses the JSON object on its last line of output. */
export function runPeer(script, args, env = {}) {
  const out = execFileSync(PYTHON, [script, ...args.map(String)], { encoding: 'utf8', env: { ...process.env, ...peerBlas().env, ...env } });
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
