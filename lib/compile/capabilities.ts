// What the compiler must respect on each backend, as named capabilities rather than checks of
// the backend's name: how a kernel writes a number, how large an integer its index arithmetic
// holds exactly, how many buffers one kernel may read, and how long a buffer's side may be.

import type { WebGPUDevice } from './webgpu.ts';

/**
 * The backends, best first: the order the default choice tries them in (backend.ts). `native` is
 * the CPU path of lib/native: WebAssembly SIMD GEMMs for convolutions and matmuls and JavaScript
 * kernels over shared memory, both on a pool of worker threads; `cpu` is gpu.js's single-threaded
 * JavaScript kernels, in float64.
 */
export const backendNames = ['webgpu', 'headlessgl', 'native', 'cpu'] as const;
export type BackendName = (typeof backendNames)[number];

/**
 * Earlier names still accepted wherever a backend is named (a flag, a checkpoint's options,
 * compile's option): `webasm` ran gpu.js's WebAssembly kernels before the native kernels took
 * their place.
 */
export const backendAliases = { webasm: 'native' } as const satisfies Record<string, BackendName>;
export type BackendRequest = BackendName | keyof typeof backendAliases;

/** The backend a name asks for, its alias resolved; undefined for no backend of this project. */
export const backendNamed = (name: string): BackendName | undefined =>
  (backendNames as readonly string[]).includes(name) ? (name as BackendName) : (backendAliases as Record<string, BackendName>)[name];

/** The gpu.js mode a backend builds its kernels in (the native backend's are gpu.js's WebAssembly ones where the native kernels are turned off). */
export const gpujsMode = (backend: BackendName): 'webgpu' | 'headlessgl' | 'webasm' | 'cpu' => (backend === 'native' ? 'webasm' : backend);

/** How a literal number is written in a kernel's source. */
export type LiteralDialect =
  /** JavaScript as gpu.js's JavaScript, WebAssembly and GLSL translators read it: 1/0 is Infinity. */
  | 'javascript'
  /**
   * WGSL, which rejects a constant expression that overflows or divides by zero: ±Infinity and
   * NaN are computed at run time from a zero the shader compiler cannot fold.
   */
  | 'wgsl';

export interface Capabilities {
  readonly literals: LiteralDialect;
  /**
   * Every integer the kernel's own index arithmetic computes must stay below this (gpu.js
   * declares every kernel variable float32, which holds each integer only below 2^24).
   */
  readonly exactIntegers: number;
  /**
   * The most elements one buffer may have and still be addressed exactly: GL addresses its
   * textures in floats; WGSL and WebAssembly address with 32-bit integers.
   */
  readonly bufferElements: number;
  /** The most buffers one kernel may read (its output not counted); Infinity where unlimited. */
  readonly kernelInputs: number;
  /** Whether a buffer's 3-D layout [width, height, depth] fits; one that does not is wrapped. */
  readonly fits: (layout: readonly [number, number, number]) => boolean;
  /** The row width of a wrapped buffer: element f sits at x = f mod width, y = floor(f / width). */
  readonly wrapWidth: number;
  /**
   * Whether conv2d and matmul run on the native GEMM kernels (lib/native) between the backend's
   * pipelines: on the native backend, where gpu.js's one-output-per-lane kernels reach about a
   * tenth of what a register-blocked GEMM does on the same cores (`npm run bench:kernels`).
   */
  readonly nativeKernels: boolean;
  /**
   * Whether the other kernels run as JavaScript on the native kernels' threads, over shared
   * memory (lib/native/javascript-kernel.ts), rather than as gpu.js pipelines: on the native
   * backend, where gpu.js's WebAssembly kernels gather every read lane by lane and copy every
   * value a pipeline takes in or gives out. Only with `nativeKernels`.
   */
  readonly javascriptKernels: boolean;
  /**
   * Whether those JavaScript kernels run their element loops as WebAssembly SIMD where they can
   * (lib/native/simd-kernel.ts): four floats an instruction, each float32 operation without
   * JavaScript's rounding calls. Only with `javascriptKernels`.
   */
  readonly simdLoops: boolean;
  /**
   * Whether conv2d and matmul run as tiled WGSL kernels (lib/webgpu) in the same command encoder
   * as gpu.js's kernels (runtimes/device-runtime.ts): on webgpu, where gpu.js's one-output-per-
   * invocation kernels reach a few percent of what a kernel staging tiles in workgroup memory
   * does on the same GPU (`bench/tiled-kernels.ts`).
   */
  readonly tiledKernels: boolean;
}

const float32Integers = 2 ** 24;

const unbounded = { fits: () => true, wrapWidth: Infinity } as const;

/**
 * gpu.js runs a 3-D kernel in workgroups of 8 x 8 x 1 threads, and a device dispatches at most
 * `workgroups` of them along each axis.
 */
const dispatchable = (workgroups: number) => ({
  fits: ([width, height, depth]: readonly [number, number, number]) => width <= workgroups * 8 && height <= workgroups * 8 && depth <= workgroups,
  wrapWidth: workgroups * 8,
});

export const capabilitiesOf = (backend: BackendName, webgpu?: WebGPUDevice): Capabilities => {
  switch (backend) {
    case 'webgpu':
      return {
        literals: 'wgsl',
        exactIntegers: float32Integers,
        bufferElements: Math.min(2 ** 31 - 1, Math.floor((webgpu?.bufferBytes ?? 2 ** 27) / 4)),
        // The output is a storage buffer too.
        kernelInputs: (webgpu?.storageBuffersPerKernel ?? 8) - 1,
        ...dispatchable(webgpu?.workgroupsPerDimension ?? 65535),
        nativeKernels: false,
        javascriptKernels: false,
        simdLoops: false,
        tiledKernels: true,
      };
    case 'headlessgl':
      // WebGL textures hold at most 16384 texels a side and are addressed in float32.
      return {
        literals: 'javascript', exactIntegers: float32Integers, bufferElements: float32Integers, kernelInputs: Infinity,
        fits: ([width, height, depth]) => width <= 16384 && height * depth <= 16384, wrapWidth: 16384, nativeKernels: false, javascriptKernels: false, simdLoops: false, tiledKernels: false,
      };
    case 'native':
      return { literals: 'javascript', exactIntegers: float32Integers, bufferElements: 2 ** 31 - 1, kernelInputs: Infinity, ...unbounded, nativeKernels: true, javascriptKernels: true, simdLoops: true, tiledKernels: false };
    case 'cpu':
      // gpu.js's cpu kernels are JavaScript: float64 arithmetic, array indices.
      return { literals: 'javascript', exactIntegers: 2 ** 53, bufferElements: 2 ** 31 - 1, kernelInputs: Infinity, ...unbounded, nativeKernels: false, javascriptKernels: false, simdLoops: false, tiledKernels: false };
  }
};

/** Capabilities with limits lowered (never raised) by the caller, e.g. to test the WebGPU default. */
export const lowered = (capabilities: Capabilities, limits: CompileLimits = {}): Capabilities => ({
  ...capabilities,
  kernelInputs: Math.min(capabilities.kernelInputs, limits.storageBuffersPerKernel === undefined ? Infinity : limits.storageBuffersPerKernel - 1),
  nativeKernels: capabilities.nativeKernels && limits.nativeKernels !== false,
  javascriptKernels: capabilities.javascriptKernels && limits.nativeKernels !== false && limits.javascriptKernels !== false,
  simdLoops: capabilities.simdLoops && limits.nativeKernels !== false && limits.javascriptKernels !== false && limits.simdLoops !== false,
  tiledKernels: capabilities.tiledKernels && limits.tiledKernels !== false,
});

export interface CompileLimits {
  /** Storage buffers one kernel may bind, its output included (WebGPU's default device: 8). */
  readonly storageBuffersPerKernel?: number;
  /** false: convolutions and matmuls run as the backend's own kernels, not the native ones (to compare them). */
  readonly nativeKernels?: boolean;
  /** false: the kernels other than the native GEMMs run as gpu.js pipelines (to compare them). */
  readonly javascriptKernels?: boolean;
  /** false: those JavaScript kernels keep their element loops in JavaScript, not WebAssembly SIMD (to compare them). */
  readonly simdLoops?: boolean;
  /** false: convolutions and matmuls run as gpu.js's kernels on webgpu, not the tiled ones (to compare them). */
  readonly tiledKernels?: boolean;
}
