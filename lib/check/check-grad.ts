// checkGrad: reverse-mode gradients against central finite differences, both computed in float64
// through the interpreter. A non-scalar output is contracted with a fixed random cotangent, so
// the check covers the whole vector-Jacobian product rather than only its column sums.
//
// stopGradient means "treat as a constant", so the finite differences hold every stopGradient
// node at its unperturbed value: the numeric derivative is then the one the VJP must match.

import { type Either, left, right } from 'fp-ts/lib/Either.js';
import { formatShape, sizeOf, stridesOf } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { backpropagate, type VjpRules } from '../autodiff.ts';
import { evaluateNodes } from '../interpret.ts';
import { flattenTree } from '../tree.ts';
import { tensor } from '../constants.ts';
import { mul } from '../primitives/mul.ts';
import { sum } from '../primitives/sum.ts';
import { isStopGradient } from '../primitives/stop-gradient.ts';
import { uniformNumbers } from './sample.ts';
import { postOrder } from '../graph.ts';
import { UserCodeStopped } from './user-code.ts';

export interface CheckGradOptions {
  /** Finite-difference step, relative to max(1, |x|). */
  readonly epsilon?: number;
  readonly relativeTolerance?: number;
  readonly absoluteTolerance?: number;
  /** Elements checked per input at most (evenly spread beyond that); the rest are skipped. */
  readonly maxElementsPerInput?: number;
  /** Seed of the random cotangent used for non-scalar outputs. */
  readonly seed?: number;
  /** Replacement VJP rules (the harness's own tests use it to plant wrong rules). */
  readonly rules?: VjpRules;
}

export const defaultCheckGradOptions = {
  epsilon: 1e-6,
  relativeTolerance: 1e-5,
  absoluteTolerance: 1e-6,
  maxElementsPerInput: 100,
  seed: 1,
} as const;

/** Which partial derivative a report is about, and its two values. */
interface GradElement {
  /** Path of the input in the tree (`params.w1`, `[0]`, ...). */
  readonly input: string;
  readonly shape: readonly number[];
  /** Flat (row-major) index and the same position per axis. */
  readonly index: number;
  readonly position: readonly number[];
  readonly analytic: number;
  readonly numeric: number;
}

export interface GradMismatch extends GradElement {
  readonly kind: 'mismatch';
  readonly value: number;
  readonly error: number;
  readonly tolerance: number;
}

export interface GradNonFinite extends GradElement {
  readonly kind: 'non-finite';
}

/** The function or a VJP rule threw (a shape error in a rule, say). */
export interface GradThrew {
  readonly kind: 'error';
  readonly message: string;
}

export type GradCheckFailure = GradMismatch | GradNonFinite | GradThrew;

export interface GradCheckReport {
  readonly checked: number;
  readonly maxError: number;
  /** The largest error as a fraction of its tolerance (1 would be the edge of failing). */
  readonly worstRatio: number;
}

const positionOf = (index: number, shape: readonly number[]): number[] => {
  const strides = stridesOf(shape);
  return strides.map((stride, axis) => Math.floor(index / stride) % shape[axis]);
};

/** The elements to check: all of them, or `limit` spread evenly over the tensor. */
const elementsToCheck = (size: number, limit: number): number[] =>
  size <= limit ? Array.from({ length: size }, (_, i) => i) : Array.from({ length: limit }, (_, i) => Math.floor((i * size) / limit));

/** The stopGradient nodes `root` depends on: what finite differences hold fixed. */
export const stopGradientNodes = (root: Tensor): Tensor[] => postOrder([root]).filter(isStopGradient);

export const formatGradCheckFailure = (failure: GradCheckFailure): string => {
  switch (failure.kind) {
    case 'error':
      return `gradient check failed with an error: ${failure.message}`;
    case 'non-finite':
      return (
        `gradient of input ${failure.input} ${formatShape(failure.shape)} at element ${failure.index} [${failure.position.join(', ')}] ` +
        `is not finite: reverse mode ${failure.analytic}, finite differences ${failure.numeric}`
      );
    case 'mismatch':
      return (
        `gradient of input ${failure.input} ${formatShape(failure.shape)} at element ${failure.index} [${failure.position.join(', ')}] ` +
        `(value ${failure.value}): reverse mode ${failure.analytic}, finite differences ${failure.numeric}, ` +
        `error ${failure.error.toExponential(3)} > tolerance ${failure.tolerance.toExponential(3)}`
      );
  }
};

/**
 * `checkGrad(f, inputs, options)`: Right(report) when every checked element of the gradient of
 * `f` with respect to every tensor in `inputs` matches finite differences, else Left(failure)
 * naming the input, the element, both values and the error.
 */
export const checkGrad = <T,>(
  f: (inputs: T) => Tensor,
  inputs: T,
  options: CheckGradOptions = {},
): Either<GradCheckFailure, GradCheckReport> => {
  const o = { ...defaultCheckGradOptions, ...options };
  try {
    const { leaves, paths } = flattenTree(inputs);
    const raw = f(inputs);
    const output =
      raw.size === 1 ? raw : sum(mul(raw, tensor(uniformNumbers(o.seed, sizeOf(raw.shape), -1, 1), raw.shape)));
    const [gradients] = [backpropagate([output], [tensor([1], output.shape)], leaves, { rules: o.rules })];
    const frozen = stopGradientNodes(output);
    const values = evaluateNodes([...leaves, ...gradients, ...frozen]);
    const leafValues = values.slice(0, leaves.length);
    const gradientValues = values.slice(leaves.length, 2 * leaves.length);
    const frozenBindings = frozen.map((node, i) => [node, values[2 * leaves.length + i].data] as const);

    let checked = 0;
    let maxError = 0;
    let worstRatio = 0;
    for (let k = 0; k < leaves.length; k++) {
      const base = leafValues[k].data;
      for (const index of elementsToCheck(base.length, o.maxElementsPerInput)) {
        const step = o.epsilon * Math.max(1, Math.abs(base[index]));
        const at = (delta: number) => {
          const perturbed = Float64Array.from(base);
          perturbed[index] += delta;
          return evaluateNodes([output], { bindings: new Map([...frozenBindings, [leaves[k], perturbed]]) })[0].data[0];
        };
        const numeric = (at(step) - at(-step)) / (2 * step);
        const analytic = gradientValues[k].data[index];
        const where = { input: paths[k], shape: leaves[k].shape, index, position: positionOf(index, leaves[k].shape) };
        if (!Number.isFinite(analytic) || !Number.isFinite(numeric)) return left({ kind: 'non-finite', ...where, analytic, numeric });
        const error = Math.abs(analytic - numeric);
        const tolerance = o.absoluteTolerance + o.relativeTolerance * Math.max(Math.abs(analytic), Math.abs(numeric));
        if (error > tolerance) return left({ kind: 'mismatch', ...where, value: base[index], analytic, numeric, error, tolerance });
        checked++;
        maxError = Math.max(maxError, error);
        worstRatio = Math.max(worstRatio, error / tolerance);
      }
    }
    return right({ checked, maxError, worstRatio });
  } catch (error) {
    // User code stopped by Ctrl-C or its time limit says nothing about the gradient.
    if (error instanceof UserCodeStopped) throw error;
    return left({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
  }
};

/** `assertGrad`: checkGrad that throws an Error carrying the same report. */
export const assertGrad = <T,>(f: (inputs: T) => Tensor, inputs: T, options: CheckGradOptions = {}): GradCheckReport => {
  const result = checkGrad(f, inputs, options);
  if (result._tag === 'Left') throw new GradCheckError(result.left);
  return result.right;
};

export class GradCheckError extends Error {
  override readonly name = 'GradCheckError';
  constructor(readonly failure: GradCheckFailure) {
    super(formatGradCheckFailure(failure));
  }
}
