// Arrays in shared memory, which the native pool's workers read and write in place, and a
// recycler of them: a compiled training step allocates the same buffers on every call, and a
// fresh 32 MB array costs its pages' first touch (tens of milliseconds) and a collection later.

/** A Float32Array over shared memory. */
export const sharedFloats = (length: number): Float32Array => new Float32Array(new SharedArrayBuffer(length * 4));

/** `data` itself when it is already in shared memory, else a shared copy. */
export const inSharedMemory = (data: Float32Array): Float32Array => {
  if (data.buffer instanceof SharedArrayBuffer) return data;
  const copy = sharedFloats(data.length);
  copy.set(data);
  return copy;
};

/**
 * Shared arrays by length, given back when their last reader has run and taken again by the
 * next buffer of the same length. An array handed to a caller is never given back, so none is
 * ever written while someone outside holds it. Its contents are whatever its last user left:
 * every kernel writes all of its output.
 */
export class SharedArrays {
  private readonly free = new Map<number, Float32Array[]>();

  take(length: number): Float32Array {
    return this.free.get(length)?.pop() ?? sharedFloats(length);
  }

  give(array: Float32Array): void {
    let list = this.free.get(array.length);
    if (list === undefined) this.free.set(array.length, (list = []));
    list.push(array);
  }
}
