// Shapes at the type level and at run time.
//
// A shape is a tuple of dimension sizes. When the sizes are literal numbers (`[128, 3, 32, 32]`)
// the types below compute result shapes and reject mismatches that `tsc` can see; when a size is
// plain `number` (computed at run time) the type gives up gracefully and the trace-time checks in
// each primitive's shape rule report the error instead.

export type Shape = readonly number[];

/** True when `N` is a literal number rather than `number`. */
type IsLiteral<N extends number> = number extends N ? false : true;

/** The shape error that a type-level check produces; it names the operation and both shapes. */
export interface ShapeMismatch<Op extends string, A extends Shape, B extends Shape> {
  readonly shapeError: Op;
  readonly left: A;
  readonly right: B;
}

// ---- broadcasting (numpy rules: align from the right, a 1 stretches) ----

type BroadcastDim<A extends number, B extends number> = A extends 1
  ? B
  : B extends 1
    ? A
    : IsLiteral<A> extends false
      ? B
      : IsLiteral<B> extends false
        ? A
        : A extends B
          ? A
          : never;

type Last<S extends Shape> = S extends readonly [...unknown[], infer L extends number] ? L : never;
type Init<S extends Shape> = S extends readonly [...infer I extends number[], number] ? I : [];

/** The broadcast shape of `A` and `B`, with `never` in a position where two literal sizes clash. */
export type Broadcast<A extends Shape, B extends Shape> = number[] extends A
  ? Shape
  : number[] extends B
    ? Shape
    : A extends readonly []
      ? [...B]
      : B extends readonly []
        ? [...A]
        : [...Broadcast<Init<A>, Init<B>>, BroadcastDim<Last<A>, Last<B>>];

type HasNever<S extends readonly unknown[]> = S extends readonly [infer H, ...infer T]
  ? [H] extends [never]
    ? true
    : HasNever<T>
  : false;

/** `unknown` when `A` and `B` broadcast; otherwise a `ShapeMismatch` that no tensor satisfies. */
export type BroadcastCheck<Op extends string, A extends Shape, B extends Shape> =
  HasNever<Broadcast<A, B>> extends true ? ShapeMismatch<Op, A, B> : unknown;

// ---- matmul: [...batch, m, k] x [...batch, k, n] -> [...batch, m, n] ----

type SecondLast<S extends Shape> = S extends readonly [...unknown[], infer L extends number, number] ? L : number;

export type MatmulShape<A extends Shape, B extends Shape> = number[] extends A
  ? Shape
  : number[] extends B
    ? Shape
    : [...Init<Init<A>>, SecondLast<A>, Last<B>];

type DimsAgree<A extends number, B extends number> =
  IsLiteral<A> extends false ? true : IsLiteral<B> extends false ? true : A extends B ? true : false;

/** `unknown` when the inner dimensions agree (or are not known); a `ShapeMismatch` otherwise. */
export type MatmulCheck<A extends Shape, B extends Shape> = number[] extends A
  ? unknown
  : number[] extends B
    ? unknown
    : DimsAgree<Last<A>, SecondLast<B>> extends true
      ? unknown
      : ShapeMismatch<'matmul: inner dimensions differ', A, B>;

// ---- ranks ----

export type Rank4 = readonly [number, number, number, number];

/** A rank error that a type-level check produces. */
export interface RankMismatch<Op extends string, S extends Shape, R extends number> {
  readonly rankError: Op;
  readonly shape: S;
  readonly expectedRank: R;
}

/** `unknown` when `S` has rank `R` (or its rank is not known); a `RankMismatch` otherwise. */
export type RankCheck<Op extends string, S extends Shape, R extends number> = number extends S['length']
  ? unknown
  : S['length'] extends R
    ? unknown
    : RankMismatch<Op, S, R>;
export type Rank2 = readonly [number, number];
export type AtLeastRank2 = readonly [...number[], number, number];

// ---- reductions with literal axes ----

type DropAxes<S extends Shape, Axes extends number, Keep extends boolean, I extends unknown[] = []> =
  S extends readonly [infer H extends number, ...infer T extends number[]]
    ? I['length'] extends Axes
      ? Keep extends true
        ? [1, ...DropAxes<T, Axes, Keep, [...I, unknown]>]
        : DropAxes<T, Axes, Keep, [...I, unknown]>
      : [H, ...DropAxes<T, Axes, Keep, [...I, unknown]>]
    : [];

/** The shape after reducing `Axes` (all axes when `Axes` is undefined). Negative axes give up to `Shape`. */
export type ReduceShape<S extends Shape, Axes extends readonly number[] | undefined, Keep extends boolean> =
  number[] extends S
    ? Shape
    : Axes extends readonly number[]
      ? number[] extends Axes
        ? Shape
        : `${Axes[number]}` extends `-${string}`
          ? Shape
          : DropAxes<S, Axes[number], Keep>
      : Keep extends true
        ? { [I in keyof S]: 1 }
        : [];

/** The shape after permuting axes by the literal permutation `P`. */
export type PermuteShape<S extends Shape, P extends readonly number[]> = number[] extends S
  ? Shape
  : number[] extends P
    ? Shape
    : { -readonly [I in keyof P]: P[I] extends keyof S ? S[P[I]] : number };

/** Reverse of a tuple (the default transpose). */
export type Reverse<S extends Shape> = S extends readonly [infer H extends number, ...infer T extends number[]]
  ? [...Reverse<T>, H]
  : [];

// ---- run-time helpers ----

export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

/**
 * A tensor's elements as a view of another tensor's row-major buffer: an offset and a stride per
 * axis (negative where the axis runs backwards).
 */
export interface StridedView {
  readonly offset: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}

/** Row-major strides: the step in the flat array for a unit step along each axis. */
export const stridesOf = (shape: Shape): number[] => {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = step;
    step *= shape[axis];
  }
  return strides;
};

export const formatShape = (shape: Shape): string => `[${shape.join(', ')}]`;

export const sameShape = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** The numpy broadcast of two shapes, or undefined when a pair of sizes clash. */
export const broadcastShapes = (a: Shape, b: Shape): number[] | undefined => {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 1; i <= rank; i++) {
    const da = a.length - i >= 0 ? a[a.length - i] : 1;
    const db = b.length - i >= 0 ? b[b.length - i] : 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out[rank - i] = da === 1 ? db : da;
  }
  return out;
};

/** Resolves possibly negative axes against a rank, rejecting out-of-range and repeated ones. */
export const normalizeAxes = (op: string, axes: readonly number[], rank: number, shape: Shape): number[] => {
  const out = axes.map((axis) => {
    const resolved = axis < 0 ? axis + rank : axis;
    if (!Number.isInteger(resolved) || resolved < 0 || resolved >= rank)
      throw new ShapeError(`${op}: axis ${axis} is out of range for shape ${formatShape(shape)} (rank ${rank})`);
    return resolved;
  });
  if (new Set(out).size !== out.length) throw new ShapeError(`${op}: repeated axis in [${axes.join(', ')}]`);
  return out;
};

export const isShape = (value: unknown): value is Shape =>
  Array.isArray(value) && value.every((d) => Number.isInteger(d) && d >= 0);
