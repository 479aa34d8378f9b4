// pnpm bench: @engram/tensor against TensorFlow.js (cpu and wasm backends), measured in one run.
// Prints matmul GFLOPS, per-op overhead and an LSTM-sized forward + backward step, each with the
// ratio Engram / peer. Run after `pnpm build` (turbo does it). Not a test: numbers vary with load.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { timeInterleaved as timeTogether } from '@engram/tensor/testing';
import * as en from '../dist/index.js';

const MIN_TIME_MS = 300;
const REPEATS = 5;

/** Median µs per call of each function, their batches interleaved. */
const timeInterleaved = (...fns) => timeTogether(fns, { repeats: REPEATS, batchMs: MIN_TIME_MS / REPEATS });

const time = (fn) => timeInterleaved(fn)[0];

const rng = new en.Random(1);
const engramCpu = en.createCpuBackend();
const engramTs = en.createCpuBackend({ simd: false });
const fmt = (x, d = 1) => x.toFixed(d).padStart(8);

async function withTf(backend, fn) {
  await tf.setBackend(backend);
  await tf.ready();
  return fn();
}

console.log(`# @engram/tensor benchmark — ${new Date().toISOString()}`);
console.log(
  `engram: ${engramCpu.description}; TensorFlow.js ${tf.version_core} (cpu, wasm: SIMD ${await withTf('wasm', () => tf.env().getBool('WASM_HAS_SIMD_SUPPORT'))}, threads ${await withTf('wasm', () => tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'))})`,
);
console.log(`node ${process.version}, one thread\n`);

/** Times an Engram function against a TensorFlow.js one on `backend`, interleaved. */
async function versus(backend, engramFn, makeTfFn) {
  await tf.setBackend(backend);
  await tf.ready();
  const { fn, dispose } = makeTfFn();
  const [e, t] = timeInterleaved(engramFn, fn);
  dispose();
  return { engram: e, tfjs: t, ratio: t / e };
}

// --- matmul ---
const shapes = [
  [64, 64, 64],
  [128, 128, 128],
  [256, 256, 256],
  [512, 512, 512],
  [1024, 1024, 1024],
  [1, 129, 400],
  [16, 129, 400],
  [32, 129, 400],
];
console.log('## matmul GFLOPS (higher is better); ratio = peer time / engram time, measured interleaved');
console.log('| m×k·k×n | engram cpu | tfjs cpu | engram / tfjs cpu | engram cpu | tfjs wasm (XNNPACK) | engram / tfjs wasm | engram TS reference |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [m, k, n] of shapes) {
  const flops = 2 * m * k * n;
  const gflops = (us) => fmt(flops / us / 1e3);
  const aData = en.randomUniform([m, k], rng, -1, 1).toArray();
  const bData = en.randomUniform([k, n], rng, -1, 1).toArray();
  const engramFn = (backend) => {
    const a = en.tensor(aData, [m, k], { backend });
    const b = en.tensor(bData, [k, n], { backend });
    return () => en.matmul(a, b).dataSync();
  };
  const tfFn = () => {
    const a = tf.tensor2d(aData, [m, k]);
    const b = tf.tensor2d(bData, [k, n]);
    return {
      fn: () => {
        const c = tf.matMul(a, b);
        c.dataSync();
        c.dispose();
      },
      dispose: () => tf.dispose([a, b]),
    };
  };
  const big = m >= 1024;
  const cpu = big ? null : await versus('cpu', engramFn(engramCpu), tfFn);
  const wasm = await versus('wasm', engramFn(engramCpu), tfFn);
  const reference = m >= 512 ? null : time(engramFn(engramTs));
  const cpuCols = cpu ? `${gflops(cpu.engram)} | ${gflops(cpu.tfjs)} | ${cpu.ratio.toFixed(1)}×` : '– | – (too slow) | –';
  console.log(
    `| ${m}×${k}·${k}×${n} | ${cpuCols} | ${gflops(wasm.engram)} (${wasm.engram.toFixed(1)} µs) | ${gflops(wasm.tfjs)} (${wasm.tfjs.toFixed(1)} µs) | ${wasm.ratio.toFixed(2)}× | ${reference ? gflops(reference) : '–'} |`,
  );
}

// --- per-op overhead ---
console.log('\n## per-op overhead: add of two [4] tensors, µs per op (lower is better)');
{
  const a = en.tensor([1, 2, 3, 4], [4], { requiresGrad: true });
  const b = en.tensor([5, 6, 7, 8], [4], { requiresGrad: true });
  const [taped, untaped] = timeInterleaved(
    () => en.add(a, b),
    () => en.noGrad(() => en.add(a, b)),
  );
  const tfAdd = () => {
    const x = tf.tensor1d([1, 2, 3, 4]);
    const y = tf.tensor1d([5, 6, 7, 8]);
    return { fn: () => tf.add(x, y).dispose(), dispose: () => tf.dispose([x, y]) };
  };
  const cpu = await versus('cpu', () => en.add(a, b), tfAdd);
  const wasm = await versus('wasm', () => en.add(a, b), tfAdd);
  console.log('| | engram, tape recording | engram, noGrad | tfjs cpu | tfjs wasm |');
  console.log('|---|---|---|---|---|');
  console.log(`| µs/op | ${fmt(taped, 2)} | ${fmt(untaped, 2)} | ${fmt(cpu.tfjs, 2)} | ${fmt(wasm.tfjs, 2)} |`);
}

// --- LSTM step ---
console.log('\n## LSTM step, forward + backward: batch 1, input 29 + hidden 100 → 4 gates (the NTM controller), µs (lower is better)');
{
  const inputSize = 29;
  const hidden = 100;
  const rowsIn = inputSize + hidden;
  const wData = en.randomUniform([rowsIn, 4 * hidden], rng, -0.1, 0.1).toArray();
  const xData = en.randomUniform([1, rowsIn], rng, -1, 1).toArray();
  const cData = en.randomUniform([1, hidden], rng, -1, 1).toArray();
  const engramStep = (backend) => {
    const w = en.tensor(wData, [rowsIn, 4 * hidden], { backend, requiresGrad: true });
    const bias = en.zeros([4 * hidden], { backend, requiresGrad: true });
    const xh = en.tensor(xData, [1, rowsIn], { backend });
    const c0 = en.tensor(cData, [1, hidden], { backend });
    return () => {
      const z = en.matmul(xh, w).add(bias);
      const [i, f, g, o] = en.split(z, 4, 1);
      const c = en
        .sigmoid(f)
        .mul(c0)
        .add(en.sigmoid(i).mul(en.tanh(g)));
      const h = en.sigmoid(o).mul(en.tanh(c));
      en.sum(h).backward();
      w.grad.dataSync();
      w.grad = null;
      bias.grad = null;
    };
  };
  const tfStep = () => {
    const w = tf.variable(tf.tensor2d(wData, [rowsIn, 4 * hidden]));
    const bias = tf.variable(tf.zeros([4 * hidden]));
    const xh = tf.tensor2d(xData, [1, rowsIn]);
    const c0 = tf.tensor2d(cData, [1, hidden]);
    return {
      fn: () => {
        const { value, grads } = tf.variableGrads(() => {
          const z = tf.add(tf.matMul(xh, w), bias);
          const [i, f, g, o] = tf.split(z, 4, 1);
          const c = tf.add(tf.mul(tf.sigmoid(f), c0), tf.mul(tf.sigmoid(i), tf.tanh(g)));
          return tf.sum(tf.mul(tf.sigmoid(o), tf.tanh(c)));
        });
        for (const g of Object.values(grads)) g.dataSync();
        tf.dispose([value, ...Object.values(grads)]);
      },
      dispose: () => tf.dispose([w, bias, xh, c0]),
    };
  };
  const cpu = await versus('cpu', engramStep(engramCpu), tfStep);
  const wasm = await versus('wasm', engramStep(engramCpu), tfStep);
  console.log('| | engram cpu | tfjs cpu | engram / tfjs cpu | engram cpu | tfjs wasm | engram / tfjs wasm |');
  console.log('|---|---|---|---|---|---|---|');
  console.log(
    `| µs/step | ${fmt(cpu.engram)} | ${fmt(cpu.tfjs)} | ${cpu.ratio.toFixed(2)}× | ${fmt(wasm.engram)} | ${fmt(wasm.tfjs)} | ${wasm.ratio.toFixed(2)}× |`,
  );
}
