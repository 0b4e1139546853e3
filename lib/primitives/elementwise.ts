// Shared machinery of the elementwise primitives: the same-shape rule, the reference loops, and
// the user-facing operations that broadcast their operands (numpy rules) with explicit
// `broadcastTo` nodes, so that the primitives themselves only ever see equal shapes.

import {
  type Broadcast,
  type BroadcastCheck,
  broadcastShapes,
  type Shape,
  sameShape,
} from '../shape.ts';
import { apply, type Primitive, shapeError, Tensor, type Value, type VjpRule } from '../tensor.ts';
import { scalar } from '../constants.ts';
import { broadcastTo } from './broadcast-to.ts';
import type { Expression } from '../codegen/expression.ts';

/** A tensor, or a plain number that enters as a scalar constant. */
export type Operand = Tensor | number;
export type ShapeOf<T> = T extends Tensor<infer S> ? S : [];

export const toTensor = (operand: Operand): Tensor => (typeof operand === 'number' ? scalar(operand) : operand);

/** The shape rule of every elementwise primitive: all operands of one shape. */
export const sameShapes = (name: string) => (inputs: readonly Shape[]): Shape => {
  const first = inputs[0];
  for (const shape of inputs)
    if (!sameShape(shape, first)) throw shapeError(name, 'operands must have equal shapes', inputs);
  return first;
};

export const unaryPrimitive = (
  name: string,
  fn: (x: number) => number,
  vjp: VjpRule<{}>,
  expression: (x: Expression) => Expression,
): Primitive<{}> => ({
  name,
  shape: sameShapes(name),
  evaluate: ([x]: readonly Value[]) => x.data.map(fn),
  vjp,
  elementwise: ([x]) => expression(x),
});

export const binaryPrimitive = (
  name: string,
  fn: (a: number, b: number) => number,
  vjp: VjpRule<{}>,
  expression: (a: Expression, b: Expression) => Expression,
  /** The branch-free form for the native pool's JavaScript kernels (`Primitive.javascriptElementwise`), where there is one. */
  javascript?: (a: Expression, b: Expression) => Expression,
): Primitive<{}> => ({
  name,
  shape: sameShapes(name),
  evaluate: ([a, b]: readonly Value[]) => a.data.map((x, i) => fn(x, b.data[i])),
  vjp,
  elementwise: ([a, b]) => expression(a, b),
  ...(javascript === undefined ? {} : { javascriptElementwise: ([a, b]: readonly Expression[]) => javascript(a, b) }),
});

/** Broadcasts operands to their common shape, naming the operation when they clash. */
export const broadcastOperands = (name: string, operands: readonly Operand[]): Tensor[] => {
  const tensors = operands.map(toTensor);
  let shape: Shape = [];
  for (const t of tensors) {
    const next = broadcastShapes(shape, t.shape);
    if (next === undefined)
      throw shapeError(name, `shapes do not broadcast`, tensors.map((x) => x.shape));
    shape = next;
  }
  return tensors.map((t) => (sameShape(t.shape, shape) ? t : broadcastTo(t, shape)));
};

export const unaryOp =
  (primitive: Primitive<{}>) =>
  <S extends Shape>(x: Tensor<S>): Tensor<S> =>
    apply<S, {}>(primitive, [x], {});

/** A binary operation with numpy broadcasting; a clash of literal sizes fails `tsc`. */
export const binaryOp =
  (primitive: Primitive<{}>) =>
  <A extends Operand, B extends Operand>(
    a: A,
    b: B & BroadcastCheck<typeof primitive.name, ShapeOf<A>, ShapeOf<B>>,
  ): Tensor<Broadcast<ShapeOf<A>, ShapeOf<B>>> =>
    apply(primitive, broadcastOperands(primitive.name, [a, b as Operand]), {});
