// Choosing a backend. The default takes the best that works here, in the order webgpu,
// headlessgl, native, cpu, and records why each better one was passed over; an explicitly
// requested backend that cannot run is an error, never a quiet substitute. Whether webgpu
// works is known only once an adapter answered, so the choice is asynchronous. A WebGPU adapter
// that is a software rasteriser (lavapipe, SwiftShader) runs correctly but far slower than the
// native CPU path, so the default passes it over, saying so; `backend: 'webgpu'` still takes it.

import { type Either, isLeft, left, right } from 'fp-ts/lib/Either.js';
import { GPU } from 'gpu.js';
import { type BackendName, backendNamed, backendNames, type BackendRequest, type Capabilities, capabilitiesOf, gpujsMode } from './capabilities.ts';
import { acquireWebGPU, type WebGPUDevice } from './webgpu.ts';

export { type BackendName, backendNamed, backendNames, type BackendRequest };

export interface BackendChoice {
  readonly backend: BackendName;
  readonly gpu: GPU;
  /** What the compiler must respect on this backend (with the WebGPU device's own limits). */
  readonly capabilities: Capabilities;
  /** The WebGPU adapter that answered, when the backend is webgpu. */
  readonly adapter?: string;
  /** The better backends that were passed over, and why. */
  readonly skipped: readonly { readonly backend: BackendName; readonly reason: string }[];
  /** Releases the GPU instance and, for webgpu, this choice's hold on the device. */
  readonly release: () => Promise<void>;
}

/** Why a backend cannot run here (Left). webgpu's answer is acquiring the device, in `choose`. */
const probe = async (backend: BackendName): Promise<Either<string, unknown>> => {
  switch (backend) {
    case 'webgpu':
      return right(undefined);
    case 'headlessgl':
      return GPU.isHeadlessGLSupported ? right(undefined) : left('no GL context (the optional `gl` package is not installed, or there is no display)');
    case 'native':
      return GPU.isWebAssemblySupported ? right(undefined) : left('WebAssembly is not supported by this runtime');
    case 'cpu':
      return right(undefined);
  }
};

const choose = async (backend: BackendName, skipped: BackendChoice['skipped'], requested: boolean): Promise<Either<string, BackendChoice>> => {
  let device: WebGPUDevice | undefined;
  let releaseDevice = async () => {};
  if (backend === 'webgpu') {
    const held = await acquireWebGPU();
    if (isLeft(held)) return held;
    ({ device, release: releaseDevice } = held.right);
    if (device.software && !requested) {
      await releaseDevice();
      return left(`the only WebGPU adapter is a software rasteriser on the CPU (${device.adapter}), slower than the native CPU path (webgpu still runs on it when asked for by name)`);
    }
  }
  const gpu = new GPU({ mode: gpujsMode(backend) });
  return right({
    backend,
    gpu,
    capabilities: capabilitiesOf(backend, device),
    ...(device === undefined ? {} : { adapter: device.adapter }),
    skipped,
    release: async () => {
      await gpu.destroy();
      await releaseDevice();
    },
  });
};

export const chooseBackend = async (request?: BackendRequest): Promise<Either<string, BackendChoice>> => {
  if (request !== undefined) {
    const requested = backendNamed(request);
    if (requested === undefined) return left(`unknown backend "${request}"; choose one of ${backendNames.join(', ')}`);
    const answer = await probe(requested);
    const choice = isLeft(answer) ? answer : await choose(requested, [], true);
    return isLeft(choice) ? left(`the requested backend "${requested}" cannot run here: ${choice.left}`) : choice;
  }
  const skipped: { backend: BackendName; reason: string }[] = [];
  for (const backend of backendNames) {
    const answer = await probe(backend);
    const choice = isLeft(answer) ? answer : await choose(backend, skipped, false);
    if (!isLeft(choice)) return choice;
    skipped.push({ backend, reason: choice.left });
  }
  throw new Error('compile: no backend can run here, not even cpu');
};
