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
 * The source of `(out, buffers, start, end) => void`, which writes out[f] for the flat output
 * positions f in [start, end), plane by plane (a plane is the x and y extent of the layout).
 * Where `runsFlat`, each plane's positions are one loop; otherwise row by row. A range may
 * begin and end anywhere, in the middle of a row.
 */
export const javascriptKernelSource = (body: KernelBody): string => {
  const [width, height, depth] = body.layout;
  const statements = withoutUnread(body.statements, body.result);
  const level = levels(statements);
  const at = (wanted: Level, indent: number) => renderStatements(statements.filter((_, i) => level[i] === wanted), indent).join('\n');
  const flat = runsFlat(body);
  const elementReads = [...statements.filter((_, i) => level[i] === 'element').flatMap(namesRead), ...body.result.reads];
  // With nothing to do once a plane, a flat kernel's planes are one run: the whole output.
  const plane = flat && !level.includes('plane') && !elementReads.includes('z') ? width * height * depth : width * height;
  const elements = (pad: string, position: string) => [at('element', pad.length / 2), `${pad}out[${position}] = ${body.result.text};`];
  return [
    '(function kernel(out, buffers, start, end) {',
    ...body.parameters.map((name, i) => `  const ${name} = buffers[${i}];`),
    `  for (let z = Math.floor(start / ${plane}); z * ${plane} < end; z++) {`,
    at('plane', 2),
    ...(flat
      ? [
          `    const planeEnd = Math.min(end, (z + 1) * ${plane});`,
          `    for (let ${FLAT_POSITION} = Math.max(start, z * ${plane}); ${FLAT_POSITION} < planeEnd; ${FLAT_POSITION}++) {`,
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
          '      for (let x = Math.max(0, start - base); x < xEnd; x++) {',
          ...(elementReads.includes(FLAT_POSITION) ? [`        const ${FLAT_POSITION} = base + x;`] : []),
          ...elements('        ', 'base + x'),
          '      }',
          '    }',
        ]),
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
    const counts = loopsIn(statement).map((loop) => loop.count * (loop.perPass ?? 1));
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
