// A planned kernel as a JavaScript function over flat float32 arrays, for the native pool's
// threads. gpu.js's WebAssembly kernels pay a four-lane gather for every read and float index
// arithmetic for every element, and its pipelines copy every value in and out. The same
// straight-line body, compiled by V8 with what does not change along a row hoisted out of the
// inner loop, runs a simple elementwise pass several times faster, and reads and writes the
// shared arrays the GEMM steps and the other kernels use in place (`npm run bench:step --
// --profile` times each kernel; `--gpujs-kernels` runs gpu.js's beside it).
//
// The emitter writes the body (`flatFloat32`) as statements (statements.ts): temporaries `tN`
// (node values rounded to float32), loop counters `kN`, accumulators `aN`, chosen values `cN`,
// buffers `bN` read by flat position, and the thread's position as `x`, `y` and `z` (and `f`, the
// flat position, where a buffer is read at the output's own). Here the body becomes the inside
// of loops over a range of the output's flat positions: plane by plane, each plane's statements
// once (a per-image random draw), then row by row, each row's once, then element by element; or,
// where nothing an element computes depends on its row, one flat loop a plane, which V8 compiles
// to a tight loop with no index arithmetic (an elementwise pass over [256, 32, 32, 32] ran 2 to
// 3 times faster so).

import { FLAT_POSITION, loopsIn, namesRead, renderStatements, type Statement } from '../codegen/statements.ts';
import type { Expression } from '../codegen/expression.ts';
import { MAXIMUM_PAGES, sharedFloatArena } from './float-arena.ts';
import { type SimdLoop, simdLoop, type Stream } from './simd-kernel.ts';
import { assembleModule } from './wasm-assembler.ts';
import type { KernelFunction, SimdFunction } from './worker-jobs.ts';

/** The pieces of a kernel the emitter wrote. */
export interface KernelBody {
  /** Top-level statements in order. */
  readonly statements: readonly Statement[];
  /** The name or literal that holds the output value. */
  readonly result: Expression;
  /** The buffer parameters, in order. */
  readonly parameters: readonly string[];
  /** [width, height, depth] of the output. */
  readonly layout: readonly [number, number, number];
}

/**
 * How often a statement runs: once a plane (a z; it reads z at most, as a per-image random draw
 * does), once a row (it reads y too), or once an element. A `const` whose names all run less
 * often than an element runs with them; buffers never change during a kernel, so a read at a
 * plane's or a row's position (a bias) is hoisted too. Accumulators, loops and choices run once
 * an element.
 */
export type Level = 'plane' | 'row' | 'element';

export const levels = (statements: readonly Statement[]): Level[] => {
  const plane = new Set(['z']);
  const row = new Set(['y', 'z']);
  return statements.map((statement): Level => {
    if (statement.kind !== 'const') return 'element';
    const { reads } = statement.expression;
    if (reads.every((read) => plane.has(read))) {
      plane.add(statement.name);
      row.add(statement.name);
      return 'plane';
    }
    if (reads.every((read) => row.has(read))) {
      row.add(statement.name);
      return 'row';
    }
    return 'element';
  });
};

/** Which statements do not depend on x, and may run once a row or less often. */
export const hoistable = (statements: readonly Statement[]): boolean[] => levels(statements).map((level) => level !== 'element');

/**
 * The statements without the temporaries nothing reads: the emitter names the output's index
 * along every axis, and an elementwise pass read at the flat position reads none of them.
 */
export const withoutUnread = (statements: readonly Statement[], result: Expression): Statement[] => {
  const read = new Set(result.reads);
  const kept: Statement[] = [];
  for (let i = statements.length - 1; i >= 0; i--) {
    const statement = statements[i];
    if (statement.kind === 'const' && !read.has(statement.name)) continue;
    namesRead(statement).forEach((name) => read.add(name));
    kept.push(statement);
  }
  return kept.reverse();
};

/**
 * Whether the kernel may run as one flat loop over each plane's positions: what runs once an
 * element reads neither x nor y, nor anything computed once a row, only the flat position f
 * (an elementwise pass over buffers laid out as its output, with broadcasts along z).
 */
export const runsFlat = (body: KernelBody): boolean => {
  const statements = withoutUnread(body.statements, body.result);
  const level = levels(statements);
  const rowNames = new Set(['x', 'y', ...statements.flatMap((s, i) => (level[i] === 'row' && s.kind === 'const' ? [s.name] : []))]);
  const elementReads = [...statements.filter((_, i) => level[i] === 'element').flatMap(namesRead), ...body.result.reads];
  return elementReads.every((read) => !rowNames.has(read));
};

/**
 * The byte address of a stream (simd-kernel.ts) at a run's first element: `first` is that
 * element's flat position (a flat stream's row is a plane's offset from it), `column` its x. A reversed stream's vectors are loaded from the top
 * down: its address is that of the run's first element's mirror image less three floats.
 */
const streamAddress = ({ buffer, flat, row, reversed }: Stream, first: string, column: string): string => {
  const start = row === undefined ? '' : `${row} + `;
  const at = flat ? `${start}${first}` : reversed === undefined ? `${start}${column}` : `${start}${reversed} - ${column} - 3`;
  return `${buffer}.byteOffset + (${at}) * 4`;
};

/** A kernel's JavaScript source, and where its element loop runs as WebAssembly SIMD, that loop's module (or why not). */
export interface KernelSource {
  readonly source: string;
  readonly simd: Uint8Array | undefined;
  readonly whyNotSimd: string | undefined;
}

/**
 * A body's statements by how often they run, rendered by level, and its element loop as
 * simd-kernel.ts writes it (`mode` store or sum) or why not.
 */
const elementLoopOf = (body: KernelBody, simdLoops: boolean, mode: 'store' | 'sum') => {
  const statements = withoutUnread(body.statements, body.result);
  const level = levels(statements);
  const at = (wanted: Level, indent: number) => renderStatements(statements.filter((_, i) => level[i] === wanted), indent).join('\n');
  const flat = runsFlat(body);
  const elementReads = [...statements.filter((_, i) => level[i] === 'element').flatMap(namesRead), ...body.result.reads];
  // What runs less often than an element, which the SIMD loop takes as it is.
  const outer = new Map(statements.flatMap((s, i) => (level[i] !== 'element' && s.kind === 'const' ? [[s.name, s.expression.float32] as const] : [])));
  const simd = simdLoops ? simdLoop(statements.filter((_, i) => level[i] === 'element'), body.result, outer, mode) : 'limits.simdLoops is false';
  // A flat loop has no x: every row it reads is at its own flat position.
  const loop = flat && typeof simd !== 'string' && simd.streams.some((stream) => !stream.flat) ? 'a flat loop reads along a row' : simd;
  /** The SIMD loop's arguments for the run from `first` (its first flat position), `column` its first x, of `count` elements. */
  const simdArguments = (simd: SimdLoop, first: string, column: string, count: string): string =>
    [
      ...simd.streams.map((stream) => streamAddress(stream, first, column)), count, ...simd.values, ...simd.conditions.map((condition) => `((${condition}) ? 1 : 0)`),
      ...simd.gathers.flatMap((buffer) => [`${buffer}.byteOffset`, `${buffer}.length`]),
    ].join(', ');
  return { level, at, flat, elementReads, loop, simdArguments };
};

/** The kernel's source from its lines, with its SIMD loop's module where it has one. */
const kernelSource = (lines: readonly string[], loop: SimdLoop | string): KernelSource => {
  const source = lines.filter((line) => line.trim() !== '').join('\n');
  return typeof loop === 'string'
    ? { source, simd: undefined, whyNotSimd: loop }
    : { source, simd: assembleModule([{ name: 'simd', body: loop.body }], MAXIMUM_PAGES), whyNotSimd: undefined };
};

/**
 * The source of `(out, buffers, start, end, simd) => void`, which writes out[f] for the flat
 * output positions f in [start, end), plane by plane (a plane is the x and y extent of the
 * layout). Where `runsFlat`, each plane's positions are one loop; otherwise row by row. Where
 * simd-kernel.ts can say the element loop in WebAssembly, a call of `simd` (that module's
 * function, given when every array is in the arena) takes the loop's place for each plane or
 * row. A range may begin and end anywhere, in the middle of a row.
 */
export const javascriptKernelSource = (body: KernelBody, simdLoops = true): KernelSource => {
  const [width, height, depth] = body.layout;
  const { level, at, flat, elementReads, loop, simdArguments } = elementLoopOf(body, simdLoops, 'store');
  // With nothing to do once a plane, a flat kernel's planes are one run: the whole output.
  const plane = flat && !level.includes('plane') && !elementReads.includes('z') ? width * height * depth : width * height;
  const elements = (pad: string, position: string) => [at('element', pad.length / 2), `${pad}out[${position}] = ${body.result.text};`];
  /** The call of the SIMD loop over the run from `first` (its first output position) of `count` elements, `column` the run's first x. */
  const simdCall = (pad: string, first: string, column: string, count: string): string[] =>
    typeof loop === 'string'
      ? []
      : [`${pad}if (simd !== undefined) {`, `${pad}  simd(out.byteOffset + (${first}) * 4, ${simdArguments(loop, first, column, count)});`, `${pad}  continue;`, `${pad}}`];
  return kernelSource([
    '(function kernel(out, buffers, start, end, simd) {',
    ...body.parameters.map((name, i) => `  const ${name} = buffers[${i}];`),
    `  for (let z = Math.floor(start / ${plane}); z * ${plane} < end; z++) {`,
    at('plane', 2),
    ...(flat
      ? [
          `    const planeEnd = Math.min(end, (z + 1) * ${plane});`,
          `    const from = Math.max(start, z * ${plane});`,
          ...simdCall('    ', 'from', 'from', 'planeEnd - from'),
          `    for (let ${FLAT_POSITION} = from; ${FLAT_POSITION} < planeEnd; ${FLAT_POSITION}++) {`,
          ...elements('      ', FLAT_POSITION),
          '    }',
        ]
      : [
          `    const planeStart = z * ${plane};`,
          `    const yEnd = Math.min(${height}, Math.ceil((end - planeStart) / ${width}));`,
          `    for (let y = Math.max(0, Math.floor((start - planeStart) / ${width})); y < yEnd; y++) {`,
          at('row', 3),
          `      const base = planeStart + y * ${width};`,
          `      const xEnd = Math.min(${width}, end - base);`,
          '      const xFrom = Math.max(0, start - base);',
          ...simdCall('      ', 'base + xFrom', 'xFrom', 'xEnd - xFrom'),
          '      for (let x = xFrom; x < xEnd; x++) {',
          ...(elementReads.includes(FLAT_POSITION) ? [`        const ${FLAT_POSITION} = base + x;`] : []),
          ...elements('        ', 'base + x'),
          '      }',
          '    }',
        ]),
    '  }',
    '})',
  ], loop);
};

/** An axis of a sum's input that its planes are not: its extent, and whether the sum runs over it. */
export interface PlaneAxis {
  readonly extent: number;
  readonly reduced: boolean;
}

/**
 * The source of a sum over whole planes of its input (a batch norm's per-channel sums over
 * [256, 32, 32, 32], a per-image mean of a grey image computed from its three channels): `body`
 * computes the input element by element as an elementwise kernel would, its layout's planes the
 * trailing axes the sum runs over, and `axes` are the input's other axes in order. Output
 * position o (row-major over the axes kept) adds up every plane whose kept indices are o's: each
 * plane's values once a plane, then its elements (row by row where the body does not run as one
 * flat loop), as one float64 sum. Where simd-kernel.ts can say the element loop, a SIMD sum over
 * each run (lanes' partial sums, so in another order, within float64 rounding) takes the loop's
 * place.
 */
export const planeSumKernelSource = (body: KernelBody, axes: readonly PlaneAxis[], simdLoops = true): KernelSource => {
  const [width, height] = body.layout;
  const plane = width * height;
  const { at, flat, elementReads, loop, simdArguments } = elementLoopOf(body, simdLoops, 'sum');
  /** The run from `first` (its first flat position), `column` its first x, of `count` elements: SIMD, else the loop. */
  const run = (pad: string, first: string, column: string, count: string, loopOpen: string, position: string): string[] => [
    ...(typeof loop === 'string' ? [] : [`${pad}if (simd !== undefined) sum += simd(0, ${simdArguments(loop, first, column, count)});`, `${pad}else`]),
    `${pad}${loopOpen} {`,
    ...(position === FLAT_POSITION || !elementReads.includes(FLAT_POSITION) ? [] : [`${pad}  const ${FLAT_POSITION} = ${position};`]),
    at('element', pad.length / 2 + 1),
    `${pad}  sum += ${body.result.text};`,
    `${pad}}`,
  ];
  // z = the input's index over its non-plane axes, row-major; the kept ones come from o.
  const zStrides = axes.map((_, i) => axes.slice(i + 1).reduce((product, axis) => product * axis.extent, 1));
  const kept = axes.flatMap((axis, i) => (axis.reduced ? [] : [i]));
  const keptStrides = kept.map((_, k) => kept.slice(k + 1).reduce((product, i) => product * axes[i].extent, 1));
  const reduced = axes.flatMap((axis, i) => (axis.reduced ? [i] : []));
  const index = (i: number) => (axes[i].reduced ? `r${i}` : `q${i}`);
  const pad = (depth: number) => '  '.repeat(depth);
  const depth = 2 + reduced.length;
  return kernelSource([
    '(function kernel(out, buffers, start, end, simd) {',
    ...body.parameters.map((name, i) => `  const ${name} = buffers[${i}];`),
    '  for (let o = start; o < end; o++) {',
    ...kept.map((i, k) => `    const q${i} = Math.floor(o / ${keptStrides[k]}) % ${axes[i].extent};`),
    '    let sum = 0;',
    ...reduced.map((i, k) => `${pad(2 + k)}for (let r${i} = 0; r${i} < ${axes[i].extent}; r${i}++) {`),
    `${pad(depth)}const z = ${axes.length === 0 ? '0' : axes.map((_, i) => `${index(i)} * ${zStrides[i]}`).join(' + ')};`,
    at('plane', depth),
    `${pad(depth)}const from = z * ${plane};`,
    ...(flat
      ? run(pad(depth), 'from', 'from', String(plane), `for (let ${FLAT_POSITION} = from; ${FLAT_POSITION} < from + ${plane}; ${FLAT_POSITION}++)`, FLAT_POSITION)
      : [
          `${pad(depth)}for (let y = 0; y < ${height}; y++) {`,
          at('row', depth + 1),
          `${pad(depth + 1)}const base = from + y * ${width};`,
          ...run(pad(depth + 1), 'base', '0', String(width), `for (let x = 0; x < ${width}; x++)`, 'base + x'),
          `${pad(depth)}}`,
        ]),
    ...reduced.map((_, k) => `${pad(1 + reduced.length - k)}}`),
    '    out[o] = sum;',
    '  }',
    '})',
  ], loop);
};

/**
 * Roughly how many inner-loop passes one output element costs: 1, plus for each top-level loop
 * the product of its nested loops' counts (a reduction over 256 x 1024 costs 262,144).
 */
export const passesPerElement = (statements: readonly Statement[]): number =>
  statements.reduce((total, statement) => {
    const counts = loopsIn(statement).map((loop) => loop.count * (loop.perPass ?? 1));
    return total + (counts.length === 0 ? 0 : counts.reduce((a, b) => a * b, 1));
  }, 1);


/**
 * How much faster a kernel's element loop runs as WebAssembly SIMD than as JavaScript, for the
 * choice of threads: a batch norm's normalisation over [256, 32, 32, 32] took 3.7 ms against
 * 57 ms on one thread (a scratch script, medians of 9); taken as 8 to allow for what runs once
 * a plane.
 */
const SIMD_SPEEDUP = 8;

/** A kernel ready for the pool: its source, its SIMD module where it has one, an id for the workers' caches, and its cost. */
export class JavascriptKernel {
  private static count = 0;
  readonly id = JavascriptKernel.count++;
  private local: KernelFunction | undefined;
  private localSimd: SimdFunction | undefined;
  private compiled: WebAssembly.Module | undefined;

  constructor(
    readonly source: string,
    /** Inner-loop passes per output element (`passesPerElement`). */
    readonly passes: number,
    /** What the kernel computes, for error messages. */
    readonly name: string,
    /** The element loop's WebAssembly module (simd-kernel.ts), where it has one. */
    readonly simd?: Uint8Array,
  ) {}

  /** The SIMD module, compiled once; the workers instantiate the same one. */
  get simdModule(): WebAssembly.Module | undefined {
    if (this.simd === undefined) return undefined;
    return (this.compiled ??= new WebAssembly.Module(this.simd));
  }

  /** Inner-loop passes per element, scaled down where the element loop is SIMD: what choosing the threads weighs. */
  cost(simd: boolean): number {
    return simd ? this.passes / SIMD_SPEEDUP : this.passes;
  }

  /** Runs positions [start, end) on this thread; with `simd`, the element loop is the module's (every array in the arena). */
  runHere(out: Float32Array, buffers: readonly Float32Array[], start: number, end: number, simd = false): void {
    this.local ??= (0, eval)(this.source) as KernelFunction;
    if (simd) this.localSimd ??= instantiateSimd(this.simdModule!, sharedFloatArena().memory);
    this.local(out, buffers, start, end, simd ? this.localSimd : undefined);
  }
}

/** A SIMD module's function over `memory` (the arena's, on any thread). */
export const instantiateSimd = (module: WebAssembly.Module, memory: WebAssembly.Memory): SimdFunction =>
  new WebAssembly.Instance(module, { env: { memory } }).exports.simd as SimdFunction;
