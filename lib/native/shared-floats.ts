// Arrays in shared memory, which the native pool's workers read and write in place, and a
// compiled program's recycler of them: a compiled training step allocates the same buffers on
// every call, and a fresh 32 MB array costs its pages' first touch (tens of milliseconds). A
// program's arrays come from the process's float arena (float-arena.ts), where the kernels
// emitted as WebAssembly read them too.

import { type FloatArena, sharedFloatArena } from './float-arena.ts';

/** A Float32Array over shared memory of its own (for a native kernel called outside a compiled program). */
export const sharedFloats = (length: number): Float32Array => new Float32Array(new SharedArrayBuffer(length * 4));

/** `data` itself when it is already in shared memory, else a shared copy. */
export const inSharedMemory = (data: Float32Array): Float32Array => {
  if (data.buffer instanceof SharedArrayBuffer) return data;
  const copy = sharedFloats(data.length);
  copy.set(data);
  return copy;
};

/**
 * A program's arrays, taken from the arena and given back when their last reader has run. An
 * array is never given back while someone outside holds it: what a caller gets is a copy
 * (call-values.ts). Its contents are whatever its last user left: every kernel writes all of
 * its output.
 */
export class SharedArrays {
  constructor(readonly arena: FloatArena = sharedFloatArena()) {}

  take(length: number): Float32Array {
    return this.arena.take(length);
  }

  give(array: Float32Array): void {
    this.arena.give(array);
  }

  /** `data` itself when it is an arena array already, else a copy in the arena (which the caller gives back). */
  copyIn(data: Float32Array): Float32Array {
    if (this.arena.holds(data)) return data;
    const copy = this.arena.take(data.length);
    copy.set(data);
    return copy;
  }
}
