// The buffers of gpu.js's webgpu kernels and the tiled kernels' buffers as one memory.
//
// gpu.js 2.24.1 keeps one GPUDevice for every webgpu kernel of the process (WebGPUContext.acquire()
// caches it; web-gpu/context.js). A kernel built with `pipeline: true` returns its output as a
// WebGPUBufferResult, a handle on its storage buffer, instead of reading it back
// (web-gpu/kernel.js, `_runInternal`), and a kernel takes such a handle wherever it takes an
// array: it binds `handle.buffer` as it is, after checking that the handle is not deleted, is of
// the same context object, is not its own output, and has one component (`_runInternal`). So:
//  - a tiled kernel reads a gpu.js result by binding `handle.buffer` (its usage is STORAGE |
//    COPY_SRC, `_ensureOutputBuffer`), with no copy;
//  - a gpu.js kernel reads a tiled kernel's output when it is wrapped in a WebGPUBufferResult of
//    gpu.js's own class (exported from gpu.js's index) with gpu.js's context object and the
//    layout (`output`, gpu.js's [x, y, z] order) the reading kernel indexes it by.

import * as gpuJs from 'gpu.js';
import type { DeviceArray, TiledRunner } from './runner.ts';

/** gpu.js's shared device and the context object its handles carry. */
export interface GpuJsContext {
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter;
  readonly isLost: boolean;
}

/** The part of gpu.js's WebGPUBufferResult this reads and writes. */
export interface GpuJsBufferResult {
  readonly buffer: GPUBuffer;
  readonly output: readonly number[];
  readonly componentCount: number;
  readonly context: GpuJsContext;
  readonly type: 'WebGPUBuffer';
  toArray(): Promise<unknown>;
  delete(): void;
}

interface GpuJsWebGPU {
  readonly WebGPUContext: { acquire: () => Promise<GpuJsContext> };
  readonly WebGPUBufferResult: new (settings: {
    buffer: GPUBuffer;
    output: number[];
    componentCount: number;
    context: GpuJsContext;
    kernel: { readBufferResult: (handle: GpuJsBufferResult) => Promise<unknown> };
  }) => GpuJsBufferResult;
}

const webgpu = gpuJs as unknown as GpuJsWebGPU;

/**
 * gpu.js's device, made on first use from the adapter `navigator.gpu` gives (the project installs
 * one in lib/compile/webgpu.ts). Tiled kernels run on this device to share buffers with gpu.js.
 */
export const gpuJsContext = (): Promise<GpuJsContext> => webgpu.WebGPUContext.acquire();

/** A gpu.js kernel's result as a device array, read in place. */
export const fromGpuJs = (handle: GpuJsBufferResult): DeviceArray => {
  if (handle.componentCount !== 1) throw new Error(`webgpu tiles: a gpu.js result of ${handle.componentCount} components a cell cannot be read as a flat array`);
  const length = handle.output.reduce((x, y) => x * y, 1);
  return { buffer: handle.buffer, length };
};

/**
 * A device array as a gpu.js pipeline handle that gpu.js kernels take as an argument, laid out as
 * `layout` (gpu.js's [x, y, z] order, whose product must be the array's length). Reading it back
 * with `toArray()` goes through the runner, and counts. The handle holds one reference to the
 * buffer: `delete()` on the last handle destroys it, as with gpu.js's own results.
 */
export const toGpuJs = (array: DeviceArray, layout: readonly number[], context: GpuJsContext, runner: TiledRunner): GpuJsBufferResult => {
  const cells = layout.reduce((x, y) => x * y, 1);
  if (cells !== array.length) throw new Error(`webgpu tiles: a layout of ${cells} cells for an array of ${array.length}`);
  if (runner.device !== context.device) throw new Error('webgpu tiles: the runner does not run on gpu.js device');
  return new webgpu.WebGPUBufferResult({
    buffer: array.buffer,
    output: [...layout],
    componentCount: 1,
    context,
    kernel: { readBufferResult: (handle) => runner.read(fromGpuJs(handle)) },
  });
};
