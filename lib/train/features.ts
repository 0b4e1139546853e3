// The embedding of many images with the encoder in evaluation mode (batch norm by its running
// statistics), compiled, in chunks of one fixed size: the last chunk is padded with blank
// images, so every call has the same shapes and the program is traced and built once. In
// evaluation mode each image's features depend on that image alone, so the padding changes
// nothing and is dropped.

import type { TensorTree } from '../tree.ts';
import type { Encoder } from '../nn/encoder.ts';
import type { Images } from '../tensor.ts';
import { normalize } from '../augment/normalize.ts';
import { type BackendName, compile, type ExecutionReport } from '../compile/index.ts';
import type { FeatureMatrix } from '../eval/weighted-knn.ts';
import { IMAGE_BYTES } from '../data/cifar10-types.ts';

export interface FeatureExtractor {
  /** Features [count, d] of `count` images (count x 3072 values in [0, 1]). */
  readonly features: (
    params: unknown, state: unknown, images: Float32Array, count: number, onProgress?: (done: number) => void, signal?: AbortSignal,
  ) => Promise<FeatureMatrix & { data: Float32Array }>;
  readonly report: () => ExecutionReport | undefined;
  readonly destroy: () => Promise<void>;
}

export interface FeatureExtractorOptions {
  /** Images per compiled call. */
  readonly chunkSize: number;
  readonly backend?: BackendName;
  readonly onWarning?: (message: string) => void;
}

export const featureExtractor = <P extends TensorTree, S extends TensorTree>(
  encoder: Encoder<P, S>,
  { chunkSize, backend, onWarning }: FeatureExtractorOptions,
): FeatureExtractor => {
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`featureExtractor: chunkSize ${chunkSize} must be a positive integer`);
  const compiled = compile(
    ({ params, state, images }: { params: P; state: S; images: Images }) =>
      encoder.apply(params, state, normalize(images), { training: false }).features,
    { backend, onWarning },
  );
  const dimension = encoder.featureDimension;
  return {
    features: async (params, state, images, count, onProgress, signal) => {
      if (images.length < count * IMAGE_BYTES) throw new RangeError(`features: ${images.length} values hold fewer than ${count} images`);
      const out = new Float32Array(count * dimension);
      for (let start = 0; start < count; start += chunkSize) {
        // Stopping between chunks: a long evaluation need not finish once the caller gave up on it.
        signal?.throwIfAborted();
        const rows = Math.min(chunkSize, count - start);
        const chunk = new Float32Array(chunkSize * IMAGE_BYTES);
        chunk.set(images.subarray(start * IMAGE_BYTES, (start + rows) * IMAGE_BYTES));
        const result = await compiled({ params, state, images: { shape: [chunkSize, 3, 32, 32], data: chunk } } as never);
        out.set((result as unknown as { data: Float32Array }).data.subarray(0, rows * dimension), start * dimension);
        onProgress?.(start + rows);
      }
      return { shape: [count, dimension], data: out };
    },
    report: compiled.report,
    destroy: compiled.destroy,
  };
};
