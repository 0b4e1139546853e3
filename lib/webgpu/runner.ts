// Runs tiled kernels on a GPUDevice: gpu.js's own (so that their buffers and gpu.js's are one
// memory, see README.md) or any other. Values live in device buffers between kernels; what crosses
// between host and device is counted, so that a test can hold a whole step to what it promises.
//
// A kernel's pipeline is built once per source and kept; its bind groups once per set of buffers.
// Passes are recorded into a command encoder: the caller's, so that several kernels go in one
// submission, or one of the runner's own, submitted at once.

import type { TiledKernel } from './gemm.ts';
import { kernelLimitsOf, type KernelLimits } from './tiles.ts';

// The WebGPU constants are globals only where WebGPU is; their values are fixed by the specification.
const USAGE_MAP_READ = 0x0001;
const USAGE_COPY_SRC = 0x0004;
const USAGE_COPY_DST = 0x0008;
const USAGE_STORAGE = 0x0080;
const MAP_MODE_READ = 0x0001;

/** A float32 array in a device buffer: `length` values from the buffer's start. */
export interface DeviceArray {
  readonly buffer: GPUBuffer;
  readonly length: number;
}

/** Bytes that crossed between host and device since the runner was made (or since `resetTransfers`). */
export interface Transfers {
  uploaded: number;
  readBack: number;
}

export class TiledRunner {
  readonly limits: KernelLimits;
  readonly transfers: Transfers = { uploaded: 0, readBack: 0 };
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;
  /** Scratch for split products' partial sums, shared by every kernel (they run one after another). */
  private partials: GPUBuffer | undefined;
  /**
   * Scratch outgrown while passes recorded into a caller's encoder may still bind it: destroyed
   * with the runner, since destroying a buffer that a command buffer not yet submitted uses
   * fails that submission.
   */
  private readonly outgrown: GPUBuffer[] = [];

  /** `limits` below the device's own make the kernels behave as on a lesser device (the tests' folds). */
  constructor(
    readonly device: GPUDevice,
    limits: KernelLimits = kernelLimitsOf(device.limits),
  ) {
    this.limits = limits;
  }

  /**
   * Builds a kernel's pipelines, raising the compiler's messages with the source where WGSL fails
   * to compile (Dawn would otherwise report it later, outside any call).
   */
  async prepare(kernel: TiledKernel): Promise<void> {
    for (const { source } of kernel.passes) {
      if (this.pipelines.has(source)) continue;
      const module = this.device.createShaderModule({ code: source });
      const errors = (await module.getCompilationInfo()).messages.filter((message) => message.type === 'error');
      if (errors.length > 0)
        throw new Error(`webgpu tiles: ${kernel.label} does not compile:\n${errors.map((m) => `  ${m.lineNum}:${m.linePos} ${m.message}`).join('\n')}\n--- WGSL ---\n${source}`);
      this.device.pushErrorScope('validation');
      const pipeline = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      const error = await this.device.popErrorScope();
      if (error) throw new Error(`webgpu tiles: ${kernel.label}: the pipeline was refused: ${error.message}`);
      this.pipelines.set(source, pipeline);
    }
  }

  /** A device buffer for `length` floats that kernels may read and write and the host may read back. */
  allocate(length: number): DeviceArray {
    const buffer = this.device.createBuffer({ size: Math.max(4, length * 4), usage: USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST });
    return { buffer, length };
  }

  /** Copies a host array to the device (counted as uploaded). */
  upload(data: Float32Array): DeviceArray {
    const array = this.allocate(data.length);
    this.write(array, data);
    return array;
  }

  /** Overwrites a device array with host data (counted as uploaded). */
  write(array: DeviceArray, data: Float32Array): void {
    if (data.length > array.length) throw new Error(`webgpu tiles: ${data.length} values do not fit a device array of ${array.length}`);
    this.device.queue.writeBuffer(array.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    this.transfers.uploaded += data.byteLength;
  }

  /** Reads a device array back to the host (counted as read back), after everything submitted before. */
  async read(array: DeviceArray): Promise<Float32Array> {
    const bytes = array.length * 4;
    if (bytes === 0) return new Float32Array(0);
    const staging = this.device.createBuffer({ size: bytes, usage: USAGE_MAP_READ | USAGE_COPY_DST });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(array.buffer, 0, staging, 0, bytes);
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_MODE_READ, 0, bytes);
    const data = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
    staging.unmap();
    staging.destroy();
    this.transfers.readBack += bytes;
    return data;
  }

  /**
   * Records a kernel's passes reading `inputs` (the node's, in order) and writing `output` (a
   * fresh array unless given); with no encoder given, submits them at once. Nothing is read back:
   * the output stays on the device for the next kernel (or gpu.js's, see gpujs-buffers.ts).
   */
  async run(kernel: TiledKernel, inputs: readonly DeviceArray[], options: { output?: DeviceArray; encoder?: GPUCommandEncoder } = {}): Promise<DeviceArray> {
    await this.prepare(kernel);
    const output = options.output ?? this.allocate(kernel.outputSize);
    if (output.length < kernel.outputSize) throw new Error(`webgpu tiles: ${kernel.label} writes ${kernel.outputSize} values into an array of ${output.length}`);
    if (inputs.some((input) => input.buffer === output.buffer)) throw new Error(`webgpu tiles: ${kernel.label} cannot write the buffer it reads`);
    const partials = kernel.partialsSize > 0 ? this.partialsFor(kernel.partialsSize) : undefined;
    const encoder = options.encoder ?? this.device.createCommandEncoder();
    for (const pass of kernel.passes) {
      const pipeline = this.pipelines.get(pass.source)!;
      const buffers = pass.bindings.map((binding) => (binding === 'output' ? output.buffer : binding === 'partials' ? partials! : inputs[binding].buffer));
      const compute = encoder.beginComputePass();
      compute.setPipeline(pipeline);
      compute.setBindGroup(0, this.bindGroupFor(pass.source, pipeline, buffers));
      compute.dispatchWorkgroups(...pass.dispatch);
      compute.end();
    }
    if (options.encoder === undefined) this.device.queue.submit([encoder.finish()]);
    return output;
  }

  /** Host arrays in, a host array out: the runner as a drop-in for a native step (counted both ways). */
  async runOnHost(kernel: TiledKernel, inputs: readonly Float32Array[]): Promise<Float32Array> {
    const onDevice = inputs.map((input) => this.upload(input));
    const output = await this.run(kernel, onDevice);
    const result = await this.read(output);
    for (const array of [...onDevice, output]) array.buffer.destroy();
    return result;
  }

  /** Lets go of the pipelines and scratch (the device stays; it may be gpu.js's). */
  destroy(): void {
    this.partials?.destroy();
    this.partials = undefined;
    for (const buffer of this.outgrown.splice(0)) buffer.destroy();
    this.pipelines.clear();
    this.bindGroups.clear();
  }

  private partialsFor(length: number): GPUBuffer {
    if (this.partials === undefined || this.partials.size < length * 4) {
      if (this.partials !== undefined) this.outgrown.push(this.partials);
      this.partials = this.device.createBuffer({ size: length * 4, usage: USAGE_STORAGE });
    }
    return this.partials;
  }

  private idOf(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(buffer, id);
    }
    return id;
  }

  private bindGroupFor(source: string, pipeline: GPUComputePipeline, buffers: readonly GPUBuffer[]): GPUBindGroup {
    const key = `${buffers.map((buffer) => this.idOf(buffer)).join(',')}\n${source}`;
    let group = this.bindGroups.get(key);
    if (group === undefined) {
      group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
      // A bind group holds its buffers; kept only while few, as a step's buffers are reused call to call.
      if (this.bindGroups.size > 4096) this.bindGroups.clear();
      this.bindGroups.set(key, group);
    }
    return group;
  }
}
