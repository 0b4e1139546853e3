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
// buffers `bN` read by flat position, and the thread's position as `x`, `y` and `z`. Here the
// body becomes the inside of a loop over a range of the output's flat positions, row by row (a
// row is the x extent of the layout).

import { loopsIn, renderStatements, type Statement } from '../codegen/statements.ts';
import type { Expression } from '../codegen/expression.ts';

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
 * Which statements do not depend on x, and may run once a row: a `const` whose names are all
 * row-invariant (y, z, buffers and earlier hoisted constants). Buffers never change during a
 * kernel, so a read at a row-invariant position (a bias) is hoisted too.
 */
export const hoistable = (statements: readonly Statement[]): boolean[] => {
  const invariant = new Set(['y', 'z']);
  return statements.map((statement) => {
    if (statement.kind !== 'const' || !statement.expression.reads.every((name) => invariant.has(name))) return false;
    invariant.add(statement.name);
    return true;
  });
};

/**
 * The source of `(out, buffers, start, end) => void`, which writes out[f] for the flat output
 * positions f in [start, end).
 */
export const javascriptKernelSource = (body: KernelBody): string => {
  const [width, height] = body.layout;
  const { statements } = body;
  const hoisted = hoistable(statements);
  const indent = (some: readonly Statement[], depth: number) => renderStatements(some, depth).join('\n');
  return [
    '(function kernel(out, buffers, start, end) {',
    ...body.parameters.map((name, i) => `  const ${name} = buffers[${i}];`),
    `  const rowEnd = Math.ceil(end / ${width});`,
    `  for (let row = Math.floor(start / ${width}); row < rowEnd; row++) {`,
    `    const z = ${height === 1 ? 'row' : `Math.floor(row / ${height})`};`,
    `    const y = ${height === 1 ? '0' : `row - z * ${height}`};`,
    indent(statements.filter((_, i) => hoisted[i]), 2),
    `    const base = row * ${width};`,
    `    const xEnd = Math.min(${width}, end - base);`,
    '    for (let x = Math.max(0, start - base); x < xEnd; x++) {',
    indent(statements.filter((_, i) => !hoisted[i]), 3),
    `      out[base + x] = ${body.result.text};`,
    '    }',
    '  }',
    '})',
  ]
    .filter((line) => line.trim() !== '')
    .join('\n');
};

/**
 * Roughly how many inner-loop passes one output element costs: 1, plus for each top-level loop
 * the product of its nested loops' counts (a reduction over 256 x 1024 costs 262,144).
 */
export const passesPerElement = (statements: readonly Statement[]): number =>
  statements.reduce((total, statement) => {
    const counts = loopsIn(statement).map((loop) => loop.count);
    return total + (counts.length === 0 ? 0 : counts.reduce((a, b) => a * b, 1));
  }, 1);

/** A kernel ready for the pool: its source, an id for the workers' caches, and its cost. */
export class JavascriptKernel {
  private static count = 0;
  readonly id = JavascriptKernel.count++;
  private local: ((out: Float32Array, buffers: readonly Float32Array[], start: number, end: number) => void) | undefined;

  constructor(
    readonly source: string,
    /** Inner-loop passes per output element (`passesPerElement`). */
    readonly passes: number,
    /** What the kernel computes, for error messages. */
    readonly name: string,
  ) {}

  /** Runs positions [start, end) on this thread. */
  runHere(out: Float32Array, buffers: readonly Float32Array[], start: number, end: number): void {
    this.local ??= (0, eval)(this.source);
    this.local!(out, buffers, start, end);
  }
}
