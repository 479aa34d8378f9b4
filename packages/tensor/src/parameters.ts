import { EngramError, formatShape } from './errors.js';
import { Tensor } from './tensor.js';

/**
 * A model's parameters as a tree: tensors in nested objects and arrays, e.g.
 * `{ controller: { layers: [{ weight, bias }] }, output: { weight, bias } }`. Models in Engram
 * keep their parameters in such plain trees and pass them to functions; nothing is hidden.
 * Leaves that are not tensors (sizes, names) are ignored.
 */
export type ParameterTree = Tensor | readonly unknown[] | object;

/**
 * Every tensor in the tree, keyed by its dotted path (`controller.layers.0.weight`).
 * @param tree - the parameter tree
 * @param prefix - put before every name
 */
export function flattenParameters(tree: ParameterTree, prefix = ''): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const visit = (node: unknown, path: string): void => {
    if (node instanceof Tensor) {
      out[path] = node;
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const entries = Array.isArray(node) ? node.map((child, i) => [String(i), child] as const) : Object.entries(node);
    for (const [key, child] of entries) visit(child, path === '' ? key : `${path}.${key}`);
  };
  visit(tree, prefix);
  return out;
}

/**
 * Every tensor in the tree, in a stable order (for optimizers).
 * @param tree - the parameter tree
 */
export function parameterList(tree: ParameterTree): Tensor[] {
  return Object.values(flattenParameters(tree));
}

/**
 * Total number of scalar parameters in the tree.
 * @param tree - the parameter tree
 */
export function countParameters(tree: ParameterTree): number {
  return parameterList(tree).reduce((n, t) => n + t.size, 0);
}

/**
 * Copies values into the tree's tensors from tensors keyed by dotted path (as read from a
 * safetensors file). Every path must be present with the same shape; extra keys are an error.
 * @param tree - the model's parameter tree, filled in place
 * @param values - the tensors read from a file, by name
 * @param source - the file or data named in errors
 */
export function loadParameters(tree: ParameterTree, values: Record<string, Tensor>, source = 'parameters'): void {
  const targets = flattenParameters(tree);
  for (const [path, target] of Object.entries(targets)) {
    const value = values[path];
    if (value === undefined) throw new EngramError(`${source}: missing parameter '${path}'`);
    if (value.shape.length !== target.shape.length || value.shape.some((d, i) => d !== target.shape[i])) {
      throw new EngramError(`${source}: parameter '${path}' has shape ${formatShape(value.shape)}, the model expects ${formatShape(target.shape)}`);
    }
    target.assign(value.to(target.backend).toArray());
  }
  const extra = Object.keys(values).filter((k) => !(k in targets));
  if (extra.length > 0) throw new EngramError(`${source}: unexpected parameters ${extra.map((k) => `'${k}'`).join(', ')}`);
}
