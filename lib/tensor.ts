// The IR: a tensor is an immutable node of a traced graph. Building expressions evaluates nothing;
// `interpret` and `compile` give the graph a meaning.

import { formatShape, type Shape, ShapeError, type StridedView } from './shape.ts';
import type { Expression } from './codegen/expression.ts';

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
  /**
   * Elementwise primitives give a scalar expression of their operands' so that the compiler can
   * fuse chains of them; one that keeps float32 operands float32 builds it with `keepsFloat32`.
   */
  readonly elementwise?: (args: readonly Expression[], params: P) => Expression;
  /**
   * The same in the native pool's JavaScript kernels, where a branch-free form computes the same
   * value faster: V8 compiles `c ? 1 : 0` and Math.max to conditional jumps, and on data whose
   * outcome is a coin toss (a ReLU's sign, a max pool's tie mask) the mispredictions cost more
   * than the arithmetic.
   */
  readonly javascriptElementwise?: (args: readonly Expression[], params: P) => Expression;
  /** A leaf (a constant) has no inputs and nothing to differentiate. */
  readonly leaf?: true;

  // Facts the backends and the counters read, so that none of them keeps its own list of names.

  /** It moves or picks elements without arithmetic (a reshape, a pad, a gather): it costs no FLOPs. */
  readonly movesDataOnly?: true;
  /**
   * Each output element is one element of its one input at a remapped index, with no bounds
   * checks or choices: recomputing it costs no more than reading a buffer.
   */
  readonly remapsIndexOnly?: true;
  /** Its value as a strided view of its input's view: the native kernels read it in place. */
  readonly view?: (input: StridedView, params: P) => StridedView;
  /**
   * The floating-point operations of one node, a multiply-add counted as two. Without it a
   * primitive costs one per output element, or none when it moves data only.
   */
  readonly flops?: (inputs: readonly Shape[], params: P, shape: Shape) => number;
  /**
   * The inputs its value is computed from, where that is not all of them: a custom VJP's value
   * is its last input, and its primals are there for the gradient only.
   */
  readonly valueInputs?: (inputs: readonly Tensor[]) => readonly Tensor[];
  /**
   * The value an operand can take that leaves the other operand exactly (NaN, infinities and -0
   * included): one for a product. A sum has none, as -0 + 0 is +0.
   */
  readonly identity?: number;
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
