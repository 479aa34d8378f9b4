import { EngramError } from './errors.js';
import type { Tensor } from './tensor.js';

/**
 * How a tensor was computed: the primitive's name, its inputs, and the closure that maps the
 * gradient of the output to the gradients of the inputs (null for inputs that need none).
 * `backward` becomes null once a backward pass has consumed and freed the graph.
 */
export interface GradNode {
  /** The primitive's name. */
  readonly op: string;
  /** The tensors the primitive read. */
  readonly inputs: readonly Tensor[];
  /** Output gradient → input gradients; null once freed. */
  backward: ((outputGrad: Tensor) => readonly (Tensor | DeferredProduct | null)[]) | null;
}

/**
 * A weight gradient of the form Aᵀ·G, not yet computed. A weight matrix used at every time step
 * of a recurrent net would otherwise get one outer product per step, each summed into its
 * gradient; deferring them lets backward compute the sum as one matmul over all steps,
 * [A₁; A₂; …]ᵀ · [G₁; G₂; …], once the weight's last contribution has arrived.
 */
export class DeferredProduct {
  /**
   * @param a A, `[m, k]`
   * @param grad G, `[m, n]`
   */
  constructor(
    /** A, `[m, k]`. */
    readonly a: Tensor,
    /** G, `[m, n]`. */
    readonly grad: Tensor,
  ) {}
}

let gradEnabled = true;

/** True unless inside {@link noGrad}. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs `fn` without recording a tape (inference, optimizer updates). Nested calls are fine; the
 * previous mode is restored even if `fn` throws.
 * @param fn - the computation to run without recording
 */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/**
 * Every tensor reachable from `root` through recorded nodes, inputs before outputs. Iterative
 * depth-first search with an explicit stack, so a graph unrolled over thousands of time steps
 * neither overflows the call stack nor revisits shared subgraphs.
 * @param root - the output the order ends with
 */
export function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>([root]);
  const stack: { tensor: Tensor; next: number }[] = [{ tensor: root, next: 0 }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as { tensor: Tensor; next: number };
    const inputs = frame.tensor.node?.inputs ?? [];
    if (frame.next < inputs.length) {
      const input = inputs[frame.next++] as Tensor;
      if (input.requiresGrad && !visited.has(input)) {
        visited.add(input);
        stack.push({ tensor: input, next: 0 });
      }
    } else {
      order.push(frame.tensor);
      stack.pop();
    }
  }
  return order;
}

/** Options for {@link Tensor.backward}. */
export interface BackwardOptions {
  /** Keep the graph so backward can run through it again (default false: free it). */
  retainGraph?: boolean;
}

/**
 * Reverse-mode differentiation: accumulates d root / d leaf into `leaf.grad` for every leaf
 * tensor with `requiresGrad` that `root` depends on. Gradients add up across calls (as in
 * PyTorch); optimizers zero them.
 *
 * @param seed the gradient of the final objective w.r.t. `root` (default: ones, so a scalar
 *   loss needs no seed).
 * @param sumToShape reduces a broadcast gradient back to an input's shape — the one place where
 *   broadcasting is undone.
 * @param accumulate adds two gradients; `ownsA` says `a` is a sum this pass created (shared with
 *   no other tensor), so it may be updated in place.
 */
export function backward(
  root: Tensor,
  seed: Tensor,
  sumToShape: (grad: Tensor, shape: readonly number[]) => Tensor,
  accumulate: (a: Tensor, b: Tensor, ownsA: boolean) => Tensor,
  options: BackwardOptions = {},
  materialize: (products: readonly DeferredProduct[]) => Tensor = () => {
    throw new EngramError('backward: deferred products need a materialize function');
  },
): void {
  if (!root.requiresGrad) {
    throw new EngramError('backward: the tensor does not require gradients (no input had requiresGrad, or it was computed inside noGrad)');
  }
  const order = topologicalOrder(root);
  for (const tensor of order) {
    if (tensor.node && tensor.node.backward === null) {
      throw new EngramError(
        `backward: the graph through '${tensor.node.op}' was already freed by an earlier backward(); pass { retainGraph: true } to the first call to run backward twice`,
      );
    }
  }
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  // Tensors whose accumulated gradient is a sum this pass created for them alone. Such a sum is
  // handed on only when its tensor is processed, after its last contribution, so until then it
  // can grow in place.
  const ownsSum = new Set<Tensor>();
  const sumInto = (slot: Tensor, previous: Tensor, next: Tensor): Tensor => {
    const total = accumulate(previous, next, ownsSum.has(slot));
    ownsSum.add(slot);
    return total;
  };
  const deferred = new Map<Tensor, DeferredProduct[]>();
  noGrad(() => {
    for (let i = order.length - 1; i >= 0; i--) {
      const tensor = order[i] as Tensor;
      let grad = grads.get(tensor);
      grads.delete(tensor);
      const pending = deferred.get(tensor);
      if (pending !== undefined) {
        // Every contribution has arrived (reverse topological order): one matmul for all of them.
        deferred.delete(tensor);
        const product = materialize(pending);
        grad = grad === undefined ? product : accumulate(grad, product, ownsSum.has(tensor));
      }
      if (grad === undefined) continue;
      const node = tensor.node;
      if (node === null) {
        tensor.grad = tensor.grad === null ? grad : accumulate(tensor.grad, grad, false);
        continue;
      }
      const inputGrads = (node.backward as NonNullable<GradNode['backward']>)(grad);
      if (!options.retainGraph) node.backward = null;
      node.inputs.forEach((input, j) => {
        const inputGrad = inputGrads[j];
        if (!input.requiresGrad || inputGrad === null || inputGrad === undefined) return;
        if (inputGrad instanceof DeferredProduct) {
          const list = deferred.get(input);
          if (list === undefined) deferred.set(input, [inputGrad]);
          else list.push(inputGrad);
          return;
        }
        const shaped = sumToShape(inputGrad, input.shape);
        const previous = grads.get(input);
        grads.set(input, previous === undefined ? shaped : sumInto(input, previous, shaped));
      });
    }
  });
}
