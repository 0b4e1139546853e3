// Instances per second of one full training step of the small CIFAR encoder with the
// invariant-spreading objective (two augmented views, forward, backward, SGD update, batch-norm
// statistics), compiled, at batch 2 x N. Median of several steps after a warm-up step (which
// traces and builds the kernels; its time is printed separately). The last line is one JSON
// object: instances_per_second, model_only_instances_per_second, backend, batch.
//
//   npm run bench:step -- [--backend native] [--encoder small|resnet18] [--batch 128] [--steps 3] [--profile] [--segments] [--without-native] [--gpujs-kernels] [--without-simd] [--without-tiled] [--without-model-only]
//
// Beside the full step it times the model only: the same step compiled without the
// augmentation (trainingStepOnViews), on views that a third compiled program draws from the same
// images with the same keys before each step, untimed. That is what a framework's step that
// leaves the augmentation out (bench/pytorch-step.py) is to be compared with; the two steps
// alternate, so a busy machine slows both alike, and each carries its own parameters from the
// same start, so its losses are the full step's. --without-model-only times the full step alone.
//
// --profile also times a plain memory copy of the first stage's activations (memory-copy.ts)
// and lists the slowest JavaScript kernels in nanoseconds a float a thread beside it.
// --segments lists the last step's pipelines and native steps by time, as they ran.
// --without-native runs the native backend's kernels, convolutions and matmuls included, as gpu.js's own
// kernels and pipelines (the baseline of the native GEMMs and JavaScript kernels, side by side
// on the same build); --gpujs-kernels keeps the native GEMMs and only the other kernels in gpu.js;
// --without-simd keeps those kernels' element loops in JavaScript, not WebAssembly SIMD.
// --without-tiled runs webgpu's convolutions and matmuls as gpu.js's kernels in gpu.js's
// pipelines, as before the tiled kernels and device runs (their baseline on the same GPU).

import { describeMultiplyAdd } from '../lib/native/relaxed-simd.ts';
import { parseArgs } from 'node:util';
import {
  cifarTrainAugmentation, invariantSpreadingLoss, key, materialize, resnet18Cifar, sgd, smallCifarEncoder, split,
} from '../lib/index.ts';
import type { Encoder } from '../lib/nn/encoder.ts';
import type { Images, Tensor } from '../lib/tensor.ts';
import type { TensorTree } from '../lib/tree.ts';
import { type BackendName, type CompiledFunction, compile } from '../lib/compile/index.ts';
import { trainingStep, trainingStepOnViews } from '../lib/train/training-step.ts';
import { twoViews } from '../lib/augment/compose.ts';
import type { Key } from '../lib/random/key.ts';
import { timeCopies } from './memory-copy.ts';
import { flattenTree, unflattenTree } from '../lib/tree.ts';
import { evaluateNodes } from '../lib/interpret.ts';

const { values: flags } = parseArgs({
  options: {
    backend: { type: 'string' },
    encoder: { type: 'string', default: 'small' },
    batch: { type: 'string', default: '128' },
    steps: { type: 'string', default: '3' },
    profile: { type: 'boolean', default: false },
    segments: { type: 'boolean', default: false },
    'without-native': { type: 'boolean', default: false },
    'gpujs-kernels': { type: 'boolean', default: false },
    'without-simd': { type: 'boolean', default: false },
    'without-tiled': { type: 'boolean', default: false },
    'without-model-only': { type: 'boolean', default: false },
  },
});
const batch = Number(flags.batch);
const steps = Number(flags.steps);
const modelOnly = !flags['without-model-only'];

if (flags.encoder !== 'small' && flags.encoder !== 'resnet18') throw new Error(`--encoder must be small or resnet18; got "${flags.encoder}"`);
// Typed loosely: the parameter trees' structure depends on the encoder chosen at run time.
const encoder = (flags.encoder === 'small' ? smallCifarEncoder() : resnet18Cifar()) as unknown as Encoder<TensorTree, TensorTree>;
const model = { encoder, objective: (features: Tensor<readonly [number, number]>) => invariantSpreadingLoss(features), optimizer: (learningRate: Tensor<readonly []> | number) => sgd({ learningRate }) };
const step = trainingStep({ ...model, augmentation: cifarTrainAugmentation });
const stepOnViews = trainingStepOnViews(model);
const drawViews = ({ key: viewKey, images: batchImages }: { key: Key; images: Images }) => twoViews(viewKey, batchImages, cifarTrainAugmentation);

// Concrete starting values: the initialised parameters, zero momentum, random images.
const initial = materialize(encoder.init(key(0)));
const optimizerState = materialize(sgd({ learningRate: 0.03 }).init(initial.params));
const toValues = (tree: unknown) => {
  const { leaves } = flattenTree(tree);
  return unflattenTree(tree, evaluateNodes(leaves).map((v) => ({ shape: [...v.shape], data: Float32Array.from(v.data) })));
};
const images = { shape: [batch, 3, 32, 32], data: Float32Array.from({ length: batch * 3 * 32 * 32 }, (_, i) => (Math.sin(i * 0.37) + 1) / 2) };
let args = {
  params: toValues(initial.params),
  state: toValues(initial.state),
  optimizerState: toValues(optimizerState),
  images,
  key: toValues(key(1)),
  learningRate: { shape: [], data: Float32Array.of(0.03) },
};

type TracedStep = (args: unknown) => { loss: Tensor; params: unknown; state: unknown; optimizerState: unknown };
type StepResult = Awaited<ReturnType<CompiledFunction<unknown, ReturnType<TracedStep>>>>;
const options = {
  backend: flags.backend as BackendName | undefined,
  profile: flags.profile,
  limits: { nativeKernels: !flags['without-native'], javascriptKernels: !flags['gpujs-kernels'], simdLoops: !flags['without-simd'], tiledKernels: !flags['without-tiled'] },
};
const compiled = compile(step as TracedStep, options);
const compiledOnViews = modelOnly ? compile(stepOnViews as TracedStep, options) : undefined;
const compiledViews = modelOnly ? compile(drawViews as (args: unknown) => Tensor, options) : undefined;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (milliseconds: number) => `${(milliseconds / 1000).toFixed(2)} s`;

/** One timed call: its wall time, and the CPU time of every thread of the process. */
const timedCall = async (run: () => Promise<StepResult>) => {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const result = await run();
  const milliseconds = performance.now() - start;
  // On a busy machine the CPU time shows the work a step takes when wall time cannot.
  const cpu = process.cpuUsage(cpuStart);
  return { result, milliseconds, cpu: `${((cpu.user + cpu.system) / 1e6).toFixed(2)} s of CPU time` };
};
/** The model-only step's arguments: the full step's, with the views drawn from its images and key in place of both. */
const onViews = async ({ images: batchImages, key: viewKey, ...rest }: typeof args) => ({ ...rest, views: await compiledViews!({ images: batchImages, key: viewKey } as never) });
const carried = (from: StepResult) => ({ params: from.params as never, state: from.state as never, optimizerState: from.optimizerState as never });

const startWarm = performance.now();
let out = await compiled(args as never);
const warmUp = performance.now() - startWarm;
console.log(`warm-up step (trace + ${compiled.stats().kernelsBuilt} kernels + run): ${(warmUp / 1000).toFixed(1)} s, loss ${out.loss.data[0].toFixed(4)}`);
// The model-only step starts from the same parameters and runs on the same key's views, so
// its losses are the full step's: the same computation, timed without the augmentation.
let modelArgs = args;
let modelOut: StepResult | undefined;
if (compiledOnViews !== undefined && compiledViews !== undefined) {
  const start = performance.now();
  const views = await onViews(modelArgs);
  modelOut = await compiledOnViews(views as never);
  const kernels = compiledViews.stats().kernelsBuilt + compiledOnViews.stats().kernelsBuilt;
  console.log(`model-only warm-up (views drawn, trace + ${kernels} kernels + run): ${((performance.now() - start) / 1000).toFixed(1)} s, loss ${modelOut.loss.data[0].toFixed(4)}`);
}
const times: number[] = [];
const modelTimes: number[] = [];
let stepKey = key(2);
for (let s = 0; s < steps; s++) {
  [stepKey] = split(stepKey, 2);
  const stepKeyValue = toValues(stepKey);
  args = { ...args, ...carried(out), key: stepKeyValue };
  const full = await timedCall(() => compiled(args as never));
  out = full.result;
  times.push(full.milliseconds);
  let line = `step ${s + 1}: ${seconds(full.milliseconds)}, ${full.cpu}, loss ${out.loss.data[0].toFixed(4)}`;
  if (compiledOnViews !== undefined && modelOut !== undefined) {
    modelArgs = { ...modelArgs, ...carried(modelOut), key: stepKeyValue };
    const views = await onViews(modelArgs);
    const onlyModel = await timedCall(() => compiledOnViews(views as never));
    modelOut = onlyModel.result;
    modelTimes.push(onlyModel.milliseconds);
    line += `; model only ${seconds(onlyModel.milliseconds)}, ${onlyModel.cpu}, loss ${modelOut.loss.data[0].toFixed(4)}`;
  }
  console.log(line);
}
const stepSeconds = median(times) / 1000;
const modelSeconds = modelTimes.length > 0 ? median(modelTimes) / 1000 : undefined;
const report = compiled.report()!;
if (flags.segments && report.segments) {
  // Pipelines and native steps as they ran in the last step (pipelined, unlike --profile).
  console.log('segments of the last step, slowest first:');
  for (const s of [...report.segments].sort((a, b) => b.milliseconds - a.milliseconds).slice(0, 15))
    console.log(`${s.milliseconds.toFixed(1).padStart(9)} ms  ${s.kind.padEnd(8)} ${s.nodes.length} node(s): ${s.nodes.join(' ').slice(0, 140)}`);
}
if (flags.profile) {
  // Kernels run one by one here (on webgpu each submitted and waited for; elsewhere each input
  // copied in and each output read back), so the total is above a pipelined step's; the ranking
  // shows where the time goes.
  const profile = compiled.report()!.profile!;
  const total = profile.reduce((a, k) => a + k.milliseconds, 0);
  console.log(`profile of the last step: ${profile.length} kernels, ${total.toFixed(0)} ms in all; the slowest:`);
  for (const k of profile.slice(0, 15)) console.log(`${k.milliseconds.toFixed(1).padStart(9)} ms  ${k.node}  <- ${k.fused.slice(0, 150)}`);
}
// The JavaScript kernels' speed against a plain memory copy of the first stage's activations,
// timed now, in the same process and under the same load.
const javascriptKernels = flags.profile ? compiled.report()!.profile!.filter((k) => k.work !== undefined) : [];
let elementwise: { kernel_ns_per_float_thread: number; copy_ns_per_float_thread: number; copy_ns_per_float_thread_pool: number } | undefined;
if (javascriptKernels.length > 0) {
  const copyFloats = 2 * batch * 32 * 32 * 32;
  const copies = await timeCopies(copyFloats);
  console.log(`a plain memory copy of ${copyFloats} floats ([${2 * batch}, 32, 32, 32]), median of 5:`);
  for (const c of copies) console.log(`${c.milliseconds.toFixed(1).padStart(9)} ms  ${c.threads} thread(s)  ${c.nsPerFloatPerThread.toFixed(2).padStart(6)} ns a float a thread  ${c.name}`);
  // A float here is one output element's inner-loop pass (an elementwise kernel makes one pass
  // an element; a reduction one per value it reads), its time multiplied by the threads it ran on.
  const nsPerFloatThread = (k: (typeof javascriptKernels)[number]) => (k.milliseconds * 1e6 * k.work!.threads) / (k.work!.elements * k.work!.passes);
  const poolCopy = copies[1].nsPerFloatPerThread;
  const kernelMilliseconds = javascriptKernels.reduce((a, k) => a + k.milliseconds, 0);
  console.log(`JavaScript kernels of the profiled step: ${javascriptKernels.length}, ${kernelMilliseconds.toFixed(0)} ms; the slowest, in ns a float (output element x pass) a thread, and as multiples of the pool's split copy:`);
  console.log(`${'ms'.padStart(9)}  ${'elements'.padStart(9)} x ${'passes'.padEnd(6)} threads  ns/float/thread  x copy  loop  kernel`);
  for (const k of javascriptKernels.slice(0, 12)) {
    const ns = nsPerFloatThread(k);
    console.log(
      `${k.milliseconds.toFixed(1).padStart(9)}  ${String(k.work!.elements).padStart(9)} x ${String(k.work!.passes).padEnd(6)} ${String(k.work!.threads).padStart(7)}  ${ns.toFixed(2).padStart(15)}  ${(ns / poolCopy).toFixed(1).padStart(6)}  ${k.work!.simd ? 'SIMD' : 'JS  '}  ${k.node} <- ${k.fused.slice(0, 90)}`,
    );
  }
  const simd = javascriptKernels.filter((k) => k.work!.simd);
  console.log(`element loops as WebAssembly SIMD: ${simd.length} of ${javascriptKernels.length} kernels, ${simd.reduce((a, k) => a + k.milliseconds, 0).toFixed(0)} of ${kernelMilliseconds.toFixed(0)} ms`);
  // All the kernels together: their time over all their floats, each weighted by its work.
  const totalWork = javascriptKernels.reduce((a, k) => a + k.work!.elements * k.work!.passes, 0);
  const threadNanoseconds = javascriptKernels.reduce((a, k) => a + k.milliseconds * 1e6 * k.work!.threads, 0);
  const kernelNs = threadNanoseconds / totalWork;
  console.log(`all JavaScript kernels: ${kernelNs.toFixed(2)} ns a float a thread, ${(kernelNs / poolCopy).toFixed(1)} x the pool's split copy (${poolCopy.toFixed(2)}), ${(kernelNs / copies[0].nsPerFloatPerThread).toFixed(1)} x the main thread's (${copies[0].nsPerFloatPerThread.toFixed(2)})`);
  elementwise = {
    kernel_ns_per_float_thread: Number(kernelNs.toFixed(3)),
    copy_ns_per_float_thread: Number(copies[0].nsPerFloatPerThread.toFixed(3)),
    copy_ns_per_float_thread_pool: Number(poolCopy.toFixed(3)),
  };
}
console.log(
  `backend ${report.backend} (${report.adapter ? `adapter ${report.adapter}, ` : ''}kernels ${report.kernelMode}, executor ${report.executorKind}` +
    `${report.skipped.length ? `; passed over: ${report.skipped.map((s) => `${s.backend} (${s.reason})`).join(', ')}` : ''})`,
);
const native = report.native ? `; native steps ${report.native.steps} (GEMMs and max pooling gradients) on ${report.native.threads} worker threads, multiply-add ${describeMultiplyAdd(report.native.multiplyAdd)}` : '';
const kernelThreads = report.executorKind === 'native-pool' ? 'JavaScript kernels on the native pool' : 'gpu.js pipelines';
if (report.device)
  console.log(
    `device runs: ${report.device.tiledSteps} tiled convolutions and matmuls and ${report.device.kernels} of gpu.js's kernels in ${report.device.submissions} submission(s); ` +
      `last step ${report.device.uploadedBytes} bytes up, ${report.device.readBackBytes} bytes back, ${report.milliseconds?.pipelines} ms from the first write to the last read`,
  );
else console.log(`threads: ${kernelThreads} ${report.pipelineThreads ?? 'none ran'}${native}; last step ${report.milliseconds?.pipelines} ms in kernels, ${report.milliseconds?.native} ms in native steps`);
console.log(`${flags.encoder} encoder, batch 2 x ${batch}: ${(batch / stepSeconds).toFixed(2)} instances/s (${((2 * batch) / stepSeconds).toFixed(2)} views/s), median of ${steps} steps`);
if (modelSeconds !== undefined)
  console.log(
    `with augmentation ${(batch / stepSeconds).toFixed(2)} instances/s, model only ${(batch / modelSeconds).toFixed(2)} instances/s ` +
      `(the augmentation ${(100 * (1 - modelSeconds / stepSeconds)).toFixed(0)}% of the step), medians of the same ${steps} alternating steps`,
  );
console.log(JSON.stringify({
  benchmark: 'step', encoder: flags.encoder, instances_per_second: Number((batch / stepSeconds).toFixed(3)),
  ...(modelSeconds === undefined ? {} : { model_only_instances_per_second: Number((batch / modelSeconds).toFixed(3)) }),
  backend: report.backend, kernels: report.kernelMode, ...(report.adapter ? { adapter: report.adapter } : {}), batch, steps,
  seconds_per_step: Number(stepSeconds.toFixed(3)), ...(modelSeconds === undefined ? {} : { model_only_seconds_per_step: Number(modelSeconds.toFixed(3)) }),
  pipeline_threads: report.pipelineThreads, native_threads: report.native?.threads ?? 0, ...(report.native ? { multiply_add: describeMultiplyAdd(report.native.multiplyAdd) } : {}), ...(elementwise ?? {}),
  ...(report.device ? { tiled_steps: report.device.tiledSteps, uploaded_bytes: report.device.uploadedBytes, read_back_bytes: report.device.readBackBytes } : {}),
}));
await compiled.destroy();
await compiledOnViews?.destroy();
await compiledViews?.destroy();
