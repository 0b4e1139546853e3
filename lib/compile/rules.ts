// How each primitive becomes kernel code. A `fused` primitive is an expression or an index
// remapping that inlines into whichever kernel consumes it; a `boundary` primitive gets its own
// kernel, with loops over what it reduces, and pulls its inputs in as fused prologues; a `host`
// primitive runs its float64 reference on the CPU between pipelines (reported, never silent).

import { apply, type Primitive, type Tensor } from '../tensor.ts';
import type { Emitter } from './emitter.ts';
import { tensor } from '../constants.ts';
import { valueInputsOf } from '../graph.ts';
import type { ReduceParams } from '../primitives/reduction.ts';
import { type BroadcastParams, broadcastToPrimitive } from '../primitives/broadcast-to.ts';
import { type TransposeParams, transposePrimitive } from '../primitives/transpose.ts';
import { type SliceParams, slicePrimitive } from '../primitives/slice.ts';
import { type FlipParams, flipPrimitive } from '../primitives/flip.ts';
import { pad, type PadParams, padPrimitive } from '../primitives/pad.ts';
import { type ConcatParams, concatPrimitive } from '../primitives/concat.ts';
import { type GatherParams, gatherPrimitive } from '../primitives/gather.ts';
import { type ScatterAddParams, scatterAddPrimitive } from '../primitives/scatter-add.ts';
import { type Conv2dParams, conv2dPrimitive } from '../primitives/conv2d.ts';
import { type Pool2dParams, pool2dPrimitive } from '../primitives/pool2d.ts';
import { type MaxPoolGradientParams, maxPoolGradientPrimitive } from '../primitives/max-pool-gradient.ts';
import { type RandomBitsParams, randomBitsPrimitive } from '../primitives/random-bits.ts';
import { constantDataOf, constantPrimitive } from '../primitives/constant.ts';
import { placeholderPrimitive } from '../primitives/placeholder.ts';
import { stopGradientPrimitive } from '../primitives/stop-gradient.ts';
import { customVjpPrimitive } from '../primitives/custom-vjp.ts';
import { reshapePrimitive } from '../primitives/reshape.ts';
import { selectPrimitive } from '../primitives/select.ts';
import { sumPrimitive } from '../primitives/sum.ts';
import { maxPrimitive } from '../primitives/max.ts';
import { matmulPrimitive } from '../primitives/matmul.ts';
import { topKIndicesPrimitive } from '../primitives/top-k-indices.ts';
import { KEY_WORDS } from '../random/hash.ts';
import { emitHashToUnit, emitKeyWord } from './hash-code.ts';
import { code, type Expression, integer, join, literal, type Name, withTree, zero } from '../codegen/expression.ts';

type Emit = (w: Emitter, node: Tensor<any, any>, index: readonly Expression[]) => Expression;

/** The node's replacement (given its rewritten inputs) and the nodes of it that need buffers; undefined to keep it. */
export type Rewrite = (node: Tensor<any, any>, inputs: readonly Tensor[]) => { readonly result: Tensor; readonly materialize: readonly Tensor[] } | undefined;

export type KernelRule =
  | {
      readonly kind: 'fused';
      readonly emit: Emit;
      /**
       * Its expression costs as much as the scheduler ever counts against recomputing one (a
       * hash): read by several kernels, or at several indices, it gets a buffer.
       */
      readonly costly?: true;
      /**
       * It reads each input element at many output positions (a broadcast): reached from several
       * kernels, its smaller input gets the buffer instead of it.
       */
      readonly spreadsInput?: true;
    }
  | {
      readonly kind: 'boundary';
      readonly emit: Emit;
      /**
       * It reads every element of its inputs many times (once per output column, once per output
       * channel and tap): an input computed inline would be recomputed each time, so it gets a buffer.
       */
      readonly rereadsInputs?: true;
      /** An equivalent graph that compiles to faster kernels, put in the node's place before scheduling. */
      readonly rewrite?: Rewrite;
    }
  | { readonly kind: 'host'; readonly why: string }
  | { readonly kind: 'leaf' };

type Fused = Extract<KernelRule, { kind: 'fused' }>;
type Boundary = Extract<KernelRule, { kind: 'boundary' }>;
const fused = (emit: Emit, traits: Omit<Fused, 'kind' | 'emit'> = {}): KernelRule => ({ kind: 'fused', emit, ...traits });
const boundary = (emit: Emit, traits: Omit<Boundary, 'kind' | 'emit'> = {}): KernelRule => ({ kind: 'boundary', emit, ...traits });

/** The value of the one input it is computed from (stopGradient; a custom VJP's traced output). */
const passThrough = fused((w, node, index) => w.value(valueInputsOf(node)[0], index));

const elementwise: Emit = (w, node, index) =>
  ((w.flatFloat32 ? node.primitive.javascriptElementwise : undefined) ?? node.primitive.elementwise!)(
    node.inputs.map((input: Tensor) => w.value(input, index)),
    node.params,
  );

/** Sum or max over the reduced axes: nested loops with literal bounds, the input fused in. */
const reduction =
  (initial: number, combine: (accumulator: Name, value: Expression) => Expression): Emit =>
  (w, node, index) => {
    const [x] = node.inputs as Tensor[];
    const { axes, keepdims } = node.params as ReduceParams;
    const accumulator = w.variable(w.literal(initial));
    // The output index of each input axis that is kept; the reduced axes take the loops' counters.
    const kept = new Map<number, Expression>();
    let k = 0;
    x.shape.forEach((_, axis) => {
      if (!axes.includes(axis)) kept.set(axis, index[k++]);
      else if (keepdims) k++;
    });
    const add = (into: Name, counters: readonly Expression[]) =>
      w.assign(into, combine(into, w.value(x, x.shape.map((_, axis) => kept.get(axis) ?? counters[axes.indexOf(axis)]))));
    // In the native pool's kernels, an innermost loop of even length takes its elements in pairs
    // into two accumulators, summed at the end: each float64 addition waits for the one before
    // it, and two chains run side by side (a batch norm's reduction over [256, 32, 32, 32] ran
    // a fifth faster so). Sums in another order, within float64 rounding; a maximum exactly.
    const innermost = x.shape[axes[axes.length - 1]];
    const second = w.flatFloat32 && innermost >= 8 && innermost % 2 === 0 ? w.variable(w.literal(initial)) : undefined;
    const nest = (counters: readonly Expression[]): void => {
      if (counters.length === axes.length - 1 && second !== undefined) {
        w.loop(innermost / 2, (pair) => {
          add(accumulator, [...counters, w.temp(code`${pair} * 2`)]);
          add(second, [...counters, w.temp(code`${pair} * 2 + 1`)]);
        }, 2);
        return;
      }
      if (counters.length === axes.length) {
        add(accumulator, counters);
        return;
      }
      w.loop(x.shape[axes[counters.length]], (counter) => nest([...counters, counter]));
    };
    nest([]);
    if (second !== undefined) w.assign(accumulator, combine(accumulator, second));
    return accumulator;
  };

const matmul: Emit = (w, node, index) => {
  const [a, b] = node.inputs as Tensor[];
  const k = a.shape[a.rank - 1];
  const batch = index.slice(0, -2);
  const [row, column] = index.slice(-2);
  const accumulator = w.variable(literal(0));
  w.loop(k, (p) => {
    w.accumulate(accumulator, code`${w.value(a, [...batch, row, p])} * ${w.value(b, [...batch, p, column])}`);
  });
  return accumulator;
};

const conv2d: Emit = (w, node, index) => {
  const [x, weight] = node.inputs as Tensor[];
  const { stride, padding, dilation } = node.params as Conv2dParams;
  const [, channels, height, width] = x.shape;
  const [, , kh, kw] = weight.shape;
  const [n, o, i, j] = index;
  // Without padding every tap of a valid output lies inside the input (the compiler pads
  // explicitly before convolving, see explicitlyPadded), so the reads need no checks.
  const padded = padding.flat().some((p) => p > 0);
  const accumulator = w.variable(literal(0));
  w.loop(channels, (c) =>
    w.loop(kh, (p) => {
      const row = w.temp(code`${i} * ${stride[0]} + ${p} * ${dilation[0]} - ${padding[0][0]}`);
      w.loop(kw, (q) => {
        const column = w.temp(code`${j} * ${stride[1]} + ${q} * ${dilation[1]} - ${padding[1][0]}`);
        if (!padded) {
          w.accumulate(accumulator, code`${w.value(x, [n, c, row, column])} * ${w.value(weight, [o, c, p, q])}`);
          return;
        }
        // Clamped reads keep every index in range; the mask drops the taps that fall in padding.
        const inside = w.temp(code`(${row} >= 0 && ${row} < ${height} && ${column} >= 0 && ${column} < ${width}) ? 1.0 : 0.0`);
        const r = w.temp(code`Math.min(Math.max(${row}, 0), ${height - 1})`);
        const s = w.temp(code`Math.min(Math.max(${column}, 0), ${width - 1})`);
        const product = w.temp(code`${w.value(x, [n, c, r, s])} * ${w.value(weight, [o, c, p, q])}`);
        w.accumulate(accumulator, code`${inside} != 0.0 ? ${product} : 0.0`);
      });
    }),
  );
  return accumulator;
};

/**
 * A padded convolution becomes a convolution of an explicitly padded input. The padded copy gets
 * its own buffer, so the convolution's inner loop reads without the bounds checks and clamped
 * indices that every tap of a padded read needs (they cost more than the multiply-add).
 */
const explicitlyPadded: Rewrite = (node, [x, weight]) => {
  const params = node.params as Conv2dParams;
  if (!params.padding.flat().some((p) => p > 0)) return undefined;
  const padded = pad(x, [[0, 0], [0, 0], params.padding[0], params.padding[1]]);
  return { result: apply(conv2dPrimitive, [padded, weight], { ...params, padding: [[0, 0], [0, 0]] }), materialize: [padded] };
};

const pool2d: Emit = (w, node, index) => {
  const [x] = node.inputs as Tensor[];
  const { kind, window, stride, padding } = node.params as Pool2dParams;
  const [, , height, width] = x.shape;
  const [n, c, i, j] = index;
  const [, , outHeight, outWidth] = node.shape;
  // Without padding, and with the last window inside the input (the usual 2 x 2, stride 2),
  // every tap is inside: no bounds to check, no index to clamp.
  const allInside =
    padding.flat().every((p) => p === 0) && (outHeight - 1) * stride[0] + window[0] <= height && (outWidth - 1) * stride[1] + window[1] <= width;
  const accumulator = w.variable(kind === 'max' ? w.literal(-Infinity) : literal(0));
  w.loop(window[0], (p) => {
    const row = w.temp(code`${i} * ${stride[0]} + ${p} - ${padding[0][0]}`);
    w.loop(window[1], (q) => {
      const column = w.temp(code`${j} * ${stride[1]} + ${q} - ${padding[1][0]}`);
      if (allInside) {
        const v = w.value(x, [n, c, row, column]);
        if (kind === 'max') w.assign(accumulator, code`Math.max(${accumulator}, ${v})`);
        else w.accumulate(accumulator, v);
        return;
      }
      const inside = w.temp(code`(${row} >= 0 && ${row} < ${height} && ${column} >= 0 && ${column} < ${width}) ? 1.0 : 0.0`);
      const r = w.temp(code`Math.min(Math.max(${row}, 0), ${height - 1})`);
      const s = w.temp(code`Math.min(Math.max(${column}, 0), ${width - 1})`);
      const v = w.value(x, [n, c, r, s]);
      if (kind === 'max') w.assign(accumulator, code`${inside} != 0.0 ? Math.max(${accumulator}, ${v}) : ${accumulator}`);
      else w.accumulate(accumulator, code`${inside} != 0.0 ? ${v} : 0.0`);
    });
  });
  return kind === 'max' ? accumulator : code`${accumulator} / ${w.literal(window[0] * window[1])}`;
};

/**
 * Max pooling's gradient over tiling windows (max-pool-gradient.ts), an output element a thread:
 * its window's maxima counted, then its share of the window's cotangent.
 */
const maxPoolGradient: Emit = (w, node, index) => {
  const [ct, x, y] = node.inputs as Tensor[];
  const [kh, kw] = (node.params as MaxPoolGradientParams).window;
  const [n, c, r, s] = index;
  const i = w.divide(r, kh).quotient;
  const j = w.divide(s, kw).quotient;
  const top = w.value(y, [n, c, i, j]);
  const ties = w.variable(literal(0));
  w.loop(kh, (p) => {
    const row = w.temp(code`${i} * ${kh} + ${p}`);
    w.loop(kw, (q) => w.accumulate(ties, code`(${w.value(x, [n, c, row, w.temp(code`${j} * ${kw} + ${q}`)])} == ${top} ? 1.0 : 0.0)`));
  });
  const share = w.temp(code`((${w.value(x, index)} == ${top} ? 1.0 : 0.0) / ${ties})`, true);
  return code`${w.value(ct, [n, c, i, j])} * ${share}`;
};

/**
 * The inverse of a constant index map: for each target position, the source positions that
 * scatter into it, padded with -1 to the longest list. With it, scatterAdd reads only its own
 * contributions (pooling's VJP: one or a few per position) instead of scanning every index.
 */
const inverseTables = new WeakMap<Tensor, Tensor>();
const inverseTable = (indices: Tensor, size: number): Tensor => {
  const cached = inverseTables.get(indices);
  if (cached !== undefined && cached.shape[0] === size) return cached;
  const data = constantDataOf(indices)!;
  const lists: number[][] = Array.from({ length: size }, () => []);
  data.forEach((target, k) => lists[target]?.push(k));
  const width = lists.reduce((longest, l) => Math.max(longest, l.length), 1);
  const table = tensor(lists.flatMap((l) => [...l, ...new Array<number>(width - l.length).fill(-1)]), [size, width]);
  inverseTables.set(indices, table);
  return table;
};

/** out[..., o, ...] = the sum of the source slices whose index is o. */
const scatterAdd: Emit = (w, node, index) => {
  const [source, indices] = node.inputs as Tensor[];
  const { axis, size } = node.params as ScatterAddParams;
  const before = index.slice(0, axis);
  const target = index[axis];
  const after = index.slice(axis + 1);
  const accumulator = w.variable(literal(0));
  if (constantDataOf(indices) !== undefined) {
    const table = inverseTable(indices, size);
    w.loop(table.shape[1], (j) => {
      const k = w.value(table, [target, j]);
      const position = w.unravel(w.temp(code`Math.max(${k}, 0.0)`), indices.shape);
      const v = w.value(source, [...before, ...position, ...after]);
      w.accumulate(accumulator, code`${k} >= 0.0 ? ${v} : 0.0`);
    });
    return accumulator;
  }
  // Indices computed at run time: scan them all.
  w.loop(indices.size, (k) => {
    const position = w.unravel(k, indices.shape);
    const picked = w.value(indices, position);
    const v = w.value(source, [...before, ...position, ...after]);
    w.accumulate(accumulator, code`${picked} == ${target} ? ${v} : 0.0`);
  });
  return accumulator;
};

/**
 * The runs of axes that a reshape maps onto each other: consecutive input axes and output axes
 * with equal products ([2, 3, 4] -> [6, 4]: {0, 1} -> {0} and {2} -> {1}).
 */
export const reshapeGroups = (from: readonly number[], to: readonly number[]): { from: number[]; to: number[] }[] => {
  const whole = [{ from: from.map((_, i) => i), to: to.map((_, j) => j) }];
  if (from.includes(0) || to.includes(0)) return whole;
  const groups: { from: number[]; to: number[] }[] = [];
  let i = 0;
  let j = 0;
  while (i < from.length || j < to.length) {
    const group = { from: [] as number[], to: [] as number[] };
    let a = 1;
    let b = 1;
    const takeFrom = () => { group.from.push(i); a *= from[i++]; };
    const takeTo = () => { group.to.push(j); b *= to[j++]; };
    if (i < from.length) takeFrom();
    if (j < to.length) takeTo();
    while (a !== b) {
      if (a < b ? i === from.length : j === to.length) return whole;
      if (a < b) takeFrom();
      else takeTo();
    }
    groups.push(group);
  }
  return groups;
};

/** The rule of each primitive that has one. An elementwise primitive needs none: its expression fuses. */
export const kernelRules: ReadonlyMap<Primitive<any>, KernelRule> = new Map<Primitive<any>, KernelRule>([
  [constantPrimitive, { kind: 'leaf' }],
  [placeholderPrimitive, { kind: 'leaf' }],
  [stopGradientPrimitive, passThrough],
  [customVjpPrimitive, passThrough],
  [broadcastToPrimitive, fused((w, node, index) => {
    const x: Tensor = node.inputs[0];
    const lead = (node.params as BroadcastParams).shape.length - x.rank;
    return w.value(x, index.slice(lead).map((e, axis) => (x.shape[axis] === 1 ? zero : e)));
  }, { spreadsInput: true })],
  // Axis group by axis group: [n, c, h, w] -> [n, c * h * w] keeps n and ravels only c, h, w,
  // so the flat positions it computes stay far below the whole tensor's size.
  [reshapePrimitive, fused((w, node, index) => {
    const x: Tensor = node.inputs[0];
    const inputIndex = reshapeGroups(x.shape, node.shape).flatMap(({ from, to }) =>
      from.length === 1 && to.length === 1
        ? [index[to[0]]]
        : w.unravel(w.ravel(to.map((axis) => index[axis]), to.map((axis) => node.shape[axis])), from.map((axis) => x.shape[axis])),
    );
    return w.value(x, inputIndex);
  })],
  [transposePrimitive, fused((w, node, index) => {
    const { permutation } = node.params as TransposeParams;
    const inputIndex = new Array<Expression>(permutation.length);
    permutation.forEach((axis, i) => (inputIndex[axis] = index[i]));
    return w.value(node.inputs[0], inputIndex);
  })],
  [slicePrimitive, fused((w, node, index) => {
    const { starts, steps } = node.params as SliceParams;
    return w.value(
      node.inputs[0],
      index.map((e, axis) => {
        const scaled = steps[axis] === 1 ? e : code`${e} * ${steps[axis]}`;
        return starts[axis] === 0 ? scaled : w.temp(code`${scaled} + ${starts[axis]}`);
      }),
    );
  })],
  [flipPrimitive, fused((w, node, index) => {
    const { axes } = node.params as FlipParams;
    return w.value(node.inputs[0], index.map((e, axis) => (axes.includes(axis) ? w.mirrored(e, node.shape[axis] - 1) : e)));
  })],
  [padPrimitive, fused((w, node, index) => {
    const { widths, value } = node.params as PadParams;
    const x: Tensor = node.inputs[0];
    const checks: Expression[] = [];
    const inputIndex = index.map((e, axis) => {
      const [before, after] = widths[axis];
      if (before === 0 && after === 0) return e;
      checks.push(code`${e} >= ${before} && ${e} < ${before + x.shape[axis]}`);
      // Clamped so that the read stays in range; the check discards it in the padding.
      return w.temp(code`Math.min(Math.max(${e} - ${before}, 0), ${x.shape[axis] - 1})`);
    });
    const inner = w.value(x, inputIndex);
    return checks.length === 0 ? inner : code`(${join(checks, ' && ')}) ? ${inner} : ${w.literal(value)}`;
  })],
  [concatPrimitive, fused((w, node, index) => {
    const { axis } = node.params as ConcatParams;
    let offset = 0;
    const parts = (node.inputs as Tensor[]).map((x) => {
      const start = offset;
      offset += x.shape[axis];
      // Every part is read at a clamped position; the comparisons pick the one that applies.
      const value = () => {
        const local = w.temp(code`Math.min(Math.max(${index[axis]} - ${start}, 0), ${x.shape[axis] - 1})`);
        return w.value(x, index.map((e, a) => (a === axis ? local : e)));
      };
      return { end: offset, value };
    });
    const pick = (k: number): Expression =>
      k === parts.length - 1 ? parts[k].value() : w.choose(code`${index[axis]} < ${parts[k].end}`, parts[k].value, () => pick(k + 1));
    return pick(0);
  })],
  [selectPrimitive, fused((w, node, index) => {
    const [condition, a, b] = node.inputs as Tensor[];
    const value = w.value(condition, index);
    return w.choose(withTree(code`${value} != 0`, { op: 'nonzero', x: value }), () => w.value(a, index), () => w.value(b, index));
  })],
  [gatherPrimitive, fused((w, node, index) => {
    const [x, indices] = node.inputs as Tensor[];
    const { axis } = node.params as GatherParams;
    const picked = w.value(indices, index.slice(axis, axis + indices.rank));
    return w.value(x, [...index.slice(0, axis), picked, ...index.slice(axis + indices.rank)]);
  })],
  // Counter-based random numbers: the hash of the element's flat index under the key.
  [randomBitsPrimitive, fused((w, node, index) => {
    const key: Tensor = node.inputs[0];
    const words = Array.from({ length: KEY_WORDS }, (_, k) => emitKeyWord(w, w.value(key, [integer(k)])));
    return emitHashToUnit(w, words, w.ravel(index, node.shape), (node.params as RandomBitsParams).stream);
  }, { costly: true })],
  [sumPrimitive, boundary(reduction(0, (a, v) => code`${a} + ${v}`))],
  [maxPrimitive, boundary(reduction(-Infinity, (a, v) => code`Math.max(${a}, ${v})`))],
  [matmulPrimitive, boundary(matmul, { rereadsInputs: true })],
  [conv2dPrimitive, boundary(conv2d, { rereadsInputs: true, rewrite: explicitlyPadded })],
  [pool2dPrimitive, boundary(pool2d)],
  [maxPoolGradientPrimitive, boundary(maxPoolGradient)],
  [scatterAddPrimitive, boundary(scatterAdd)],
  [topKIndicesPrimitive, { kind: 'host', why: 'it sorts each row, which a kernel of one output element per thread cannot' }],
]);

const fusedElementwise = fused(elementwise);
const unknown: KernelRule = { kind: 'host', why: 'no kernel rule is registered for it' };

/** The rule of a primitive: its entry, else its elementwise expression fused; undefined when it has neither. */
export const kernelRuleOf = (primitive: Primitive<any>): KernelRule | undefined =>
  kernelRules.get(primitive) ?? (primitive.elementwise ? fusedElementwise : undefined);

/** The rule of a node's primitive; a primitive with none runs on the host. */
export const kernelRule = (node: Tensor): KernelRule => kernelRuleOf(node.primitive) ?? unknown;
