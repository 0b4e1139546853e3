// Pipeline arguments gpu.js need not copy. A gpu.js pipeline snapshots every array argument when
// it is called (`value.slice(0)`), so that a caller who changes the array before the run starts
// does not change the run. compile() never changes an argument it has handed to a pipeline, and
// awaits each pipeline before the next, so the copy is only cost: on webasm about 50 million
// floats a training step (200 MB allocated and copied, and the collections that follows).
//
// The array handed over is a view of the same data whose `slice(0)`, the snapshot's call,
// returns the view itself; every other slice copies as usual. Written for gpu.js 2.24.1's
// pipeline.js and kernel-run-shortcut.js, whose snapshot is exactly `value.slice(0)`.

class Uncopied extends Float32Array {
  override slice(start?: number, end?: number): Float32Array<ArrayBuffer> {
    return start === 0 && end === undefined ? this : super.slice(start, end);
  }
}

/** `data` (no copy) as an array gpu.js's argument snapshot passes through. */
export const uncopied = (data: Float32Array): Float32Array => new Uncopied(data.buffer as ArrayBuffer, data.byteOffset, data.length);
