// The values of one call of a compiled program, as the runtimes (host, gpu.js pipelines, the
// native pool) read and write them: each node's float32 data, which arrays this call allocated
// itself, and when each may go back to the program's recycler.
//
// With the native pool's JavaScript kernels the values kernels read live in shared memory,
// where the workers read and write them in place; the program recycles its own arrays from call
// to call. An argument is copied there once, when a kernel first reads it (a native step copies
// its operands into the GEMM's memory anyway).

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
  /** Arrays this call allocated (or a backend copied out for it), which nobody else holds. */
  private readonly fresh = new Set<Float32Array>();
  /** Shared copies of values that were not in shared memory, given back when the call ends. */
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

  /** Records a node's value; `own` when this call allocated it, so that it may be recycled or handed out uncopied. */
  set(node: Tensor, data: Float32Array, own = false): void {
    this.values.set(node, data);
    if (own) this.fresh.add(data);
  }

  /** A recycled array of the program's, owned by this call. */
  allocate(length: number): Float32Array {
    const array = this.program.arrays.take(length);
    this.fresh.add(array);
    return array;
  }

  /** A node's value in shared memory, where the native pool's workers can read it. */
  shared(node: Tensor): Float32Array {
    const data = this.get(node);
    if (data.buffer instanceof SharedArrayBuffer) return data;
    let copy = this.sharedCopies.get(data);
    if (copy === undefined) {
      copy = this.program.arrays.take(data.length);
      copy.set(data);
      this.sharedCopies.set(data, copy);
    }
    return copy;
  }

  /** After a unit of work that is the last to read some values: they are dropped, and the arrays this call allocated go back to the program. */
  release(unit: object): void {
    for (const node of this.program.lastReaders.get(unit) ?? []) {
      if (this.outputs.has(node)) continue;
      const data = this.values.get(node);
      if (this.program.javascriptKernels && data !== undefined && this.fresh.has(data)) {
        this.program.arrays.give(data);
        this.fresh.delete(data);
      }
      this.values.delete(node);
    }
  }

  /**
   * The outputs, in order, once every segment ran. A result this call allocated itself (a native
   * step's, or a copy gpu.js's WebAssembly pipeline made out of its memory) is handed over as it is: an output of
   * millions of elements is not copied again. Anything else (an argument, a constant, a backend's
   * own buffer) or an array handed out twice is copied, so that the caller owns every array it gets.
   */
  results(): CompiledValue[] {
    for (const copy of this.sharedCopies.values()) this.program.arrays.give(copy);
    this.sharedCopies.clear();
    const handedOut = new Set<Float32Array>();
    return this.program.outputs.map((node) => {
      const data = this.values.get(node);
      const own = data !== undefined && this.fresh.has(data) && !handedOut.has(data);
      if (own) handedOut.add(data);
      return { shape: [...node.shape], data: own ? data : Float32Array.from(data ?? scalarData(node)) };
    });
  }
}

/** The value of a scalar constant that no kernel materialized. */
const scalarData = (node: Tensor): Float32Array => {
  const data = constantDataOf(node);
  if (data !== undefined) return toFloat32(data);
  throw new Error(`compile: no value was computed for ${node}`);
};
