// conv2d on the native kernels, as GEMMs, in one of five forms:
//  - implicit by image: for each image b, out[b] (O x I*J) = W (O x C*KH*KW) . patches(x[b]),
//    where the GEMM (implicit-gemm-kernel.ts) reads the patches from the image padded once, through a
//    table of each tap's offset, and no patch matrix is built. Any stride-1 convolution whose
//    output rows are whole blocks of the GEMM's 8 columns takes it: in the small encoder every
//    forward convolution and input gradient. `node --import tsx bench/conv-forms.ts` times it
//    against the forms below on the step's shapes.
//  - by image: for each image b, out[b] (O x I*J) = W (O x C*KH*KW) . patches(x[b]) (C*KH*KW x
//    I*J), images shared among the threads (im2col). The form of the forward pass, whose
//    outputs are large, kernels small and output channels more than its input channels, where
//    the stride is not 1 or the output's rows are not whole blocks of 8.
//  - by shifts: for each image b, G (O*KH*KW x H*W) = W' (O*KH*KW x C) . x[b] (C x H*W), then
//    out[b, o] is the sum over taps (p, q) of G's row (o, p, q) shifted by where the tap reads.
//    The form where there are fewer output channels than input channels (the input gradient):
//    its GEMM reads the image as it is, with no patch matrix C*KH*KW tall.
//  - by channel: for each input channel c, D (B*I*J x O) += patches(x[:, c]) (B*I*J x KH*KW) .
//    W[:, c]^T (KH*KW x O), channels shared among the threads, each summing into its own D. The
//    form of the weight gradient, a convolution whose "kernel" is the output cotangent (as large
//    as an image) and whose output is the weight's 3 x 3: by image its GEMMs would be 9 columns
//    wide and K = N*H*W deep; by channel they are B*9 x KH*KW deep and O wide, and each patch row
//    is a run of the kernel's rows, as long as the by-image form's.
//  - implicit by channel: the by-channel form with no patch matrix: each channel's images padded
//    once, and the GEMM (implicit-rows-gemm-kernel.ts) reads each patch row where it lies,
//    through a table of the rows' starts. Any convolution; the planner's choice for a kernel
//    larger than its output.
// Inputs are strided views (the gradient's transposes and flips are read in place).

import type { Conv2dParams } from '../primitives/conv2d.ts';
import type { NativePool } from './native-pool.ts';
import { GEMM_COLUMNS, GEMM_ROWS } from './gemm-kernel.ts';
import { type ConvGeometry, type NativeJob, paddedPlane } from './worker-jobs.ts';
import { type Allocate, delivered, type NativeOperand, newFloats, resultArray, roundUp, shares, type StridedView } from './strided-view.ts';

/** What each thread's job of a by-image form is told: its images, where things are, its scratch. */
interface ImageShare {
  readonly x: StridedView;
  /** Where the packed weights (or taps) are. */
  readonly packed: number;
  readonly output: number;
  readonly destination: Float32Array | undefined;
  readonly geometry: ConvGeometry;
  readonly first: number;
  readonly last: number;
  readonly scratch: number;
}

export type ConvForm = 'implicit by image' | 'implicit by channel' | 'by image' | 'by shifts' | 'by channel';

/**
 * The forms that can compute a convolution of these shapes: all but the implicit one by image
 * any; that one a stride-1 convolution whose output rows are whole blocks of the GEMM's 8 columns.
 */
export const convForms = (stride: readonly number[], outShape: readonly number[]): ConvForm[] => {
  const [, , , ow] = outShape;
  const implicit = stride[0] === 1 && stride[1] === 1 && ow % GEMM_COLUMNS === 0;
  return [...(implicit ? ['implicit by image' as const] : []), 'implicit by channel', 'by image', 'by shifts', 'by channel'];
};

/** Which form a convolution of these shapes takes. */
export const convForm = (xShape: readonly number[], wShape: readonly number[], stride: readonly number[], outShape: readonly number[]): ConvForm => {
  const [, channels] = xShape;
  const [outChannels, , kh, kw] = wShape;
  const [, , oh, ow] = outShape;
  if (kh * kw > oh * ow) return 'implicit by channel';
  if (convForms(stride, outShape).includes('implicit by image')) return 'implicit by image';
  return outChannels < channels ? 'by shifts' : 'by image';
};

export const conv2dNative = async (
  pool: NativePool,
  x: NativeOperand,
  w: NativeOperand,
  params: Conv2dParams,
  outShape: readonly number[],
  allocate: Allocate = newFloats,
  /** The form to compute it in (the property suite and bench/conv-forms.ts try each); by default convForm's. */
  form: ConvForm = convForm(x.view.shape, w.view.shape, params.stride, outShape),
): Promise<Float32Array> => {
  if (!convForms(params.stride, outShape).includes(form)) throw new Error(`conv2d: the ${form} form cannot compute a convolution of stride [${params.stride}] into [${outShape}]`);
  return pool.exclusive(() => convolve(pool, x, w, params, outShape, allocate, form));
};

const convolve = async (
  pool: NativePool,
  x: NativeOperand,
  w: NativeOperand,
  { stride, padding, dilation }: Conv2dParams,
  outShape: readonly number[],
  allocate: Allocate,
  form: ConvForm,
): Promise<Float32Array> => {
  const [images, channels] = x.view.shape;
  const [outChannels, , kh, kw] = w.view.shape;
  const [, , oh, ow] = outShape;
  const geometry: ConvGeometry = {
    kernel: [kh, kw], stride, padding: [padding[0][0], padding[1][0]], dilation, output: [oh, ow], outChannels, depth: channels * kh * kw,
  };
  const m = roundUp(outChannels, GEMM_ROWS);
  const outSize = images * outChannels * oh * ow;
  const xAt = 0;
  const wAt = roundUp(x.data.length, 4);
  const outAt = wAt + roundUp(w.data.length, 4);

  const { out, destination } = resultArray(allocate, outSize);
  // An arena array is written where it is, as the memory the jobs address: the GEMM or the
  // shifted sums straight into it, with no copy out of the scratch block.
  const inPlace = pool.offsetOf(out);
  /**
   * The by-image forms' common course: x and w placed, the weights packed once (`packed` floats
   * at packedAt), each thread's images with a scratch region of its own, the result written in
   * place or delivered.
   */
  const byImages = async (packed: number, scratchSize: number, pack: (memory: Float32Array, w: StridedView, at: number) => void, job: (share: ImageShare) => NativeJob) => {
    const packedAt = outAt + roundUp(outSize, 4);
    const ranges = shares(images, pool.threads);
    const { memory, base } = pool.reserve(packedAt + packed + ranges.length * scratchSize);
    const xView = pool.place(memory, x, base + xAt);
    pack(memory, pool.place(memory, w, base + wAt), base + packedAt);
    await pool.run(
      ranges.map(([first, last], t) =>
        job({
          x: xView, packed: base + packedAt, output: inPlace ?? base + outAt, destination: inPlace === undefined ? destination : undefined, geometry, first, last,
          scratch: base + packedAt + packed + t * scratchSize,
        }),
      ),
    );
    return inPlace === undefined ? delivered(memory, base + outAt, out, destination) : out;
  };

  if (form === 'implicit by image') {
    const [hp, wp] = paddedPlane(geometry);
    // The padded image, the taps' offsets, and the products where they are not written in place.
    return byImages(m * geometry.depth, roundUp(channels * hp * wp + geometry.depth + m * oh * ow, 4), (memory, wView, at) => packWeightPanels(memory, wView, at, m), ({ packed, ...share }) => ({
      kind: 'conv-implicit', weights: packed, ...share,
    }));
  }

  if (form === 'by shifts') {
    const [, , height, width] = x.view.shape;
    const taps = roundUp(outChannels * kh * kw, GEMM_ROWS);
    const n = roundUp(height * width, GEMM_COLUMNS);
    // The image, the products, and one image's sums when they are copied out from the worker.
    return byImages(taps * channels, channels * n + taps * n + outChannels * oh * ow, (memory, wView, at) => packTaps(memory, wView, at, taps), ({ packed, ...share }) => ({
      kind: 'conv-shifts', taps: packed, ...share,
    }));
  }

  if (form === 'by image') {
    const n = roundUp(oh * ow, GEMM_COLUMNS);
    return byImages(m * geometry.depth, geometry.depth * n + m * n, (memory, wView, at) => packWeights(memory, wView, at, m, geometry.depth), ({ packed, ...share }) => ({
      kind: 'conv-images', weights: packed, ...share,
    }));
  }

  // By channel, transposed (worker.ts's convChannels): each thread sums D ((image, p, q) x O)
  // over its channels. Implicitly, each channel's images are padded once and the GEMM reads its
  // patch rows there (convChannelsImplicit); otherwise the patch matrix is built.
  const implicit = form === 'implicit by channel';
  const depth = kh * kw;
  const plane = oh * ow;
  const rows = roundUp(images * plane, GEMM_ROWS);
  const n = roundUp(outChannels, GEMM_COLUMNS);
  const ranges = shares(channels, pool.threads);
  const partialsAt = outAt + roundUp(outSize, 4);
  const scratchAt = partialsAt + ranges.length * rows * n;
  const [hp, wp] = paddedPlane(geometry);
  const scratchSize = roundUp((implicit ? images * hp * wp + rows : rows * depth) + depth * n, 4);
  const { memory, base } = pool.reserve(scratchAt + ranges.length * scratchSize);
  const xView = pool.place(memory, x, base + xAt);
  const wView = pool.place(memory, w, base + wAt);
  await pool.run(
    ranges.map(([first, last], t) => ({
      kind: implicit ? 'conv-channels-implicit' : 'conv-channels', x: xView, w: wView, geometry, first, last,
      partial: base + partialsAt + t * rows * n, scratch: base + scratchAt + t * scratchSize,
    })),
  );
  // Sum the threads' partial products, then lay D[(b, s), o] out as out[b, o, s].
  for (let b = 0; b < images; b++)
    for (let s = 0; s < plane; s++)
      for (let o = 0; o < outChannels; o++) {
        let total = 0;
        for (let t = 0; t < ranges.length; t++) total += memory[base + partialsAt + t * rows * n + (b * plane + s) * n + o];
        out[(b * outChannels + o) * plane + s] = total;
      }
  return out;
};

/** The weights as a contiguous ((O*KH*KW, padded to `rows`) x C) matrix: row (o, p, q), column c. */
const packTaps = (memory: Float32Array, w: StridedView, at: number, rows: number) => {
  const [outChannels, channels, kh, kw] = w.shape;
  const [so, sc, sp, sq] = w.strides;
  memory.fill(0, at, at + rows * channels);
  for (let o = 0; o < outChannels; o++)
    for (let p = 0; p < kh; p++)
      for (let q = 0; q < kw; q++)
        for (let c = 0; c < channels; c++) memory[at + ((o * kh + p) * kw + q) * channels + c] = memory[w.offset + o * so + c * sc + p * sp + q * sq];
};

/**
 * The weights as implicit-gemm-kernel.ts reads them: for each block of 4 output channels, each
 * column (c, p, q) as 4 consecutive floats, rows past the output channels zero.
 */
const packWeightPanels = (memory: Float32Array, w: StridedView, at: number, rows: number) => {
  const [outChannels, channels, kh, kw] = w.shape;
  const [so, sc, sp, sq] = w.strides;
  let k = at;
  for (let block = 0; block < rows; block += 4)
    for (let c = 0; c < channels; c++)
      for (let p = 0; p < kh; p++)
        for (let q = 0; q < kw; q++)
          for (let o = block; o < block + 4; o++) memory[k++] = o < outChannels ? memory[w.offset + o * so + c * sc + p * sp + q * sq] : 0;
};

/** The weights as a contiguous (m x C*KH*KW) matrix, rows past the output channels zero. */
const packWeights = (memory: Float32Array, w: StridedView, at: number, rows: number, depth: number) => {
  const [outChannels, channels, kh, kw] = w.shape;
  const [so, sc, sp, sq] = w.strides;
  let k = at;
  for (let o = 0; o < rows; o++)
    for (let c = 0; c < channels; c++)
      for (let p = 0; p < kh; p++)
        for (let q = 0; q < kw; q++) memory[k++] = o < outChannels ? memory[w.offset + o * so + c * sc + p * sp + q * sq] : 0;
};
