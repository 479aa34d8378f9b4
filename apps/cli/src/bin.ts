#!/usr/bin/env node
/**
 * The `engram` executable. Before any WebAssembly is compiled it turns on relaxed SIMD where the engine has it behind
 * a flag (Node 20 and 21; on by default from Node 22), so the kernels use fused multiply-add: measured on the
 * project's machine, the matrix products run at 43–49 GFLOPS instead of 33–37. `ENGRAM_RELAXED_SIMD=0` keeps plain
 * SIMD (bit-for-bit the same numbers as a run that started without it). Then it runs the command line.
 */
import { setFlagsFromString } from 'node:v8';

if (process.env.ENGRAM_RELAXED_SIMD !== '0') setFlagsFromString('--experimental-wasm-relaxed-simd');
await import('./main.js');
