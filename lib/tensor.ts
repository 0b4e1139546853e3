// The IR: a tensor is an immutable node of a traced graph. Building expressions evaluates nothing;
// `interpret` and `compile` give the graph a meaning.

import { formatShape, type Shape, ShapeError } from './shape.ts';

/** A concrete tensor value: the shape and the row-major data in float64. */
export interface Value {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

/** The cotangent each input receives, or null when no gradient flows to it (indices, conditions). */
export type Cotangents = readonly (Tensor | null)[];

/** The reverse-mode rule of a primitive, written with other primitives so gradients are graphs too. */
export type VjpRule<P> = (cotangent: Tensor, node: Tensor<Shape, P>) => Cotangents;

/**
 * One primitive: everything about it in one table entry. `shape` checks the input shapes and
 * gives the output shape (throwing a ShapeError that names the primitive and the shapes);
 * `evaluate` is the float64 reference, plain loops; `vjp` is the differentiation rule.
 */
export interface Primitive<P = unknown> {
  readonly name: string;
  readonly shape: (inputs: readonly Shape[], params: P) => Shape;
  readonly evaluate: (inputs: readonly Value[], params: P, shape: Shape) => Float64Array;
  readonly vjp: VjpRule<P>;
  /** Elementwise primitives give a scalar expression so that the compiler can fuse chains of them. */
  readonly elementwise?: (args: readonly string[], params: P) => string;
  /** A leaf (a constant) has no inputs and nothing to differentiate. */
  readonly leaf?: true;
}

// Ids give nodes a stable creation order for printing and deterministic traversal; they carry
// no meaning for evaluation.
let nextId = 0;

export class Tensor<S extends Shape = Shape, P = any> {
  readonly id: number = nextId++;
  constructor(
    readonly primitive: Primitive<P>,
    readonly inputs: readonly Tensor[],
    readonly params: P,
    readonly shape: S,
  ) {
    Object.freeze(this.shape);
    Object.freeze(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  toString(): string {
    return `${this.primitive.name}#${this.id}${formatShape(this.shape)}`;
  }

  /** How property-test reports print a tensor: a constant as the call that rebuilds it. */
  [Symbol.for('fast-check/toStringMethod')](): string {
    const data = (this.params as { data?: Float64Array } | undefined)?.data;
    return this.primitive.leaf && data instanceof Float64Array
      ? `tensor([${Array.from(data).join(', ')}], ${formatShape(this.shape)})`
      : this.toString();
  }
}

/** A batch of images, NCHW (the layers and the augmentations share this one type). */
export type Images = Tensor<readonly [number, number, number, number]>;

/** Builds a node after checking its inputs with the primitive's shape rule. */
export const apply = <S extends Shape, P>(primitive: Primitive<P>, inputs: readonly Tensor[], params: P): Tensor<S> => {
  const shape = primitive.shape(
    inputs.map((input) => input.shape),
    params,
  );
  return new Tensor(primitive as Primitive<unknown>, inputs, params, shape as S) as Tensor<S>;
};

/** A shape error that names the primitive and every input shape, as all shape rules report. */
export const shapeError = (primitive: string, problem: string, shapes: readonly Shape[]): ShapeError =>
  new ShapeError(`${primitive}: ${problem} (input shapes ${shapes.map(formatShape).join(' and ')})`);

export const isTensor = (value: unknown): value is Tensor => value instanceof Tensor;
