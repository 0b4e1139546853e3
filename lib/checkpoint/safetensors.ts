// The safetensors format (https://huggingface.co/docs/safetensors), float32 only, written and
// read by hand: 8 bytes of little-endian u64 header length N, N bytes of JSON header
// { name: { dtype, shape, data_offsets: [begin, end] }, ..., __metadata__: { key: string } },
// then the raw little-endian tensor data, offsets counted from the end of the header. The
// reader checks everything it relies on and says where a file goes wrong: the file, the byte
// offset, what was found and what was expected.

import * as E from 'fp-ts/lib/Either.js';
import { type CheckpointError, checkpointError } from './errors.ts';

/** A tensor as host data: a shape and row-major float32 values. */
export interface StoredTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface Safetensors {
  /** By name, in the order of the data section. */
  readonly tensors: ReadonlyMap<string, StoredTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

const HEADER_LENGTH_BYTES = 8;
const METADATA_KEY = '__metadata__';
const FLOAT32 = 'F32';
const BYTES_PER_FLOAT32 = 4;
/** The reference implementation refuses headers above 100 MB; so do we, before allocating. */
export const MAX_HEADER_BYTES = 100_000_000;

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Sets an own property even for the name "__proto__", which plain assignment would not. */
const setOwn = (object: Record<string, unknown>, key: string, value: unknown): void => {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
};

const elementCount = (shape: readonly number[]): number => shape.reduce((n, d) => n * d, 1);

/** Encode tensors (in the given order) and string metadata as one safetensors file. */
export const encodeSafetensors = (
  tensors: ReadonlyMap<string, StoredTensor> | Readonly<Record<string, StoredTensor>>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array => {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    const copy: Record<string, string> = {};
    for (const [key, value] of Object.entries(metadata)) setOwn(copy, key, value);
    header[METADATA_KEY] = copy;
  }
  let offset = 0;
  for (const [name, { shape, data }] of entries) {
    if (name === METADATA_KEY) throw new RangeError(`encodeSafetensors: "${METADATA_KEY}" is reserved and cannot name a tensor`);
    if (elementCount(shape) !== data.length)
      throw new RangeError(`encodeSafetensors: tensor "${name}" has ${data.length} values for shape [${shape.join(', ')}]`);
    const size = data.length * BYTES_PER_FLOAT32;
    setOwn(header, name, { dtype: FLOAT32, shape: [...shape], data_offsets: [offset, offset + size] });
    offset += size;
  }
  for (const [key, value] of Object.entries(metadata))
    if (typeof value !== 'string') throw new TypeError(`encodeSafetensors: metadata "${key}" must be a string, got ${typeof value}`);
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padding = (HEADER_LENGTH_BYTES - (json.length % HEADER_LENGTH_BYTES)) % HEADER_LENGTH_BYTES;
  if (padding > 0) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(padding));
  const out = new Uint8Array(HEADER_LENGTH_BYTES + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, HEADER_LENGTH_BYTES);
  let at = HEADER_LENGTH_BYTES + json.length;
  for (const [, { data }] of entries) {
    if (littleEndianHost) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    else for (let i = 0; i < data.length; i++) view.setFloat32(at + i * BYTES_PER_FLOAT32, data[i], true);
    at += data.byteLength;
  }
  return out;
};

const isNaturalNumber = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

const describe = (x: unknown): string => {
  const text = JSON.stringify(x);
  return text === undefined ? String(x) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/**
 * Decode a safetensors file's bytes; `file` names it in every error. Only F32 tensors are
 * accepted (a checkpoint of this project holds nothing else).
 */
export const decodeSafetensors = (bytes: Uint8Array, file: string): E.Either<CheckpointError, Safetensors> => {
  const fail = (offset: number, message: string) => E.left(checkpointError(file, offset, message));
  if (bytes.length < HEADER_LENGTH_BYTES)
    return fail(0, `the file is ${bytes.length} bytes long, expected at least ${HEADER_LENGTH_BYTES} bytes for the header length (truncated?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES))
    return fail(0, `the header length is ${declared} bytes, expected at most ${MAX_HEADER_BYTES} (not a safetensors file?)`);
  const headerLength = Number(declared);
  const dataStart = HEADER_LENGTH_BYTES + headerLength;
  if (dataStart > bytes.length)
    return fail(HEADER_LENGTH_BYTES, `the header length says ${headerLength} bytes of JSON, but only ${bytes.length - HEADER_LENGTH_BYTES} bytes follow (truncated?)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(HEADER_LENGTH_BYTES, dataStart));
  } catch {
    return fail(HEADER_LENGTH_BYTES, `the header is not valid UTF-8, expected a JSON object`);
  }
  if (!text.startsWith('{')) return fail(HEADER_LENGTH_BYTES, `the header starts with ${describe(text.slice(0, 20))}, expected a JSON object ("{")`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (cause) {
    return fail(HEADER_LENGTH_BYTES, `the ${headerLength}-byte header is not valid JSON (${cause instanceof Error ? cause.message : String(cause)}), expected a JSON object`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    return fail(HEADER_LENGTH_BYTES, `the header is ${describe(header)}, expected a JSON object`);

  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const placed: Array<{ name: string; shape: number[]; begin: number; end: number }> = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
        return fail(HEADER_LENGTH_BYTES, `"${METADATA_KEY}" is ${describe(entry)}, expected an object of strings`);
      for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof value !== 'string')
          return fail(HEADER_LENGTH_BYTES, `"${METADATA_KEY}"."${key}" is ${describe(value)}, expected a string`);
        setOwn(metadata, key, value);
      }
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      return fail(HEADER_LENGTH_BYTES, `tensor "${name}" is described by ${describe(entry)}, expected { dtype, shape, data_offsets }`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (dtype !== FLOAT32) return fail(HEADER_LENGTH_BYTES, `tensor "${name}" has dtype ${describe(dtype)}, expected "${FLOAT32}"`);
    if (!Array.isArray(shape) || !shape.every(isNaturalNumber))
      return fail(HEADER_LENGTH_BYTES, `tensor "${name}" has shape ${describe(shape)}, expected an array of natural numbers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNaturalNumber) || offsets[0] > offsets[1])
      return fail(HEADER_LENGTH_BYTES, `tensor "${name}" has data_offsets ${describe(offsets)}, expected [begin, end] with 0 <= begin <= end`);
    const [begin, end] = offsets as [number, number];
    const expectedBytes = elementCount(shape) * BYTES_PER_FLOAT32;
    if (end - begin !== expectedBytes)
      return fail(dataStart + begin, `tensor "${name}" of shape [${shape.join(', ')}] spans ${end - begin} bytes (data_offsets [${begin}, ${end}]), expected ${expectedBytes} (4 bytes per F32 value)`);
    if (end > dataLength)
      return fail(dataStart + begin, `tensor "${name}" ends at byte ${dataStart + end} (data_offsets [${begin}, ${end}]), but the file ends at byte ${bytes.length} (truncated?)`);
    placed.push({ name, shape, begin, end });
  }
  // The data section must be covered exactly: no holes, no overlaps (as the reference reader checks).
  placed.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const { name, begin, end } of placed) {
    if (begin !== covered)
      return fail(dataStart + Math.min(begin, covered), begin < covered
        ? `tensor "${name}" starts at data offset ${begin}, inside the previous tensor's bytes (which end at ${covered}); expected tensors not to overlap`
        : `tensor "${name}" starts at data offset ${begin}, expected ${covered}: bytes ${covered}..${begin} belong to no tensor`);
    covered = end;
  }
  if (covered !== dataLength)
    return fail(dataStart + covered, `the tensors cover ${covered} bytes of data, but ${dataLength} bytes follow the header; expected no trailing bytes`);

  const tensors = new Map<string, StoredTensor>();
  for (const { name, shape, begin, end } of placed) {
    const at = dataStart + begin;
    const count = (end - begin) / BYTES_PER_FLOAT32;
    let data: Float32Array;
    if (littleEndianHost) data = new Float32Array(bytes.slice(at, dataStart + end).buffer);
    else {
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(at + i * BYTES_PER_FLOAT32, true);
    }
    tensors.set(name, { shape, data });
  }
  return E.right({ tensors, metadata });
};
