// Random programs: well-shaped compositions of the language's smooth operations, for checking
// gradients (and, later, compiled results) end to end. A program is a plain description, a list
// of steps with random choices, that is interpreted against the current shape when it is built,
// so every step is valid by construction. Planning runs the program on zeros to learn the shapes
// of the parameters it needs; the arbitrary then draws values for them.

import fc from 'fast-check';
import type { Tensor } from '../tensor.ts';
import { tensor, zeros } from '../constants.ts';
import { add } from '../primitives/add.ts';
import { concat } from '../primitives/concat.ts';
import { div } from '../primitives/div.ts';
import { exp } from '../primitives/exp.ts';
import { flip } from '../primitives/flip.ts';
import { gather } from '../primitives/gather.ts';
import { matmul } from '../primitives/matmul.ts';
import { mul } from '../primitives/mul.ts';
import { pad } from '../primitives/pad.ts';
import { reshape } from '../primitives/reshape.ts';
import { slice } from '../primitives/slice.ts';
import { sum } from '../primitives/sum.ts';
import { transpose } from '../primitives/transpose.ts';
import { sigmoid, softplus, square, tanh } from '../composites/activations.ts';
import { l2Normalize } from '../composites/normalize.ts';
import { logsumexp, softmax } from '../composites/softmax.ts';
import { tensorArbitrary } from './arbitraries.ts';
import { uniformNumbers } from './sample.ts';

export const programOperations = [
  'unary', 'scale', 'shift', 'divide', 'matmul', 'sum', 'transpose', 'reshape', 'slice', 'concat', 'pad', 'flip',
  'logsumexp', 'softmax', 'l2Normalize', 'gather', 'product',
] as const;

export interface ProgramStep {
  readonly operation: (typeof programOperations)[number];
  /** Random choices, read modulo whatever range the step needs at its current shape. */
  readonly a: number;
  readonly b: number;
  readonly c: boolean;
}

export interface ProgramDescription {
  readonly inputShape: readonly number[];
  readonly steps: readonly ProgramStep[];
}

export interface ProgramInputs {
  readonly x: Tensor;
  readonly parameters: readonly Tensor[];
}

/** Shapes stop growing past this many elements, so programs stay cheap to check. */
const maxSize = 48;

const unaries: readonly ((x: Tensor) => Tensor)[] = [
  tanh, sigmoid, softplus, (x) => exp(mul(x, 0.3)), (x) => mul(square(x), 0.5),
];

/** Builds the program on `inputs`; `parameter(shape)` supplies (or, when planning, records) each parameter. */
const build = (description: ProgramDescription, x: Tensor, parameter: (shape: number[]) => Tensor): Tensor => {
  let t = x;
  for (const { operation, a, b, c } of description.steps) {
    if (t.rank === 0) t = reshape(t, [1]);
    const rank = t.rank;
    const axis = a % rank;
    const grows = t.size * 2 > maxSize;
    switch (operation) {
      case 'unary':
        t = unaries[a % unaries.length](t);
        break;
      case 'scale': // a broadcast parameter: some axes of size 1
        t = mul(t, parameter(t.shape.map((d, i) => ((b >> i) & 1 ? 1 : d))));
        break;
      case 'shift': // a parameter of the trailing axes only: leading-axis broadcasting
        t = add(t, parameter(t.shape.slice(a % (rank + 1))));
        break;
      case 'divide': // by 1 + p^2, which stays away from 0
        t = div(t, add(square(parameter(t.shape.slice(a % (rank + 1)))), 1));
        break;
      case 'matmul': {
        const matrix = rank === 1 ? reshape(t, [1, t.shape[0]]) : t;
        t = matmul(matrix, parameter([matrix.shape[matrix.rank - 1], 1 + (b % 3)]));
        break;
      }
      case 'sum':
        t = sum(t, axis, c);
        break;
      case 'transpose': {
        const order = t.shape.map((_, i) => i);
        for (let i = order.length - 1; i > 0; i--) {
          const j = (a + b * i) % (i + 1);
          [order[i], order[j]] = [order[j], order[i]];
        }
        t = transpose(t, order);
        break;
      }
      case 'reshape':
        t = reshape(t, c ? [-1] : [...t.shape].reverse());
        break;
      case 'slice': {
        const start = c && t.shape[axis] > 1 ? 1 : 0;
        t = slice(t, t.shape.map((_, i) => (i === axis ? { start, step: b % 2 === 0 ? 1 : -2 } : undefined)));
        break;
      }
      case 'concat': // with a transformed copy, so no two elements are tied copies of each other
        if (!grows) t = concat([t, tanh(t)], axis);
        break;
      case 'pad':
        if (!grows) t = pad(t, t.shape.map((_, i): [number, number] => (i === axis ? [1, b % 2] : [0, 0])), 0.5);
        break;
      case 'flip':
        t = flip(t, axis);
        break;
      case 'logsumexp':
        t = logsumexp(t, axis, c);
        break;
      case 'softmax':
        t = softmax(t, axis);
        break;
      case 'l2Normalize': // of rows kept away from 0, where the normalisation is singular
        t = l2Normalize(add(square(t), 0.1), axis);
        break;
      case 'gather': {
        const count = 1 + (b % 3);
        const indices = Array.from({ length: count }, (_, k) => (a + k * (b + 1)) % t.shape[axis]);
        t = gather(t, tensor(indices, [count]), axis);
        break;
      }
      case 'product': // the current value times a smooth function of the input
        t = t.size === 1 ? mul(t, sum(tanh(x))) : mul(t, tanh(t));
        break;
    }
  }
  return t;
};

/** The parameter shapes a description needs, found by building it on zeros. */
export const planProgram = (description: ProgramDescription): number[][] => {
  const shapes: number[][] = [];
  build(description, zeros(description.inputShape), (shape) => {
    shapes.push(shape);
    return zeros(shape);
  });
  return shapes;
};

/** Runs a description on inputs drawn for it. */
export const runProgram = (description: ProgramDescription, inputs: ProgramInputs): Tensor => {
  let next = 0;
  return build(description, inputs.x, () => inputs.parameters[next++]);
};

/** What a program's input shape is drawn from. */
export interface ProgramShapes {
  /** The sizes an input axis takes, smallest first: shrinking moves towards the first. */
  readonly axisSizes: readonly number[];
  /** The most axes the input has. */
  readonly maxRank: number;
  /** The most elements the input has. */
  readonly maxElements: number;
}

/** Small shapes, for checks that cost per element (finite differences). */
export const smallShapes: ProgramShapes = { axisSizes: [1, 2, 3, 4], maxRank: 3, maxElements: 64 };

/**
 * Shapes that reach what compiled code branches on: primes and odd sizes that flat-index
 * division meets as divisors (7, 49, 97, 103), 16 and 17 either side of where a layout puts a
 * long axis in x, and element counts into the tens of thousands, where a kernel is shared among
 * threads and no thread count divides its cells.
 */
export const awkwardShapes: ProgramShapes = { axisSizes: [1, 2, 3, 4, 7, 16, 17, 49, 97, 103], maxRank: 4, maxElements: 60_000 };

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export const programDescriptionArbitrary = (maxSteps = 8, shapes: ProgramShapes = smallShapes): fc.Arbitrary<ProgramDescription> =>
  fc.record({
    inputShape: fc.array(fc.constantFrom(...shapes.axisSizes), { minLength: 1, maxLength: shapes.maxRank }).filter((shape) => sizeOf(shape) <= shapes.maxElements),
    steps: fc.array(
      fc.record({ operation: fc.constantFrom(...programOperations), a: fc.nat(60), b: fc.nat(60), c: fc.boolean() }),
      { minLength: 1, maxLength: maxSteps },
    ),
  });

/**
 * Values for a tensor: drawn one by one when it is small; from one seed when it is large, where
 * shrinking thousands of values one at a time would cost more than it could show.
 */
const valuesFor = (shape: readonly number[]): fc.Arbitrary<Tensor> =>
  sizeOf(shape) <= 256
    ? tensorArbitrary(shape, { min: -1.5, max: 1.5 })
    : fc.nat().map((seed) => tensor(uniformNumbers(seed, sizeOf(shape), -1.5, 1.5), shape));

/** A random program with inputs drawn for it: `{ description, inputs }`. */
export const programArbitrary = (maxSteps = 8, shapes: ProgramShapes = smallShapes): fc.Arbitrary<{ description: ProgramDescription; inputs: ProgramInputs }> =>
  programDescriptionArbitrary(maxSteps, shapes).chain((description) =>
    fc.record({
      description: fc.constant(description),
      inputs: fc.record({
        x: valuesFor(description.inputShape),
        parameters: fc.tuple(...planProgram(description).map(valuesFor)),
      }),
    }),
  );
