// webgpu's device runs: gpu.js's kernels and the tiled convolutions and matmuls between them, one
// command encoder a call, every intermediate on the device (lib/webgpu/device-program.ts). A run
// is prepared on its first call (gpu.js builds its kernels' WGSL and pipelines, the tiled kernels
// are generated for the device's limits, buffers and bind groups are made) and reused after.
// A failure, or an error the device reported while the run ran, is the call's error, naming the
// kernels.

import type { Tensor } from '../../tensor.ts';
import type { DeviceRun, Program } from '../build.ts';
import { layoutOf } from '../emitter.ts';
import { raisingDeviceErrors } from '../webgpu.ts';
import { DeviceProgram, type DeviceStep } from '../../webgpu/device-program.ts';
import { gpuJsContext } from '../../webgpu/gpujs-buffers.ts';
import { TiledRunner } from '../../webgpu/runner.ts';
import type { CallValues } from '../call-values.ts';
import type { SegmentRuntime } from './runtime.ts';

export const deviceRuntime = (program: Program, profile: boolean): SegmentRuntime<DeviceRun> => {
  const prepared = new Map<DeviceRun, Promise<DeviceProgram>>();
  let runner: Promise<TiledRunner> | undefined;
  const layout = (node: Tensor) => layoutOf(node.shape, program.layouts.get(node));

  const programFor = (segment: DeviceRun, values: CallValues): Promise<DeviceProgram> => {
    let device = prepared.get(segment);
    if (device === undefined) {
      runner ??= gpuJsContext().then((context) => new TiledRunner(context.device));
      const steps = segment.steps.map((step): DeviceStep => (step.kind === 'tiled' ? step : { ...step, kind: 'kernel' }));
      device = runner.then((tiled) => DeviceProgram.prepare({ steps, inputs: segment.inputs, exports: segment.exports, layoutOf: layout }, tiled, (node) => values.get(node)));
      prepared.set(segment, device);
      // A run that failed to prepare is not kept: the next call says why again.
      device.catch(() => prepared.delete(segment));
    }
    return device;
  };

  // What an error names and how many tiled steps a run has, worked out once a run, not once a call.
  const described = new Map<DeviceRun, { readonly names: string; readonly tiledSteps: number }>();
  const describe = (segment: DeviceRun) => {
    let description = described.get(segment);
    if (description === undefined) {
      description = { names: runNames(segment), tiledSteps: segment.steps.filter((step) => step.kind === 'tiled').length };
      described.set(segment, description);
    }
    return description;
  };

  return {
    run: async (segment, values, record) => {
      const start = performance.now();
      const { names, tiledSteps } = describe(segment);
      const call = await raisingDeviceErrors(names, async () =>
        (await programFor(segment, values)).run(
          (node) => values.get(node),
          (node, data) => values.set(node, data, true),
          profile,
        ),
      );
      for (const { step, milliseconds } of call.steps ?? []) record.kernel(step.node, { milliseconds }, step.kind === 'kernel' ? step.fused : 'tiled kernel');
      if (!profile) record.segment('device', start, segment.steps.map((step) => step.node));
      record.deviceRun({
        tiledSteps,
        kernels: segment.steps.length - tiledSteps,
        submissions: call.submissions,
        uploadedBytes: call.transfers.uploaded,
        readBackBytes: call.transfers.readBack,
      });
      record.executorKind = 'device-run';
      record.modes.add('webgpu');
      values.release(segment);
    },
    release: async () => {
      const programs = [...prepared.values()];
      prepared.clear();
      described.clear();
      for (const device of programs) (await device.catch(() => undefined))?.destroy();
      (await runner?.catch(() => undefined))?.destroy();
      runner = undefined;
    },
  };
};

/** A run's steps as an error names them: each kernel's node and what was fused into it, and each tiled step. */
const runNames = (segment: DeviceRun): string => {
  const names = segment.steps.map((step) => (step.kind === 'tiled' ? `${step.node} (tiled)` : `${step.node} (fused: ${step.fused.map(String).join(', ')})`));
  return names.length === 1 ? `the ${segment.steps[0].kind === 'tiled' ? 'tiled step' : 'kernel'} ${names[0]}` : `the device run of ${names.join('; ')}`;
};
