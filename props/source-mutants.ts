// Wrong edits of the source that once survived the whole suite (or were caught by one hand-written
// example), planted the way they were found: the edit is made, as text, in a copy of the project,
// and the suite's own tests run on that copy. A mutant is caught when the tests named for it fail
// there; the same tests must pass on a copy without the edit, so that a copy that cannot run at
// all does not pass for a catch. The text to replace must occur exactly once in its file: when the
// code it names changes, the planting fails loudly instead of planting nothing.

import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SourceMutant {
  /** What the edit does, as a reviewer would say it. */
  readonly name: string;
  readonly file: string;
  readonly before: string;
  readonly after: string;
  /** Test file -> names of its tests that must each fail with the edit and pass without it. */
  readonly caughtBy: Readonly<Record<string, readonly string[]>>;
  /** Backends the named tests run on (TEST_BACKENDS), where they name one. */
  readonly backends?: string;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A copy of the project (its code, tests and package files) with node_modules linked, and a way to remove it. */
export const copyProject = (): { folder: string; remove: () => void } => {
  const folder = mkdtempSync(join(tmpdir(), 'tensorspread-mutant-'));
  for (const entry of ['lib', 'props', 'examples', 'bin', 'package.json', 'tsconfig.json']) cpSync(join(root, entry), join(folder, entry), { recursive: true });
  symlinkSync(realpathSync(join(root, 'node_modules')), join(folder, 'node_modules'), 'dir');
  return { folder, remove: () => rmSync(folder, { recursive: true, force: true }) };
};

/** Replaces the one occurrence of `before` with `after` in `file` of the copy; returns what restores it. */
export const plant = (folder: string, { file, before, after, name }: SourceMutant): (() => void) => {
  const path = join(folder, file);
  const original = readFileSync(path, 'utf8');
  const occurrences = original.split(before).length - 1;
  if (occurrences !== 1) throw new Error(`mutant "${name}": the text to replace occurs ${occurrences} times in ${file}, not once: ${before}`);
  writeFileSync(path, original.replace(before, () => after));
  return () => writeFileSync(path, original);
};

export type TestOutcome = 'passed' | 'failed' | 'skipped';

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Runs the named tests of one test file in the copy and reads each one's outcome from the TAP
 * report (top-level lines). A name missing from the answer means no such test ran.
 */
export const runTests = (folder: string, testFile: string, names: readonly string[], backends?: string): Map<string, TestOutcome> => {
  const pattern = `^(?:${names.map(escapeRegExp).join('|')})$`;
  // Without NODE_TEST_CONTEXT: inherited from a runner, it would make the child report in the runner's binary protocol.
  const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
  const env = backends === undefined ? inherited : { ...inherited, TEST_BACKENDS: backends };
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', `--test-name-pattern=${pattern}`, testFile], {
    cwd: folder,
    env,
    encoding: 'utf8',
    timeout: 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error !== undefined) throw new Error(`running ${testFile} in ${folder}: ${run.error.message}`);
  const outcomes = new Map<string, TestOutcome>();
  for (const [, verdict, name, directive] of run.stdout.matchAll(/^(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO)\b.*)?$/gm))
    outcomes.set(name.replace(/\\(.)/g, '$1'), directive !== undefined ? 'skipped' : verdict === 'ok' ? 'passed' : 'failed');
  return outcomes;
};

const tieTests = {
  max: 'max gives each of k tied maxima 1/k of the cotangent (k = 1 up to the whole window)',
  pool: 'max pooling gives each of k tied maxima of a window 1/k of its cotangent, summed over the windows that hold it',
  elementwise: 'maximum and minimum give the chosen operand the cotangent, and each operand half of it where they are equal',
};

const batchNormTests = {
  equation: 'batch norm in training equals its equation worked by hand, on random, constant and tiny-variance channels, running statistics too',
  gradient: 'gradient of batch norm in training mode matches finite differences (through the batch statistics), constant and tiny-variance channels included',
};

/**
 * The five edits that survived every test, PROPS_RUNS=400 included, and three that one
 * hand-written example caught. Each is caught by properties now; the examples are not named.
 */
export const sourceMutants: readonly SourceMutant[] = [
  {
    name: 'max: the tie split dropped (each tied maximum gets the whole cotangent)',
    file: 'lib/primitives/max.ts',
    before: 'return [mul(spread(ct), div(isMax, broadcastTo(ties, x.shape)))];',
    after: 'return [mul(spread(ct), isMax)];',
    caughtBy: {
      'props/primitives.test.ts': ['gradient of max matches finite differences at two-way ties'],
      'props/ties.test.ts': [tieTests.max],
    },
  },
  {
    name: 'max pooling: the tie split dropped in the VJP',
    file: 'lib/primitives/pool2d.ts',
    before: 'share = mul(perWindow, div(isMax, broadcastTo(sum(isMax, 4, true), windowsShape)));',
    after: 'share = mul(perWindow, isMax);',
    caughtBy: {
      'props/primitives.test.ts': ['gradient of pool2d matches finite differences at two-way ties'],
      'props/ties.test.ts': [tieTests.pool],
    },
  },
  {
    name: 'max pooling over windows that tile the input: the tie split dropped in its gradient',
    file: 'lib/primitives/max-pool-gradient.ts',
    before: 'out[at(p, q)] = cotangent * ((x.data[at(p, q)] === top ? 1 : 0) / ties);',
    after: 'out[at(p, q)] = cotangent * (x.data[at(p, q)] === top ? 1 : 0);',
    caughtBy: {
      'props/primitives.test.ts': ['gradient of pool2d matches finite differences at two-way ties'],
      'props/ties.test.ts': [tieTests.pool],
    },
  },
  {
    name: 'maximum and minimum: the second operand gets 1 - wins instead of 1 - share (a tie passes 1.5 cotangents)',
    file: 'lib/primitives/tie-split.ts',
    before: 'mul(ct, sub(1, share))',
    after: 'mul(ct, sub(1, wins))',
    caughtBy: {
      'props/primitives.test.ts': ['gradient of maximum matches finite differences at two-way ties', 'gradient of minimum matches finite differences at two-way ties'],
      'props/ties.test.ts': [tieTests.elementwise],
    },
  },
  {
    name: 'pairwiseSimilarity: the stopGradient on the scored rows instead of the targets',
    file: 'lib/objectives/pairs.ts',
    before: 'matmul(features, transpose(stopGradientOnTargets ? stopGradient(features) : features))',
    after: 'matmul(stopGradientOnTargets ? stopGradient(features) : features, transpose(features))',
    caughtBy: {
      'props/objectives.test.ts': ["invariantSpreadingLoss in both forms has the gradient of the reference written from the authors' BatchCriterion"],
      'props/check-objective.test.ts': ["invariantSpreadingLoss with the authors' BatchCriterion as its reference passes the battery, the reference checked at every option set"],
    },
  },
  {
    name: 'batch norm: epsilon dropped from the training-mode variance',
    file: 'lib/nn/batch-norm.ts',
    before: 'sqrt(add(channel(batchVariance), epsilon))',
    after: 'sqrt(channel(batchVariance))',
    caughtBy: { 'props/batch-norm.test.ts': [batchNormTests.equation, batchNormTests.gradient] },
  },
  {
    name: 'l2Normalize: the norm clamped after the square root, as PyTorch does (x / max(|x|, eps))',
    file: 'lib/composites/normalize.ts',
    before: 'div(x as Tensor, sqrt(maximum(sum(square(x as Tensor), axis, true), epsilon * epsilon)))',
    after: 'div(x as Tensor, maximum(sqrt(sum(square(x as Tensor), axis, true)), epsilon))',
    caughtBy: {
      'props/composites.test.ts': ['l2Normalize makes every row unit, tiny ones (norm 1e-9) included, leaves zero rows zero, and its gradient is finite at all of them'],
    },
  },
  {
    name: 'batch norm: the running variance moved by the biased batch variance',
    file: 'lib/nn/batch-norm.ts',
    before: 'towardsBatch(state.variance, mul(batchVariance, count / (count - 1)))',
    after: 'towardsBatch(state.variance, batchVariance)',
    caughtBy: { 'props/batch-norm.test.ts': [batchNormTests.equation] },
  },
  {
    name: 'softplus as log1p(exp(x)), which overflows',
    file: 'lib/composites/activations.ts',
    before: 'add(maximum(x as Tensor, 0), log1p(exp(neg(abs(x as Tensor)))))',
    after: 'log1p(exp(x as Tensor))',
    caughtBy: { 'props/composites.test.ts': ['softplus, sigmoid and logSigmoid and their gradients are finite and exact for arguments up to 1000 in size'] },
  },
];

const nativeTests = {
  divided: 'native: kernels that divide flat positions by 7, 49, 97 and 103, and buffers of every layout the planner chooses, equal the interpreter',
  shared: 'native: kernels shared among threads over cell counts no thread count divides equal the interpreter, into arrays that held NaN',
  atOnce: 'native: compiled functions of every job kind called at once, again and again, each equal the interpreter',
  trainingStep: 'native: the compiled training step equals the interpreted one',
  conv2d: 'native conv2d equals the interpreter: any geometry, operands as views, each GEMM form that can compute it',
  jobsTogether: 'jobs started together on one pool (two compiled functions called at once) each get their own result',
  maxPoolGradient: 'native: maxPoolGradient compiled equals interpreted, forward and gradient',
  pooling: 'native max pooling over tiling windows and its gradient equal the interpreter: operands as views, ties of every size, -Infinity and NaN, 1 to 3 threads',
  simd: 'SIMD element loops equal the JavaScript loops bit for bit: rounded and float64 values, comparisons, reciprocals, special floats, shares cut anywhere',
  simdOnPool: 'on the pool, a kernel with a SIMD loop runs it where every array is in the arena and its JavaScript loop elsewhere, with the same result',
  unrounded: "an unrounded value stays a float64 in the SIMD loop: (a + b) - a rounded once equals JavaScript's, not float32 arithmetic's",
  simdPooling: 'SIMD max pooling over 2 x 2 windows and its gradient equal the JavaScript loops bit for bit: ties, NaN, both zeros, the infinities, 1 to 3 threads',
};

/**
 * Edits in the native path (the pool, its workers, the kernels' index arithmetic and layouts)
 * that the whole suite once let through, run on the native backend: the shares, job order and division ones
 * were found by planting, the rest are of their kinds. Sizes that no thread count divides, jobs
 * at once, divisors such as 49 and 103, and memory that holds NaN now catch them.
 */
export const nativeMutants: readonly SourceMutant[] = [
  {
    name: "a JavaScript kernel's shares begin at the ceiling of their start: a one-cell gap where a share ends inside a cell",
    file: 'lib/native/native-pool.ts',
    before: 'const share = (i: number) => [Math.floor((cells * i) / shares),',
    after: 'const share = (i: number) => [Math.ceil((cells * i) / shares),',
    caughtBy: { 'props/awkward-shapes.test.ts': [nativeTests.shared] },
    backends: 'native',
  },
  {
    name: "a JavaScript kernel's job does not wait for the pool's other jobs",
    file: 'lib/native/native-pool.ts',
    before: 'await this.exclusive(async () => {',
    after: 'await ((job: () => Promise<void>) => job())(async () => {',
    caughtBy: { 'props/awkward-shapes.test.ts': [nativeTests.atOnce] },
    backends: 'native',
  },
  {
    name: "a matmul does not wait for the pool's other jobs",
    file: 'lib/native/matmul-native.ts',
    before: 'pool.exclusive(() => multiply(pool, a, b, outShape, allocate));',
    after: 'multiply(pool, a, b, outShape, allocate);',
    caughtBy: { 'props/awkward-shapes.test.ts': [nativeTests.atOnce], 'props/native.test.ts': [nativeTests.jobsTogether] },
    backends: 'native',
  },
  {
    name: 'flat positions divided by a multiply with the reciprocal, one short for 49, 103 and a few more divisors',
    file: 'lib/compile/emitter.ts',
    before: 'const quotient = this.temp(code`((${a} / ${d}) | 0)`);',
    after: 'const quotient = this.temp(code`((${a} * ${literal(1 / d)}) | 0)`);',
    caughtBy: { 'props/awkward-shapes.test.ts': [nativeTests.divided] },
    backends: 'native',
  },
  {
    name: "a flat read takes the row length of a buffer's row-major layout, not of the layout it has",
    file: 'lib/compile/emitter.ts',
    before: 'const [width, height] = layoutOf(node.shape, layout);',
    after: 'const [width, height] = layoutOf(node.shape);',
    caughtBy: { 'props/awkward-shapes.test.ts': [nativeTests.divided], 'props/training-step.test.ts': [nativeTests.trainingStep] },
    backends: 'native',
  },
  {
    name: "a by-channel convolution's first GEMM adds to what its partial sum held",
    file: 'lib/native/worker.ts',
    before: 'partial * 4, n * 4, m, n, depth, c === first ? 0 : 1);',
    after: 'partial * 4, n * 4, m, n, depth, 1);',
    caughtBy: { 'props/native.test.ts': [nativeTests.conv2d] },
  },
  {
    name: "max pooling's gradient on the native pool: each tied maximum gets the whole cotangent",
    file: 'lib/native/max-pool-gradient-native.ts',
    before: "'      const one = Math.fround(1 / ties), none = 0 / ties;',",
    after: "'      const one = 1, none = 0;',",
    // Compiled, on arena arrays, the gradient over 2 x 2 windows runs max-pool-simd.ts's loop instead.
    caughtBy: { 'props/native.test.ts': [nativeTests.pooling] },
    backends: 'native',
  },
  {
    name: 'max pooling on the native pool: a window\'s maximum taken from 0 instead of -Infinity (all-negative windows come out 0)',
    file: 'lib/native/max-pool-native.ts',
    before: '`      let top = -Infinity;`,',
    after: '`      let top = 0;`,',
    caughtBy: { 'props/native.test.ts': [nativeTests.pooling] },
  },
  {
    name: "an implicit convolution's taps read the padded plane's next column, not the next dilated one",
    file: 'lib/native/worker.ts',
    before: 'i32[kk++] = (c * hp * wp + p * dy * wp + q * dx) * 4;',
    after: 'i32[kk++] = (c * hp * wp + p * dy * wp + q) * 4;',
    caughtBy: { 'props/native.test.ts': [nativeTests.conv2d] },
  },
  {
    name: "an implicit by-channel convolution's patch rows start a padded row apart for each output row, whatever the stride",
    file: 'lib/native/worker.ts',
    before: 'i32[r++] = (padded + b * hp * wp + p * sy * wp + q * sx) * 4;',
    after: 'i32[r++] = (padded + b * hp * wp + p * wp + q * sx) * 4;',
    caughtBy: { 'props/native.test.ts': [nativeTests.conv2d] },
  },
  {
    name: "a convolution by shifts adds its taps' rows to an output it did not clear",
    file: 'lib/native/worker.ts',
    before: 'f32.fill(0, target, target + outChannels * oh * ow);',
    after: '',
    caughtBy: { 'props/native.test.ts': [nativeTests.conv2d] },
  },
  {
    name: "a SIMD loop takes a rounded product of a float32 and a float64 reciprocal as a float32 product",
    file: 'lib/native/simd-kernel.ts',
    before: " && inner.a.float32 && inner.b.float32)",
    after: ")",
    caughtBy: { 'props/simd-kernel.test.ts': [nativeTests.simd, nativeTests.simdOnPool] },
    backends: 'native',
  },
  {
    name: "a SIMD loop's last vector stores all of its lanes, past the end of its share",
    file: 'lib/native/simd-kernel.ts',
    before: '        f.get(offset).i32(4 * lane).add().get(end).ltS();',
    after: '        f.i32(1);',
    caughtBy: { 'props/simd-kernel.test.ts': [nativeTests.simd] },
    backends: 'native',
  },
  {
    name: 'a SIMD loop computes an unrounded sum of float32s in float32',
    file: 'lib/native/simd-kernel.ts',
    before: "          return lanewise('f64', arithmetic[tree.op]!, [emit(tree.a, env), emit(tree.b, env)]);",
    after: "          return lanewise(common([tree.a, tree.b]), arithmetic[tree.op]!, [emit(tree.a, env), emit(tree.b, env)]);",
    caughtBy: { 'props/simd-kernel.test.ts': [nativeTests.unrounded] },
    backends: 'native',
  },
  {
    name: "a SIMD loop's backward read keeps its lanes in memory order",
    file: 'lib/native/simd-kernel.ts',
    before: '            f.get(v).get(v).i8x16Shuffle([12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3]).set(v);',
    after: '            f.get(v).get(v).i8x16Shuffle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]).set(v);',
    caughtBy: { 'props/simd-kernel.test.ts': [nativeTests.simd] },
    backends: 'native',
  },
  {
    name: 'a SIMD gather at a fractional position reads the element it truncates to, where JavaScript reads NaN',
    file: 'lib/native/simd-kernel.ts',
    before: "          f.get(index).f32x4ConvertI32x4S().get(at.v).floatLanes('f32x4', 'eq');\n          f.get(index).get(length).i32x4Splat().i32x4LtU().v128And().set(valid);",
    after: '          f.get(index).get(length).i32x4Splat().i32x4LtU().set(valid);',
    caughtBy: { 'props/simd-kernel.test.ts': [nativeTests.simd] },
    backends: 'native',
  },
  {
    name: "the SIMD max pooling gradient counts a window's ties in its left column only",
    file: 'lib/native/max-pool-simd.ts',
    before: "    f.get(sum).get(values[1]).i8x16Shuffle(EVEN).get(sum).get(values[1]).i8x16Shuffle(ODD).floatLanes('f32x4', 'add').set(ties);",
    after: '    f.get(sum).get(values[1]).i8x16Shuffle(EVEN).set(ties);',
    caughtBy: { 'props/simd-kernel.test.ts': [nativeTests.simdPooling] },
    backends: 'native',
  },
];
