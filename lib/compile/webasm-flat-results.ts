// Pipeline results on webasm as the flat Float32Array gpu.js copied out of its memory, instead
// of the nested arrays of row views it erects from that copy by default. A training step's
// pipelines hand tensors of millions of elements to the native steps and to each other; for a
// [256, 32, 32, 32] activation the default builds 262,144 row views, which cost more than the
// copy itself and most of the garbage collector's time. compile() reads every result as flat
// data anyway (see `flatten`).
//
// gpu.js 2.24.1 has no option for this, so the webasm kernel's `_shapeOutput` is wrapped: while
// `withFlatResults` runs a compiled program's pipeline, single-component outputs come back flat.
// Other gpu.js kernels in the process, run outside such a call, are shaped as always.

import { WebAssemblyKernel } from 'gpu.js';

type ShapeOutput = (data: Float32Array, output: readonly number[], componentCount: number) => unknown;

let depth = 0;
let installed = false;

const install = () => {
  if (installed) return;
  installed = true;
  const prototype = (WebAssemblyKernel as unknown as { prototype: { _shapeOutput: ShapeOutput } }).prototype;
  const shaped = prototype._shapeOutput;
  if (typeof shaped !== 'function') throw new Error('compile: gpu.js has no WebAssemblyKernel._shapeOutput to wrap; the flat-results module was written for gpu.js 2.24.1');
  prototype._shapeOutput = function (this: unknown, data, output, componentCount) {
    return depth > 0 && componentCount === 1 ? data : shaped.call(this, data, output, componentCount);
  };
};

export const withFlatResults = async <T>(run: () => Promise<T>): Promise<T> => {
  install();
  depth++;
  try {
    return await run();
  } finally {
    depth--;
  }
};
