// What the native pool and its workers say to each other: the data a worker starts with, the
// jobs it takes, and its reply. One set of types that both sides import, so that a field the
// planner renames or forgets is a type error in the worker rather than an undefined read there.
// Every memory region is named by its element offset into the shared WebAssembly memory.

import type { StridedView } from './strided-view.ts';

/** What each worker is started with: the kernels' module, the memory, the GEMM's block, the float arena's memory. */
export interface NativeWorkerData {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** The float arena's memory (float-arena.ts), which the kernels' SIMD element loops import. */
  readonly arena: WebAssembly.Memory;
  /** Rows of A the GEMM takes a pass (gemm-kernel.ts). */
  readonly blockRows: number;
  /** Columns of B the GEMM takes a pass. */
  readonly blockColumns: number;
}

/** A convolution's shape, as the workers read it (conv2d-native.ts). */
export interface ConvGeometry {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  /** [top, left]: the padding before each spatial axis. */
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly output: readonly [number, number];
  readonly outChannels: number;
  /** Rows of the patch matrix: input channels x kernel height x kernel width. */
  readonly depth: number;
}

/**
 * The rows and columns of the padded plane an implicit job lays each input channel out in:
 * every row and column some output position reads through some tap.
 */
export const paddedPlane = ({ kernel: [kh, kw], stride: [sh, sw], dilation: [dh, dw], output: [oh, ow] }: ConvGeometry): [number, number] => [
  (oh - 1) * sh + (kh - 1) * dh + 1,
  (ow - 1) * sw + (kw - 1) * dw + 1,
];

/** A range of images or channels, [first, last), and the worker's own scratch region. */
interface Share {
  readonly first: number;
  readonly last: number;
  readonly scratch: number;
}

/**
 * For each image of the range, the image's patch matrix, one GEMM with the packed weights, the
 * result into the output (the usual im2col convolution).
 */
export interface ConvImagesJob extends Share {
  readonly kind: 'conv-images';
  readonly x: StridedView;
  /** The weights packed as (output channels, padded to the GEMM's block) x depth. */
  readonly weights: number;
  readonly output: number;
  /** The caller's result array in shared memory, written by the worker; else the output region. */
  readonly destination: Float32Array | undefined;
  readonly geometry: ConvGeometry;
}

/**
 * For each image of the range, the image padded (its channels' planes with the convolution's
 * padding around them), one implicit GEMM (implicit-gemm-kernel.ts) with the packed weights,
 * the result into the output: the by-image form of a stride-1 convolution, with no patch matrix.
 */
export interface ConvImplicitJob extends Share {
  readonly kind: 'conv-implicit';
  readonly x: StridedView;
  /** The weights packed in panels of 4 output channels (implicit-gemm-kernel.ts), depth floats each. */
  readonly weights: number;
  readonly output: number;
  /** The caller's result array in shared memory, written by the worker; else the output region. */
  readonly destination: Float32Array | undefined;
  readonly geometry: ConvGeometry;
}

/**
 * For each input channel of the range, the channel's patch matrix across all images (rows image
 * and output position, columns kernel position), one GEMM with the channel's weights transposed,
 * summed into this worker's partial sum, (images x output positions) by output channels (for
 * convolutions whose kernel is larger than their output, such as the weight gradient).
 */
export interface ConvChannelsJob extends Share {
  readonly kind: 'conv-channels';
  readonly x: StridedView;
  readonly w: StridedView;
  readonly geometry: ConvGeometry;
  readonly partial: number;
}

/**
 * The by-channel form with no patch matrix: for each input channel of the range, its images
 * padded, then one implicit GEMM (implicit-rows-gemm-kernel.ts) that reads the patch rows there,
 * with the channel's weights transposed, summed into this worker's partial sum.
 */
export interface ConvChannelsImplicitJob extends Share {
  readonly kind: 'conv-channels-implicit';
  readonly x: StridedView;
  readonly w: StridedView;
  readonly geometry: ConvGeometry;
  readonly partial: number;
}

/**
 * For each image of the range, one GEMM of the taps (output channel and kernel position, by
 * input channel) with the image's channels, then each tap's row added into the output shifted by
 * where the tap reads (for convolutions with fewer output channels than input channels, such as
 * the input gradient).
 */
export interface ConvShiftsJob extends Share {
  readonly kind: 'conv-shifts';
  readonly x: StridedView;
  readonly taps: number;
  readonly output: number;
  readonly destination: Float32Array | undefined;
  readonly geometry: ConvGeometry;
}

/** A batch of matrices of one layout: where each starts, and the strides of its two axes. */
export interface BatchedMatrices {
  readonly offsets: readonly number[];
  readonly strides: readonly number[];
}

/** For each product of a range, both factors packed and one GEMM (matmul-native.ts). */
export interface MatmulJob {
  readonly kind: 'matmul';
  readonly a: BatchedMatrices;
  readonly b: BatchedMatrices;
  readonly output: number;
  readonly destination: Float32Array | undefined;
  readonly rows: number;
  readonly depth: number;
  readonly columns: number;
  /** The products this worker makes. */
  readonly items: readonly number[];
  /** The rows of each product this worker makes, [rowFirst, rowLast). */
  readonly rowFirst: number;
  readonly rowLast: number;
  readonly scratch: number;
}

/** A compiled kernel: writes out[f] for the flat positions f in [start, end), its element loop by `simd` where given. */
export type KernelFunction = (out: Float32Array, buffers: readonly Float32Array[], start: number, end: number, simd?: SimdFunction) => void;
/** A SIMD element loop's function (simd-kernel.ts), over the arena's memory: addresses, a count and the plane's values. */
export type SimdFunction = (...args: number[]) => void;

/**
 * A range of a JavaScript kernel's output positions (javascript-kernel.ts), over arrays in shared
 * memory of their own rather than the GEMM's memory.
 */
export interface KernelJob {
  readonly kind: 'kernel';
  readonly id: number;
  /** The kernel's source, sent with its first job on each worker only. */
  readonly source?: string;
  /** Its SIMD element loop's module, where it has one, sent with the source. */
  readonly simdModule?: WebAssembly.Module;
  /** Whether to run the element loop as SIMD: every array is in the arena. */
  readonly simd: boolean;
  /** Kernels the worker is to drop (their compiled function was destroyed). */
  readonly forget?: readonly number[];
  readonly out: Float32Array;
  readonly buffers: readonly Float32Array[];
  readonly start: number;
  readonly end: number;
}

/** A job for one worker. */
export type NativeJob = ConvImagesJob | ConvImplicitJob | ConvChannelsJob | ConvChannelsImplicitJob | ConvShiftsJob | MatmulJob | KernelJob;

/** A worker's answer to each job. */
export type WorkerReply = { readonly ok: true } | { readonly ok: false; readonly message: string };
