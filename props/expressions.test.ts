// Kernel expressions built by construction (lib/codegen/expression.ts): what a kernel's statements
// say they read is what their text reads, and is defined before them; what they claim is a
// float32 is one when the kernel runs; a literal is written as gpu.js parses a float; and planning
// a program applies no regular expression, so no generated code is parsed back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  abs, add, cifarTrainAugmentation, concat, conv2d, equal, exp, flip, floor, gather, greater, invariantSpreadingLoss, key, less, materialize,
  matmul, max, maximum, maxPool2d, minimum, mul, neg, pad, reshape, scatterAdd, select, sgd, slice, smallCifarEncoder, sum, tensor, transpose,
  type Tensor,
} from '../lib/index.ts';
import { uniform } from '../lib/random/index.ts';
import type { Encoder } from '../lib/nn/encoder.ts';
import type { TensorTree } from '../lib/tree.ts';
import { flattenTree, unflattenTree } from '../lib/tree.ts';
import { evaluateNodes } from '../lib/interpret.ts';
import { trainingStep } from '../lib/train/training-step.ts';
import { planKernels } from '../lib/compile/compile.ts';
import { type Capabilities, capabilitiesOf, lowered } from '../lib/compile/capabilities.ts';
import type { KernelPlan } from '../lib/compile/plan.ts';
import { FLAT_POSITION, type Statement } from '../lib/codegen/statements.ts';
import { code, type Expression, literal } from '../lib/codegen/expression.ts';
import { javascriptKernelSource } from '../lib/native/javascript-kernel.ts';
import { runs } from './runs.ts';

const argument = (shape: number[]) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });

/** Programs whose kernels use every kernel rule: fused elementwise chains, choices, reductions, windows, scatters, hashes. */
const programs: { readonly name: string; readonly f: (x: Tensor) => unknown; readonly shape: number[] }[] = [
  { name: 'elementwise', f: (x) => maximum(mul(x, exp(x)), add(x, 0.1)), shape: [2, 3, 5, 7] },
  { name: 'float32-keeping operations', f: (x) => add(minimum(floor(abs(neg(x))), 0.5), mul(equal(x, less(x, 2)), greater(x, -0.5))), shape: [2, 3, 5, 7] },
  { name: 'a choice with a float64 literal', f: (x) => maximum(select(greater(x, 0), x, 0.1), x), shape: [2, 3, 5, 7] },
  { name: 'a choice with an infinity', f: (x) => maximum(select(greater(x, mul(x, x)), exp(x), -Infinity), x), shape: [2, 3, 5, 7] },
  { name: 'concat', f: (x) => concat([x, mul(x, x), reshape(sum(x, [1], true), [2, 1, 5, 7])], 1), shape: [2, 3, 5, 7] },
  { name: 'reductions', f: (x) => [sum(x, [1, 3]), max(x, [0, 2])], shape: [2, 3, 5, 7] },
  {
    name: 'pad, flip, slice, transpose',
    f: (x) => transpose(flip(slice(pad(x, [[0, 0], [1, 2], [0, 0], [3, 1]], -1.5), [undefined, { start: 1, stop: 5, step: 2 }]), [1, 3]), [0, 3, 2, 1]),
    shape: [2, 3, 5, 7],
  },
  { name: 'a padded max pool', f: (x) => maxPool2d(x, { window: 3, stride: 2, padding: 1 }), shape: [2, 3, 6, 8] },
  { name: 'a padded convolution', f: (x) => conv2d(x, reshape(slice(x, [{ stop: 2 }, { stop: 3 }, { stop: 3 }, { stop: 3 }]), [2, 3, 3, 3]) as never, { padding: 1 }), shape: [2, 3, 6, 6] },
  { name: 'matmul', f: (x) => matmul(x, transpose(x, [1, 0]) as never), shape: [6, 9] },
  {
    name: 'gather and scatters',
    f: (x) => [
      gather(x, reshape(floor(mul(abs(slice(x, [{ stop: 1 }, { stop: 4 }])), 3)), [4]), 1),
      scatterAdd(x, tensor([2, 0, 1, 2, 0, 1, 1, 0, 2], [9]), 1, 3),
      scatterAdd(x, reshape(floor(abs(slice(x, [{ stop: 1 }, { stop: 9 }]))), [9]), 1, 3),
    ],
    shape: [6, 9],
  },
  { name: 'random numbers', f: (x) => add(floor(mul(uniform(key(3), [4, 7]), 5)), x), shape: [4, 7] },
  { name: 'a wrapped layout', f: (x) => [mul(exp(x), x), sum(x, [1])], shape: [2, 20000] },
];

const backends: Record<string, Capabilities> = {
  'native (the native pool)': capabilitiesOf('native'),
  'native (gpu.js kernels)': lowered(capabilitiesOf('native'), { nativeKernels: false }),
  webgpu: capabilitiesOf('webgpu'),
  headlessgl: capabilitiesOf('headlessgl'),
  cpu: capabilitiesOf('cpu'),
};

const kernelsOf = (f: (args: never) => unknown, args: unknown, capabilities: Capabilities): KernelPlan[] =>
  planKernels(f, args as never, capabilities).segments.flatMap((s) => (s.kind === 'pipeline' ? [...s.steps] : []));

/** The small encoder's training step at batch 2, which uses most rules on real shapes. */
const trainingStepProgram = () => {
  const encoder = smallCifarEncoder({ widths: [4, 8, 8] }) as unknown as Encoder<TensorTree, TensorTree>;
  const step = trainingStep({ encoder, objective: (features) => invariantSpreadingLoss(features), optimizer: (learningRate) => sgd({ learningRate }), augmentation: cifarTrainAugmentation });
  const initial = materialize(encoder.init(key(0)));
  const toValues = (tree: unknown) => unflattenTree(tree, evaluateNodes(flattenTree(tree).leaves).map((v) => ({ shape: [...v.shape], data: Float32Array.from(v.data) })));
  const args = {
    params: toValues(initial.params),
    state: toValues(initial.state),
    optimizerState: toValues(materialize(sgd({ learningRate: 0.03 }).init(initial.params))),
    images: argument([2, 3, 32, 32]),
    key: toValues(key(1)),
    learningRate: { shape: [], data: Float32Array.of(0.03) },
  };
  return { f: step as (args: never) => unknown, args };
};

/** Every kernel of every program on `capabilities`, with what it computes. */
const allKernels = (capabilities: Capabilities): { name: string; kernel: KernelPlan }[] => {
  const step = trainingStepProgram();
  return [
    ...programs.flatMap(({ name, f, shape }) => kernelsOf(f as never, argument(shape), capabilities).map((kernel) => ({ name, kernel }))),
    ...kernelsOf(step.f, step.args, capabilities).map((kernel) => ({ name: 'the training step', kernel })),
  ];
};

/**
 * The names a kernel's text reads, found independently of the structure: temporaries, counters,
 * accumulators, chosen values and the thread's position (`x` and the flat position `f` in the native pool's kernels,
 * `this.thread.x` in gpu.js's). Only this test reads generated text, as the oracle.
 */
const namesInText = (text: string): Set<string> => new Set(text.match(/\bthis\.thread\.[xyz]\b|(?<!\.)\b(?:[takc]\d+|[xyzf])\b/g) ?? []);

/** Fails unless every statement reads only names defined before it, and reads what its text reads. */
const checkReads = (statements: readonly Statement[], defined: ReadonlySet<string>, where: string): void => {
  const inScope = new Set(defined);
  const check = (expression: Expression, what: string) => {
    assert.deepEqual(new Set(expression.reads), namesInText(expression.text), `${where}: ${what} ${expression.text}`);
    for (const read of expression.reads) assert.ok(inScope.has(read), `${where}: ${what} ${expression.text} reads ${read} before it is defined`);
  };
  for (const statement of statements) {
    switch (statement.kind) {
      case 'const':
        check(statement.expression, `${statement.name} =`);
        inScope.add(statement.name);
        break;
      case 'let':
        if (statement.initial !== undefined) check(statement.initial, `${statement.name} =`);
        inScope.add(statement.name);
        break;
      case 'assign':
        assert.ok(inScope.has(statement.name), `${where}: ${statement.name} is assigned before it is declared`);
        check(statement.expression, `${statement.name} ${statement.operator}`);
        break;
      case 'loop':
        checkReads(statement.body, new Set([...inScope, statement.counter]), where);
        break;
      case 'if':
        check(statement.condition, 'if');
        checkReads(statement.then, inScope, where);
        checkReads(statement.otherwise, inScope, where);
        break;
    }
  }
};

/** The names a kernel body is given before its first statement: the thread's position. */
/** The thread's position, which javascript-kernel.ts defines: in the native pool's kernels, the flat position too. */
const threadNames = (capabilities: Capabilities): string[] => (capabilities.javascriptKernels ? ['x', 'y', 'z', FLAT_POSITION] : ['this.thread.x', 'this.thread.y', 'this.thread.z']);

/** The names a kernel body defines anywhere: its statements', its loop counters'. */
const definedIn = (statements: readonly Statement[]): string[] =>
  statements.flatMap((s) => (s.kind === 'loop' ? [s.counter, ...definedIn(s.body)] : s.kind === 'if' ? [...definedIn(s.then), ...definedIn(s.otherwise)] : s.kind === 'const' || s.kind === 'let' ? [s.name] : []));

for (const [backend, capabilities] of Object.entries(backends))
  test(`${backend}: every statement reads what its text reads, and only names defined before it`, () => {
    const kernels = allKernels(capabilities);
    assert.ok(kernels.length > 40, `${kernels.length} kernels`);
    for (const { name, kernel } of kernels) {
      const where = `${name}, the kernel for ${kernel.node}`;
      const threads = threadNames(capabilities);
      checkReads(kernel.statements, new Set(threads), where);
      const names = new Set([...threads, ...definedIn(kernel.statements)]);
      assert.deepEqual(new Set(kernel.result.reads), namesInText(kernel.result.text), where);
      for (const read of kernel.result.reads) assert.ok(names.has(read), `${where}: its result reads ${read}, which it never defines`);
    }
  });

/**
 * The statements with every temporary that claims to be a float32 passed through `check` first,
 * so that a kernel run finds a claim that does not hold.
 */
const checked = (statements: readonly Statement[]): Statement[] =>
  statements.map((statement) => {
    switch (statement.kind) {
      case 'const':
        return statement.expression.float32 ? { ...statement, expression: code`check(${statement.expression})` } : statement;
      case 'loop':
        return { ...statement, body: checked(statement.body) };
      case 'if':
        return { ...statement, then: checked(statement.then), otherwise: checked(statement.otherwise) };
      default:
        return statement;
    }
  });

const countClaims = (statements: readonly Statement[]): { claimed: number; rounded: number } =>
  statements.reduce(
    (total, s) => {
      const inner = s.kind === 'loop' ? countClaims(s.body) : s.kind === 'if' ? countClaims([...s.then, ...s.otherwise]) : { claimed: 0, rounded: 0 };
      const claimed = s.kind === 'const' && s.expression.float32 ? 1 : 0;
      const rounded = s.kind === 'const' && s.expression.text.startsWith('Math.fround(') ? 1 : 0;
      return { claimed: total.claimed + inner.claimed + claimed, rounded: total.rounded + inner.rounded + rounded };
    },
    { claimed: 0, rounded: 0 },
  );

test('in the native pool\'s kernels, every temporary said to be a float32 holds a float32 on float32 inputs', () => {
  const kernels = allKernels(capabilitiesOf('native'));
  let claims = 0;
  let roundings = 0;
  for (const [k, { name, kernel }] of kernels.entries()) {
    const { claimed, rounded } = countClaims(kernel.statements);
    claims += claimed;
    roundings += rounded;
    const broken: string[] = [];
    // NaN, and undefined where made-up index data reads past a buffer, are no claim's concern.
    const check = (value: number | undefined) => {
      if (value !== undefined && !Number.isNaN(value) && Math.fround(value) !== value && broken.length < 3) broken.push(String(value));
      return value;
    };
    // A sum over planes is checked on its input's body, element by element.
    const layout = kernel.planes ?? kernel.layout;
    const { source } = javascriptKernelSource({ statements: checked(kernel.statements), result: kernel.result, parameters: kernel.buffers.map((_, i) => `b${i}`), layout });
    const run = new Function('check', `return ${source}`)(check) as (out: Float32Array, buffers: Float32Array[], start: number, end: number) => void;
    const cells = layout[0] * layout[1] * layout[2];
    // Values in [-2, 2] with zeros among them (ties, the sides of a choice), and small integers where a kernel gathers by index.
    const buffers = kernel.inputLayouts.map(([w, h, d]) => Float32Array.from({ length: w * h * d }, (_, i) => (i % 7 === 0 ? 0 : Math.round(Math.sin(i * 1.7 + k) * 2e4) / 1e4)));
    run(new Float32Array(cells), buffers, 0, cells);
    assert.deepEqual(broken, [], `${name}, the kernel for ${kernel.node}: a temporary said to be a float32 held ${broken.join(', ')}`);
  }
  // Both kinds occur: claims that spare a rounding, and roundings where no claim holds.
  assert.ok(claims > 100 && roundings > 100, `${claims} claims, ${roundings} roundings`);
});

test('a literal is a float as gpu.js parses it, its number exactly; an atom when in plain digits, a float32 when float32 holds it', () => {
  const examples: [number, string][] = [
    [3, '3.0'], [-3, '(-3.0)'], [0, '0.0'], [-0, '(-0.0)'], [0.5, '0.5'], [-0.1, '(-0.1)'], [1e-7, '1e-7'], [1e20, '100000000000000000000.0'],
    [1e21, '1e+21'], [-2.5e-300, '(-2.5e-300)'], [NaN, '(0.0 / 0.0)'], [Infinity, '(1.0 / 0.0)'], [-Infinity, '(-1.0 / 0.0)'],
  ];
  for (const [value, text] of examples) assert.equal(literal(value).text, text, String(value));
  fc.assert(
    fc.property(fc.oneof(fc.double(), fc.integer(), fc.float()), (value) => {
      const { text, atom, float32 } = literal(value);
      const bare = text.startsWith('(') ? text.slice(1, -1) : text;
      // A float literal: a point or an exponent, or a division for what has no literal.
      assert.ok(/[.e]/.test(bare), text);
      assert.ok(Object.is(bare.includes(' / ') ? (value as number) : Number(bare), value), `${value} written ${text}`);
      assert.equal(atom, /^\d+(\.\d+)?$/.test(text), text);
      assert.equal(float32, Object.is(Math.fround(value), value), text);
    }),
    { numRuns: runs(500) },
  );
});

test('planning a program, on every backend, applies no regular expression: generated code is never parsed back', () => {
  const exec = RegExp.prototype.exec;
  const applied: string[] = [];
  const programsAndStep = [...programs.map(({ f, shape }) => ({ f: f as (args: never) => unknown, args: argument(shape) as unknown })), trainingStepProgram()];
  RegExp.prototype.exec = function (this: RegExp, text: string) {
    applied.push(`${this} on ${String(text).slice(0, 60)}`);
    return exec.call(this, text);
  };
  try {
    for (const capabilities of Object.values(backends)) for (const { f, args } of programsAndStep) planKernels(f, args as never, capabilities);
  } finally {
    RegExp.prototype.exec = exec;
  }
  assert.deepEqual(applied.slice(0, 5), [], `${applied.length} regular expressions applied`);
  // And the watch itself sees a regular expression applied the way the emitter once did.
  RegExp.prototype.exec = function (this: RegExp, text: string) {
    applied.push(String(this));
    return exec.call(this, text);
  };
  try {
    'const t1 = Math.max(t0, a2);'.match(/\b[takc]\d+\b/g);
  } finally {
    RegExp.prototype.exec = exec;
  }
  assert.ok(applied.length > 0);
});
