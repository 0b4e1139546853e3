// One gpu.js webgpu kernel as a compute pass the project records itself, into the same command
// encoder as the tiled kernels: gpu.js translates the kernel's JavaScript to WGSL and builds its
// compute pipeline (`build`), and the pass binds the device program's own buffers.
//
// gpu.js's own fused executor does the same (web-gpu/pipeline-executor.js, `_prepareKernel` and
// `_compile`): it builds each kernel and reuses its `computePipeline`, `bindGroupLayout`,
// `paramsLayout` and `_computeDispatch`, never calling `run()`. These are fields of gpu.js's
// kernel class, not its documented API, so they are checked here by name and a gpu.js without
// them is refused with a message that says which is missing, before anything runs.

import { Input } from 'gpu.js';

// The WebGPU constants are globals only where WebGPU is; their values are fixed by the specification.
const USAGE_UNIFORM = 0x0040;
const USAGE_COPY_DST = 0x0008;

/** The fields of gpu.js 2.24's WebGPUKernel that a pass is made from. */
interface GpuJsWebGPUKernel {
  build(...args: unknown[]): Promise<void>;
  readonly computePipeline: GPUComputePipeline;
  readonly bindGroupLayout: GPUBindGroupLayout;
  readonly paramsLayout: {
    readonly byteLength: number;
    readonly arrayArgs: readonly { readonly index: number; readonly dimsOffset: number }[];
    readonly scalarArgs: readonly unknown[];
    readonly bufferConstants: readonly { readonly buffer: GPUBuffer }[];
    readonly randomSeedOffset: number | null;
  };
  readonly threadDim: readonly number[];
  readonly componentCount: number;
  _computeDispatch(threadDim: readonly number[]): { readonly groups: readonly [number, number, number]; readonly dispatchWidth: number };
  outputBuffer: (GPUBuffer & { _refs?: number }) | null;
}

/** A compute pass recorded call after call with the same buffers. */
export interface RecordedPass {
  record(encoder: GPUCommandEncoder): void;
  /** Lets go of what the pass made for itself (its parameter buffer). */
  destroy(): void;
}

const kernelOf = (shortcut: unknown, label: string): GpuJsWebGPUKernel => {
  const kernel = (shortcut as { kernel?: Record<string, unknown> }).kernel;
  if (kernel === undefined || typeof kernel.build !== 'function' || typeof kernel._computeDispatch !== 'function')
    throw new Error(`webgpu device program: ${label} is not a gpu.js webgpu kernel (no build or _computeDispatch); gpu.js 2.24's kernel class is what the passes are made from`);
  return kernel as unknown as GpuJsWebGPUKernel;
};

/**
 * Builds a gpu.js kernel for arguments laid out as `argumentLayouts` ([x, y, z], the 3-D layout
 * its reads index) and makes its pass over `argumentBuffers`, writing `output`.
 */
export const gpujsPass = async (
  shortcut: unknown,
  label: string,
  device: GPUDevice,
  argumentLayouts: readonly (readonly [number, number, number])[],
  argumentBuffers: readonly GPUBuffer[],
  output: GPUBuffer,
): Promise<RecordedPass> => {
  const kernel = kernelOf(shortcut, label);
  // Stand-ins of the arguments' types and sizes, as gpu.js's executor builds with (`_representativeArgs`).
  await kernel.build(...argumentLayouts.map((layout) => new Input(new Float32Array(layout[0] * layout[1] * layout[2]) as unknown as number[], [...layout])));
  for (const field of ['computePipeline', 'bindGroupLayout', 'paramsLayout', 'threadDim'] as const)
    if (kernel[field] === undefined || kernel[field] === null) throw new Error(`webgpu device program: gpu.js built ${label} without a ${field}; gpu.js 2.24's kernel class is what the passes are made from`);
  const layout = kernel.paramsLayout;
  if (kernel.componentCount !== 1) throw new Error(`webgpu device program: ${label} returns ${kernel.componentCount} components a cell; the device program's buffers hold one`);
  if (layout.scalarArgs.length > 0 || layout.randomSeedOffset !== null)
    throw new Error(`webgpu device program: ${label} takes scalar arguments or draws random numbers, which the device program does not write per call`);
  // The executor binds the program's buffers: the output buffer gpu.js allocated for the kernel's own runs is only memory.
  if (kernel.outputBuffer) {
    if (kernel.outputBuffer._refs === undefined || --kernel.outputBuffer._refs === 0) kernel.outputBuffer.destroy();
    kernel.outputBuffer = null;
  }
  // The parameters gpu.js's WGSL reads: the thread extent and each argument's dimensions. They do
  // not change from call to call, so they are written once.
  const dispatch = kernel._computeDispatch(kernel.threadDim);
  const mirror = new Uint32Array(layout.byteLength / 4);
  mirror.set([kernel.threadDim[0], kernel.threadDim[1], kernel.threadDim[2], dispatch.dispatchWidth]);
  for (const { index, dimsOffset } of layout.arrayArgs) {
    const [x, y, z] = argumentLayouts[index];
    mirror.set([x, y, z, x * y * z], dimsOffset / 4);
  }
  const params = device.createBuffer({ size: layout.byteLength, usage: USAGE_UNIFORM | USAGE_COPY_DST });
  device.queue.writeBuffer(params, 0, mirror);
  const buffers = [params, ...layout.arrayArgs.map(({ index }) => argumentBuffers[index]), output, ...layout.bufferConstants.map((constant) => constant.buffer)];
  const bindGroup = device.createBindGroup({ layout: kernel.bindGroupLayout, entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const pipeline = kernel.computePipeline;
  const [x, y, z] = dispatch.groups;
  return {
    record: (encoder) => {
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(x, y, z);
      pass.end();
    },
    destroy: () => params.destroy(),
  };
};
