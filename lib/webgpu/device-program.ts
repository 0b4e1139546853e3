// A run of a compiled program's kernels on webgpu as one command encoder a call: gpu.js's fused
// kernels (gpujs-pass.ts) and the tiled convolutions and matmuls between them (runner.ts), every
// intermediate in a device buffer of the program's own. A call writes the run's inputs that are
// not constants, records every pass, copies the values later segments or the caller need into
// one staging buffer, submits once, and reads that buffer back: nothing else crosses between
// host and device, and the transfers are counted so that a test can hold a call to it.
//
// Buffers are assigned once, when the run is prepared, by liveness: a value's buffer goes back
// to the free list after the last pass that reads it is recorded (passes in one encoder run in
// order), and a later value of the same size takes it. Bind groups are therefore made once.
// Calls of one program are serialised: they share its buffers.

import type { Tensor } from '../tensor.ts';
import { constantDataOf } from '../primitives/constant.ts';
import { type RecordedPass, gpujsPass } from './gpujs-pass.ts';
import { tiledKernelFor, tiledOperands } from './lowerings.ts';
import type { DeviceArray, TiledRunner } from './runner.ts';

// The WebGPU constants are globals only where WebGPU is; their values are fixed by the specification.
const USAGE_MAP_READ = 0x0001;
const USAGE_COPY_SRC = 0x0004;
const USAGE_COPY_DST = 0x0008;
const USAGE_STORAGE = 0x0080;
const MAP_MODE_READ = 0x0001;

/** A step of the run: one of gpu.js's kernels, or a node on a tiled kernel. */
export type DeviceStep =
  | { readonly kind: 'kernel'; readonly node: Tensor; readonly fused: readonly Tensor[]; readonly buffers: readonly Tensor[]; readonly kernel: unknown }
  | { readonly kind: 'tiled'; readonly node: Tensor };

export interface DeviceRunPlan {
  readonly steps: readonly DeviceStep[];
  readonly inputs: readonly Tensor[];
  readonly exports: readonly Tensor[];
  /** The 3-D layout [x, y, z] gpu.js's kernels index a value by; its cells may pad past the value's size. */
  readonly layoutOf: (node: Tensor) => readonly [number, number, number];
}

/** Bytes between host and device on one call. */
export interface DeviceTransfers {
  readonly uploaded: number;
  readonly readBack: number;
}

/** What a call of the run did, for the execution report. */
export interface DeviceCall {
  readonly transfers: DeviceTransfers;
  readonly submissions: number;
  /** With `profile`: each step's node and milliseconds, submitted and waited for on its own. */
  readonly steps?: readonly { readonly step: DeviceStep; readonly milliseconds: number }[];
}

interface PreparedStep {
  readonly step: DeviceStep;
  readonly record: (encoder: GPUCommandEncoder) => Promise<void> | void;
}

export class DeviceProgram {
  private readonly device: GPUDevice;
  private readonly owned: GPUBuffer[] = [];
  private readonly passes: RecordedPass[] = [];
  private prepared: PreparedStep[] = [];
  /** Inputs written every call (not constants), with their buffers. */
  private perCall: { readonly node: Tensor; readonly buffer: GPUBuffer }[] = [];
  private exportsAt: { readonly node: Tensor; readonly buffer: GPUBuffer; readonly offset: number }[] = [];
  private staging: GPUBuffer | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private destroyed = false;

  private constructor(
    private readonly plan: DeviceRunPlan,
    private readonly runner: TiledRunner,
  ) {
    this.device = runner.device;
  }

  /** Builds every pass of the run; `valueOf` gives the constants' data, written once. */
  static async prepare(plan: DeviceRunPlan, runner: TiledRunner, valueOf: (node: Tensor) => Float32Array): Promise<DeviceProgram> {
    const program = new DeviceProgram(plan, runner);
    try {
      await program.build(valueOf);
    } catch (error) {
      program.destroy();
      throw error;
    }
    return program;
  }

  /** Runs the run once: `valueOf` gives its inputs, `onExport` takes each export's data (a fresh array). */
  run(valueOf: (node: Tensor) => Float32Array, onExport: (node: Tensor, data: Float32Array) => void, profile = false): Promise<DeviceCall> {
    const call = this.tail.then(() => this.runNow(valueOf, onExport, profile));
    this.tail = call.catch(() => {});
    return call;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const pass of this.passes) pass.destroy();
    for (const buffer of this.owned) buffer.destroy();
    this.staging?.destroy();
    this.owned.length = 0;
    this.passes.length = 0;
  }

  private allocate(length: number): GPUBuffer {
    const buffer = this.device.createBuffer({ size: Math.max(4, length * 4), usage: USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST });
    this.owned.push(buffer);
    return buffer;
  }

  /** Every value's cells: its layout's, which a wrapped layout pads past its size. */
  private cellsOf(node: Tensor): number {
    const [x, y, z] = this.plan.layoutOf(node);
    return Math.max(node.size, x * y * z);
  }

  private async build(valueOf: (node: Tensor) => Float32Array): Promise<void> {
    const { steps, inputs, exports } = this.plan;
    const buffers = new Map<Tensor, GPUBuffer>();
    for (const input of inputs) {
      const buffer = this.allocate(this.cellsOf(input));
      buffers.set(input, buffer);
      if (constantDataOf(input) === undefined) this.perCall.push({ node: input, buffer });
      else this.write(buffer, valueOf(input));
    }
    // The last step that reads each value; an export is read at the end, by the copy to staging.
    const readsOf = (step: DeviceStep): Tensor[] => (step.kind === 'kernel' ? [...step.buffers] : tiledOperands(step.node).map(({ base }) => base));
    const lastRead = new Map<Tensor, number>();
    steps.forEach((step, i) => readsOf(step).forEach((node) => lastRead.set(node, i)));
    for (const node of exports) lastRead.set(node, steps.length);
    const free = new Map<number, GPUBuffer[]>();
    const inputSet = new Set(inputs);
    for (const [i, step] of steps.entries()) {
      const cells = this.cellsOf(step.node);
      const output = free.get(cells)?.pop() ?? this.allocate(cells);
      buffers.set(step.node, output);
      const reads = readsOf(step);
      const bufferOf = (node: Tensor): GPUBuffer => {
        const buffer = buffers.get(node);
        if (buffer === undefined) throw new Error(`webgpu device program: ${step.node} reads ${node}, which no earlier step of the run computed and the run does not take in`);
        return buffer;
      };
      if (step.kind === 'kernel') {
        const pass = await gpujsPass(step.kernel, String(step.node), this.device, reads.map((node) => this.plan.layoutOf(node)), reads.map(bufferOf), output);
        this.passes.push(pass);
        this.prepared.push({ step, record: (encoder) => pass.record(encoder) });
      } else {
        const kernel = tiledKernelFor(step.node, this.runner.limits);
        await this.runner.prepare(kernel);
        const operands: DeviceArray[] = reads.map((node) => ({ buffer: bufferOf(node), length: this.cellsOf(node) }));
        const target: DeviceArray = { buffer: output, length: cells };
        this.prepared.push({ step, record: (encoder) => this.runner.run(kernel, operands, { output: target, encoder }).then(() => {}) });
      }
      // What this step was the last to read goes back to the free list (never an input: its buffer is written every call).
      for (const node of new Set(reads))
        if (lastRead.get(node) === i && !inputSet.has(node)) {
          const size = this.cellsOf(node);
          free.set(size, [...(free.get(size) ?? []), buffers.get(node)!]);
        }
    }
    let offset = 0;
    for (const node of exports) {
      this.exportsAt.push({ node, buffer: buffers.get(node)!, offset });
      offset += node.size * 4;
    }
    if (offset > 0) this.staging = this.device.createBuffer({ size: offset, usage: USAGE_MAP_READ | USAGE_COPY_DST });
  }

  private write(buffer: GPUBuffer, data: Float32Array): void {
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  private async runNow(valueOf: (node: Tensor) => Float32Array, onExport: (node: Tensor, data: Float32Array) => void, profile: boolean): Promise<DeviceCall> {
    if (this.destroyed) throw new Error('webgpu device program: run after destroy');
    let uploaded = 0;
    for (const { node, buffer } of this.perCall) {
      const data = valueOf(node);
      this.write(buffer, data);
      uploaded += data.byteLength;
    }
    let submissions = 0;
    const timings: { step: DeviceStep; milliseconds: number }[] = [];
    let encoder = this.device.createCommandEncoder();
    for (const prepared of this.prepared) {
      if (!profile) {
        await prepared.record(encoder);
        continue;
      }
      // Each step on its own, waited for: its time on the device, with one submission's latency.
      const start = performance.now();
      await prepared.record(encoder);
      this.device.queue.submit([encoder.finish()]);
      await this.device.queue.onSubmittedWorkDone();
      submissions++;
      timings.push({ step: prepared.step, milliseconds: performance.now() - start });
      encoder = this.device.createCommandEncoder();
    }
    for (const { node, buffer, offset } of this.exportsAt) encoder.copyBufferToBuffer(buffer, 0, this.staging!, offset, node.size * 4);
    this.device.queue.submit([encoder.finish()]);
    submissions++;
    let readBack = 0;
    if (this.staging !== undefined) {
      await this.staging.mapAsync(MAP_MODE_READ);
      const mapped = this.staging.getMappedRange();
      for (const { node, offset } of this.exportsAt) {
        onExport(node, new Float32Array(mapped.slice(offset, offset + node.size * 4)));
        readBack += node.size * 4;
      }
      this.staging.unmap();
    }
    return { transfers: { uploaded, readBack }, submissions, ...(profile ? { steps: timings } : {}) };
  }
}
