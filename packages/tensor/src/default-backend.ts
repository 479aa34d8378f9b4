import type { Backend } from './backend.js';
import { createCpuBackend } from './cpu/cpu-backend.js';

let current: Backend | null = null;

/**
 * The backend new tensors are created on when none is given: the cpu backend unless
 * {@link setDefaultBackend} chose another. Created on first use.
 */
export function getDefaultBackend(): Backend {
  if (current === null) current = createCpuBackend();
  return current;
}

/**
 * Makes `backend` the default for tensors created from now on. Returns the previous default.
 * @param backend - the backend new tensors are created on
 */
export function setDefaultBackend(backend: Backend): Backend {
  const previous = getDefaultBackend();
  current = backend;
  return previous;
}
