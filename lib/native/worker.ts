// A native-kernel worker: one instance of the GEMM module over the shared memory, and the
// packing loops that lay the operands out for it. The jobs it takes are planned in
// conv2d-native.ts and matmul-native.ts and typed in worker-jobs.ts, which the pool imports too;
// the suite checks their results against the interpreter.
//
// Every job names its memory regions as element offsets into the shared memory; a job is one of
//  - conv-images: for each image of a range, the patch matrix of the image, one GEMM with the
//    packed weights, the result into the output (the usual im2col convolution);
//  - conv-implicit: the same with no patch matrix: each image padded once, and one implicit GEMM
//    that reads the patches there through a table of tap offsets (implicit-gemm-kernel.ts);
//  - conv-channels: for each input channel of a range, the channel's patch matrix across all
//    images (rows image and output position, columns kernel position), one GEMM with the
//    channel's weights transposed, accumulated into this worker's partial sum (for convolutions
//    whose kernel is larger than their output, such as the weight gradient);
//  - conv-channels-implicit: the same with no patch matrix: each channel's images padded once,
//    and one GEMM that reads each patch row there through a table of row starts
//    (implicit-rows-gemm-kernel.ts);
//  - conv-shifts: for each image of a range, one GEMM of the taps (output channel and kernel
//    position, by input channel) with the image's channels, then each tap's row added into the
//    output shifted by where the tap reads (for convolutions with fewer output channels than
//    input channels that the implicit form does not take, such as a strided one's input gradient);
//  - matmul: for each product of a range, both factors packed and one GEMM;
//  - kernel: a range of a JavaScript kernel's output positions (javascript-kernel.ts), over
//    arrays in shared memory (the float arena's, which is the GEMM's too, where its element loop
//    runs as SIMD).

import { parentPort as port, workerData } from 'node:worker_threads';
import type { StridedView } from './strided-view.ts';
import type {
  ConvChannelsImplicitJob, ConvChannelsJob, ConvGeometry, ConvImagesJob, ConvImplicitJob, ConvShiftsJob, KernelFunction, KernelJob, MatmulJob, NativeJob, NativeWorkerData, SimdFunction, WorkerReply,
} from './worker-jobs.ts';
import { paddedPlane } from './worker-jobs.ts';

/**
 * The module's functions (gemm-kernel.ts, implicit-gemm-kernel.ts, implicit-rows-gemm-kernel.ts,
 * patch-kernel.ts, shift-add-kernel.ts, transpose-kernel.ts); addresses and steps are in bytes.
 */
interface KernelExports {
  gemm(a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m: number, n: number, k: number, accumulate: number): void;
  implicitGemm(
    a: number, lda: number, b: number, offsets: number, c: number, ldc: number, m: number, rows: number, columns: number, rowStep: number, k: number, accumulate: number,
  ): void;
  implicitRowsGemm(
    bases: number, b: number, ldb: number, c: number, ldc: number, m: number, n: number, kRows: number, kColumns: number, iStep: number, jStep: number, accumulate: number,
  ): void;
  patchRow(
    out: number, origin: number, imageStride: number, images: number, rowStep: number, columnStep: number,
    rowFrom: number, rowTo: number, rows: number, columns: number, from: number, to: number,
  ): void;
  shiftAddRow(out: number, origin: number, rowStep: number, columnStep: number, rows: number, columns: number, rowFrom: number, rowTo: number, from: number, to: number): void;
  transposeTaps(dst: number, dstRowStep: number, src: number, outChannels: number, rows: number, columns: number, oStep: number, rowStep: number, columnStep: number): void;
}

if (port === null) throw new Error('worker.ts runs as a worker thread of the native pool');
const parentPort = port;

// The GEMM's block (rows of A, columns of B a pass) comes from gemm-kernel.ts, its one source.
const { module, memory, arena, blockRows: ROWS, blockColumns: COLUMNS } = workerData as NativeWorkerData;
const instance = new WebAssembly.Instance(module, { env: { memory } });
const { gemm, implicitGemm, implicitRowsGemm, patchRow, shiftAddRow, transposeTaps } = instance.exports as unknown as KernelExports;
let f32 = new Float32Array(memory.buffer);
let i32 = new Int32Array(memory.buffer);

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** The i in [0, n) with 0 <= i * step + shift < size: [first, last). */
const inside = (n: number, step: number, shift: number, size: number): [number, number] => {
  const first = Math.min(n, Math.max(0, Math.ceil(-shift / step)));
  return [first, Math.max(first, Math.min(n, Math.ceil((size - shift) / step)))];
};

/**
 * Patch matrix: row (c - c0, p, q), column (b - b0, i, j) holds x[b, c, i*sh + p*dh - pt,
 * j*sw + q*dw - pl], or 0 where that lies in the padding; columns past the last up to `ldb`
 * are zero (the GEMM reads whole blocks of 8). Each row is one call of the module's patchRow.
 */
const patches = (dst: number, ldb: number, x: StridedView, c0: number, c1: number, b0: number, b1: number, g: ConvGeometry) => {
  const [, , height, width] = x.shape;
  const [sb, sc, sy, sx] = x.strides;
  const { kernel: [kh, kw], stride: [strideY, strideX], padding: [pt, pl], dilation: [dy, dx], output: [oh, ow] } = g;
  const columns = (b1 - b0) * oh * ow;
  let row = dst;
  for (let c = c0; c < c1; c++)
    for (let p = 0; p < kh; p++) {
      const [rowFrom, rowTo] = inside(oh, strideY, p * dy - pt, height);
      for (let q = 0; q < kw; q++) {
        const [from, to] = inside(ow, strideX, q * dx - pl, width);
        const origin = x.offset + b0 * sb + c * sc + (p * dy - pt) * sy + (q * dx - pl) * sx;
        patchRow(row * 4, origin * 4, sb * 4, b1 - b0, strideY * sy * 4, strideX * sx * 4, rowFrom, rowTo, oh, ow, from, to);
        if (ldb > columns) f32.fill(0, row + columns, row + ldb);
        row += ldb;
      }
    }
};

/** Rows [r0, r1) of a 2-D view into a contiguous block of `rows` x `ld`, zero past the view. */
const pack = (dst: number, ld: number, view: Omit<StridedView, 'shape'>, r0: number, r1: number, rows: number, columns: number) => {
  const [sr, sc] = view.strides;
  for (let r = 0; r < rows; r++) {
    const out = dst + r * ld;
    if (r0 + r >= r1) {
      f32.fill(0, out, out + ld);
      continue;
    }
    if (sc === 1) {
      f32.copyWithin(out, view.offset + (r0 + r) * sr, view.offset + (r0 + r) * sr + columns);
      if (ld > columns) f32.fill(0, out + columns, out + ld);
      continue;
    }
    const base = view.offset + (r0 + r) * sr;
    for (let c = 0; c < columns; c++) f32[out + c] = f32[base + c * sc];
    if (ld > columns) f32.fill(0, out + columns, out + ld);
  }
};

/** C's first `rows` x `columns` into a row-major destination. */
const unpack = (src: number, ld: number, dst: number, rows: number, columns: number) => {
  for (let r = 0; r < rows; r++) f32.copyWithin(dst + r * columns, src + r * ld, src + r * ld + columns);
};

/**
 * The same into `destination`, an array of the caller's in shared memory, at element `at`: each
 * worker copies its own results out while they are still in its cache, instead of the main
 * thread copying the whole output once every worker is done.
 */
const unpackTo = (destination: Float32Array, src: number, ld: number, at: number, rows: number, columns: number) => {
  for (let r = 0; r < rows; r++) destination.set(f32.subarray(src + r * ld, src + r * ld + columns), at + r * columns);
};

const convImages = (job: ConvImagesJob) => {
  const { x, weights, output, destination, geometry, first, last, scratch } = job;
  const { outChannels, depth, output: [oh, ow] } = geometry;
  const columns = oh * ow;
  const m = roundUp(outChannels, ROWS);
  const n = roundUp(columns, COLUMNS);
  // Written straight into the output where its shape already meets the GEMM's blocks.
  const direct = destination === undefined && m === outChannels && n === columns;
  const patchMatrix = scratch;
  const result = scratch + depth * n;
  for (let b = first; b < last; b++) {
    patches(patchMatrix, n, x, 0, x.shape[1], b, b + 1, geometry);
    const target = output + b * outChannels * columns;
    gemm(weights * 4, depth * 4, patchMatrix * 4, n * 4, (direct ? target : result) * 4, n * 4, m, n, depth, 0);
    if (destination !== undefined) unpackTo(destination, result, n, b * outChannels * columns, outChannels, columns);
    else if (!direct) unpack(result, n, target, outChannels, columns);
  }
};

/**
 * Channel `channel` of x's images (x's first axis), each as an hp x wp plane one after another
 * from `out`: padded row r is x's row r - pt, padded column s x's column s - pl, zero outside x.
 * (The by-image form pads one image's channels: it passes x with its first two axes swapped.)
 */
const padImages = (out: number, x: StridedView, channel: number, hp: number, wp: number, { padding: [pt, pl] }: ConvGeometry) => {
  const [images, , height, width] = x.shape;
  const [sn, sc, sy, sx] = x.strides;
  const clamp = (v: number, size: number) => Math.min(size, Math.max(0, v));
  patchRow(out * 4, (x.offset + channel * sc - pt * sy - pl * sx) * 4, sn * 4, images, sy * 4, sx * 4, clamp(pt, hp), clamp(pt + height, hp), hp, wp, clamp(pl, wp), clamp(pl + width, wp));
};

/**
 * The by-image form of a stride-1 convolution with no patch matrix: each image padded once (its
 * channels' planes, `paddedPlane` of worker-jobs.ts, zero where the padding is), then one
 * implicit GEMM, which reads tap (c, p, q) of output position (i, j) at the padded plane's row
 * i + p * dy, column j + q * dx.
 */
const convImplicit = (job: ConvImplicitJob) => {
  const { x, weights, output, destination, geometry, first, last, scratch } = job;
  const { outChannels, depth, output: [oh, ow], kernel: [kh, kw], dilation: [dy, dx] } = geometry;
  const channels = x.shape[1];
  // x's channels as its "images": each image's channels are padded by padImages.
  const byChannel: StridedView = { offset: x.offset, shape: [channels, x.shape[0], x.shape[2], x.shape[3]], strides: [x.strides[1], x.strides[0], x.strides[2], x.strides[3]] };
  const plane = oh * ow;
  const m = roundUp(outChannels, ROWS);
  const [hp, wp] = paddedPlane(geometry);
  const padded = scratch;
  const offsets = padded + channels * hp * wp;
  const result = offsets + depth;
  // Written straight into the output where no rows are padding.
  const direct = destination === undefined && m === outChannels;
  // Tap (c, p, q)'s byte offset in the padded image from the output position's own.
  let kk = offsets;
  for (let c = 0; c < channels; c++) for (let p = 0; p < kh; p++) for (let q = 0; q < kw; q++) i32[kk++] = (c * hp * wp + p * dy * wp + q * dx) * 4;
  for (let b = first; b < last; b++) {
    padImages(padded, byChannel, b, hp, wp, geometry);
    const target = output + b * outChannels * plane;
    implicitGemm(weights * 4, depth * 4, padded * 4, offsets * 4, (direct ? target : result) * 4, plane * 4, m, oh, ow, wp * 4, depth, 0);
    if (destination !== undefined) unpackTo(destination, result, plane, b * outChannels * plane, outChannels, plane);
    else if (!direct) unpack(result, plane, target, outChannels, plane);
  }
};

/**
 * The by-channel form (conv2d-native.ts), computed transposed: for each channel c of x (a batch
 * image, in the weight gradient), D ((images, p, q) x O) += patches (rows (image, p, q), columns
 * (i, j), x's channel c seen through every output position) . w[:, c]^T ((i, j) x O). The patch
 * rows are the by-image form's: runs as long as the kernel's rows (16 or 32 floats in the
 * weight gradient) where the untransposed product's are as short as the output's (3), and the
 * GEMM is as wide as the output channels, with the kernel's extent as its depth.
 */
const convChannels = (job: ConvChannelsJob) => {
  const { x, w, geometry, first, last, scratch, partial } = job;
  const { outChannels, output: [oh, ow], kernel: [kh, kw], stride, dilation } = geometry;
  const depth = kh * kw;
  const rows = x.shape[0] * oh * ow;
  const m = roundUp(rows, ROWS);
  const n = roundUp(outChannels, COLUMNS);
  const patchMatrix = scratch;
  const weightRows = scratch + m * depth;
  // Rows and columns no product writes stay zero for the whole job.
  f32.fill(0, patchMatrix + rows * depth, patchMatrix + m * depth);
  if (n > outChannels) f32.fill(0, weightRows, weightRows + depth * n);
  // x with its first two axes swapped, and the geometry with kernel and output swapped: the
  // patches of channel c are then the by-image patches of "image" c. A kernel tap of the swap
  // moves by the convolution's stride, an output position by its dilation.
  const swapped: StridedView = { offset: x.offset, shape: [x.shape[1], x.shape[0], x.shape[2], x.shape[3]], strides: [x.strides[1], x.strides[0], x.strides[2], x.strides[3]] };
  const taps: ConvGeometry = { ...geometry, kernel: [oh, ow], output: [kh, kw], stride: dilation, dilation: stride, depth: rows };
  const [so, sc, sp, sq] = w.strides;
  for (let c = first; c < last; c++) {
    patches(patchMatrix, depth, swapped, 0, x.shape[0], c, c + 1, taps);
    // w[o, c, i, j] as row (i, j), column o.
    transposeTaps(weightRows * 4, n * 4, (w.offset + c * sc) * 4, outChannels, kh, kw, so * 4, sp * 4, sq * 4);
    gemm(patchMatrix * 4, depth * 4, weightRows * 4, n * 4, partial * 4, n * 4, m, n, depth, c === first ? 0 : 1);
  }
  if (first === last) f32.fill(0, partial, partial + m * n);
};

/**
 * The by-channel form with no patch matrix (conv2d-native.ts): for each channel c, its images
 * padded once, then D ((image, p, q) x O) += patches . w[:, c]^T, where the implicit GEMM reads
 * patch row (image, p, q) at kernel position (i, j) from the padded plane's row p * sy + i * dy,
 * column q * sx + j * dx.
 */
const convChannelsImplicit = (job: ConvChannelsImplicitJob) => {
  const { x, w, geometry, first, last, scratch, partial } = job;
  const { outChannels, output: [oh, ow], kernel: [kh, kw], stride: [sy, sx], dilation: [dy, dx] } = geometry;
  const images = x.shape[0];
  const depth = kh * kw;
  const rows = images * oh * ow;
  const m = roundUp(rows, ROWS);
  const n = roundUp(outChannels, COLUMNS);
  const [hp, wp] = paddedPlane(geometry);
  const padded = scratch;
  const bases = padded + images * hp * wp;
  const weightRows = bases + m;
  // Row (image, p, q)'s start in the padded images; the rows past the last read the first's.
  let r = bases;
  for (let b = 0; b < images; b++) for (let p = 0; p < oh; p++) for (let q = 0; q < ow; q++) i32[r++] = (padded + b * hp * wp + p * sy * wp + q * sx) * 4;
  for (; r < bases + m; r++) i32[r] = padded * 4;
  // Columns no product writes stay zero for the whole job.
  if (n > outChannels) f32.fill(0, weightRows, weightRows + depth * n);
  const [so, sc, sp, sq] = w.strides;
  for (let c = first; c < last; c++) {
    padImages(padded, x, c, hp, wp, geometry);
    // w[o, c, i, j] as row (i, j), column o.
    transposeTaps(weightRows * 4, n * 4, (w.offset + c * sc) * 4, outChannels, kh, kw, so * 4, sp * 4, sq * 4);
    implicitRowsGemm(bases * 4, weightRows * 4, n * 4, partial * 4, n * 4, m, n, kh, kw, dy * wp * 4, dx * 4, c === first ? 0 : 1);
  }
  if (first === last) f32.fill(0, partial, partial + m * n);
};

const convShifts = (job: ConvShiftsJob) => {
  const { x, taps, output, destination, geometry, first, last, scratch } = job;
  const { outChannels, kernel: [kh, kw], stride: [strideY, strideX], padding: [pt, pl], dilation: [dy, dx], output: [oh, ow] } = geometry;
  const [, channels, height, width] = x.shape;
  const [sb, sc, sy, sx] = x.strides;
  const plane = height * width;
  const m = roundUp(outChannels * kh * kw, ROWS);
  const n = roundUp(plane, COLUMNS);
  const image = scratch;
  const products = scratch + channels * n;
  // With a destination, each image's sums are made in scratch and copied out.
  const summed = products + m * n;
  for (let b = first; b < last; b++) {
    // The image's channels as rows of its plane, zero past it (a view need not be contiguous).
    for (let c = 0; c < channels; c++) {
      const row = image + c * n;
      const base = x.offset + b * sb + c * sc;
      if (sx === 1 && sy === width) f32.copyWithin(row, base, base + plane);
      else for (let y = 0; y < height; y++) for (let xx = 0; xx < width; xx++) f32[row + y * width + xx] = f32[base + y * sy + xx * sx];
      if (n > plane) f32.fill(0, row + plane, row + n);
    }
    // Row (o, p, q) of the products: tap (p, q) of output channel o at every input position.
    gemm(taps * 4, channels * 4, image * 4, n * 4, products * 4, n * 4, m, n, channels, 0);
    const target = destination === undefined ? output + b * outChannels * oh * ow : summed;
    f32.fill(0, target, target + outChannels * oh * ow);
    for (let o = 0; o < outChannels; o++)
      for (let p = 0; p < kh; p++) {
        const [rowFrom, rowTo] = inside(oh, strideY, p * dy - pt, height);
        for (let q = 0; q < kw; q++) {
          const [from, to] = inside(ow, strideX, q * dx - pl, width);
          const origin = products + ((o * kh + p) * kw + q) * n + (p * dy - pt) * width + (q * dx - pl);
          shiftAddRow((target + o * oh * ow) * 4, origin * 4, strideY * width * 4, strideX * 4, oh, ow, rowFrom, rowTo, from, to);
        }
      }
    if (destination !== undefined) destination.set(f32.subarray(summed, summed + outChannels * oh * ow), b * outChannels * oh * ow);
  }
};

const matmul = (job: MatmulJob) => {
  const { a, b, output, destination, rows, depth, columns, items, rowFirst, rowLast, scratch } = job;
  const m = roundUp(rowLast - rowFirst, ROWS);
  const n = roundUp(columns, COLUMNS);
  const packedA = scratch;
  const packedB = scratch + m * depth;
  const result = packedB + depth * n;
  for (const t of items) {
    pack(packedA, depth, { offset: a.offsets[t], strides: a.strides }, rowFirst, rowLast, m, depth);
    pack(packedB, n, { offset: b.offsets[t], strides: b.strides }, 0, depth, depth, columns);
    gemm(packedA * 4, depth * 4, packedB * 4, n * 4, result * 4, n * 4, m, n, depth, 0);
    if (destination !== undefined) unpackTo(destination, result, n, (t * rows + rowFirst) * columns, rowLast - rowFirst, columns);
    else unpack(result, n, output + (t * rows + rowFirst) * columns, rowLast - rowFirst, columns);
  }
};

/** Compiled JavaScript kernels by id, with their SIMD element loops: the source comes with a kernel's first job on this worker. */
const kernels = new Map<number, { readonly run: KernelFunction; readonly simd: SimdFunction | undefined }>();

const kernel = (job: KernelJob) => {
  for (const id of job.forget ?? []) kernels.delete(id);
  let compiled = kernels.get(job.id);
  if (compiled === undefined) {
    if (job.source === undefined) throw new Error(`kernel ${job.id} was never sent`);
    const simd = job.simdModule === undefined ? undefined : (new WebAssembly.Instance(job.simdModule, { env: { memory: arena } }).exports.simd as SimdFunction);
    compiled = { run: (0, eval)(job.source) as KernelFunction, simd };
    kernels.set(job.id, compiled);
  }
  if (job.simd && compiled.simd === undefined) throw new Error(`kernel ${job.id} has no SIMD element loop`);
  compiled.run(job.out, job.buffers, job.start, job.end, job.simd ? compiled.simd : undefined);
};

type JobOf<K extends NativeJob['kind']> = Extract<NativeJob, { readonly kind: K }>;

/** Each kind of job's runner: a kind with none, or a runner for the wrong kind, is a type error. */
const jobs: { readonly [K in NativeJob['kind']]: (job: JobOf<K>) => void } = {
  'conv-images': convImages, 'conv-implicit': convImplicit, 'conv-channels-implicit': convChannelsImplicit, 'conv-channels': convChannels, 'conv-shifts': convShifts, matmul, kernel,
};

const runJob = <K extends NativeJob['kind']>(job: JobOf<K>): void => jobs[job.kind](job);

const reply = (message: WorkerReply) => parentPort.postMessage(message);

parentPort.on('message', (job: NativeJob) => {
  try {
    // The memory may have grown since the last job: views of the old buffer stop at its old end.
    if (f32.buffer !== memory.buffer) {
      f32 = new Float32Array(memory.buffer);
      i32 = new Int32Array(memory.buffer);
    }
    runJob(job);
    reply({ ok: true });
  } catch (error) {
    reply({ ok: false, message: error instanceof Error ? error.message : String(error) });
  }
});
