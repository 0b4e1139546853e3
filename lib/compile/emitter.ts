// Writes the body of one gpu.js kernel: straight-line statements with named temporaries (so a
// value used twice is computed once, and deep index arithmetic never grows exponentially),
// scoped loops for reductions, and reads of materialized buffers by flat row-major index.
// Every buffer, and every kernel's output, has the 3-D layout [width, height, depth] of
// `layoutOf`: the tensor's last axis is x (contiguous, fastest-varying, the axis webasm
// vectorises), the second-last is y, and every leading axis is flattened into z with integer
// index arithmetic. A read whose index does not involve x (a matmul's left operand, a bias) is
// then one load shared by all SIMD lanes instead of a gather.

import type { Shape } from '../shape.ts';
import { sizeOf, stridesOf } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import type { LiteralDialect } from './capabilities.ts';
import { FLAT_POSITION, renderStatements, type Statement, type ThreadAxis } from '../codegen/statements.ts';
import {
  code, type Expression, integer, isZero, join, literal, type Name, name, parameter, roundedToFloat32, threadPosition, withTree, zero,
} from '../codegen/expression.ts';

interface Scope {
  readonly statements: Statement[];
  /** Expressions already named here, by their text (and whether rounded), and node values by node and index. */
  readonly memo: Map<string, Expression>;
  readonly parent?: Scope;
  /** 0 at the top, one more for each loop or branch inside. */
  readonly depth: number;
  /** A branch of a choice (only the side taken runs), rather than a loop body. */
  readonly branch?: boolean;
}

/**
 * The order in which a buffer lays out a tensor's axes: the last is x, the one before y, the rest
 * flattened into z. Row-major (the identity) for every buffer except kernel outputs whose last
 * axis is too short to fill the SIMD lanes (a [64, 128, 3, 3] weight gradient): those put their
 * longest axis in x instead.
 */
export type AxisOrder = readonly number[];

/**
 * An axis order whose y spans several axes: a [1024, 64, 16, 16] buffer is [16, 64 * 16, 1024]
 * rather than [16, 16, 65536] where a device dispatches at most 65535 workgroups along z.
 */
export interface Folded {
  readonly order: AxisOrder;
  readonly yAxes: number;
}

/**
 * A buffer too large for a backend's texture size in its axis layout (a similarity row of 50,000
 * on WebGL, whose limit is 16384 a side) is wrapped instead: element f of the row-major data sits
 * at x = f mod width, y = floor(f / width). The threads past the end compute values nobody reads.
 */
export interface Wrapped {
  readonly wrap: number;
}

export type Layout = AxisOrder | Folded | Wrapped;

export const isWrapped = (layout: Layout): layout is Wrapped => 'wrap' in layout;

export const rowMajor = (shape: Shape): AxisOrder => shape.map((_, i) => i);

/**
 * The order of axes in which a layout stores a tensor's elements one after another: a wrapped
 * layout and a folded one store them as their axis order does, only cut into rows differently.
 */
const flatOrder = (layout: Layout, shape: Shape): AxisOrder => (isWrapped(layout) ? rowMajor(shape) : Array.isArray(layout) ? (layout as AxisOrder) : (layout as Folded).order);

/** An axis layout's axes, in buffer order, split into z, y and x. */
const axesOf = (layout: AxisOrder | Folded): { z: number[]; y: number[]; x: number[] } => {
  const order = Array.isArray(layout) ? (layout as AxisOrder) : (layout as Folded).order;
  const rank = order.length;
  const yAxes = Math.min(Array.isArray(layout) ? 1 : (layout as Folded).yAxes, Math.max(0, rank - 1));
  return { z: order.slice(0, rank - 1 - yAxes), y: order.slice(Math.max(0, rank - 1 - yAxes), rank - 1), x: order.slice(rank - 1) };
};

/** [width, height, depth] of a buffer: the sizes of its x, y and z axes. */
export const layoutOf = (shape: Shape, layout: Layout = rowMajor(shape)): [number, number, number] => {
  if (isWrapped(layout)) return [layout.wrap, Math.max(1, Math.ceil(sizeOf(shape) / layout.wrap)), 1];
  const { z, y, x } = axesOf(layout);
  const extent = (axes: number[]) => axes.reduce((product, axis) => product * shape[axis], 1);
  return [extent(x), extent(y), extent(z)];
};

export interface EmitterSettings {
  readonly layoutFor?: (node: Tensor) => Layout;
  readonly literals?: LiteralDialect;
  /** The largest integer (exclusive) the index arithmetic may compute; past it float32 rounds. */
  readonly exactIntegers?: number;
  /** What the kernel computes, for error messages. */
  readonly kernel?: string;
  /**
   * Kernels for the native pool's JavaScript executor (javascript-kernel.ts) rather than gpu.js:
   * buffers are flat arrays read at `z * height * width + y * width + x`; every node's value is
   * rounded to float32 where its operation can leave float32 (JavaScript computes in float64),
   * so that a value computed again in another kernel equals the one stored (a max pool's
   * gradient compares the two), while index arithmetic stays exact; choices compute only the
   * side taken; temporaries are placed where their inputs are defined (`placement`).
   */
  readonly flatFloat32?: boolean;
}

export class Emitter {
  static readonly unrollLimit = 4;
  private scope: Scope = { statements: [], memo: new Map(), depth: 0 };
  private readonly root = this.scope;
  private counter = 0;
  /** Buffer parameter name of each materialized node this kernel reads, in parameter order. */
  readonly buffers = new Map<Tensor, string>();
  readonly layoutFor: (node: Tensor) => Layout;
  private readonly settings: EmitterSettings;

  constructor(
    readonly valueOf: (emitter: Emitter, node: Tensor, index: readonly Expression[]) => Expression,
    settings: EmitterSettings = {},
  ) {
    this.settings = settings;
    this.layoutFor = settings.layoutFor ?? ((node) => rowMajor(node.shape));
  }

  /** Whether the kernel is the native pool's JavaScript (`EmitterSettings.flatFloat32`). */
  get flatFloat32(): boolean {
    return this.settings.flatFloat32 === true;
  }

  /**
   * A number in this kernel's dialect. WGSL has no literal for an infinity or NaN and rejects a
   * constant division by zero, so there they divide by a zero computed from the thread index.
   */
  literal(value: number): Expression {
    if (this.settings.literals !== 'wgsl' || Number.isFinite(value)) return literal(value);
    const zero = this.temp(code`${this.thread('x')} * 0.0`);
    return this.temp(Number.isNaN(value) ? code`${zero} / ${zero}` : value > 0 ? code`1.0 / ${zero}` : code`-1.0 / ${zero}`);
  }

  /** Fails when index arithmetic would compute integers up to `extent`, past the exact range. */
  private checkExact(extent: number, what: string): void {
    const limit = this.settings.exactIntegers ?? 2 ** 24;
    if (extent > limit)
      throw new Error(
        `compile: the kernel for ${this.settings.kernel ?? 'a node'} computes ${what} up to ${extent}, more than the ${limit} its float32 index ` +
          'arithmetic holds exactly; split the work into smaller calls',
      );
  }

  private fresh(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  /** `target = value;`: a chosen value's choice, or an accumulator's update. */
  assign(target: Name, value: Expression): void {
    this.scope.statements.push({ kind: 'assign', name: target.name, operator: '=', expression: value });
  }

  /** `target += value;`: an accumulator's update. */
  accumulate(target: Name, value: Expression): void {
    this.scope.statements.push({ kind: 'assign', name: target.name, operator: '+=', expression: value });
  }

  /**
   * `const tN = expression;` unless the expression is an atom already (a name, a number in plain
   * digits), or the same expression already has a name in this scope or an enclosing one (common
   * index arithmetic). With `float32` (a node's value) and `flatFloat32`, the value is rounded to
   * float32 unless it is one already.
   */
  temp(expression: Expression, float32 = false): Expression {
    if (expression.atom) return expression;
    if (float32 && expression.quotient !== undefined) expression = this.byReciprocal(expression.quotient) ?? expression;
    const rounded = float32 && this.settings.flatFloat32 === true && !expression.float32;
    const key = `${rounded ? 'f' : ''}=${expression.text}`;
    for (let s: Scope | undefined = this.scope; s; s = s.parent) {
      const found = s.memo.get(key);
      if (found !== undefined) return found;
    }
    const named = name(this.fresh('t'), rounded || expression.float32);
    const scope = this.settings.flatFloat32 ? this.placement(named.name, expression.reads) : this.scope;
    scope.statements.push({ kind: 'const', name: named.name, expression: rounded ? roundedToFloat32(expression) : expression });
    scope.memo.set(key, named);
    return named;
  }

  /** The scope that declares each loop counter, accumulator, chosen value and placed temporary. */
  private readonly definedIn = new Map<string, Scope>();
  /** Names whose value differs from element to element of a row (x, f, and what depends on them). */
  private readonly perElement = new Set<string>([FLAT_POSITION]);
  /** The accumulators, which change as their loops run. */
  private readonly accumulators = new Set<string>();

  /**
   * Where the native pool's kernels compute a temporary: in the outermost scope where all it
   * reads is defined, however deep in loops it is asked for, so that a loop body does not redo
   * what only an outer counter changes, and what depends on no element of the row is at the top
   * (javascript-kernel.ts runs it once a row: a per-image random number is drawn once, not once
   * a pixel). What differs from element to element stays inside the branch that asked for it,
   * so that only the side of a choice taken computes it.
   */
  private placement(temporary: string, reads: readonly string[]): Scope {
    const { scope, perElement } = this.placeFor(reads);
    if (perElement) this.perElement.add(temporary);
    this.definedIn.set(temporary, scope);
    return scope;
  }

  /** Where `placement` would put a temporary that reads `reads`, and whether it differs from element to element. */
  private placeFor(reads: readonly string[]): { scope: Scope; perElement: boolean } {
    const perElement = reads.some((read) => read === this.thread('x').name || this.perElement.has(read));
    // An accumulator changes as its loop runs: what reads it is computed where it is asked for.
    let scope = reads.some((read) => this.accumulators.has(read)) ? this.scope : this.root;
    for (const read of reads) {
      const defined = this.definedIn.get(read);
      if (defined !== undefined && defined.depth > scope.depth) scope = defined;
    }
    if (perElement) {
      let branch: Scope | undefined = this.scope;
      while (branch !== undefined && !branch.branch) branch = branch.parent;
      if (branch !== undefined && branch.depth > scope.depth) scope = branch;
    }
    return { scope, perElement };
  }

  /**
   * In the native pool's kernels, a float32 quotient whose divisor is computed less often than
   * it (a batch norm's standard deviation, once a channel; a divisor outside a reduction's
   * loops) as the dividend times the divisor's float64 reciprocal, computed where the divisor
   * is: a multiplication instead of a division for each element. Rounded to float32 it is the
   * quotient rounded, exactly: the two float64 roundings err by under 2^-52 of it, and a
   * quotient of float32 numbers lies at least about 2^-49 of itself away from a point where
   * float32 rounding turns (javascript-kernel.test.ts checks it on every kind of float32).
   * Undefined where it would gain nothing, or where an operand is not a float32.
   */
  private byReciprocal({ dividend, divisor }: { dividend: Expression; divisor: Expression }): Expression | undefined {
    if (!this.settings.flatFloat32 || !dividend.float32 || !divisor.float32) return undefined;
    const once = this.placeFor(divisor.reads);
    const each = this.placeFor([...dividend.reads, ...divisor.reads]);
    if (once.scope.depth >= each.scope.depth && (once.perElement || !each.perElement)) return undefined;
    const reciprocal = this.temp(code`(1 / ${divisor})`);
    return withTree(code`(${dividend} * ${reciprocal})`, { op: '*', a: dividend, b: reciprocal });
  }

  /** The value of `node` at `index`, computed once per scope. */
  value(node: Tensor, index: readonly Expression[]): Expression {
    const key = `${node.id}|${index.map((e) => e.text).join(',')}`;
    for (let s: Scope | undefined = this.scope; s; s = s.parent) {
      const found = s.memo.get(key);
      if (found !== undefined) return found;
    }
    // A node's value is rounded to float32 (with `flatFloat32`); index arithmetic is exact as it is.
    const result = this.temp(this.valueOf(this, node, index), true);
    this.scope.memo.set(key, result);
    return result;
  }

  /** A read of a materialized node's buffer, in its 3-D layout: a float32, as buffers hold. */
  read(node: Tensor, index: readonly Expression[]): Expression {
    let buffer = this.buffers.get(node);
    if (buffer === undefined) {
      buffer = `b${this.buffers.size}`;
      this.buffers.set(node, buffer);
    }
    const b = parameter(buffer);
    const layout = this.layoutFor(node);
    // Read at an index that `unravel` made from one position over the node's whole shape (a
    // gather through a reshape to flat positions), from a buffer laid out row-major: that
    // position is the buffer's own, with no arithmetic to take it apart into planes, rows and
    // columns and put it back together (the augmentation's resized crop reads four neighbours
    // an output element so).
    if (this.settings.flatFloat32 && !isWrapped(layout) && node.rank >= 2) {
      const whole = this.unravelledAt(index, node.shape, 0);
      if (whole?.length === node.rank && flatOrder(layout, node.shape).every((axis, i) => axis === i))
        // NaN, not undefined, where the position is outside the buffer (a gather's index is data):
        // undefined == undefined holds where NaN == NaN does not.
        return withTree({ ...code`(${b}[${whole.flat}] ?? NaN)`, float32: true }, { op: 'gather', buffer, at: whole.flat });
    }
    let [z, y, x]: Expression[] = [];
    if (isWrapped(layout)) {
      const { quotient, remainder } = this.divide(this.ravel(index, node.shape), layout.wrap);
      [z, y, x] = [zero, quotient, remainder];
    } else {
      const axes = axesOf(layout);
      const position = (group: number[]) => this.ravel(group.map((axis) => index[axis]), group.map((axis) => node.shape[axis]));
      [z, y, x] = [position(axes.z), position(axes.y), position(axes.x)];
    }
    if (!this.settings.flatFloat32) return { ...code`${b}[${z}][${y}][${x}]`, float32: true };
    // Where the buffer is laid out as the output and read at the output's own index, its flat
    // position is the output's: no index arithmetic, and javascript-kernel.ts may run such a
    // kernel as one flat loop.
    if (this.isOutputPosition(node, index)) return { ...code`${b}[${threadPosition(FLAT_POSITION)}]`, float32: true, tree: { op: 'read', buffer } };
    // The row's start is an integer that may pass 2^24: a temporary of its own, never rounded.
    const [width, height] = layoutOf(node.shape, layout);
    // Read at the output's own x and y in a plane of the output's size (another channel of the
    // same image): the output's flat position plus a plane's offset, which a flat loop reads
    // with no index arithmetic an element and a SIMD loop as a run.
    const sameRow = y === this.rowIndex || (height === 1 && isZero(y) && this.rowIndex === undefined);
    if (x === this.column && sameRow && width === this.outputPlane?.[0] && height === this.outputPlane[1]) {
      const offset = this.temp(code`(${z} - ${this.plane ?? zero}) * ${width * height}`);
      return withTree({ ...code`${b}[${offset} + ${threadPosition(FLAT_POSITION)}]`, float32: true }, { op: 'read', buffer, row: offset });
    }
    const terms = [...(isZero(z) ? [] : [code`${z} * ${width * height}`]), ...(isZero(y) ? [] : [code`${y} * ${width}`])];
    const row = terms.length === 0 ? undefined : this.temp(join(terms, ' + '));
    const read = { ...(row === undefined ? code`${b}[${x}]` : code`${b}[${row} + ${x}]`), float32: true };
    // Read along the output's own x, forwards or backwards: a run of the row that SIMD loads take four at a time.
    if (x === this.column) return withTree(read, { op: 'read', buffer, row, column: true });
    const mirror = this.mirrors.get(x);
    return mirror !== undefined && mirror.of === this.column ? withTree(read, { op: 'read', buffer, row, column: true, reversed: mirror.last }) : read;
  }

  /**
   * The thread's position along `axis`: gpu.js's `this.thread.x`, or in the native pool's
   * kernels the loop variable `x` that javascript-kernel.ts declares.
   */
  thread(axis: ThreadAxis): Name {
    return threadPosition(this.settings.flatFloat32 ? axis : `this.thread.${axis}`);
  }

  /** The output's index along x where it is the thread's x itself: a read there is along the row. */
  private column: Expression | undefined;
  /** The output's index along y where it is the thread's y itself, and the thread's z. */
  private rowIndex: Expression | undefined;
  private plane: Expression | undefined;
  /** [width, height] of the output's layout. */
  private outputPlane: readonly [number, number] | undefined;
  /** Indices that are `last - of` (a flip's), by the name that holds them. */
  private readonly mirrors = new Map<Expression, { readonly of: Expression; readonly last: number }>();

  /** `last - index` as a temporary: a flip's index along an axis of extent last + 1. */
  mirrored(index: Expression, last: number): Expression {
    const mirrored = this.temp(code`${last} - ${index}`);
    this.mirrors.set(mirrored, { of: index, last });
    return mirrored;
  }

  /** The output's node and the multi-index `outputIndex` gave for it. */
  private output: { readonly node: Tensor; readonly index: readonly Expression[] } | undefined;

  /** Whether reading `node` at `index` reads the output's own flat position: same shape, same order of axes, same index. */
  private isOutputPosition(node: Tensor, index: readonly Expression[]): boolean {
    const output = this.output;
    if (output === undefined || node.rank !== output.node.rank || node.shape.some((d, i) => d !== output.node.shape[i])) return false;
    const [order, outputOrder] = [flatOrder(this.layoutFor(node), node.shape), flatOrder(this.layoutFor(output.node), node.shape)];
    return order.every((axis, i) => axis === outputOrder[i]) && index.every((e, i) => e.text === output.index[i].text);
  }

  /** The multi-index of the output element this kernel thread computes, in `node`'s layout. */
  outputIndex(node: Tensor): Expression[] {
    const index = this.outputIndexOf(node);
    this.output = { node, index };
    return index;
  }

  private outputIndexOf(node: Tensor): Expression[] {
    const layout = this.layoutFor(node);
    if (isWrapped(layout)) {
      this.checkExact(layoutOf(node.shape, layout)[1] * layout.wrap, 'wrapped flat positions');
      return this.unravel(this.temp(code`${this.thread('y')} * ${layout.wrap} + ${this.thread('x')}`), node.shape);
    }
    if (node.rank === 0) return [];
    for (const [axis, extent] of layoutOf(node.shape, layout).entries()) this.checkExact(extent, `thread indices in ${'xyz'[axis]}`);
    const [outputWidth, outputHeight] = layoutOf(node.shape, layout);
    this.outputPlane = [outputWidth, outputHeight];
    const axes = axesOf(layout);
    const index = new Array<Expression>(node.rank);
    const assign = (group: number[], axis: ThreadAxis) => {
      if (group.length === 0) return;
      const thread = this.temp(this.thread(axis));
      if (axis === 'x' && group.length === 1) this.column = thread;
      if (axis === 'y' && group.length === 1) this.rowIndex = thread;
      if (axis === 'z') this.plane = thread;
      const parts = group.length === 1 ? [thread] : this.unravel(thread, group.map((axis) => node.shape[axis]));
      group.forEach((axis, k) => (index[axis] = parts[k]));
    };
    assign(axes.x, 'x');
    assign(axes.y, 'y');
    assign(axes.z, 'z');
    return index;
  }

  /**
   * `for (let kN = 0; kN < count; kN++) { ... }` with its own scope for temporaries; `perPass`,
   * the elements of a reduction each pass takes, is what the kernel's cost counts.
   */
  loop(count: number, body: (counter: Expression) => void, perPass = 1): void {
    // A short loop (a 3x3 window) is unrolled: its index arithmetic folds into literals.
    if (count <= Emitter.unrollLimit) {
      for (let k = 0; k < count; k++) body(integer(k));
      return;
    }
    // A counter is an index: not claimed to be a float32.
    const counter = name(this.fresh('k'), false);
    const inner: Scope = { statements: [], memo: new Map(), parent: this.scope, depth: this.scope.depth + 1 };
    this.definedIn.set(counter.name, inner);
    const outer = this.scope;
    this.scope = inner;
    body(counter);
    this.scope = outer;
    this.scope.statements.push({ kind: 'loop', counter: counter.name, count, body: inner.statements, ...(perPass === 1 ? {} : { perPass }) });
  }

  /**
   * `condition ? then : otherwise`, a float32 when both sides are. In gpu.js's kernels both
   * sides are computed first (its WebAssembly lanes run in step); with `flatFloat32` only the
   * side taken is, in an if/else whose branches have scopes of their own: a colour jitter's
   * concatenated channels compute one channel each, not all three.
   */
  choose(condition: Expression, then: () => Expression, otherwise: () => Expression): Expression {
    if (!this.settings.flatFloat32) {
      const [a, b] = [then(), otherwise()];
      return { ...code`(${condition} ? ${a} : ${b})`, float32: a.float32 && b.float32 };
    }
    const chosen = this.fresh('c');
    const values: Expression[] = [];
    const branch = (body: () => Expression): Statement[] => {
      const outer = this.scope;
      this.scope = { statements: [], memo: new Map(), parent: outer, depth: outer.depth + 1, branch: true };
      const value = body();
      values.push(value);
      this.scope.statements.push({ kind: 'assign', name: chosen, operator: '=', expression: value });
      const statements = this.scope.statements;
      this.scope = outer;
      return statements;
    };
    const thenStatements = branch(then);
    const otherwiseStatements = branch(otherwise);
    this.definedIn.set(chosen, this.scope);
    this.perElement.add(chosen);
    this.scope.statements.push({ kind: 'let', name: chosen }, { kind: 'if', condition, then: thenStatements, otherwise: otherwiseStatements });
    return name(chosen, values.every((value) => value.float32));
  }

  /** A mutable accumulator: float64 in the native pool's kernels, so never claimed to be a float32. */
  variable(initial: Expression): Name {
    const accumulator = name(this.fresh('a'), false);
    this.definedIn.set(accumulator.name, this.scope);
    this.perElement.add(accumulator.name);
    this.accumulators.add(accumulator.name);
    this.scope.statements.push({ kind: 'let', name: accumulator.name, initial });
    return accumulator;
  }

  /**
   * Flat row-major position of a multi-index. A run of its axes that `unravel` made from one
   * position over the same extents is that position again: a reshape and its inverse (a max
   * pool's gradient reads the ReLU through its windows, [32, 32] as [16, 2, 16, 2]) read at
   * the index they started from, with no arithmetic.
   */
  ravel(index: readonly Expression[], shape: Shape): Expression {
    this.checkExact(sizeOf(shape), `flat positions in ${JSON.stringify(shape)}`);
    const strides = stridesOf(shape);
    const terms: Expression[] = [];
    for (let axis = 0; axis < index.length; ) {
      const run = this.unravelledAt(index, shape, axis);
      const [e, last] = run === undefined ? [index[axis], axis] : [run.flat, axis + run.length - 1];
      if (run !== undefined || shape[axis] !== 1) terms.push(strides[last] === 1 ? e : code`${e} * ${strides[last]}`);
      axis = last + 1;
    }
    const nonzero = terms.filter((term) => !isZero(term));
    return nonzero.length === 0 ? zero : nonzero.length === 1 && nonzero[0].atom ? nonzero[0] : this.temp(join(nonzero, ' + '));
  }

  /** What `unravel` made, by the text of the first part it made: the parts, their extents, and the position. */
  private readonly unravelled = new Map<string, { parts: readonly Expression[]; shape: Shape; flat: Expression }[]>();

  /** The longest run of `index` from `axis` on that `unravel` made from one position over the same extents. */
  private unravelledAt(index: readonly Expression[], shape: Shape, axis: number): { flat: Expression; length: number } | undefined {
    let best: { flat: Expression; length: number } | undefined;
    for (const made of this.unravelled.get(index[axis].text) ?? []) {
      const { parts } = made;
      const matches = parts.length >= 2 && axis + parts.length <= index.length && parts.every((part, k) => part.text === index[axis + k].text && made.shape[k] === shape[axis + k]);
      if (matches && (best === undefined || parts.length > best.length)) best = { flat: made.flat, length: parts.length };
    }
    return best;
  }

  /**
   * q = floor(a / d) and a - q * d for an integer a below 2^24, exactly in float32: the division
   * may round q one off (a / d is not exact, and near 2^23 neither is a + 0.5), so the remainder
   * is checked and q moved back into place.
   */
  divide(a: Expression, d: number): { quotient: Expression; remainder: Expression } {
    // The native pool's kernels divide flat positions, integers in [0, 2^31), in int32: a shift
    // and a mask for a power of two; otherwise a / d, exact enough in float64 (it falls short of
    // the next integer by at least 1 / d), truncated.
    if (this.settings.flatFloat32) {
      const shift = Math.log2(d);
      if (Number.isInteger(shift)) return { quotient: this.temp(code`(${a} >> ${shift})`), remainder: this.temp(code`(${a} & ${d - 1})`) };
      const quotient = this.temp(code`((${a} / ${d}) | 0)`);
      return { quotient, remainder: this.temp(code`${a} - ${quotient} * ${d}`) };
    }
    const rough = this.temp(code`Math.floor(${a} / ${literal(d)})`);
    const roughRemainder = this.temp(code`${a} - ${rough} * ${d}`);
    const quotient = this.temp(code`${roughRemainder} < 0 ? ${rough} - 1 : (${roughRemainder} >= ${d} ? ${rough} + 1 : ${rough})`);
    return { quotient, remainder: this.temp(code`${a} - ${quotient} * ${d}`) };
  }

  /** Multi-index of a flat position (below 2^24, where float32 holds every integer). */
  unravel(flat: Expression, shape: Shape): Expression[] {
    this.checkExact(sizeOf(shape), `flat positions in ${JSON.stringify(shape)}`);
    const index = new Array<Expression>(shape.length);
    let rest = flat;
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      const d = shape[axis];
      if (axis === 0) index[axis] = rest;
      else if (d === 1) index[axis] = zero;
      else {
        const { quotient, remainder } = this.divide(rest, d);
        index[axis] = remainder;
        rest = quotient;
      }
    }
    if (shape.length >= 2) {
      const key = index[0].text;
      this.unravelled.set(key, [...(this.unravelled.get(key) ?? []), { parts: index, shape, flat }]);
    }
    return index;
  }

  /** The kernel's top-level statements, in order. */
  get statements(): readonly Statement[] {
    return this.root.statements;
  }

  /** The body as a gpu.js kernel function. */
  source(result: Expression, parameters: readonly string[]): string {
    return `function(${parameters.join(', ')}) {\n${renderStatements(this.root.statements, 1).join('\n')}\n  return ${result.text};\n}`;
  }
}
