// WebGPU for gpu.js, wherever an adapter answers: a browser's or Deno's `navigator.gpu`, or in
// Node Dawn's binding (the `webgpu` package), installed as `navigator.gpu` when none is there.
// Whether webgpu can run is decided by an adapter that really answered, never by the API's
// mere presence, and when it cannot, the reason is the loader's or the runtime's own words.
//
// gpu.js asks its device for large storage bindings but not for more storage buffers per
// kernel than WebGPU's default of 8; the adapter handed to gpu.js asks for all the adapter
// offers, and the compiler is told that number (`WebGPUDevice.storageBuffersPerKernel`).

import { type Either, isLeft, left, right } from 'fp-ts/lib/Either.js';
import * as gpuJs from 'gpu.js';

/** What the compiler needs to know of the device gpu.js will get. */
export interface WebGPUDevice {
  /** The adapter's own description (e.g. "NVIDIA H200", "llvmpipe (LLVM 15.0.6, 256 bits)"). */
  readonly adapter: string;
  /** Storage buffers one kernel may bind: its inputs and its output. */
  readonly storageBuffersPerKernel: number;
  /** Workgroups per dispatch dimension: with gpu.js's workgroups of 8 x 8 x 1, z's extent. */
  readonly workgroupsPerDimension: number;
  /** Bytes one storage buffer may hold. */
  readonly bufferBytes: number;
}

type AdapterLike = { limits: Record<string, number>; info?: { description?: string; device?: string; vendor?: string }; requestDevice: (descriptor?: any) => Promise<any> };
type GpuLike = { requestAdapter: (options?: unknown) => Promise<AdapterLike | null> };

const firstLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0];

/**
 * Assigning a function to `device.onuncapturederror` throws in Dawn's Node binding ("object is
 * not of the correct interface type"), and gpu.js assigns one to every device it makes. Where
 * the assignment throws, an own property shadows the binding's: a handler assigned to it is
 * added with addEventListener where the device has one. Errors gpu.js checks itself (shader
 * compilation, pipeline creation) are raised either way.
 */
const acceptErrorHandler = (device: any): any => {
  try {
    device.onuncapturederror = () => {};
    device.onuncapturederror = null;
    return device;
  } catch {
    let handler: ((event: unknown) => void) | null = null;
    Object.defineProperty(device, 'onuncapturederror', {
      configurable: true,
      get: () => handler,
      set: (next: ((event: unknown) => void) | null) => {
        if (handler !== null) device.removeEventListener?.('uncapturederror', handler);
        handler = next;
        if (next !== null) device.addEventListener?.('uncapturederror', next);
      },
    });
    return device;
  }
};

/** The adapter as gpu.js sees it: its device asks for every storage buffer the adapter has. */
const adapterForGpuJs = (adapter: AdapterLike): AdapterLike => ({
  limits: adapter.limits,
  info: adapter.info,
  requestDevice: async (descriptor: { requiredLimits?: Record<string, number> } = {}) =>
    acceptErrorHandler(
      await adapter.requestDevice({
        ...descriptor,
        requiredLimits: { ...descriptor.requiredLimits, maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage },
      }),
    ),
});

const host = globalThis as { navigator?: { gpu?: GpuLike } };

/** The runtime's own WebGPU, or Dawn's; Left with the reason when neither loads. */
const loadGpu = async (): Promise<Either<string, { gpu: GpuLike; install: (gpu: GpuLike) => () => void }>> => {
  if (host.navigator?.gpu !== undefined) {
    const navigator = host.navigator;
    const own = navigator.gpu!;
    return right({
      gpu: own,
      install: (gpu) => {
        Object.defineProperty(navigator, 'gpu', { value: gpu, configurable: true, writable: true });
        return () => Object.defineProperty(navigator, 'gpu', { value: own, configurable: true, writable: true });
      },
    });
  }
  let dawn: { create: (options: string[]) => GpuLike; globals: Record<string, unknown> };
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn;
  } catch (error) {
    return left(`Dawn's Node binding (the webgpu package) does not load here: ${firstLine(error)}`);
  }
  // gpu.js reads the WebGPU constants (GPUBufferUsage, GPUMapMode, ...) as globals.
  for (const [name, value] of Object.entries(dawn.globals)) if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
  let gpu: GpuLike;
  try {
    gpu = dawn.create([]);
  } catch (error) {
    return left(`Dawn's Node binding loaded but could not start: ${firstLine(error)}`);
  }
  return right({
    gpu,
    install: (wrapped) => {
      const made = host.navigator === undefined;
      if (made) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
      Object.defineProperty(host.navigator!, 'gpu', { value: wrapped, configurable: true, writable: true });
      return () => {
        if (made) delete host.navigator;
        else delete host.navigator!.gpu;
      };
    },
  });
};

// gpu.js's module-wide device, shared by every webgpu kernel (exported, but not in its types).
const { WebGPUContext } = gpuJs as unknown as { WebGPUContext: { destroy: () => Promise<void> } };

interface Installed {
  readonly device: WebGPUDevice;
  /** Puts back what was there before (Dawn keeps a process alive while its GPU object is reachable). */
  readonly uninstall: () => void;
}

/** Loads WebGPU, asks for an adapter and makes it the one gpu.js will use. */
const install = async (): Promise<Either<string, Installed>> => {
  const loaded = await loadGpu();
  if (loaded._tag === 'Left') return loaded;
  const { gpu, install } = loaded.right;
  let adapter: AdapterLike | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (error) {
    return left(`asking for a WebGPU adapter failed: ${firstLine(error)}`);
  }
  if (adapter === null) return left('no WebGPU adapter answered (navigator.gpu.requestAdapter() gave null)');
  const chosen = adapter;
  const uninstall = install({ requestAdapter: async () => adapterForGpuJs(chosen) });
  const { limits } = adapter;
  return right({
    uninstall,
    device: {
      adapter: adapter.info?.description || adapter.info?.device || adapter.info?.vendor || 'unnamed adapter',
      storageBuffersPerKernel: limits.maxStorageBuffersPerShaderStage,
      workgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      bufferBytes: Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize),
    },
  });
};

let installed: Promise<Either<string, Installed>> | undefined;
let holders = 0;

/**
 * Holds WebGPU for a compiled function: Right with the device's limits and a release, Left with
 * why webgpu cannot run here. When the last holder releases, gpu.js's shared device is
 * destroyed and what was installed is removed, so that a Node process can exit; a later
 * holder installs afresh.
 */
export const acquireWebGPU = async (): Promise<Either<string, { device: WebGPUDevice; release: () => Promise<void> }>> => {
  holders++;
  const result = await (installed ??= install());
  if (isLeft(result)) {
    if (--holders === 0) installed = undefined;
    return result;
  }
  let released = false;
  return right({
    device: result.right.device,
    release: async () => {
      if (released) return;
      released = true;
      if (--holders > 0) return;
      installed = undefined;
      await WebGPUContext.destroy();
      result.right.uninstall();
    },
  });
};

let answer: Promise<Either<string, WebGPUDevice>> | undefined;

/** Whether webgpu can run here (an adapter answered), and its limits; asked once per process. */
export const webgpuDevice = (): Promise<Either<string, WebGPUDevice>> =>
  (answer ??= acquireWebGPU().then(async (held) => {
    if (isLeft(held)) return held;
    await held.right.release();
    return right(held.right.device);
  }));
