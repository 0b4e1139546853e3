// The tiled matrix product at the heart of every kernel here, as WGSL generated for one problem:
// C[batch][row][column] = sum over inner of A[batch][row][inner] * B[batch][inner][column].
//
// How A and B are read is the caller's: a matmul reads strided views of two buffers, a
// convolution reads its weights as A and gathers B from the image (an implicit im2col, never
// written out). Where C goes is the caller's too. This file does the rest, the part that makes it
// fast, in the manner of TensorFlow.js's MatMulPackedProgram:
//  - a workgroup computes one block of C, staging a slab of A and a slab of B in var<workgroup>
//    memory per step along the inner dimension, each invocation loading an equal share;
//  - each invocation keeps a register tile of outputs, rows ty, ty + WY, ... and columns
//    tx, tx + WX, ..., so that neighbouring invocations store neighbouring columns;
//  - rows, columns and inner extents that are not multiples of the block are bounds-checked:
//    reads past an edge stage zeros, writes past an edge are skipped.
// Every size, stride and offset is a constant of the generated source, so that the shader
// compiler folds the index arithmetic; a kernel is generated per shape and cached by its source.
//
// A product split along its inner dimension (`splits` > 1) writes each range's partial sums to
// its own copy of C, one after another, for `sumPartialsSource` to add up.

import { chooseSplits, chooseTileConfig, dispatchFor, fits, invocations, type KernelLimits, type TileConfig, tileColumns, tileRows } from './tiles.ts';

/** How the kernel reads one operand, as WGSL (`i32` coordinates; the operand is bound as `source`). */
export interface GemmOperand {
  /**
   * Which coordinate neighbouring invocations walk when they load a slab, so that their reads
   * are neighbours in memory: 'inner' or 'outer' (A's row, B's column). The other coordinate is
   * the same for an invocation from slab to slab, and so is whatever `prepare` derives from it.
   */
  readonly fastest: 'inner' | 'outer';
  /**
   * Statements run once per invocation, before the first slab, for a fixed coordinate: the outer
   * coordinate when `fastest` is 'outer', else nothing. Names it binds start with `prefix`.
   */
  readonly prepare?: (outer: string, batch: string, prefix: string) => string;
  /**
   * Statements and an f32 expression reading the operand at (outer, inner) of `batch`, called
   * only for coordinates inside the product (a convolution's padding is the reader's to check).
   */
  readonly read: (outer: string, inner: string, batch: string, prefix: string, source: string) => { readonly statements: string; readonly value: string };
}

export interface GemmProblem {
  readonly rows: number;
  readonly columns: number;
  readonly inner: number;
  readonly batches: number;
  readonly a: GemmOperand;
  readonly b: GemmOperand;
  /** An i32 expression: where C[batch][row][column] goes in the output. */
  readonly store: (row: string, column: string, batch: string) => string;
  /** The size of C in the output buffer (where one split's partial sums start after another's). */
  readonly outputSize: number;
  readonly splits: number;
  /** Which of the node's inputs A and B are (a convolution's A is its weights, its second input). */
  readonly inputs: readonly [number, number];
}

export interface GemmKernel {
  readonly source: string;
  readonly dispatch: readonly [number, number, number];
  /** Elements of inner dimension each split covers (a whole number of slabs). */
  readonly innerPerSplit: number;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

export const gemmSource = (problem: GemmProblem, config: TileConfig, limits: KernelLimits): GemmKernel => {
  const { rows, columns, inner, batches, a, b, splits } = problem;
  const [wx, wy] = config.workgroup;
  const [rm, rn] = config.registers;
  const tm = tileRows(config);
  const tn = tileColumns(config);
  const tk = config.depth;
  const threads = invocations(config);
  const tilesAcross = Math.ceil(columns / tn);
  const tilesDown = Math.ceil(rows / tm);
  const groups = tilesAcross * tilesDown * batches * splits;
  const innerPerSplit = Math.ceil(Math.ceil(inner / tk) / splits) * tk;
  const dispatch = dispatchFor(groups, limits);

  // One operand's share of a slab: `outerExtent` x tk values, `threads` at a time.
  const loadSlab = (operand: GemmOperand, name: 'A' | 'B', outerExtent: number, outerStart: string, outerLimit: number) => {
    const prefix = `prepared${name}_`;
    // A slab smaller than the workgroup is loaded by its first invocations, one value each.
    const loads = Math.max(1, (outerExtent * tk) / threads);
    const loading = outerExtent * tk < threads ? `local < ${outerExtent * tk} && ` : '';
    const lines: string[] = [];
    const prepareLines: string[] = [];
    if (operand.fastest === 'outer') {
      // This invocation's outer coordinate is fixed; it walks the inner one.
      prepareLines.push(`  let outer${name} = ${outerStart} + local % ${outerExtent};`);
      prepareLines.push(`  let outer${name}Inside = outer${name} < ${outerLimit};`);
      if (operand.prepare) prepareLines.push(operand.prepare(`outer${name}`, 'batch', prefix));
      for (const r of range(loads)) {
        const slabInner = `(local / ${outerExtent} + ${r * (threads / outerExtent)})`;
        const { statements, value } = operand.read(`outer${name}`, `(k0 + ${slabInner})`, 'batch', prefix, `operand${name}`);
        lines.push(
          `    if (${loading}true) {`,
          `      var value = 0.0;`,
          `      let innerIndex = k0 + ${slabInner};`,
          `      if (outer${name}Inside && innerIndex < ${inner}) {`,
          statements,
          `        value = ${value};`,
          `      }`,
          `      slab${name}[${slabInner} * ${outerExtent} + local % ${outerExtent}] = value;`,
          `    }`,
        );
      }
    } else {
      for (const r of range(loads)) {
        const slabOuter = `(local / ${tk} + ${r * (threads / tk)})`;
        const { statements, value } = operand.read(`(${outerStart} + ${slabOuter})`, `(k0 + local % ${tk})`, 'batch', prefix, `operand${name}`);
        lines.push(
          `    if (${loading}true) {`,
          `      var value = 0.0;`,
          `      if (${outerStart} + ${slabOuter} < ${outerLimit} && k0 + local % ${tk} < ${inner}) {`,
          statements,
          `        value = ${value};`,
          `      }`,
          `      slab${name}[(local % ${tk}) * ${outerExtent} + ${slabOuter}] = value;`,
          `    }`,
        );
      }
    }
    return { prepare: prepareLines.join('\n'), load: lines.join('\n') };
  };

  const slabA = loadSlab(a, 'A', tm, 'row0', rows);
  const slabB = loadSlab(b, 'B', tn, 'column0', columns);
  const accumulators = range(rm).flatMap((i) => range(rn).map((j) => `  var sum${i}_${j} = 0.0;`));
  const multiply = [
    ...range(rm).map((i) => `      let a${i} = slabA[k * ${tm} + ${i * wy} + ty];`),
    ...range(rn).map((j) => `      let b${j} = slabB[k * ${tn} + ${j * wx} + tx];`),
    ...range(rm).flatMap((i) => range(rn).map((j) => `      sum${i}_${j} = fma(a${i}, b${j}, sum${i}_${j});`)),
  ];
  const stores = range(rm).flatMap((i) =>
    range(rn).map(
      (j) =>
        `  if (row0 + ${i * wy} + ty < ${rows} && column0 + ${j * wx} + tx < ${columns}) { output[${splits > 1 ? `split * ${problem.outputSize} + ` : ''}${problem.store(`(row0 + ${i * wy} + ty)`, `(column0 + ${j * wx} + tx)`, 'batch')}] = sum${i}_${j}; }`,
    ),
  );

  const source = `// ${rows} x ${inner} by ${inner} x ${columns}, ${batches} batch${batches === 1 ? '' : 'es'}, ${splits} split${splits === 1 ? '' : 's'}; blocks of ${tm} x ${tn} x ${tk}, ${rm} x ${rn} per invocation
@group(0) @binding(0) var<storage, read> operandA: array<f32>;
@group(0) @binding(1) var<storage, read> operandB: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;
var<workgroup> slabA: array<f32, ${tm * tk}>;
var<workgroup> slabB: array<f32, ${tn * tk}>;

@compute @workgroup_size(${wx}, ${wy}, 1)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) place: vec3<u32>, @builtin(local_invocation_index) localIndex: u32) {
  // Workgroups are numbered across the dispatch, however it was folded to fit the device.
  let groupIndex = i32(group.x + ${dispatch[0]}u * (group.y + ${dispatch[1]}u * group.z));
  if (groupIndex >= ${groups}) { return; }
  let tileColumn = groupIndex % ${tilesAcross};
  let tileRow = (groupIndex / ${tilesAcross}) % ${tilesDown};
  let batch = (groupIndex / ${tilesAcross * tilesDown}) % ${batches};
  let split = groupIndex / ${tilesAcross * tilesDown * batches};
  let row0 = tileRow * ${tm};
  let column0 = tileColumn * ${tn};
  let local = i32(localIndex);
  let tx = i32(place.x);
  let ty = i32(place.y);
${slabA.prepare}
${slabB.prepare}
${accumulators.join('\n')}
  let kBegin = split * ${innerPerSplit};
  let kEnd = min(${inner}, kBegin + ${innerPerSplit});
  for (var k0 = kBegin; k0 < kEnd; k0 += ${tk}) {
${slabA.load}
${slabB.load}
    workgroupBarrier();
    for (var k = 0; k < ${tk}; k++) {
${multiply.join('\n')}
    }
    workgroupBarrier();
  }
${stores.join('\n')}
}
`;
  return { source, dispatch, innerPerSplit };
};

/** Adds the splits' partial sums: output[i] = sum over s of partials[s * size + i]. */
export const sumPartialsSource = (size: number, splits: number, limits: KernelLimits): { source: string; dispatch: readonly [number, number, number] } => {
  const groups = Math.ceil(size / 256);
  const dispatch = dispatchFor(groups, limits);
  const source = `// the sum of ${splits} partial products of ${size} values
@group(0) @binding(0) var<storage, read> partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) localIndex: u32) {
  let i = i32(group.x + ${dispatch[0]}u * (group.y + ${dispatch[1]}u * group.z)) * 256 + i32(localIndex);
  if (i >= ${size}) { return; }
  var total = 0.0;
  for (var s = 0; s < ${splits}; s++) { total += partials[s * ${size} + i]; }
  output[i] = total;
}
`;
  return { source, dispatch };
};

/** One compute pass of a tiled kernel: its source, its workgroups, and the buffers it binds in order. */
export interface TiledPass {
  readonly source: string;
  readonly dispatch: readonly [number, number, number];
  /** The node's inputs by position, the split product's scratch, and the output. */
  readonly bindings: readonly (number | 'partials' | 'output')[];
}

/** A product as the runner runs it: one pass, or a split product's pass and the sum of its partials. */
export interface TiledKernel {
  /** What it computes, for errors and reports. */
  readonly label: string;
  readonly passes: readonly TiledPass[];
  /** Values the output holds. */
  readonly outputSize: number;
  /** Values of the scratch buffer a split product's partial sums need (0 when not split). */
  readonly partialsSize: number;
  /** Multiply-adds times two, the figure GFLOP/s are counted in. */
  readonly flops: number;
  readonly config: TileConfig;
  readonly splits: number;
}

/** Overrides of the tile config and the split the kernels would choose (the tests' and the bench's). */
export interface TileChoice {
  readonly config?: TileConfig;
  readonly splits?: number;
}

/** A product as passes: the tile config and split chosen for its extent unless given. */
export const tiledGemm = (label: string, problem: Omit<GemmProblem, 'splits'>, limits: KernelLimits, choice: TileChoice = {}): TiledKernel => {
  const extent = { rows: problem.rows, columns: problem.columns, depth: problem.inner, batches: problem.batches };
  const config = choice.config ?? chooseTileConfig(extent, limits);
  if (!fits(config, limits)) throw new Error(`webgpu tiles: ${label}: the tile config ${JSON.stringify(config)} does not fit this device's limits`);
  const splits = Math.max(1, Math.min(choice.splits ?? chooseSplits(extent, config), Math.ceil(problem.inner / config.depth)));
  const flops = 2 * problem.rows * problem.columns * problem.inner * problem.batches;
  const product = gemmSource({ ...problem, splits }, config, limits);
  if (splits === 1)
    return { label, passes: [{ source: product.source, dispatch: product.dispatch, bindings: [...problem.inputs, 'output'] }], outputSize: problem.outputSize, partialsSize: 0, flops, config, splits };
  const sum = sumPartialsSource(problem.outputSize, splits, limits);
  return {
    label,
    passes: [
      { source: product.source, dispatch: product.dispatch, bindings: [...problem.inputs, 'partials'] },
      { source: sum.source, dispatch: sum.dispatch, bindings: ['partials', 'output'] },
    ],
    outputSize: problem.outputSize,
    partialsSize: problem.outputSize * splits,
    flops,
    config,
    splits,
  };
};
