// A JavaScript kernel's element loop as WebAssembly SIMD, four floats an instruction. Where what
// a kernel computes for each element is built from operations that carry their trees
// (expression.ts: buffer reads along the row, arithmetic, rounding, comparisons, choices), the
// loop over a plane's elements (a kernel that `runsFlat`) or over a row's (any other) is this
// module's function: the JavaScript around it still computes what runs once a plane or a row (a
// batch norm's per-channel statistics, a row's start in each buffer, a per-image choice) and
// passes it in.
//
// Each value keeps JavaScript's meaning exactly, so that a value one kernel stores and another
// computes again are equal (a max pool's tie mask compares them): a value JavaScript holds as a
// float32 (a buffer's element, a rounded result, a maximum of float32s) is four float32 lanes;
// any other (an unrounded sum, a reciprocal, a float64 literal) is four float64 lanes in two
// registers. Math.fround(a op b) of float32 a and b for op in + - * / and sqrt is the float32
// operation itself: float64 carries more than twice float32's digits, so rounding twice gives
// what rounding once does.
//
// A choice whose condition is the same for the whole run (it reads only what runs once a plane
// or a row: which adjustment a colour jitter applies to this image) is a branch, its condition
// computed by the JavaScript; one that differs from element to element computes both sides and
// keeps each lane's (no float operation traps, and every read is of a row JavaScript reads too).
//
// simd(out, s..., count, v..., c..., g...): out[i] for i in [0, count) with s the addresses of
// the rows read (in bytes, each at the run's first element), v the values computed once a plane
// or a row, c the run's conditions as 0 or 1, g each gathered buffer's address and length (a
// buffer read at positions an element computes, as a crop's bilinear sampling reads its
// neighbours: four scalar loads a vector, each lane checked as JavaScript's read checks it). The last vector reads up to three floats past a row
// (the arena leaves room after every array) and stores only the lanes inside the run. A `sum`
// loop (a reduction over planes, javascript-kernel.ts) stores nothing: it returns the float64
// sum of the run's values, in four lanes' partial sums (so in another order than one by one).

import type { Expression, Tree } from '../codegen/expression.ts';
import { FLAT_POSITION, type Statement } from '../codegen/statements.ts';
import { FunctionBuilder, type LaneOperation, type Local } from './wasm-assembler.ts';

/**
 * A row the loop reads: a buffer at the output's flat position (plus `row`, a plane's offset,
 * where it reads another plane of the same size), or at `row` (a name computed once a row or a
 * plane, absent for 0) plus x, or with `reversed`, plus `reversed` - x (its address is then the
 * run's first element's less 12 bytes, and each vector is loaded below the last and its lanes
 * turned round).
 */
export interface Stream {
  readonly buffer: string;
  readonly flat: boolean;
  readonly row?: string;
  readonly reversed?: number;
}

const sameStream = (a: Stream, b: Stream) => a.buffer === b.buffer && a.flat === b.flat && a.row === b.row && a.reversed === b.reversed;

/**
 * The function, and what its parameters after `out` are: the streams, then the values by name,
 * then the conditions' JavaScript, then each gathered buffer's address and length.
 */
export interface SimdLoop {
  readonly body: FunctionBuilder;
  readonly streams: readonly Stream[];
  readonly values: readonly string[];
  readonly conditions: readonly string[];
  readonly gathers: readonly string[];
}

/** Four lanes as float32, or as float64 in two registers (lanes 0 and 1, 2 and 3). */
type F32 = { readonly kind: 'f32'; readonly v: Local };
type F64 = { readonly kind: 'f64'; readonly lo: Local; readonly hi: Local };
type Lanes = F32 | F64;

class Unsupported extends Error {}

const THREAD_AXES = new Set(['x', 'y', 'z', FLAT_POSITION]);
const arithmetic: Partial<Record<Tree['op'], LaneOperation>> = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', max: 'max', min: 'min' };
const comparison: Partial<Record<Tree['op'], LaneOperation>> = { '==': 'eq', '>': 'gt', '<': 'lt' };
const unary: Partial<Record<Tree['op'], LaneOperation>> = { neg: 'neg', sqrt: 'sqrt', abs: 'abs', floor: 'floor' };

/**
 * The element loop as WebAssembly, or why it stays JavaScript. `statements` are what runs once an
 * element, in order; `outer` the names computed once a plane or a row, each with whether its
 * value is a float32.
 */
export const simdLoop = (statements: readonly Statement[], result: Expression, outer: ReadonlyMap<string, boolean>, mode: 'store' | 'sum' = 'store'): SimdLoop | string => {
  try {
    return build(statements, result, outer, mode);
  } catch (error) {
    if (error instanceof Unsupported) return error.message;
    throw error;
  }
};

const streamOf = (tree: Extract<Tree, { op: 'read' }>): Stream => ({
  buffer: tree.buffer,
  flat: tree.column !== true,
  ...(tree.row === undefined ? {} : { row: tree.row.text }),
  ...(tree.reversed === undefined ? {} : { reversed: tree.reversed }),
});

const childrenOf = (tree: Tree): Expression[] => {
  switch (tree.op) {
    case 'read':
    case 'literal':
      return [];
    case 'gather':
      return [tree.at];
    case 'round':
    case 'neg':
    case 'sqrt':
    case 'abs':
    case 'floor':
    case 'nonzero':
      return [tree.x];
    case 'select':
      return [tree.condition, tree.a, tree.b];
    default:
      return [tree.a, tree.b];
  }
};

const build = (statements: readonly Statement[], result: Expression, outer: ReadonlyMap<string, boolean>, mode: 'store' | 'sum'): SimdLoop => {
  const isUniform = (e: Expression) => e.reads.every((read) => outer.has(read));
  // Every element name's definition, and which of them the trees need: index arithmetic that only
  // places a read along the row (`const t0 = x`) is not computed.
  const definitions = new Map<string, Expression>();
  const assigned = new Map<string, Expression[]>();
  const visitDefinitions = (list: readonly Statement[]): void =>
    list.forEach((statement) => {
      if (statement.kind === 'const') definitions.set(statement.name, statement.expression);
      else if (statement.kind === 'assign') {
        if (statement.operator !== '=') throw new Unsupported('its element loop accumulates');
        assigned.set(statement.name, [...(assigned.get(statement.name) ?? []), statement.expression]);
      } else if (statement.kind === 'let' && statement.initial !== undefined) throw new Unsupported('its element loop has an accumulator');
      else if (statement.kind === 'loop') throw new Unsupported('its element loop has a loop');
      else if (statement.kind === 'if') {
        visitDefinitions(statement.then);
        visitDefinitions(statement.otherwise);
      }
    });
  visitDefinitions(statements);

  const streams: Stream[] = [];
  const values: string[] = [];
  const conditions: string[] = [];
  const gathers: string[] = [];
  const needed = new Set<string>();
  const need = (e: Expression): void => {
    if ('name' in e) {
      if (outer.has(e.text)) {
        if (!values.includes(e.text)) values.push(e.text);
      } else if (!needed.has(e.text)) {
        needed.add(e.text);
        const definition = definitions.get(e.text);
        if (definition !== undefined) need(definition);
        for (const value of assigned.get(e.text) ?? []) need(value);
      }
      return;
    }
    const tree = e.tree;
    if (tree === undefined) return;
    if (tree.op === 'gather' && !gathers.includes(tree.buffer)) gathers.push(tree.buffer);
    if (tree.op === 'read') {
      const flat = tree.column !== true;
      if (tree.row !== undefined && !('name' in tree.row && outer.has(tree.row.text)))
        throw new Unsupported(`a read's row start ${tree.row.text} is not computed once a row`);
      const stream = streamOf(tree);
      if (!streams.some((s) => sameStream(s, stream))) streams.push(stream);
      return;
    }
    childrenOf(tree).forEach(need);
  };
  need(result);
  const needConditions = (list: readonly Statement[]): void =>
    list.forEach((statement) => {
      if (statement.kind !== 'if') return;
      if (isUniform(statement.condition)) {
        if (!conditions.includes(statement.condition.text)) conditions.push(statement.condition.text);
      } else need(statement.condition);
      needConditions(statement.then);
      needConditions(statement.otherwise);
    });
  needConditions(statements);

  const valueTypes = values.map((name) => (outer.get(name) ? 'f32' : 'f64') as 'f32' | 'f64');
  const f = new FunctionBuilder(
    ['i32', ...streams.map(() => 'i32' as const), 'i32', ...valueTypes, ...conditions.map(() => 'i32' as const), ...gathers.flatMap(() => ['i32', 'i32'] as const)],
    mode === 'sum' ? ['f64'] : [],
  );
  const out = f.param(0);
  const count = f.param(1 + streams.length);
  const conditionParam = (text: string) => f.param(2 + streams.length + values.length + conditions.indexOf(text));
  /** A gathered buffer's address (bytes) and length (floats). */
  const gatherParams = (buffer: string) => {
    const first = 2 + streams.length + values.length + conditions.length + 2 * gathers.indexOf(buffer);
    return { address: f.param(first), length: f.param(first + 1) };
  };
  const offset = f.local('i32');
  const end = f.local('i32');
  const fresh = () => f.local('v128');

  // The outer values, spread across the lanes once a call.
  const outerLanes = new Map<string, Lanes>();
  values.forEach((name, i) => {
    const v = fresh();
    f.get(f.param(2 + streams.length + i));
    if (valueTypes[i] === 'f32') f.f32x4Splat();
    else f.f64x2Splat();
    f.set(v);
    outerLanes.set(name, valueTypes[i] === 'f32' ? { kind: 'f32', v } : { kind: 'f64', lo: v, hi: v });
  });

  const constant = (value: number): Lanes => {
    const v = fresh();
    if (Math.fround(value) === value || Number.isNaN(value)) {
      f.v128Const(new Float32Array(4).fill(value)).set(v);
      return { kind: 'f32', v };
    }
    f.v128Const(new Float64Array(2).fill(value)).set(v);
    return { kind: 'f64', lo: v, hi: v };
  };
  const asF64 = (lanes: Lanes): F64 => {
    if (lanes.kind === 'f64') return lanes;
    const [lo, hi] = [fresh(), fresh()];
    f.get(lanes.v).f64x2PromoteLowF32x4().set(lo);
    // Lanes 2 and 3 moved down, then promoted.
    f.get(lanes.v).get(lanes.v).i8x16Shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]).f64x2PromoteLowF32x4().set(hi);
    return { kind: 'f64', lo, hi };
  };
  /** Each lane rounded to float32 once (exact where the value is a float32 already). */
  const asF32 = (lanes: Lanes): F32 => {
    if (lanes.kind === 'f32') return lanes;
    const v = fresh();
    f.get(lanes.lo).f32x4DemoteF64x2Zero().get(lanes.hi).f32x4DemoteF64x2Zero();
    f.i8x16Shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]).set(v);
    return { kind: 'f32', v };
  };
  const as = (kind: 'f32' | 'f64', lanes: Lanes): Lanes => (kind === 'f32' ? asF32(lanes) : asF64(lanes));
  /** One lane-wise operation on operands made one kind. */
  const lanewise = (kind: 'f32' | 'f64', operation: LaneOperation, operands: readonly Lanes[]): Lanes => {
    if (kind === 'f32') {
      const v = fresh();
      for (const operand of operands) f.get(asF32(operand).v);
      f.floatLanes('f32x4', operation).set(v);
      return { kind: 'f32', v };
    }
    const wide = operands.map(asF64);
    const [lo, hi] = [fresh(), fresh()];
    for (const operand of wide) f.get(operand.lo);
    f.floatLanes('f64x2', operation).set(lo);
    for (const operand of wide) f.get(operand.hi);
    f.floatLanes('f64x2', operation).set(hi);
    return { kind: 'f64', lo, hi };
  };
  /** 1 where a lane mask is set, else 0. */
  const asNumber = (mask: Lanes): Lanes => {
    const one = constant(1) as F32;
    if (mask.kind === 'f32') {
      const v = fresh();
      f.get(mask.v).get(one.v).v128And().set(v);
      return { kind: 'f32', v };
    }
    const wideOne = asF64(one);
    const [lo, hi] = [fresh(), fresh()];
    f.get(mask.lo).get(wideOne.lo).v128And().set(lo);
    f.get(mask.hi).get(wideOne.lo).v128And().set(hi);
    return { kind: 'f64', lo, hi };
  };
  /** Lanes of one kind where JavaScript holds every operand as a float32, else float64. */
  const common = (operands: readonly Expression[]): 'f32' | 'f64' => (operands.every((e) => e.float32) ? 'f32' : 'f64');
  /** A lane mask as float32 lanes (each 64-bit lane's low half) or float64 lanes (each 32-bit lane sign-extended). */
  const maskAs = (kind: 'f32' | 'f64', mask: Lanes): Lanes => {
    if (mask.kind === kind) return mask;
    if (mask.kind === 'f64') {
      const v = fresh();
      f.get(mask.lo).get(mask.hi).i8x16Shuffle([0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27]).set(v);
      return { kind: 'f32', v };
    }
    const [lo, hi] = [fresh(), fresh()];
    f.get(mask.v).i64x2ExtendLowI32x4S().set(lo);
    f.get(mask.v).i64x2ExtendHighI32x4S().set(hi);
    return { kind: 'f64', lo, hi };
  };
  /** a's lanes where the mask is set, b's elsewhere, as `kind`. */
  const blend = (kind: 'f32' | 'f64', mask: Lanes, a: Lanes, b: Lanes): Lanes => {
    const m = maskAs(kind, mask);
    if (kind === 'f32') {
      const v = fresh();
      f.get(asF32(a).v).get(asF32(b).v).get((m as F32).v).v128Bitselect().set(v);
      return { kind: 'f32', v };
    }
    const [wa, wb, wm] = [asF64(a), asF64(b), m as F64];
    const [lo, hi] = [fresh(), fresh()];
    f.get(wa.lo).get(wb.lo).get(wm.lo).v128Bitselect().set(lo);
    f.get(wa.hi).get(wb.hi).get(wm.hi).v128Bitselect().set(hi);
    return { kind: 'f64', lo, hi };
  };
  /** A chosen value's kind: float32 lanes where every value it may take is a float32. */
  const chosenKind = (name: string): 'f32' | 'f64' => ((assigned.get(name) ?? []).every((e) => e.float32) ? 'f32' : 'f64');
  const copyInto = (target: Lanes, value: Lanes): void => {
    const v = as(target.kind, value);
    if (target.kind === 'f32') f.get((v as F32).v).set(target.v);
    else {
      f.get((v as F64).lo).set(target.lo);
      f.get((v as F64).hi).set(target.hi);
    }
  };
  const fixedLanes = (kind: 'f32' | 'f64'): Lanes => (kind === 'f32' ? { kind, v: fresh() } : { kind, lo: fresh(), hi: fresh() });

  /** The lanes of every element value for one vector at `offset`. */
  const emitVector = (): F32 => {
    const emit = (e: Expression, env: ReadonlyMap<string, Lanes | undefined>): Lanes => {
      if ('name' in e) {
        const found = env.get(e.text) ?? outerLanes.get(e.text);
        if (found !== undefined) return found;
        throw new Unsupported(THREAD_AXES.has(e.text) ? `an element reads the thread's position ${e.text}` : `an element reads ${e.text}, which it has no lanes of`);
      }
      const tree = e.tree;
      if (tree === undefined) throw new Unsupported(`no tree for ${e.text.slice(0, 60)}`);
      switch (tree.op) {
        case 'read': {
          const v = fresh();
          const stream = streamOf(tree);
          const address = f.param(1 + streams.findIndex((s) => sameStream(s, stream)));
          if (stream.reversed === undefined) f.get(address).get(offset).add().v128Load().set(v);
          else {
            f.get(address).get(offset).sub().v128Load().set(v);
            f.get(v).get(v).i8x16Shuffle([12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3]).set(v);
          }
          return { kind: 'f32', v };
        }
        case 'gather': {
          // JavaScript's (buffer[at] ?? NaN): the element where `at` is an integer in [0, length)
          // (-0 is 0), NaN otherwise. Each lane's position is truncated to an i32 and kept where it
          // converts back to itself and is in bounds; the others load element 0 (always memory)
          // and become NaN.
          const at = emit(tree.at, env);
          if (at.kind !== 'f32') throw new Unsupported(`a gather's position ${tree.at.text} is a float64`);
          const { address, length } = gatherParams(tree.buffer);
          const [index, valid, v] = [fresh(), fresh(), fresh()];
          f.get(at.v).i32x4TruncSatF32x4S().set(index);
          f.get(index).f32x4ConvertI32x4S().get(at.v).floatLanes('f32x4', 'eq');
          f.get(index).get(length).i32x4Splat().i32x4LtU().v128And().set(valid);
          f.get(index).get(valid).v128And().i32(2).i32x4Shl().get(address).i32x4Splat().i32x4Add().set(index);
          f.get((constant(NaN) as F32).v).set(v);
          for (let lane = 0; lane < 4; lane++) f.get(v).get(index).i32x4ExtractLane(lane).f32Load().f32x4ReplaceLane(lane).set(v);
          f.get(v).get((constant(NaN) as F32).v).get(valid).v128Bitselect().set(v);
          return { kind: 'f32', v };
        }
        case 'literal':
          return constant(tree.value);
        case 'round': {
          const inner = tree.x.tree;
          // fround(a op b) of float32s is the float32 operation.
          if (inner !== undefined && (inner.op === '+' || inner.op === '-' || inner.op === '*' || inner.op === '/') && inner.a.float32 && inner.b.float32)
            return lanewise('f32', arithmetic[inner.op]!, [emit(inner.a, env), emit(inner.b, env)]);
          if (inner?.op === 'sqrt' && inner.x.float32) return lanewise('f32', 'sqrt', [emit(inner.x, env)]);
          return asF32(emit(tree.x, env));
        }
        case 'neg':
        case 'sqrt':
        case 'abs':
        case 'floor':
          // JavaScript's unrounded square root is a float64; the others keep a float32 one.
          return lanewise(tree.op === 'sqrt' || !tree.x.float32 ? 'f64' : 'f32', unary[tree.op]!, [emit(tree.x, env)]);
        case '+':
        case '-':
        case '*':
        case '/':
          // JavaScript's unrounded result is a float64.
          return lanewise('f64', arithmetic[tree.op]!, [emit(tree.a, env), emit(tree.b, env)]);
        case 'max':
        case 'min':
          return lanewise(common([tree.a, tree.b]), arithmetic[tree.op]!, [emit(tree.a, env), emit(tree.b, env)]);
        case '==':
        case '>':
        case '<':
          return asNumber(lanewise(common([tree.a, tree.b]), comparison[tree.op]!, [emit(tree.a, env), emit(tree.b, env)]));
        case 'nonzero': {
          const x = emit(tree.x, env);
          return lanewise(x.kind, 'ne', [x, constant(0)]);
        }
        case 'select': {
          const condition = emit(tree.condition, env);
          const mask = lanewise(condition.kind, 'ne', [condition, constant(0)]);
          return blend(common([tree.a, tree.b]), mask, emit(tree.a, env), emit(tree.b, env));
        }
      }
    };

    /**
     * Statements in order. `env` binds each name to its lanes (a chosen value declared and not yet
     * chosen to undefined); a chosen value assigned in a branch that really branches is copied
     * into lanes fixed before it, which the code after the branch reads; one assigned in a choice
     * of lanes is bound anew.
     */
    const run = (list: readonly Statement[], env: Map<string, Lanes | undefined>, branching: boolean): void => {
      for (const statement of list) {
        switch (statement.kind) {
          case 'const':
            if (needed.has(statement.name)) {
              const lanes = emit(statement.expression, env);
              // A name JavaScript holds as a float32 is one here too, whatever computed it.
              env.set(statement.name, statement.expression.float32 ? asF32(lanes) : lanes);
            }
            break;
          case 'let':
            env.set(statement.name, undefined);
            break;
          case 'assign':
            if (needed.has(statement.name)) env.set(statement.name, as(chosenKind(statement.name), emit(statement.expression, env)));
            break;
          case 'if': {
            // The values chosen here that are declared before it (those declared inside are the sides' own).
            const chosen = [...new Set([...assignedIn(statement.then), ...assignedIn(statement.otherwise)])].filter((name) => needed.has(name) && env.has(name));
            if (branching && isUniform(statement.condition)) {
              // One side runs: what it chooses goes into lanes both sides write.
              const fixed = new Map(chosen.map((name) => [name, fixedLanes(chosenKind(name))]));
              const side = (body: readonly Statement[]) => () => {
                const inner = new Map(env);
                run(body, inner, true);
                for (const [name, target] of fixed) {
                  const value = inner.get(name);
                  if (value !== undefined) copyInto(target, value);
                }
              };
              f.get(conditionParam(statement.condition.text));
              f.ifElse(side(statement.then), side(statement.otherwise));
              for (const [name, target] of fixed) env.set(name, target);
            } else {
              // Both sides run; each lane keeps its side's.
              const mask = isUniform(statement.condition) ? uniformMask(statement.condition.text) : emit(statement.condition, env);
              const [then, otherwise] = [new Map(env), new Map(env)];
              run(statement.then, then, false);
              run(statement.otherwise, otherwise, false);
              for (const name of chosen) {
                const [a, b] = [then.get(name), otherwise.get(name)];
                if (a === undefined || b === undefined) throw new Unsupported(`${name} is chosen on one side only`);
                env.set(name, blend(chosenKind(name), mask, a, b));
              }
            }
            break;
          }
          case 'loop':
            throw new Unsupported('its element loop has a loop');
        }
      }
    };
    /** A uniform condition (0 or 1) as a float32 lane mask: 0 - 1 is all ones. */
    const uniformMask = (text: string): Lanes => {
      const v = fresh();
      f.i32(0).get(conditionParam(text)).sub().i32x4Splat().set(v);
      return { kind: 'f32', v };
    };
    const env = new Map<string, Lanes | undefined>();
    run(statements, env, true);
    return asF32(emit(result, env));
  };

  // A sum's partial sums: lanes 0 and 1, lanes 2 and 3, and the last vector's lanes one by one.
  const [sumLow, sumHigh, sumRest] = mode === 'sum' ? [fresh(), fresh(), f.local('f64')] : [];
  if (mode === 'sum') {
    f.v128Const(new Float64Array(2)).set(sumLow!);
    f.v128Const(new Float64Array(2)).set(sumHigh!);
    f.f64Zero().set(sumRest!);
  }
  // end = count * 4 bytes; whole vectors while offset + 16 <= end.
  f.get(count).i32(4).mul().set(end);
  f.i32(0).set(offset);
  f.loopUntil(
    () => f.get(offset).i32(16).add().get(end).gtS(),
    () => {
      const value = emitVector();
      if (mode === 'sum') {
        const wide = asF64(value);
        f.get(sumLow!).get(wide.lo).f64x2Add().set(sumLow!);
        f.get(sumHigh!).get(wide.hi).f64x2Add().set(sumHigh!);
      } else f.get(out).get(offset).add().get(value.v).v128Store();
      f.increment(offset, { constant: 16 });
    },
  );
  // The last one to three elements: one vector computed, its first lanes stored or added.
  f.get(offset).get(end).ltS();
  f.ifElse(
    () => {
      const value = emitVector();
      for (let lane = 0; lane < 3; lane++) {
        f.get(offset).i32(4 * lane).add().get(end).ltS();
        f.ifElse(
          () =>
            mode === 'sum'
              ? f.get(sumRest!).get(value.v).f32x4ExtractLane(lane).f64PromoteF32().f64Add().set(sumRest!)
              : f.get(out).get(offset).add().get(value.v).f32x4ExtractLane(lane).f32Store(4 * lane),
          () => {},
        );
      }
    },
    () => {},
  );
  if (mode === 'sum') {
    f.get(sumLow!).f64x2ExtractLane(0).get(sumLow!).f64x2ExtractLane(1).f64Add();
    f.get(sumHigh!).f64x2ExtractLane(0).f64Add().get(sumHigh!).f64x2ExtractLane(1).f64Add();
    f.get(sumRest!).f64Add();
  }
  return { body: f, streams, values, conditions, gathers };
};

/** The names a list of statements assigns, at any depth. */
const assignedIn = (list: readonly Statement[]): string[] =>
  list.flatMap((statement) => (statement.kind === 'assign' ? [statement.name] : statement.kind === 'if' ? [...assignedIn(statement.then), ...assignedIn(statement.otherwise)] : []));
