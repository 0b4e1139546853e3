// Which backends the compiled-equals-interpreted tests run on, and under which limits.
//
// By default every backend that answers here: cpu, native, headlessgl where a GL context
// exists, and webgpu where a WebGPU adapter answered (in Node, through Dawn's binding: a GPU, or
// Mesa's lavapipe on a CPU). TEST_BACKENDS (a comma list) names them instead: `npm run
// test:webgpu` runs the suite with TEST_BACKENDS=webgpu, at the adapter's storage-buffer limit
// and with TEST_STORAGE_BUFFERS=8, WebGPU's default.

import { isLeft } from 'fp-ts/lib/Either.js';
import { GPU } from 'gpu.js';
import { type BackendName, backendNamed, backendNames } from '../lib/compile/index.ts';
import type { CompileLimits } from '../lib/compile/capabilities.ts';
import { webgpuDevice } from '../lib/compile/webgpu.ts';

const environment = (name: string): string | undefined => (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env[name];

const named = (environment('TEST_BACKENDS') ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '').map((name) => {
  const backend = backendNamed(name);
  if (backend === undefined) throw new Error(`TEST_BACKENDS: unknown backend "${name}"; choose from ${backendNames.join(', ')}`);
  return backend;
});

const webgpu = named.length > 0 && !named.includes('webgpu') ? undefined : await webgpuDevice();
if (named.includes('webgpu') && webgpu !== undefined && isLeft(webgpu)) throw new Error(`TEST_BACKENDS names webgpu, but it cannot run here: ${webgpu.left}`);

/** Whether TEST_BACKENDS chose the backends (rather than every one that answers here). */
export const backendsNamed = named.length > 0;

/** The backends of the compiled-equals-interpreted suite. */
export const testBackends: readonly BackendName[] =
  named.length > 0
    ? (named as BackendName[])
    : ['cpu', 'native', ...(GPU.isHeadlessGLSupported ? (['headlessgl'] as const) : []), ...(webgpu !== undefined && !isLeft(webgpu) ? (['webgpu'] as const) : [])];

/** The slower whole-program tests run on these: not cpu, whose kernels are plain JavaScript. */
export const fastBackends: readonly BackendName[] = named.length > 0 ? testBackends : testBackends.filter((b) => b !== 'cpu' && b !== 'headlessgl');

const storageBuffers = Number(environment('TEST_STORAGE_BUFFERS'));

/** Limits every compile in the suite is given (TEST_STORAGE_BUFFERS lowers the storage buffers a kernel may bind). */
export const testLimits: CompileLimits = Number.isInteger(storageBuffers) && storageBuffers > 1 ? { storageBuffersPerKernel: storageBuffers } : {};
