// The embedding of many images with the encoder in evaluation mode (batch norm by its running
// statistics), compiled, in chunks of one fixed size: the last chunk is padded with blank
// images, so every call has the same shapes and the program is traced and built once. In
// evaluation mode each image's features depend on that image alone, so the padding changes
// nothing and is dropped. Each image gives two vectors from one pass: the embedding (the
// encoder's features) and its backbone's pooled output, L2-normalised so that both are compared
// by cosine similarity. Images come as bytes and are turned into [0, 1] a chunk at a time; when
// the encoder takes another size than the images have (--image-size), each is resized whole, as
// the training views are without the crop.

import type { TensorTree } from '../tree.ts';
import type { Encoder } from '../nn/encoder.ts';
import type { Images } from '../tensor.ts';
import { normalize, type NormalizeOptions } from '../augment/normalize.ts';
import { wholeImage } from '../augment/train-augmentation.ts';
import { type BackendName, compile, type ExecutionReport } from '../compile/index.ts';
import type { FeatureMatrix } from '../eval/weighted-knn.ts';
import { l2Normalize } from '../composites/normalize.ts';

export type HostFeatures = FeatureMatrix & { data: Float32Array };

/** Of each image: the embedding [count, featureDimension] and the unit backbone vector [count, backboneDimension]. */
export interface ImageFeatures {
  readonly embedding: HostFeatures;
  readonly backbone: HostFeatures;
}

export interface FeatureExtractor {
  /** The features of `count` images (count x 3 x side x side bytes, CHW). */
  readonly features: (
    params: unknown, state: unknown, images: Uint8Array, count: number, onProgress?: (done: number) => void, signal?: AbortSignal,
  ) => Promise<ImageFeatures>;
  readonly report: () => ExecutionReport | undefined;
  readonly destroy: () => Promise<void>;
}

export interface FeatureExtractorOptions {
  /** Images per compiled call. */
  readonly chunkSize: number;
  /** The images' height and width as given (32). */
  readonly side?: number;
  /** The height and width the encoder takes (`side`). */
  readonly size?: number;
  /** The statistics to normalise by (CIFAR-10's). */
  readonly normalization?: NormalizeOptions;
  readonly backend?: BackendName;
  readonly onWarning?: (message: string) => void;
}

export const featureExtractor = <P extends TensorTree, S extends TensorTree>(
  encoder: Encoder<P, S>,
  { chunkSize, side = 32, size = side, normalization = {}, backend, onWarning }: FeatureExtractorOptions,
): FeatureExtractor => {
  const imageBytes = 3 * side * side;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`featureExtractor: chunkSize ${chunkSize} must be a positive integer`);
  const compiled = compile(
    ({ params, state, images }: { params: P; state: S; images: Images }) => {
      const { features, pooled } = encoder.apply(params, state, normalize(wholeImage(images, size), normalization), { training: false });
      return { embedding: features, backbone: l2Normalize(pooled) };
    },
    { backend, onWarning },
  );
  const dimensions = { embedding: encoder.featureDimension, backbone: encoder.backboneDimension };
  return {
    features: async (params, state, images, count, onProgress, signal) => {
      if (images.length < count * imageBytes) throw new RangeError(`features: ${images.length} bytes hold fewer than ${count} images`);
      const out = { embedding: new Float32Array(count * dimensions.embedding), backbone: new Float32Array(count * dimensions.backbone) };
      for (let start = 0; start < count; start += chunkSize) {
        // Stopping between chunks: a long evaluation need not finish once the caller gave up on it.
        signal?.throwIfAborted();
        const rows = Math.min(chunkSize, count - start);
        const chunk = new Float32Array(chunkSize * imageBytes);
        for (let i = 0, offset = start * imageBytes; i < rows * imageBytes; i++) chunk[i] = images[offset + i] / 255;
        const result = (await compiled({ params, state, images: { shape: [chunkSize, 3, side, side], data: chunk } } as never)) as unknown as
          Record<keyof ImageFeatures, { data: Float32Array }>;
        for (const kind of ['embedding', 'backbone'] as const)
          out[kind].set(result[kind].data.subarray(0, rows * dimensions[kind]), start * dimensions[kind]);
        onProgress?.(start + rows);
      }
      return {
        embedding: { shape: [count, dimensions.embedding], data: out.embedding },
        backbone: { shape: [count, dimensions.backbone], data: out.backbone },
      };
    },
    report: compiled.report,
    destroy: compiled.destroy,
  };
};
