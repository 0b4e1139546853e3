// A small WebAssembly assembler: just what the native kernels need (i32 arithmetic, structured
// loops, f32 and 128-bit SIMD loads, stores and arithmetic, an imported shared memory). The
// kernels are written as instruction sequences in TypeScript rather than shipped as an opaque
// binary, so that they are read, reviewed and changed like the rest of the code.

const encoder = new TextEncoder();

/** Unsigned LEB128. */
export const u32 = (value: number): number[] => {
  const bytes: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (v !== 0);
  return bytes;
};

/** Signed LEB128 (i32). */
export const s32 = (value: number): number[] => {
  const bytes: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      bytes.push(byte);
      return bytes;
    }
    bytes.push(byte | 0x80);
  }
};

const name = (text: string): number[] => {
  const bytes = [...encoder.encode(text)];
  return [...u32(bytes.length), ...bytes];
};

const section = (id: number, body: number[]): number[] => [id, ...u32(body.length), ...body];
const vector = (items: number[][]): number[] => [...u32(items.length), ...items.flat()];

export type ValueType = 'i32' | 'f32' | 'f64' | 'v128';
const typeCode: Record<ValueType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

export type LaneOperation = 'eq' | 'ne' | 'lt' | 'gt' | 'floor' | 'abs' | 'neg' | 'sqrt' | 'add' | 'sub' | 'mul' | 'div' | 'min' | 'max';
const f32x4Opcodes: Record<LaneOperation, number> = {
  eq: 0x41, ne: 0x42, lt: 0x43, gt: 0x44, floor: 0x68, abs: 0xe0, neg: 0xe1, sqrt: 0xe3, add: 0xe4, sub: 0xe5, mul: 0xe6, div: 0xe7, min: 0xe8, max: 0xe9,
};
const f64x2Opcodes: Record<LaneOperation, number> = {
  eq: 0x47, ne: 0x48, lt: 0x49, gt: 0x4a, floor: 0x75, abs: 0xec, neg: 0xed, sqrt: 0xef, add: 0xf0, sub: 0xf1, mul: 0xf2, div: 0xf3, min: 0xf4, max: 0xf5,
};

/** A local variable (parameters first, then declared locals), by index. */
export type Local = number & { readonly __local: unique symbol };

/** One function's body, written instruction by instruction. */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly declared: ValueType[] = [];

  constructor(
    readonly params: readonly ValueType[],
    /** What it returns: nothing, or one value left on the stack at its end. */
    readonly results: readonly ValueType[] = [],
  ) {}

  param(index: number): Local {
    return index as Local;
  }

  local(type: ValueType): Local {
    this.declared.push(type);
    return (this.params.length + this.declared.length - 1) as Local;
  }

  private op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  private simd(opcode: number, ...immediates: number[]): this {
    return this.op(0xfd, ...u32(opcode), ...immediates);
  }

  get(local: Local): this {
    return this.op(0x20, ...u32(local));
  }
  set(local: Local): this {
    return this.op(0x21, ...u32(local));
  }
  tee(local: Local): this {
    return this.op(0x22, ...u32(local));
  }
  i32(value: number): this {
    return this.op(0x41, ...s32(value));
  }
  add(): this {
    return this.op(0x6a);
  }
  sub(): this {
    return this.op(0x6b);
  }
  mul(): this {
    return this.op(0x6c);
  }
  geS(): this {
    return this.op(0x4e);
  }
  ltS(): this {
    return this.op(0x48);
  }
  or(): this {
    return this.op(0x72);
  }
  and(): this {
    return this.op(0x71);
  }
  /** Leaves the function (one without results). */
  return(): this {
    return this.op(0x0f);
  }
  eqz(): this {
    return this.op(0x45);
  }

  /** `local += amount` where amount is a local or a constant. */
  increment(local: Local, amount: Local | { readonly constant: number }): this {
    this.get(local);
    if (typeof amount === 'number') this.get(amount);
    else this.i32(amount.constant);
    return this.add().set(local);
  }

  /** `while (!(condition)) { body }`, the condition evaluated before each pass. */
  loopUntil(condition: (f: this) => void, body: (f: this) => void): this {
    this.op(0x02, 0x40, 0x03, 0x40); // block, loop
    condition(this);
    this.op(0x0d, 1); // br_if to the block's end
    body(this);
    return this.op(0x0c, 0, 0x0b, 0x0b); // br to the loop's start; end loop; end block
  }

  ifElse(then: (f: this) => void, otherwise: (f: this) => void): this {
    this.op(0x04, 0x40);
    then(this);
    this.op(0x05);
    otherwise(this);
    return this.op(0x0b);
  }

  // Memory access: the address is on the stack; `offset` is a constant byte offset added to it.
  v128Load(offset = 0): this {
    return this.simd(0x00, 4, ...u32(offset));
  }
  v128Load32Splat(offset = 0): this {
    return this.simd(0x09, 2, ...u32(offset));
  }
  /** Stack: address, value. */
  v128Store(offset = 0): this {
    return this.simd(0x0b, 4, ...u32(offset));
  }
  f32Load(offset = 0): this {
    return this.op(0x2a, 2, ...u32(offset));
  }
  i32Load(offset = 0): this {
    return this.op(0x28, 2, ...u32(offset));
  }
  /** Stack: address, value. */
  f32Store(offset = 0): this {
    return this.op(0x38, 2, ...u32(offset));
  }
  leS(): this {
    return this.op(0x4c);
  }
  gtS(): this {
    return this.op(0x4a);
  }
  f32Add(): this {
    return this.op(0x92);
  }
  f64Add(): this {
    return this.op(0xa0);
  }
  f64Zero(): this {
    return this.op(0x44, 0, 0, 0, 0, 0, 0, 0, 0);
  }
  f64PromoteF32(): this {
    return this.op(0xbb);
  }
  f64x2ExtractLane(lane: number): this {
    return this.simd(0x21, lane);
  }
  f64x2Add(): this {
    return this.simd(0xf0);
  }
  f32Zero(): this {
    return this.op(0x43, 0, 0, 0, 0);
  }
  v128Zero(): this {
    return this.simd(0x0c, ...new Array<number>(16).fill(0));
  }
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  f32x4Mul(): this {
    return this.simd(0xe6);
  }
  /**
   * Relaxed SIMD's f32x4.relaxed_madd: stack a, b, c gives a * b + c, fused into one rounding
   * where the processor has FMA (the proposal leaves fused or not to the implementation). Only
   * in a module whose engine validates it (relaxed-simd.ts).
   */
  f32x4RelaxedMadd(): this {
    return this.simd(0x105);
  }

  /** A 128-bit constant: four float32 lanes, or two float64 lanes. */
  v128Const(lanes: Float32Array | Float64Array): this {
    return this.simd(0x0c, ...new Uint8Array(lanes.buffer, lanes.byteOffset, 16));
  }
  /** Lanes picked by byte from the two operands (0 to 15 the first, 16 to 31 the second). */
  i8x16Shuffle(bytes: readonly number[]): this {
    return this.simd(0x0d, ...bytes);
  }
  i32x4Splat(): this {
    return this.simd(0x11);
  }
  f32x4Splat(): this {
    return this.simd(0x13);
  }
  f64x2Splat(): this {
    return this.simd(0x14);
  }
  f32x4ExtractLane(lane: number): this {
    return this.simd(0x1f, lane);
  }
  /** Four float32 lanes from the two float64 lanes of each of two operands: promote's inverse, rounding each once. */
  f32x4DemoteF64x2Zero(): this {
    return this.simd(0x5e);
  }
  /** The two low float32 lanes as float64, exactly. */
  f64x2PromoteLowF32x4(): this {
    return this.simd(0x5f);
  }
  v128And(): this {
    return this.simd(0x4e);
  }
  /** Stack a, b, mask: a's bits where the mask's are set, b's elsewhere. */
  v128Bitselect(): this {
    return this.simd(0x52);
  }
  /** Each float32 lane truncated toward zero to an i32, NaN to 0, out of range to the nearest i32. */
  i32x4TruncSatF32x4S(): this {
    return this.simd(0xf8);
  }
  /** Each i32 lane as the nearest float32. */
  f32x4ConvertI32x4S(): this {
    return this.simd(0xfa);
  }
  /** Unsigned a < b, lane by lane: all ones where it holds. */
  i32x4LtU(): this {
    return this.simd(0x3a);
  }
  /** Stack: lanes, an i32 shift. */
  i32x4Shl(): this {
    return this.simd(0xab);
  }
  i32x4Add(): this {
    return this.simd(0xae);
  }
  i32x4ExtractLane(lane: number): this {
    return this.simd(0x1b, lane);
  }
  /** Stack: lanes, a float32: the lanes with `lane` replaced. */
  f32x4ReplaceLane(lane: number): this {
    return this.simd(0x20, lane);
  }
  /** Sign-extends the two low i32 lanes to i64 (a float32 lane mask to a float64 one). */
  i64x2ExtendLowI32x4S(): this {
    return this.simd(0xc7);
  }
  i64x2ExtendHighI32x4S(): this {
    return this.simd(0xc8);
  }

  /**
   * Lane-wise float operations, by name, for four float32 lanes or two float64 lanes. A
   * comparison leaves a lane of all ones where it holds, zeros where not; min and max give NaN
   * where either lane is NaN and order -0 below +0, as Math.min and Math.max do.
   */
  floatLanes(shape: 'f32x4' | 'f64x2', operation: LaneOperation): this {
    return this.simd((shape === 'f32x4' ? f32x4Opcodes : f64x2Opcodes)[operation]);
  }

  bytes(): number[] {
    const groups: number[][] = [];
    for (const type of this.declared) groups.push([...u32(1), typeCode[type]]);
    const body = [...vector(groups), ...this.code, 0x0b];
    return [...u32(body.length), ...body];
  }
}

/**
 * A module of functions with the parameters and results their bodies declare, importing one shared memory as
 * `env.memory` (so that every worker's instance works on the same data) and exporting each
 * function by name.
 */
export const assembleModule = (functions: readonly { readonly name: string; readonly body: FunctionBuilder }[], maximumPages: number): Uint8Array => {
  const types = functions.map(({ body }) => [0x60, ...vector(body.params.map((t) => [typeCode[t]])), ...vector(body.results.map((t) => [typeCode[t]]))]);
  const memoryImport = [...name('env'), ...name('memory'), 0x02, 0x03, ...u32(1), ...u32(maximumPages)];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(types)),
    ...section(2, vector([memoryImport])),
    ...section(3, vector(functions.map((_, i) => u32(i)))),
    ...section(7, vector(functions.map((f, i) => [...name(f.name), 0x00, ...u32(i)]))),
    ...section(10, vector(functions.map((f) => f.body.bytes()))),
  ];
  return Uint8Array.from(bytes);
};
