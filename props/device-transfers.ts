// What crosses between host and device on a GPUDevice, counted by wrapping the device's own
// methods: the tests of the tiled kernels and of webgpu's device runs hold a call to it.

import assert from 'node:assert/strict';
import { type ArgumentValue, dataOf, isArgumentLeaf } from '../lib/compile/arguments.ts';
import type { CompiledFunction } from '../lib/compile/compile.ts';
import { flattenTree } from '../lib/tree.ts';
import { gpuJsContext } from '../lib/webgpu/gpujs-buffers.ts';

/**
 * Counts what crosses between host and device: bytes written to storage buffers (arguments) and to
 * uniform buffers (gpu.js's per-run parameters), and bytes copied into mappable buffers (read back);
 * and the buffers created and command buffers submitted meanwhile.
 */
export const countTransfers = (device: GPUDevice) => {
  const counts = { arguments: 0, parameters: 0, readBack: 0, buffersCreated: 0, submissions: 0 };
  const queue = device.queue as unknown as { writeBuffer: (...args: any[]) => undefined; submit: (buffers: GPUCommandBuffer[]) => undefined };
  const writeBuffer = queue.writeBuffer;
  const submit = queue.submit;
  queue.submit = function (buffers: GPUCommandBuffer[]) {
    counts.submissions++;
    return submit.call(this, buffers);
  };
  const createBuffer = device.createBuffer;
  device.createBuffer = function (descriptor: GPUBufferDescriptor) {
    counts.buffersCreated++;
    return createBuffer.call(this, descriptor);
  };
  queue.writeBuffer = function (buffer: GPUBuffer, offset: number, data: ArrayBuffer | ArrayBufferView, dataOffset?: number, size?: number) {
    const unit = ArrayBuffer.isView(data) ? (data as Float32Array).BYTES_PER_ELEMENT ?? 1 : 1;
    const total = ArrayBuffer.isView(data) ? data.byteLength / unit : data.byteLength;
    const bytes = (size ?? total - (dataOffset ?? 0)) * unit;
    if (buffer.usage & 0x0040) counts.parameters += bytes;
    else counts.arguments += bytes;
    return writeBuffer.call(this, buffer, offset, data, dataOffset, size);
  };
  const createCommandEncoder = device.createCommandEncoder;
  device.createCommandEncoder = function (descriptor?: GPUCommandEncoderDescriptor) {
    const encoder = createCommandEncoder.call(this, descriptor);
    const copy = encoder.copyBufferToBuffer;
    encoder.copyBufferToBuffer = function (this: GPUCommandEncoder, ...args: any[]) {
      const [, , destination, , size] = args as [GPUBuffer, number, GPUBuffer, number, number];
      if (destination.usage & 0x0001) counts.readBack += size;
      return (copy as (...args: any[]) => void).apply(this, args);
    } as GPUCommandEncoder['copyBufferToBuffer'];
    return encoder;
  };
  return {
    counts,
    restore: () => {
      queue.writeBuffer = writeBuffer;
      queue.submit = submit;
      device.createBuffer = createBuffer;
      device.createCommandEncoder = createCommandEncoder;
    },
  };
};

/** Bytes of float32 data at a tree's leaves (arguments as the caller gives them, or results). */
export const bytesOf = (tree: unknown): number =>
  flattenTree(tree, isArgumentLeaf).leaves.reduce((sum, leaf) => sum + 4 * dataOf(leaf as ArgumentValue).length, 0);

/**
 * Holds a compiled function on webgpu to one device run a call: its last call's report and a
 * second call counted at the device say that the arguments went up, the results came back, and
 * nothing else crossed (no kernel parameters, no buffer made, one submission).
 */
export const assertOneDeviceRun = async (compiled: CompiledFunction<any, any>, args: unknown, results: unknown): Promise<void> => {
  const report = compiled.report()!;
  assert.equal(report.executorKind, 'device-run');
  assert.deepEqual(report.hostSteps, []);
  const device = report.device!;
  assert.ok(device.tiledSteps > 0, 'no tiled step ran');
  assert.equal(device.submissions, 1);
  assert.equal(device.uploadedBytes, bytesOf(args), 'the report counts every argument once, and only the arguments');
  assert.equal(device.readBackBytes, bytesOf(results), 'the report counts every result once, and only the results');
  const transfers = countTransfers((await gpuJsContext()).device);
  try {
    await compiled(args as never);
  } finally {
    transfers.restore();
  }
  assert.deepEqual(transfers.counts, { arguments: bytesOf(args), parameters: 0, readBack: bytesOf(results), buffersCreated: 0, submissions: 1 });
};
