// The values of one call of a compiled program, as the runtimes (host, gpu.js pipelines, the
// native pool) read and write them: each node's float32 data, which arrays this call allocated
// itself, and when each may go back to the program's recycler.
//
// With the native pool's kernels the values kernels read live in the float arena's shared
// memory, where the workers and the WebAssembly kernels read and write them in place; the
// program recycles its own arrays from call to call. An argument is copied there once, when a
// kernel first reads it (a native step copies its operands into the GEMM's memory anyway), and
// every output is copied out of it.

import type { Tensor } from '../tensor.ts';
import { constantDataOf } from '../primitives/constant.ts';
import type { Program } from './build.ts';
import { toFloat32 } from './plan.ts';

/** A concrete argument or result: a shape and row-major data. */
export interface CompiledValue {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export class CallValues {
  private readonly values: Map<Tensor, Float32Array>;
  /**
   * Arrays this call allocated (or a backend copied out for it), which nobody else holds, each
   * with the whole array to give back (itself, or the array a kernel's wrapped layout ran past
   * the tensor's end of).
   */
  private readonly fresh = new Map<Float32Array, Float32Array>();
  /** Arena copies of values that were not in the arena, given back when the call ends. */
  private readonly sharedCopies = new Map<Float32Array, Float32Array>();
  private readonly outputs: ReadonlySet<Tensor>;

  constructor(
    private readonly program: Program,
    argumentData: readonly Float32Array[],
  ) {
    this.values = new Map(program.javascriptKernels ? program.sharedConstants : program.constants);
    program.placeholders.forEach((p, i) => this.values.set(p, argumentData[i]));
    this.outputs = new Set(program.outputs);
  }

  /** A node's value; a scalar constant that no kernel materialized is made on demand. */
  get(node: Tensor): Float32Array {
    return this.values.get(node) ?? scalarData(node);
  }

  /**
   * Records a node's value; `own` when this call allocated it, so that it may be recycled or
   * handed out uncopied. `whole` is the allocated array `data` is the start of, where it is a
   * part of one.
   */
  set(node: Tensor, data: Float32Array, own = false, whole = data): void {
    this.values.set(node, data);
    if (!own) return;
    if (whole !== data) this.fresh.delete(whole);
    this.fresh.set(data, whole);
  }

  /** A recycled array of the program's, owned by this call. */
  allocate(length: number): Float32Array {
    const array = this.program.arrays.take(length);
    this.fresh.set(array, array);
    return array;
  }

  /** A node's value in the arena, where the native pool's workers and WebAssembly kernels read it. */
  shared(node: Tensor): Float32Array {
    const data = this.get(node);
    let copy = this.sharedCopies.get(data);
    if (copy === undefined) {
      copy = this.program.arrays.copyIn(data);
      if (copy === data) return data;
      this.sharedCopies.set(data, copy);
    }
    return copy;
  }

  /** After a unit of work that is the last to read some values: they are dropped, and the arrays this call allocated go back to the program. */
  release(unit: object): void {
    for (const node of this.program.lastReaders.get(unit) ?? []) {
      if (this.outputs.has(node)) continue;
      const data = this.values.get(node);
      const whole = data === undefined ? undefined : this.fresh.get(data);
      if (this.program.javascriptKernels && whole !== undefined) {
        this.program.arrays.give(whole);
        this.fresh.delete(data!);
      }
      this.values.delete(node);
    }
  }

  /**
   * The outputs, in order, once every segment ran. A result this call allocated itself outside
   * the arena (a copy gpu.js's WebAssembly pipeline made out of its memory, a native step's
   * fresh array) is handed over as it is: an output of millions of elements is not copied
   * again. An arena array is copied out and given back, so that the arena never holds what a
   * caller keeps; anything else (an argument, a constant, a backend's own buffer) or an array
   * handed out twice is copied, so that the caller owns every array it gets.
   */
  results(): CompiledValue[] {
    for (const copy of this.sharedCopies.values()) this.program.arrays.give(copy);
    this.sharedCopies.clear();
    const handedOut = new Set<Float32Array>();
    const results = this.program.outputs.map((node) => {
      const data = this.values.get(node);
      const own = data !== undefined && this.fresh.has(data) && !handedOut.has(data) && !this.program.arrays.arena.holds(data);
      if (data !== undefined) handedOut.add(data);
      return { shape: [...node.shape], data: own ? data : Float32Array.from(data ?? scalarData(node)) };
    });
    // The call's arena arrays still out (the outputs, now copied, and any value nothing read) go
    // back: the next call may take them.
    const wholes = new Set([...this.fresh.values()].filter((whole) => this.program.arrays.arena.holds(whole)));
    for (const whole of wholes) this.program.arrays.give(whole);
    this.fresh.clear();
    return results;
  }
}

/** The value of a scalar constant that no kernel materialized. */
const scalarData = (node: Tensor): Float32Array => {
  const data = constantDataOf(node);
  if (data !== undefined) return toFloat32(data);
  throw new Error(`compile: no value was computed for ${node}`);
};
