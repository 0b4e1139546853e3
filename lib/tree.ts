// Trees of tensors: nested arrays and plain objects whose leaves are tensors. Autodiff,
// interpretation and compilation all walk them the same way: flatten to a list of leaves,
// work on the list, rebuild the same shape.

import { isTensor, type Tensor } from './tensor.ts';

export type TensorTree = Tensor | readonly TensorTree[] | { readonly [key: string]: TensorTree };

/** The tree with every tensor leaf replaced by `L` (shapes kept where the leaf type has one). */
export type MapLeaves<T, L> = T extends Tensor
  ? L
  : T extends readonly unknown[]
    ? { -readonly [K in keyof T]: MapLeaves<T[K], L> }
    : T extends object
      ? { -readonly [K in keyof T]: MapLeaves<T[K], L> }
      : T;

/**
 * The leaves in a fixed order (arrays by index, objects by sorted key) and their paths. Leaves
 * are tensors unless `isLeaf` says otherwise (compiled functions take concrete values too).
 */
export function flattenTree(tree: unknown): { leaves: Tensor[]; paths: string[] };
export function flattenTree<L>(tree: unknown, isLeaf: (node: unknown) => node is L): { leaves: L[]; paths: string[] };
export function flattenTree(tree: unknown, isLeaf: (node: unknown) => boolean = isTensor): { leaves: unknown[]; paths: string[] } {
  const leaves: unknown[] = [];
  const paths: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (isLeaf(node)) {
      leaves.push(node);
      paths.push(path === '' ? '(root)' : path);
    } else if (Array.isArray(node)) node.forEach((child, i) => walk(child, `${path}[${i}]`));
    else if (node !== null && typeof node === 'object')
      for (const key of Object.keys(node).sort()) walk((node as Record<string, unknown>)[key], path === '' ? key : `${path}.${key}`);
  };
  walk(tree, '');
  return { leaves, paths };
}

/** Rebuilds `tree`'s shape with `replacements` in flatten order; other leaves are kept. */
export const unflattenTree = <T>(tree: T, replacements: readonly unknown[], isLeaf: (node: unknown) => boolean = isTensor): any => {
  let next = 0;
  const build = (node: unknown): unknown => {
    if (isLeaf(node)) return replacements[next++];
    if (Array.isArray(node)) return node.map(build);
    if (node !== null && typeof node === 'object') {
      // Fill in flatten (sorted) order but keep the caller's key order in the result.
      const out: Record<string, unknown> = Object.fromEntries(Object.keys(node).map((key) => [key, undefined]));
      for (const key of Object.keys(node).sort()) out[key] = build((node as Record<string, unknown>)[key]);
      return out;
    }
    return node;
  };
  return build(tree);
};
