// The arrays a compiled program's native kernels read and write, inside one shared WebAssembly
// memory. A kernel emitted as WebAssembly (simd-kernel.ts) reads and writes them in place at
// their byte offsets, and the JavaScript kernels and the workers read them as they read any
// shared array. Every array the pool's kernels see comes from here, not from SharedArrayBuffers
// of their own: V8 compiles a kernel that has seen typed arrays over both kinds of buffer to
// slower code (six times slower in a scratch test), so the two are not mixed.
//
// WebAssembly memory only grows, and nothing here is collected: an array goes back with `give`,
// and a length's free arrays are taken again before the memory grows. Arrays handed to a caller
// are copies (call-values.ts), so what a caller keeps never pins the arena.

/** WebAssembly's 32-bit addresses: 4 GiB, 65536 pages of 64 KiB. */
export const MAXIMUM_PAGES = 65536;
const PAGE_BYTES = 65536;

/**
 * Floats past an array's end that a vector kernel may read (it loads four lanes at a time and
 * stores only those inside the array), so that the last vector of the last array stays inside
 * the memory.
 */
export const VECTOR_SLACK_FLOATS = 4;

export class FloatArena {
  readonly memory = new WebAssembly.Memory({ initial: 1, maximum: MAXIMUM_PAGES, shared: true });
  /** The next free byte: arrays are laid out one after another, each at a multiple of 16 bytes. */
  private top = 16;
  private readonly free = new Map<number, Float32Array[]>();
  /** The buffer objects of the arrays laid out so far: a view of any of them is an arena array. */
  private readonly buffers = new WeakSet<ArrayBufferLike>();

  /** An array of `length` floats, recycled where one of that length was given back. Its contents are whatever its last user left. */
  take(length: number): Float32Array {
    const recycled = this.free.get(length)?.pop();
    if (recycled !== undefined) return recycled;
    const at = this.top;
    const end = at + Math.ceil((length + VECTOR_SLACK_FLOATS) / 4) * 16;
    const pages = Math.ceil(end / PAGE_BYTES);
    const current = this.memory.buffer.byteLength / PAGE_BYTES;
    if (pages > MAXIMUM_PAGES)
      throw new Error(
        `native kernels: the compiled programs' arrays need ${(end / 2 ** 30).toFixed(2)} GiB, more than WebAssembly's 4 GiB; use a smaller batch`,
      );
    // Grow by at least a quarter, so that a program's first call does not grow once an array.
    if (pages > current) this.memory.grow(Math.min(MAXIMUM_PAGES, Math.max(pages, Math.ceil(current * 1.25))) - current);
    this.top = end;
    // The memory's buffer object is not always the one `buffer` gave right after the last grow:
    // V8 may replace a shared memory's buffer object again afterwards, as it brings every
    // thread's view of the grown memory up to date (seen here: an array made from `buffer` whose
    // buffer was none taken at a grow). Each array's own buffer is the one to know it by.
    const array = new Float32Array(this.memory.buffer, at, length);
    this.buffers.add(array.buffer);
    return array;
  }

  /** Gives an array back: the next `take` of its length may return it. */
  give(array: Float32Array): void {
    let list = this.free.get(array.length);
    if (list === undefined) this.free.set(array.length, (list = []));
    list.push(array);
  }

  /** Whether `array` (or a subarray of one) lies in this arena's memory, where a WebAssembly kernel reads it at its byte offset. */
  holds(array: Float32Array): boolean {
    return this.buffers.has(array.buffer);
  }

  /** Bytes laid out so far, given back or not. */
  get bytes(): number {
    return this.top;
  }
}

let arena: FloatArena | undefined;
/** The process's arena, which every native pool's workers import. */
export const sharedFloatArena = (): FloatArena => (arena ??= new FloatArena());
