// Reverse-mode differentiation as a graph transformation: the gradient of a traced program is
// MORE graph, built from the same primitives by each primitive's VJP rule, so it interprets,
// compiles and differentiates again (second order) like any other program.

import { formatShape, type Shape, sameShape } from './shape.ts';
import { type Primitive, type Tensor, type VjpRule } from './tensor.ts';
import { flattenTree, unflattenTree } from './tree.ts';
import { postOrder } from './graph.ts';
import { fill, zerosLike } from './constants.ts';
import { add } from './primitives/add.ts';

/** Replacement VJP rules by primitive name; the harness uses it to prove it catches wrong rules. */
export type VjpRules = ReadonlyMap<string, VjpRule<any>>;

export interface AutodiffOptions {
  readonly rules?: VjpRules;
}

/** The nodes between `wrt` and `outputs`, inputs before users (a topological order). */
const nodesBetween = (outputs: readonly Tensor[], wrt: ReadonlySet<Tensor>): Tensor[] => {
  const dependsOnWrt = new Set<Tensor>();
  // A wrt node is a leaf of the differentiation, whatever it was built from.
  for (const node of postOrder(outputs, { stopAt: (node) => wrt.has(node) }))
    if (wrt.has(node) || node.inputs.some((input) => dependsOnWrt.has(input))) dependsOnWrt.add(node);
  return [...dependsOnWrt];
};

/**
 * The cotangents of `wrt` given the cotangents of `outputs`: the reverse walk. Visit nodes from
 * the outputs back, apply each node's VJP rule, and accumulate by addition where a node feeds
 * several users. A `wrt` tensor with no path to the outputs gets zeros.
 */
export const backpropagate = (
  outputs: readonly Tensor[],
  cotangents: readonly Tensor[],
  wrt: readonly Tensor[],
  options: AutodiffOptions = {},
): Tensor[] => {
  const wrtSet = new Set(wrt);
  const order = nodesBetween(outputs, wrtSet);
  const accumulated = new Map<Tensor, Tensor>();
  const accumulate = (node: Tensor, cotangent: Tensor) => {
    const previous = accumulated.get(node);
    accumulated.set(node, previous === undefined ? cotangent : add(previous, cotangent));
  };
  outputs.forEach((output, i) => {
    if (!sameShape(output.shape, cotangents[i].shape))
      throw new Error(`vjp: cotangent ${i} has shape ${formatShape(cotangents[i].shape)} but the output has ${formatShape(output.shape)}`);
    accumulate(output, cotangents[i]);
  });
  const relevant = new Set(order);
  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k];
    const cotangent = accumulated.get(node);
    if (cotangent === undefined || wrtSet.has(node)) continue;
    const primitive: Primitive<any> = node.primitive;
    const rule = options.rules?.get(primitive.name) ?? primitive.vjp;
    const inputCotangents = rule(cotangent, node);
    node.inputs.forEach((input, i) => {
      const inputCotangent = inputCotangents[i];
      if (inputCotangent === null || inputCotangent === undefined || !relevant.has(input)) return;
      if (!sameShape(inputCotangent.shape, input.shape))
        throw new Error(
          `vjp of ${primitive.name}: the rule gave input ${i} a cotangent of shape ${formatShape(inputCotangent.shape)}, but the input has shape ${formatShape(input.shape)}`,
        );
      accumulate(input, inputCotangent);
    });
  }
  return wrt.map((w) => accumulated.get(w) ?? zerosLike(w));
};

type Rest = readonly unknown[];

/**
 * `vjp(f, primals)`: the outputs of `f(primals)` and a pullback that maps cotangents shaped like
 * the outputs to cotangents shaped like the primals.
 */
export const vjp = <P, O>(
  f: (primals: P) => O,
  primals: P,
  options: AutodiffOptions = {},
): [O, (cotangents: O) => P] => {
  const outputs = f(primals);
  const pullback = (cotangents: O): P => {
    const wrt = flattenTree(primals).leaves;
    const gradients = backpropagate(flattenTree(outputs).leaves, flattenTree(cotangents).leaves, wrt, options);
    return unflattenTree(primals, gradients);
  };
  return [outputs, pullback];
};

const scalarSeed = (value: Tensor, where: string): Tensor => {
  if (value.size !== 1)
    throw new Error(`${where}: the function must return a single number (shape [] or all ones), got shape ${formatShape(value.shape)}`);
  return fill(value.shape as Shape, 1);
};

/**
 * `valueAndGrad(f)(params, ...rest)`: the scalar `f(params, ...rest)` and its gradient with
 * respect to every tensor of `params`, as a tree shaped like `params`. With `hasAux`, `f`
 * returns `[value, aux]` and the result is `[[value, aux], gradient]`.
 */
export function valueAndGrad<P, R extends Rest>(
  f: (params: P, ...rest: R) => Tensor,
  options?: AutodiffOptions & { hasAux?: false },
): (params: P, ...rest: R) => [Tensor<[]>, P];
export function valueAndGrad<P, R extends Rest, A>(
  f: (params: P, ...rest: R) => readonly [Tensor, A],
  options: AutodiffOptions & { hasAux: true },
): (params: P, ...rest: R) => [[Tensor<[]>, A], P];
export function valueAndGrad(
  f: (params: unknown, ...rest: Rest) => Tensor | readonly [Tensor, unknown],
  options: AutodiffOptions & { hasAux?: boolean } = {},
) {
  return (params: unknown, ...rest: Rest) => {
    const result = f(params, ...rest);
    const [value, aux] = options.hasAux ? (result as readonly [Tensor, unknown]) : [result as Tensor, undefined];
    const wrt = flattenTree(params).leaves;
    const gradients = backpropagate([value], [scalarSeed(value, 'grad')], wrt, options);
    const gradient = unflattenTree(params, gradients);
    return options.hasAux ? [[value, aux], gradient] : [value, gradient];
  };
}

/** `grad(f)(params, ...rest)`: the gradient of a scalar function, a tree shaped like `params`. */
export const grad =
  <P, R extends Rest>(f: (params: P, ...rest: R) => Tensor, options: AutodiffOptions = {}) =>
  (params: P, ...rest: R): P =>
    valueAndGrad(f, options)(params, ...rest)[1];
