// WebGPU for gpu.js, wherever an adapter answers: a browser's or Deno's `navigator.gpu`, or in
// Node Dawn's binding (the `webgpu` package), installed as `navigator.gpu` when none is there.
// Whether webgpu can run is decided by an adapter that really answered, never by the API's
// mere presence, and when it cannot, the reason is the loader's or the runtime's own words.
//
// gpu.js asks its device for large storage bindings but not for more storage buffers per
// kernel than WebGPU's default of 8; the adapter handed to gpu.js asks for all the adapter
// offers, and the compiler is told that number (`WebGPUDevice.storageBuffersPerKernel`). It asks
// for the adapter's workgroup memory and invocations too, for the tiled kernels that run on
// gpu.js's device (lib/webgpu/).
//
// Dawn's instance (the object `create()` returns) is loaded once and held for the life of the
// process. Its adapters and devices do not keep it alive, yet the binding processes their
// events through it on a timer: an instance the garbage collector took was freed under them,
// and the process died in `InstanceBase::ProcessEvents` (a segmentation fault, "std::system_error:
// Invalid argument" or a futex error, depending on what the freed memory then held). Holding it
// does not keep Node from exiting: a process ends once its last work is done, devices or not.

import { type Either, isLeft, left, right } from 'fp-ts/lib/Either.js';
import * as gpuJs from 'gpu.js';

/** What the compiler needs to know of the device gpu.js will get. */
export interface WebGPUDevice {
  /** The adapter's own description (e.g. "NVIDIA H200", "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)"). */
  readonly adapter: string;
  /**
   * Whether the adapter is a software rasteriser on the CPU (lavapipe, SwiftShader): it says so
   * itself (`isFallbackAdapter`), or names one. Such an adapter is correct but far slower than
   * the native CPU path.
   */
  readonly software: boolean;
  /** Storage buffers one kernel may bind: its inputs and its output. */
  readonly storageBuffersPerKernel: number;
  /** Workgroups per dispatch dimension: with gpu.js's workgroups of 8 x 8 x 1, z's extent. */
  readonly workgroupsPerDimension: number;
  /** Bytes one storage buffer may hold. */
  readonly bufferBytes: number;
}

interface AdapterInfoLike {
  readonly description?: string;
  readonly device?: string;
  readonly vendor?: string;
  readonly architecture?: string;
  readonly isFallbackAdapter?: boolean;
}
type AdapterLike = { limits: Record<string, number>; info?: AdapterInfoLike; isFallbackAdapter?: boolean; requestDevice: (descriptor?: any) => Promise<any> };
type GpuLike = { requestAdapter: (options?: unknown) => Promise<AdapterLike | null> };

const firstLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0];

/** Software rasterisers that older bindings do not flag as fallback adapters. */
const softwareRasterisers = /llvmpipe|lavapipe|swiftshader|softpipe|warp/i;

const isSoftware = (adapter: AdapterLike): boolean =>
  adapter.info?.isFallbackAdapter === true ||
  adapter.isFallbackAdapter === true ||
  adapter.info?.architecture === 'software' ||
  softwareRasterisers.test(`${adapter.info?.description ?? ''} ${adapter.info?.device ?? ''}`);

/**
 * Errors the device reported outside any error scope (a validation error in a command gpu.js
 * issued, an out-of-memory), in the order they came. gpu.js would only print them; instead they
 * wait here until `compile` takes them after a pipeline ran and raises them as that pipeline's
 * error, naming its kernels. Whatever no one takes is printed when the device is released.
 */
const deviceErrors: string[] = [];

/** The device errors reported since the last call, oldest first. */
const takeDeviceErrors = (): string[] => deviceErrors.splice(0);

const errorMessage = (event: unknown): string => {
  const error = (event as { error?: { message?: string; constructor?: { name?: string } } }).error;
  const kind = error?.constructor?.name;
  const message = (error?.message ?? String(event)).trim();
  return kind !== undefined && kind !== 'Object' && kind !== 'Error' ? `${kind}: ${message}` : message;
};

/**
 * The device as gpu.js gets it: the uncaptured-error handler gpu.js assigns (which prints and
 * forgets) is kept aside and never called; the device's errors go to `deviceErrors`. Dawn's
 * older Node bindings threw on the assignment itself, which this also absorbs.
 */
const withErrorsCollected = (device: any): any => {
  const collect = (event: unknown) => deviceErrors.push(errorMessage(event));
  if (typeof device.addEventListener === 'function') device.addEventListener('uncapturederror', collect);
  else device.onuncapturederror = collect;
  let assigned: unknown = null;
  Object.defineProperty(device, 'onuncapturederror', {
    configurable: true,
    get: () => assigned,
    set: (handler: unknown) => {
      assigned = handler;
    },
  });
  return device;
};

/** Devices made for gpu.js that are not yet lost or destroyed. */
const liveDevices = new Set<{ destroy: () => void; lost: Promise<unknown> }>();

/** How many WebGPU devices this process holds now (none once the last holder released). */
export const webgpuDevicesAlive = (): number => liveDevices.size;

/**
 * Limits the device gpu.js gets asks for at the adapter's own values: every storage buffer; a
 * buffer as large as the adapter allows, which the capabilities (`bufferBytes`, below) promise
 * the planner (a ResNet18 activation at batch 2 x 512 is 268 MB, past the default 128 MiB); and
 * the workgroup memory and invocations that the tiled kernels (lib/webgpu/) may use where the
 * adapter grants more than WebGPU's defaults of 16 KiB and 256.
 */
const adapterLimitsAskedFor = [
  'maxStorageBuffersPerShaderStage',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
] as const;

/** The adapter as gpu.js sees it: its device asks for the adapter's limits above. */
const adapterForGpuJs = (adapter: AdapterLike): AdapterLike => ({
  limits: adapter.limits,
  info: adapter.info,
  requestDevice: async (descriptor: { requiredLimits?: Record<string, number> } = {}) => {
    const device = await adapter.requestDevice({
      ...descriptor,
      requiredLimits: {
        ...descriptor.requiredLimits,
        ...Object.fromEntries(adapterLimitsAskedFor.flatMap((name) => (adapter.limits[name] === undefined ? [] : [[name, adapter.limits[name]]]))),
      },
    });
    liveDevices.add(device);
    device.lost.then(() => liveDevices.delete(device));
    return withErrorsCollected(device);
  },
});

const host = globalThis as { navigator?: { gpu?: GpuLike } };

interface LoadedGpu {
  readonly gpu: GpuLike;
  /** Makes `gpu` the `navigator.gpu` that gpu.js reads; returns what puts the old one back. */
  readonly install: (gpu: GpuLike) => () => void;
}

/** The runtime's own WebGPU, or Dawn's; Left with the reason when neither loads. */
const loadGpu = async (): Promise<Either<string, LoadedGpu>> => {
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

/** WebGPU as loaded once for this process; its `gpu` is Dawn's instance, held here for good. */
let loaded: Promise<Either<string, LoadedGpu>> | undefined;

// gpu.js's module-wide device, shared by every webgpu kernel (exported, but not in its types).
const { WebGPUContext } = gpuJs as unknown as { WebGPUContext: { destroy: () => Promise<void> } };

interface Installed {
  readonly device: WebGPUDevice;
  /** Puts back the `navigator.gpu` that was there before. */
  readonly uninstall: () => void;
}

/** Asks for an adapter and makes it the one gpu.js will use. */
const install = async (): Promise<Either<string, Installed>> => {
  const gpu = await (loaded ??= loadGpu());
  if (isLeft(gpu)) return gpu;
  let adapter: AdapterLike | null;
  try {
    adapter = await gpu.right.gpu.requestAdapter();
  } catch (error) {
    return left(`asking for a WebGPU adapter failed: ${firstLine(error)}`);
  }
  if (adapter === null) return left('no WebGPU adapter answered (navigator.gpu.requestAdapter() gave null)');
  const chosen = adapter;
  const uninstall = gpu.right.install({ requestAdapter: async () => adapterForGpuJs(chosen) });
  const { limits } = adapter;
  return right({
    uninstall,
    device: {
      adapter: adapter.info?.description || adapter.info?.device || adapter.info?.vendor || 'unnamed adapter',
      software: isSoftware(adapter),
      storageBuffersPerKernel: limits.maxStorageBuffersPerShaderStage,
      workgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      bufferBytes: Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize),
    },
  });
};

let installed: Promise<Either<string, Installed>> | undefined;
let holders = 0;
/** The last release's teardown: a new holder installs afresh only after it has finished. */
let tornDown: Promise<void> = Promise.resolve();

/**
 * Holds WebGPU for a compiled function: Right with the device's limits and a release, Left with
 * why webgpu cannot run here. When the last holder releases, gpu.js's shared device is
 * destroyed and `navigator.gpu` is put back; a later holder installs afresh once that is done.
 */
export const acquireWebGPU = async (): Promise<Either<string, { device: WebGPUDevice; release: () => Promise<void> }>> => {
  holders++;
  const current = (installed ??= tornDown.then(install));
  const result = await current;
  if (isLeft(result)) {
    if (--holders === 0 && installed === current) installed = undefined;
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
      tornDown = (async () => {
        await WebGPUContext.destroy();
        // gpu.js's device is the only one made; any other (one gpu.js dropped as lost) goes too.
        const devices = [...liveDevices];
        for (const device of devices) device.destroy();
        await Promise.all(devices.map((device) => device.lost));
        result.right.uninstall();
        for (const message of takeDeviceErrors()) console.error(`webgpu: the device reported, after the last kernel that ran: ${message}`);
      })();
      await tornDown;
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

/**
 * Runs `work` (a pipeline of kernels on the webgpu device) and raises, as its error, a failure or
 * anything the device reported while it ran, naming the kernels: a validation error leaves a
 * kernel's output undefined, so the call must not resolve as if it had worked. (The device's
 * errors are its own and not tagged by caller: two functions running at once on one device may
 * each see the other's, but none is lost.)
 */
export const raisingDeviceErrors = async <T>(kernels: string, work: () => Promise<T>): Promise<T> => {
  let result: T;
  try {
    result = await work();
  } catch (error) {
    throw new Error(`compile: webgpu failed running ${kernels}: ${firstLine(error)}${described(takeDeviceErrors())}`, { cause: error });
  }
  const reported = takeDeviceErrors();
  if (reported.length > 0) throw new Error(`compile: webgpu reported an error running ${kernels}: ${firstLine(reported[0])}${described(reported)}`);
  return result;
};

/** The device's errors in full, below the headline (Dawn says what it was doing when each arose). */
const described = (reported: readonly string[]): string =>
  reported.length === 0 ? '' : `\nthe device reported ${reported.length === 1 ? 'one error' : `${reported.length} errors, each in turn`}:\n${reported.map((message) => `  ${message.replaceAll('\n', '\n  ')}`).join('\n')}`;
