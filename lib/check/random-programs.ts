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

export const programDescriptionArbitrary = (maxSteps = 8): fc.Arbitrary<ProgramDescription> =>
  fc.record({
    inputShape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
    steps: fc.array(
      fc.record({ operation: fc.constantFrom(...programOperations), a: fc.nat(60), b: fc.nat(60), c: fc.boolean() }),
      { minLength: 1, maxLength: maxSteps },
    ),
  });

/** A random program with inputs drawn for it: `{ description, inputs }`. */
export const programArbitrary = (maxSteps = 8): fc.Arbitrary<{ description: ProgramDescription; inputs: ProgramInputs }> =>
  programDescriptionArbitrary(maxSteps).chain((description) =>
    fc.record({
      description: fc.constant(description),
      inputs: fc.record({
        x: tensorArbitrary(description.inputShape, { min: -1.5, max: 1.5 }),
        parameters: fc.tuple(...planProgram(description).map((shape) => tensorArbitrary(shape, { min: -1.5, max: 1.5 }))),
      }),
    }),
  );
