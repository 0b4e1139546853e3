// Checkpoints: a tree of float32 tensors (parameters, batch-norm statistics, optimiser state)
// and string metadata, in one safetensors file written atomically. Tensors are named by their
// path in the tree (`params.stages[0].convolution.weight`), the same paths flattenTree gives,
// so a file restores into any tree of the same structure and says what differs otherwise.

import { promises as fsp } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { formatShape } from '../shape.ts';
import { flattenTree, type MapLeaves, unflattenTree } from '../tree.ts';
import { createHash } from 'node:crypto';
import { type AtomicWriteIo, writeFileAtomic } from './atomic-write.ts';
import { type CheckpointError, checkpointError } from './errors.ts';
import { decodeSafetensors, encodeSafetensors, type Safetensors, type StoredTensor } from './safetensors.ts';

const isStoredTensor = (x: unknown): x is StoredTensor =>
  typeof x === 'object' && x !== null && Array.isArray((x as StoredTensor).shape) && (x as StoredTensor).data instanceof Float32Array;

/** The leaves of a tree of stored tensors, by path. */
export const tensorsOfTree = (tree: unknown): Map<string, StoredTensor> => {
  const { leaves, paths } = flattenTree(tree, isStoredTensor);
  return new Map(paths.map((p, i) => [p, leaves[i]]));
};

/**
 * Fill `template`'s leaves (tensors or stored tensors: anything with a shape) with the
 * tensors of the same paths and shapes; every leaf must be found and every tensor used.
 */
export const treeOfTensors = <T>(
  template: T,
  tensors: ReadonlyMap<string, StoredTensor>,
  file: string,
): E.Either<CheckpointError, MapLeaves<T, StoredTensor>> => {
  const hasShape = (x: unknown): x is { shape: readonly number[] } =>
    typeof x === 'object' && x !== null && Array.isArray((x as { shape?: unknown }).shape);
  const { leaves, paths } = flattenTree(template, hasShape);
  const missing = paths.filter((p) => !tensors.has(p));
  if (missing.length > 0)
    return E.left(checkpointError(file, undefined, `holds no tensor ${missing.slice(0, 5).map((p) => `"${p}"`).join(', ')}` +
      `${missing.length > 5 ? ` (and ${missing.length - 5} more)` : ''}; expected the ${paths.length} tensors of this model and optimiser (was it written for other options?)`));
  const expected = new Set(paths);
  const extra = [...tensors.keys()].filter((name) => !expected.has(name));
  if (extra.length > 0)
    return E.left(checkpointError(file, undefined, `holds tensors this model does not have: ${extra.slice(0, 5).map((p) => `"${p}"`).join(', ')}` +
      `${extra.length > 5 ? ` (and ${extra.length - 5} more)` : ''} (was it written for other options?)`));
  const values: StoredTensor[] = [];
  for (let i = 0; i < paths.length; i++) {
    const stored = tensors.get(paths[i])!;
    if (formatShape(stored.shape) !== formatShape(leaves[i].shape))
      return E.left(checkpointError(file, undefined, `tensor "${paths[i]}" has shape ${formatShape(stored.shape)}, expected ${formatShape(leaves[i].shape)} (was it written for other options?)`));
    values.push(stored);
  }
  return E.right(unflattenTree(template, values, hasShape));
};

/** The metadata key of the tensors' checksums: { name: sha256 of its little-endian bytes }, as JSON. */
export const CHECKSUMS_KEY = 'tensor_sha256';

const sha256Of = ({ data }: StoredTensor): string => createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');

/** Write a tree of stored tensors and metadata to `file`, atomically, with each tensor's checksum. */
export const writeCheckpoint = async (file: string, tree: unknown, metadata: Readonly<Record<string, string>>, io?: AtomicWriteIo): Promise<void> => {
  const tensors = tensorsOfTree(tree);
  const checksums = Object.fromEntries([...tensors].map(([name, tensor]) => [name, sha256Of(tensor)]));
  const bytes = encodeSafetensors(tensors, { ...metadata, [CHECKSUMS_KEY]: JSON.stringify(checksums) });
  await writeFileAtomic(file, bytes, io);
};

/** Read and validate a checkpoint; errors name the file and, for format errors, the byte offset. */
export const readCheckpoint = (file: string): TE.TaskEither<CheckpointError, Safetensors> => async () => {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    return E.left(checkpointError(file, undefined, code === 'ENOENT' ? 'no such checkpoint file' : `cannot read: ${(cause as Error).message}`));
  }
  const decoded = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
  if (E.isLeft(decoded)) return decoded;
  const damaged = checksumMismatch(decoded.right);
  return damaged === undefined ? decoded : E.left(checkpointError(file, undefined, damaged));
};

/**
 * The first tensor whose bytes differ from its recorded checksum, in words: a flipped bit that
 * the format cannot see. A checkpoint written before checksums has none to compare.
 */
const checksumMismatch = ({ tensors, metadata }: Safetensors): string | undefined => {
  const text = metadata[CHECKSUMS_KEY];
  if (text === undefined) return undefined;
  let checksums: unknown;
  try {
    checksums = JSON.parse(text);
  } catch {
    checksums = undefined;
  }
  if (typeof checksums !== 'object' || checksums === null || Array.isArray(checksums))
    return `metadata "${CHECKSUMS_KEY}" is not a JSON object of checksums (damaged?)`;
  const recorded = checksums as Record<string, unknown>;
  for (const [name, tensor] of tensors) {
    if (typeof recorded[name] !== 'string') return `metadata "${CHECKSUMS_KEY}" has no checksum of tensor "${name}" (edited or damaged?)`;
    if (recorded[name] !== sha256Of(tensor)) return `tensor "${name}" does not match its checksum: its bytes were changed after it was written (damaged?)`;
  }
  return undefined;
};
