// Checkpoints: the safetensors encoding round-trips any tensors and metadata bit for bit, trees
// restore by path, writes are atomic (no temporary files left, a failed write keeps the old
// file), and every damaged header is refused with the file, the byte offset and what was expected.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import {
  type StoredTensor, decodeSafetensors, encodeSafetensors, isTemporaryName, readCheckpoint, removeStaleTemporaryFiles, temporaryPathFor, tensorsOfTree, treeOfTensors,
  writeCheckpoint, writeFileAtomic,
} from '../lib/checkpoint/index.ts';
import { CHECKSUMS_KEY } from '../lib/checkpoint/checkpoint.ts';
import { runs } from './runs.ts';

const shapeArbitrary = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 });
const storedTensorArbitrary: fc.Arbitrary<StoredTensor> = shapeArbitrary.chain((shape) => {
  const count = shape.reduce((n, d) => n * d, 1);
  // Any float32 bit pattern's value: NaN, infinities, -0 and subnormals included.
  return fc.float32Array({ minLength: count, maxLength: count }).map((data) => ({ shape, data }));
});
const metadataArbitrary = fc.dictionary(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 40 }), { maxKeys: 5, noNullPrototype: true });

/** Bitwise equality of float32 data (NaN payloads and the sign of zero count). */
const sameBits = (a: Float32Array, b: Float32Array): boolean => {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
};

const temporaryFolder = () => fsp.mkdtemp(path.join(os.tmpdir(), 'checkpoint-test-'));

const leftMessage = <A>(result: E.Either<{ message: string }, A>): string => {
  assert.ok(E.isLeft(result), 'expected the decoder to refuse the file');
  return result.left.message;
};

test('safetensors round-trips any names, shapes, float32 bits and string metadata', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(fc.string({ unit: 'binary', maxLength: 10 }).filter((n) => n !== '__metadata__'), storedTensorArbitrary), {
        maxLength: 6, selector: ([name]) => name,
      }),
      metadataArbitrary,
      (entries, metadata) => {
        const bytes = encodeSafetensors(new Map(entries), metadata);
        const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
        assert.equal((8 + headerLength) % 8, 0, 'the data starts 8-byte aligned');
        const decoded = decodeSafetensors(bytes, 'memory.safetensors');
        if (E.isLeft(decoded)) throw new Error(decoded.left.message);
        assert.deepEqual(decoded.right.metadata, metadata);
        assert.equal(decoded.right.tensors.size, entries.length);
        for (const [name, tensor] of entries) {
          const back = decoded.right.tensors.get(name);
          assert.ok(back, `tensor ${JSON.stringify(name)} is missing`);
          assert.deepEqual(back.shape, tensor.shape);
          assert.ok(sameBits(back.data, tensor.data), `tensor ${JSON.stringify(name)} changed`);
        }
      },
    ),
    { numRuns: runs(200) },
  );
});

// Trees like a model's: nested objects and arrays with plain names.
const nameArbitrary = fc.stringMatching(/^[a-z][a-zA-Z]{0,6}$/);
const treeArbitrary = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    storedTensorArbitrary,
    fc.array(tie('tree'), { minLength: 1, maxLength: 3 }),
    fc.dictionary(nameArbitrary, tie('tree'), { minKeys: 1, maxKeys: 3, noNullPrototype: true }),
  ),
})).tree;

test('a tree written as a checkpoint reads back into the same tree, bit for bit, with no temporary files left', async () => {
  const folder = await temporaryFolder();
  try {
    await fc.assert(
      fc.asyncProperty(treeArbitrary, metadataArbitrary, async (tree, metadata) => {
        const file = path.join(folder, 'checkpoint.safetensors');
        await writeCheckpoint(file, tree, metadata);
        const read = await readCheckpoint(file)();
        if (E.isLeft(read)) throw new Error(read.left.message);
        const restored = treeOfTensors(tree, read.right.tensors, file);
        if (E.isLeft(restored)) throw new Error(restored.left.message);
        const before = tensorsOfTree(tree);
        const after = tensorsOfTree(restored.right);
        assert.deepEqual([...after.keys()], [...before.keys()]);
        for (const [name, tensor] of before) {
          assert.deepEqual(after.get(name)!.shape, tensor.shape);
          assert.ok(sameBits(after.get(name)!.data, tensor.data), `${name} changed`);
        }
        // Beside the metadata given, the tensors' checksums.
        const { [CHECKSUMS_KEY]: checksums, ...given } = read.right.metadata;
        assert.deepEqual(given, metadata);
        assert.deepEqual(Object.keys(JSON.parse(checksums)), [...tensorsOfTree(tree).keys()]);
        assert.deepEqual(await fsp.readdir(folder), ['checkpoint.safetensors']);
      }),
      { numRuns: runs(40) },
    );
  } finally {
    await fsp.rm(folder, { recursive: true, force: true });
  }
});

test('restoring into a tree of other structure names the tensor and what was expected', () => {
  const tree = { params: { weight: { shape: [2, 3], data: new Float32Array(6) } }, state: [{ shape: [3], data: new Float32Array(3) }] };
  const tensors = tensorsOfTree(tree);
  const file = 'run/checkpoint.safetensors';
  const missing = treeOfTensors({ ...tree, extra: { shape: [1], data: new Float32Array(1) } }, tensors, file);
  assert.match(leftMessage(missing), /run\/checkpoint\.safetensors: holds no tensor "extra"/);
  const extra = treeOfTensors({ params: tree.params }, tensors, file);
  assert.match(leftMessage(extra), /tensors this model does not have: "state\[0\]"/);
  const reshaped = treeOfTensors({ ...tree, params: { weight: { shape: [3, 2], data: new Float32Array(6) } } }, tensors, file);
  assert.match(leftMessage(reshaped), /"params\.weight" has shape \[2, 3\], expected \[3, 2\]/);
});

test('a failed write leaves the old checkpoint intact and no temporary file behind', async () => {
  const folder = await temporaryFolder();
  try {
    const file = path.join(folder, 'checkpoint.safetensors');
    const old = { w: { shape: [2], data: Float32Array.of(1, 2) } };
    await writeCheckpoint(file, old, { epoch: '1' });
    const oldBytes = await fsp.readFile(file);
    const replacement = encodeSafetensors({ w: { shape: [3], data: Float32Array.of(7, 8, 9) } }, { epoch: '2' });

    // The disk fills up half way through the data.
    const failingOpen = (async (...args: Parameters<typeof fsp.open>) => {
      const handle = await fsp.open(...args);
      return Object.assign(Object.create(handle), {
        writeFile: async (bytes: Uint8Array) => {
          await handle.write(bytes.subarray(0, bytes.length >> 1));
          throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        },
        sync: () => handle.sync(),
        close: () => handle.close(),
      });
    }) as typeof fsp.open;
    // The error names the file meant, not the temporary one, and says what went wrong in words.
    await assert.rejects(writeFileAtomic(file, replacement, { ...fsp, open: failingOpen }), (error: Error) =>
      error.message === `cannot write ${file}: no space left on the device (ENOSPC)`);
    // The process dies (or the rename fails) after the data was flushed.
    const failingRename = (async () => { throw new Error('EXDEV: rename failed'); }) as typeof fsp.rename;
    await assert.rejects(writeFileAtomic(file, replacement, { ...fsp, rename: failingRename }), /EXDEV/);
    // A tree that cannot be encoded fails before anything is written.
    await assert.rejects(writeCheckpoint(file, { w: { shape: [4], data: new Float32Array(3) } }, {}), /3 values for shape \[4\]/);

    assert.deepEqual(await fsp.readdir(folder), ['checkpoint.safetensors']);
    assert.ok(oldBytes.equals(await fsp.readFile(file)), 'the old checkpoint changed');
    const read = await readCheckpoint(file)();
    assert.ok(E.isRight(read) && read.right.metadata.epoch === '1');

    await writeFileAtomic(file, replacement);
    assert.ok(Buffer.from(replacement).equals(await fsp.readFile(file)));
    assert.ok((await fsp.readdir(folder)).every((name) => !isTemporaryName(name)));
  } finally {
    await fsp.rm(folder, { recursive: true, force: true });
  }
});

test('a writer killed mid-write leaves a temporary file that the next run removes; a live writer\'s is kept', async () => {
  const folder = await fsp.mkdtemp(path.join(os.tmpdir(), 'stale-'));
  try {
    // A process that has exited: its pid is free (reuse within these milliseconds is unlikely).
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(child.stdout.toString());
    const dead = `.checkpoint.safetensors.${deadPid}.1700000000000.0.tmp`;
    const live = path.basename(temporaryPathFor(path.join(folder, 'metrics.jsonl')));
    for (const name of [dead, live, 'checkpoint.safetensors', '.hidden']) await fsp.writeFile(path.join(folder, name), 'x');
    assert.ok(isTemporaryName(dead) && isTemporaryName(live));
    assert.deepEqual(await removeStaleTemporaryFiles(folder), [dead]);
    assert.deepEqual((await fsp.readdir(folder)).sort(), ['.hidden', live, 'checkpoint.safetensors'].sort());
    assert.deepEqual(await removeStaleTemporaryFiles(path.join(folder, 'missing')), []);
  } finally {
    await fsp.rm(folder, { recursive: true, force: true });
  }
});

/** A file from a header object (padded to 8 bytes) and raw data bytes. */
const fileOf = (header: unknown, data: Uint8Array = new Uint8Array(0), rawHeader?: string): Uint8Array => {
  let json = rawHeader ?? JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const bytes = new Uint8Array(8 + json.length + data.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
  bytes.set(new TextEncoder().encode(json), 8);
  bytes.set(data, 8 + json.length);
  return bytes;
};

test('a truncated file is refused wherever it is cut, naming the file and a byte offset inside it', () => {
  const whole = encodeSafetensors({ a: { shape: [3, 2], data: Float32Array.of(1, 2, 3, 4, 5, 6) }, b: { shape: [4], data: new Float32Array(4) } }, { epoch: '3' });
  fc.assert(
    fc.property(fc.integer({ min: 0, max: whole.length - 1 }), (cut) => {
      const message = leftMessage(decodeSafetensors(whole.subarray(0, cut), 'runs/x/checkpoint.safetensors'));
      const match = /^runs\/x\/checkpoint\.safetensors, byte offset (\d+): /.exec(message);
      assert.ok(match, message);
      assert.ok(Number(match[1]) <= cut, `offset ${match[1]} beyond the cut at ${cut}: ${message}`);
      assert.match(message, /truncated|expected/);
    }),
    { numRuns: runs(100) },
  );
  assert.match(leftMessage(decodeSafetensors(whole.subarray(0, 5), 'f')), /^f, byte offset 0: the file is 5 bytes long, expected at least 8/);
  assert.match(leftMessage(decodeSafetensors(whole.subarray(0, 20), 'f')), /^f, byte offset 8: the header length says \d+ bytes of JSON, but only 12 bytes follow/);
  assert.match(leftMessage(decodeSafetensors(whole.subarray(0, whole.length - 1), 'f')), /tensor "b" ends at byte \d+ .*but the file ends at byte \d+ \(truncated\?\)/);
});

test('bad JSON, a bad header and offsets out of range are refused with what was expected', () => {
  const decode = (bytes: Uint8Array) => leftMessage(decodeSafetensors(bytes, 'c.safetensors'));
  assert.match(decode(fileOf(undefined, undefined, '{"a": {"dtype": "F32",')), /^c\.safetensors, byte offset 8: the \d+-byte header is not valid JSON \(.+\), expected a JSON object/);
  assert.match(decode(fileOf(undefined, undefined, '[1, 2]')), /byte offset 8: the header starts with "\[1, 2\]/);
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 60n, true);
  assert.match(decode(huge), /^c\.safetensors, byte offset 0: the header length is \d+ bytes, expected at most/);
  const data = new Uint8Array(8);
  const headerEnd = fileOf({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }).length;
  assert.match(decode(fileOf({ a: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, data)),
    new RegExp(`byte offset ${headerEnd + 4}: tensor "a" ends at byte ${headerEnd + 12} \\(data_offsets \\[4, 12\\]\\), but the file ends at byte ${headerEnd + 8}`));
  assert.match(decode(fileOf({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data)), /tensor "a" of shape \[3\] spans 8 bytes .*expected 12/);
  assert.match(decode(fileOf({ a: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, data)), /tensor "a" has dtype "F64", expected "F32"/);
  assert.match(decode(fileOf({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 8] } }, data)), /tensor "a" has shape \[-1\], expected an array of natural numbers/);
  assert.match(decode(fileOf({ a: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, data)), /data_offsets \[8,0\], expected \[begin, end\]/);
  assert.match(decode(fileOf({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [2, 6] } }, data)),
    /tensor "b" starts at data offset 2, inside the previous tensor's bytes/);
  assert.match(decode(fileOf({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, data)), /tensor "a" starts at data offset 4, expected 0/);
  assert.match(decode(fileOf({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, data)), /cover 4 bytes of data, but 8 bytes follow the header/);
  assert.match(decode(fileOf({ __metadata__: { epoch: 3 } })), /"__metadata__"\."epoch" is 3, expected a string/);
});

test('reading a missing checkpoint says so and names the file', async () => {
  const result = await readCheckpoint('/nonexistent/run/checkpoint.safetensors')();
  assert.match(leftMessage(result), /^\/nonexistent\/run\/checkpoint\.safetensors: no such checkpoint file/);
});
