// Dawn's behaviour in Node, tested rather than assumed, wherever a WebGPU adapter answers (on a
// CPU machine, Mesa's lavapipe): the device asks for the adapter's storage-buffer limit, an error
// the device reports becomes the call's error naming the kernel, a process exits by itself once
// its last compiled function is destroyed, many functions one after another or at once neither
// crash nor leak devices, and a software adapter is passed over by the default choice.
// With no adapter these tests say why and pass, unless REQUIRE_WEBGPU is set (as .ci/run does).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isLeft } from 'fp-ts/lib/Either.js';
import * as gpuJs from 'gpu.js';
import { add, exp, mul, type Tensor } from '../lib/index.ts';
import { chooseBackend, compile, planKernels, webgpuDevice } from '../lib/compile/index.ts';
import { capabilitiesOf } from '../lib/compile/capabilities.ts';
import { webgpuDevicesAlive } from '../lib/compile/webgpu.ts';

const device = await webgpuDevice();
const skip = isLeft(device) ? `no WebGPU adapter answered here: ${device.left}` : false;

test('webgpu is covered where CI promises it', () => {
  if (process.env.REQUIRE_WEBGPU) assert.equal(skip, false, 'REQUIRE_WEBGPU is set');
});

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => ((i * 7 + seed * 13) % 17) / 8 - 1);

test("the device gpu.js gets asks for the adapter's storage buffers, and a kernel may read all of them", { skip }, async () => {
  if (isLeft(device)) return;
  const buffers = device.right.storageBuffersPerKernel;
  assert.ok(buffers >= 8, `${buffers} storage buffers a kernel`);
  // A sum of as many inputs as a kernel may read, besides its output: one kernel on this device.
  const inputs = buffers - 1;
  const f = (xs: Tensor[]) => xs.reduce((total, x, i) => add(total, mul(x, x)));
  const args = Array.from({ length: inputs }, (_, i) => ({ shape: [3, 5], data: values(15, i) }));
  assert.equal(planKernels(f, args, capabilitiesOf('webgpu', device.right)).segments.flatMap((s) => ('steps' in s ? s.steps : [])).length, 1);
  const compiled = compile(f, { backend: 'webgpu' });
  try {
    const out = await compiled(args);
    assert.equal(compiled.stats().kernelsBuilt, 1);
    const { device: gpuDevice } = await (gpuJs as unknown as { WebGPUContext: { acquire: () => Promise<{ device: { limits: { maxStorageBuffersPerShaderStage: number } } }> } }).WebGPUContext.acquire();
    assert.equal(gpuDevice.limits.maxStorageBuffersPerShaderStage, buffers);
    for (let j = 0; j < 15; j++) {
      const expected = args.reduce((total, { data }) => total + data[j] * data[j], 0) - args[0].data[j] * args[0].data[j] + args[0].data[j];
      assert.ok(Math.abs(out.data[j] - expected) <= 1e-5 * Math.max(1, Math.abs(expected)), `element ${j}: ${out.data[j]}, expected ${expected}`);
    }
  } finally {
    await compiled.destroy();
  }
});

test("an error the device reports while a kernel runs is the call's error, naming the kernel", { skip }, async () => {
  const x = { shape: [4, 4], data: values(16, 1) };
  const first = compile(({ x }: { x: Tensor }) => exp(x), { backend: 'webgpu' });
  const second = compile(({ x }: { x: Tensor }) => add(mul(x, x), x), { backend: 'webgpu' });
  type Device = { createBindGroup: (descriptor: { entries: unknown[] }) => unknown };
  let planted: { device: Device; original: Device['createBindGroup'] } | undefined;
  try {
    await first({ x });
    // A fault planted in what gpu.js asks of the shared device: a bind group one binding short
    // of its layout, which Dawn rejects outside any error scope.
    const { device: shared } = await (gpuJs as unknown as { WebGPUContext: { acquire: () => Promise<{ device: Device }> } }).WebGPUContext.acquire();
    planted = { device: shared, original: shared.createBindGroup };
    const original = planted.original;
    shared.createBindGroup = (descriptor) => original.call(shared, { ...descriptor, entries: descriptor.entries.slice(0, -1) });
    await assert.rejects(second({ x }), (error: Error) => {
      assert.match(error.message, /^compile: webgpu reported an error running the kernel add#\d+\[4, 4\] \(fused: add#\d+\[4, 4\], mul#\d+\[4, 4\]\): GPUValidationError: Number of entries/, error.message);
      assert.match(error.message, /the device reported \d+ errors, each in turn:\n {2}GPUValidationError/);
      return true;
    });
  } finally {
    if (planted !== undefined) planted.device.createBindGroup = planted.original;
    await first.destroy();
    await second.destroy();
  }
  assert.equal(webgpuDevicesAlive(), 0, 'devices alive after the last compiled function was destroyed');
});

const processScript = fileURLToPath(new URL('./fixtures/webgpu-process.ts', import.meta.url));

/** Runs the fixture in a Node process of its own and waits for it to exit by itself. */
const runProcess = (args: string[], seconds: number): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', processScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    // A process that does not exit by itself is killed, and the test fails saying so.
    const timer = setTimeout(() => child.kill('SIGKILL'), seconds * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });

const assertExitedCleanly = (result: Awaited<ReturnType<typeof runProcess>>, line: string) => {
  assert.equal(result.signal, null, `the process ended by ${result.signal}${result.signal === 'SIGKILL' ? ' (it did not exit by itself in time)' : ''}; stderr: ${result.stderr.slice(-2000)}`);
  assert.equal(result.code, 0, `exit code ${result.code}; stderr: ${result.stderr.slice(-2000)}`);
  assert.equal(result.stdout.trim(), line);
};

test('a Node process exits by itself once its last compiled function on webgpu is destroyed', { skip }, async () => {
  assertExitedCleanly(await runProcess(['once'], 60), 'once: 1 checked, devices alive 0');
});

test('100 compiled functions one after another on webgpu, with garbage collected while each runs: no crash, no device left', { skip }, async () => {
  assertExitedCleanly(await runProcess(['sequence', '100'], 180), 'sequence: 100 checked, devices alive 0');
});

test('8 compiled functions at once on webgpu: no crash, no device left', { skip }, async () => {
  assertExitedCleanly(await runProcess(['together', '8'], 60), 'together: 8 checked, devices alive 0');
});

test('a software adapter is passed over by the default choice, saying why, and still runs when asked for', { skip }, async () => {
  if (isLeft(device)) return;
  const choice = await chooseBackend();
  assert.ok(!isLeft(choice));
  try {
    if (device.right.software) {
      assert.notEqual(choice.right.backend, 'webgpu');
      const passed = choice.right.skipped.find((s) => s.backend === 'webgpu');
      assert.ok(passed !== undefined, 'webgpu is listed as passed over');
      assert.match(passed.reason, /software rasteriser on the CPU \(.+\), slower than the native CPU path/);
      assert.ok(passed.reason.includes(device.right.adapter), passed.reason);
    } else assert.equal(choice.right.backend, 'webgpu');
  } finally {
    await choice.right.release();
  }
  const requested = await chooseBackend('webgpu');
  assert.ok(!isLeft(requested), 'webgpu runs when asked for');
  assert.equal(requested.right.adapter, device.right.adapter);
  await requested.right.release();
  assert.equal(webgpuDevicesAlive(), 0);
});
