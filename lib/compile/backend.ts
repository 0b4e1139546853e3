// Choosing a gpu.js backend. The default takes the best that works here, in the order webgpu,
// headlessgl, webasm, cpu, and records why each better one was passed over; an explicitly
// requested backend that cannot run is an error, never a quiet substitute.

import { type Either, left, right } from 'fp-ts/lib/Either.js';
import { GPU } from 'gpu.js';

export const backendNames = ['webgpu', 'headlessgl', 'webasm', 'cpu'] as const;
export type BackendName = (typeof backendNames)[number];

export interface BackendChoice {
  readonly backend: BackendName;
  readonly gpu: GPU;
  /** The better backends that were passed over, and why. */
  readonly skipped: readonly { readonly backend: BackendName; readonly reason: string }[];
}

/** Why a backend cannot run here, or undefined when it can. */
const unavailable = (backend: BackendName): string | undefined => {
  switch (backend) {
    case 'webgpu':
      return GPU.isWebGPUSupported ? undefined : 'no WebGPU adapter answered (navigator.gpu is absent or its Dawn binary does not load here)';
    case 'headlessgl':
      return GPU.isHeadlessGLSupported ? undefined : 'no GL context (the optional `gl` package is not installed, or there is no display)';
    case 'webasm':
      return GPU.isWebAssemblySupported ? undefined : 'WebAssembly is not supported by this runtime';
    case 'cpu':
      return undefined;
  }
};

export const chooseBackend = (requested?: BackendName): Either<string, BackendChoice> => {
  if (requested !== undefined) {
    if (!backendNames.includes(requested)) return left(`unknown backend "${requested}"; choose one of ${backendNames.join(', ')}`);
    const reason = unavailable(requested);
    return reason === undefined
      ? right({ backend: requested, gpu: new GPU({ mode: requested }), skipped: [] })
      : left(`the requested backend "${requested}" cannot run here: ${reason}`);
  }
  const skipped: { backend: BackendName; reason: string }[] = [];
  for (const backend of backendNames) {
    const reason = unavailable(backend);
    if (reason === undefined) return right({ backend, gpu: new GPU({ mode: backend }), skipped });
    skipped.push({ backend, reason });
  }
  return right({ backend: 'cpu', gpu: new GPU({ mode: 'cpu' }), skipped });
};
