// The arguments of a compiled function: a tree whose leaves are concrete values
// `{ shape, data: ArrayLike<number> }` (a typed array, a plain array, any array-like) or constant
// tensors; everything else in the tree is plain data baked in when tracing. What the types accept
// is accepted; what they cannot rule out (a fractional dimension, a value float32 cannot hold,
// data that is no array) is refused with the argument's path in the tree and what was expected.

import { formatShape, isShape, type Shape, sizeOf } from '../shape.ts';
import { isTensor, type Tensor } from '../tensor.ts';
import type { ConstantParams } from '../primitives/constant.ts';

export type ArgumentValue = { readonly shape: readonly number[]; readonly data: ArrayLike<number> } | Tensor;

const isArrayLike = (x: unknown): x is ArrayLike<unknown> =>
  typeof x === 'object' && x !== null && typeof (x as { length?: unknown }).length === 'number';

const isValueLike = (x: unknown): x is { shape: readonly number[]; data: ArrayLike<number> } =>
  typeof x === 'object' && x !== null && Array.isArray((x as { shape?: unknown }).shape) && isArrayLike((x as { data?: unknown }).data);

/** An argument leaf: a concrete value or a constant tensor. */
export const isArgumentLeaf = (x: unknown): x is ArgumentValue => isValueLike(x) || isTensor(x);

export const dataOf = (value: ArgumentValue): ArrayLike<number> =>
  'primitive' in value ? ((value as Tensor).params as ConstantParams).data : value.data;

const describe = (x: unknown): string =>
  x === undefined ? 'missing' : x === null ? 'null' : typeof x === 'string' ? JSON.stringify(x) : Array.isArray(x) ? 'an array' : `a ${typeof x}`;

/**
 * Throws for the first argument that is not what compile takes: a `{ shape, data }` whose shape
 * is not of non-negative integers, whose data is no array, or whose sizes differ. Walks the tree as flattenTree does, so paths read the same.
 */
export const checkArgumentShapes = (args: unknown): void => {
  const walk = (node: unknown, path: string): void => {
    const where = `compile: argument ${path === '' ? '(root)' : path}`;
    if (isTensor(node)) return;
    // Both keys make a value; an object with a `shape` alone is plain data (a gather's index spec, say).
    if (typeof node === 'object' && node !== null && 'shape' in node && 'data' in node && !Array.isArray(node)) {
      const { shape, data } = node as { shape?: unknown; data?: unknown };
      if (!isShape(shape)) throw new TypeError(`${where} has shape ${Array.isArray(shape) ? `[${shape.join(', ')}]` : describe(shape)}; expected a list of non-negative integers`);
      if (!isArrayLike(data)) throw new TypeError(`${where} has shape ${formatShape(shape)} and data ${describe(data)}; expected data: a typed array or an array of numbers`);
      if (data.length !== sizeOf(shape as Shape)) throw new RangeError(`${where} has ${data.length} values for shape ${formatShape(shape)}`);
      return;
    }
    if (Array.isArray(node)) node.forEach((child, i) => walk(child, `${path}[${i}]`));
    else if (node !== null && typeof node === 'object')
      for (const key of Object.keys(node).sort()) walk((node as Record<string, unknown>)[key], path === '' ? key : `${path}.${key}`);
  };
  walk(args, '');
};

/**
 * A leaf's data as float32, the compiled program's type. A float32 array is taken as it is; from
 * anything else, a value that is not a number, or a finite one beyond float32's range (which
 * would become an infinity), is refused with its index.
 */
export const float32Data = (data: ArrayLike<number>, path: string): Float32Array => {
  if (data instanceof Float32Array) return data;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (typeof x !== 'number') throw new TypeError(`compile: argument ${path} holds ${describe(x)} at index ${i}; expected a number`);
    out[i] = x;
    if (!Number.isFinite(out[i]) && Number.isFinite(x))
      throw new RangeError(`compile: argument ${path} holds ${x} at index ${i}, beyond float32's range (about ±3.4e38); compiled programs compute in float32`);
  }
  return out;
};
