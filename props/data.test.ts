// Properties and examples for the CIFAR-10 data layer (lib/data): round trips
// through folders and archives, exact error messages for bad files, and the
// download/cache path against file:// and a loopback HTTP server.
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import * as fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import {
  type Cifar10, type CifarSplit, CIFAR10_CLASS_NAMES, DataErrorException, IMAGE_BYTES,
  RECORD_BYTES, type SyntheticCifar10, defaultCacheDir, downloadFile, encodeCifarRecords, ensureCifar10,
  loadCifar10, makeCifar10Archive, makeSyntheticCifar10, makeSyntheticSplit, orThrow, orThrowTask,
  parseCifarRecords, readCifar10, writeCifar10Folder,
} from '../lib/data/index.ts';
import { left, right, temporaryFolders } from './temporary-folders.ts';

// Fixed seed keeps the file deterministic; change it locally to explore other cases.
const FC_SEED = 20240611;

const freshDir = temporaryFolders('tensorspread-data-test-');

const sameSplit = (actual: CifarSplit, expected: CifarSplit): void => {
  assert.equal(actual.count, expected.count);
  assert.equal(actual.images.length, expected.count * IMAGE_BYTES);
  assert.ok(Buffer.from(actual.labels).equals(Buffer.from(expected.labels)), 'labels differ');
  assert.ok(Buffer.from(actual.images).equals(Buffer.from(expected.images)), 'images differ');
};
const sameData = (actual: Cifar10, expected: SyntheticCifar10): void => {
  sameSplit(actual.train, expected.train);
  sameSplit(actual.test, expected.test);
  assert.deepEqual(actual.classNames, expected.classNames);
  assert.deepEqual(actual.trainFiles, expected.trainFiles);
};

describe('records', () => {
  test('parse . encode is the identity on synthetic splits', () => {
    fc.assert(fc.property(fc.nat({ max: 12 }), fc.integer(), (count, seed) => {
      const split = makeSyntheticSplit(count, seed);
      sameSplit(right(parseCifarRecords('x.bin', encodeCifarRecords(split))), split);
    }), { numRuns: 50, seed: FC_SEED });
  });

  test('a size that is not a multiple of 3073 names the leftover and its offset', () => {
    fc.assert(fc.property(fc.nat({ max: 5 }), fc.integer({ min: 1, max: RECORD_BYTES - 1 }), (whole, extra) => {
      const bytes = new Uint8Array(whole * RECORD_BYTES + extra);
      const e = left(parseCifarRecords('data_batch_3.bin', bytes));
      assert.equal(e.kind, 'bad-size');
      assert.equal(e.offset, whole * RECORD_BYTES);
      assert.ok(e.message.startsWith(`data_batch_3.bin: size ${bytes.length} bytes is not a multiple of the 3073-byte record`));
      assert.ok(e.message.includes(`${extra} bytes left over at offset ${whole * RECORD_BYTES}`));
    }), { numRuns: 50, seed: FC_SEED });
  });

  test('the first label above 9 is reported with its record and offset', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 8 }).chain((n) => fc.tuple(fc.constant(n), fc.nat({ max: n - 1 }))),
      fc.integer({ min: 10, max: 255 }),
      ([count, bad], label) => {
        const bytes = encodeCifarRecords(makeSyntheticSplit(count, 7));
        bytes[bad * RECORD_BYTES] = label;
        const e = left(parseCifarRecords('test_batch.bin', bytes));
        assert.equal(e.kind, 'bad-label');
        assert.equal(e.offset, bad * RECORD_BYTES);
        assert.equal(e.message, `test_batch.bin: label byte ${label} at offset ${bad * RECORD_BYTES} (record ${bad}) is above 9`);
      },
    ), { numRuns: 50, seed: FC_SEED });
  });

  test('synthetic data is deterministic by seed and balanced', () => {
    const a = makeSyntheticCifar10({ trainPerBatch: [20, 7], test: 30, seed: 42 });
    const b = makeSyntheticCifar10({ trainPerBatch: [20, 7], test: 30, seed: 42 });
    const c = makeSyntheticCifar10({ trainPerBatch: [20, 7], test: 30, seed: 43 });
    sameSplit(a.train, b.train);
    sameSplit(a.test, b.test);
    assert.ok(!Buffer.from(a.test.images).equals(Buffer.from(c.test.images)));
    const perClass = new Array(10).fill(0);
    for (const l of a.test.labels) perClass[l]++;
    assert.deepEqual(perClass, new Array(10).fill(3));
  });

  test('synthetic classes are separable: nearest mean colour classifies the test split', () => {
    const data = makeSyntheticCifar10({ trainPerBatch: [200], test: 200, seed: 1 });
    const meanColour = (s: CifarSplit, i: number): number[] => [0, 1, 2].map((c) => {
      let sum = 0;
      for (let p = 0; p < 1024; p++) sum += s.images[i * IMAGE_BYTES + c * 1024 + p];
      return sum / 1024;
    });
    const centroids = Array.from({ length: 10 }, () => [0, 0, 0, 0]);
    for (let i = 0; i < data.train.count; i++) {
      const m = meanColour(data.train, i);
      const k = centroids[data.train.labels[i]];
      for (let c = 0; c < 3; c++) k[c] += m[c];
      k[3]++;
    }
    let correct = 0;
    for (let i = 0; i < data.test.count; i++) {
      const m = meanColour(data.test, i);
      const dist = centroids.map((k) => [0, 1, 2].reduce((d, c) => d + (m[c] - k[c] / k[3]) ** 2, 0));
      if (dist.indexOf(Math.min(...dist)) === data.test.labels[i]) correct++;
    }
    assert.ok(correct / data.test.count > 0.9, `accuracy ${correct / data.test.count}`);
  });
});

describe('readCifar10', () => {
  test('round trip: folder, folder containing it, and .tar.gz give the exact bytes', async () => {
    const dir = await freshDir('roundtrip');
    const opts = { trainPerBatch: [12, 9, 10], test: 11, seed: 5 };
    const written = await writeCifar10Folder(dir, opts);
    const archive = await makeCifar10Archive(path.join(dir, 'syn.tar.gz'), opts);
    const tgz = path.join(dir, 'syn.tgz');
    await fsp.copyFile(archive.archive, tgz);
    for (const source of [written.folder, dir, archive.archive, tgz]) {
      const info: string[] = [];
      const data = right(await readCifar10(source, { onInfo: (l) => info.push(l) })());
      sameData(data, written);
      assert.equal(data.train.count, 31);
      assert.equal(info.length, 1);
      assert.match(info[0], /31 training images from 3 files \(data_batch_1\.bin, data_batch_2\.bin, data_batch_3\.bin\), 11 test images/);
    }
  });

  test('property: random batch and record counts round trip through folder and archive', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.nat({ max: 6 }), { minLength: 1, maxLength: 5 }), fc.nat({ max: 6 }), fc.integer(),
      async (trainPerBatch, testCount, seed) => {
        const dir = await freshDir('prop');
        const opts = { trainPerBatch, test: testCount, seed };
        const written = await writeCifar10Folder(dir, opts);
        const archive = await makeCifar10Archive(path.join(dir, 'a.tar.gz'), opts);
        sameData(right(await readCifar10(written.folder)()), written);
        sameData(right(await readCifar10(archive.archive)()), archive);
        await fsp.rm(dir, { recursive: true, force: true });
      },
    ), { numRuns: 15, seed: FC_SEED });
  });

  test('only some data_batch files present: counts and names are reported', async () => {
    const dir = await freshDir('partial');
    const written = await writeCifar10Folder(dir, { trainPerBatch: [4, 5, 6, 7], test: 3, seed: 9 });
    await fsp.rm(path.join(written.folder, 'data_batch_2.bin'));
    await fsp.rm(path.join(written.folder, 'data_batch_4.bin'));
    // data_batch_10 must sort after data_batch_3 (numeric, not lexical).
    await fsp.writeFile(path.join(written.folder, 'data_batch_10.bin'), encodeCifarRecords(written.trainBatches[1]));
    const info: string[] = [];
    const data = right(await readCifar10(written.folder, { onInfo: (l) => info.push(l) })());
    assert.deepEqual(data.trainFiles, ['data_batch_1.bin', 'data_batch_3.bin', 'data_batch_10.bin']);
    assert.equal(data.train.count, 4 + 6 + 5);
    assert.deepEqual([...data.train.labels], [
      ...written.trainBatches[0].labels, ...written.trainBatches[2].labels, ...written.trainBatches[1].labels,
    ]);
    assert.match(info[0], /15 training images from 3 files \(data_batch_1\.bin, data_batch_3\.bin, data_batch_10\.bin\)/);
  });

  test('size not a multiple of 3073: exact message naming file and offset', async () => {
    const dir = await freshDir('badsize');
    const written = await writeCifar10Folder(dir, { trainPerBatch: [10], test: 2, seed: 1 });
    const file = path.join(written.folder, 'data_batch_1.bin');
    await fsp.appendFile(file, new Uint8Array(5));
    const e = left(await readCifar10(dir)());
    assert.deepEqual(e, {
      kind: 'bad-size', file, offset: 30730,
      message: 'data_batch_1.bin: size 30735 bytes is not a multiple of the 3073-byte record (1 label byte + 3072 pixels); ' +
        '5 bytes left over at offset 30730, after 10 whole records',
    });
  });

  test('label above 9: exact message with offset and record, in a folder and in an archive', async () => {
    const dir = await freshDir('badlabel');
    const written = await writeCifar10Folder(dir, { trainPerBatch: [3], test: 4, seed: 2 });
    const file = path.join(written.folder, 'test_batch.bin');
    const bytes = await fsp.readFile(file);
    bytes[2 * RECORD_BYTES] = 12;
    await fsp.writeFile(file, bytes);
    const message = 'test_batch.bin: label byte 12 at offset 6146 (record 2) is above 9';
    assert.deepEqual(left(await readCifar10(written.folder)()), { kind: 'bad-label', file, offset: 6146, message });

    // Same through an archive: the file names the archive entry.
    const archive = path.join(dir, 'bad.tar.gz');
    const tar = await import('tar');
    await tar.create({ gzip: true, file: archive, cwd: dir }, ['cifar-10-batches-bin']);
    assert.deepEqual(left(await readCifar10(archive)()), {
      kind: 'bad-label', file: `${archive}:cifar-10-batches-bin/test_batch.bin`, offset: 6146, message,
    });
  });

  test('missing test_batch.bin, training files or meta: message lists what was found', async () => {
    const dir = await freshDir('missing');
    const written = await writeCifar10Folder(dir, { trainPerBatch: [2, 2], test: 2, seed: 3 });
    await fsp.rm(path.join(written.folder, 'test_batch.bin'));
    assert.deepEqual(left(await readCifar10(dir)()), {
      kind: 'missing-file', file: written.folder,
      message: `no test_batch.bin in ${written.folder} (found: batches.meta.txt, data_batch_1.bin, data_batch_2.bin)`,
    });

    const dir2 = await freshDir('missing-train');
    const w2 = await writeCifar10Folder(dir2, { trainPerBatch: [2], test: 2, seed: 3 });
    await fsp.rm(path.join(w2.folder, 'data_batch_1.bin'));
    const e2 = left(await readCifar10(w2.folder)());
    assert.equal(e2.kind, 'missing-file');
    assert.equal(e2.message, `no data_batch_N.bin training file in ${w2.folder} (found: batches.meta.txt, test_batch.bin)`);

    const dir3 = await freshDir('missing-meta');
    const w3 = await writeCifar10Folder(dir3, { trainPerBatch: [2], test: 2, seed: 3 });
    await fsp.rm(path.join(w3.folder, 'batches.meta.txt'));
    assert.match(left(await readCifar10(w3.folder)()).message, /^no batches\.meta\.txt in /);

    const nowhere = path.join(dir, 'nope.tar.gz');
    assert.deepEqual(left(await readCifar10(nowhere)()), {
      kind: 'missing-file', file: nowhere, message: `no such folder or archive: ${nowhere}`,
    });
  });

  test('bad meta, truncated and foreign archives are reported, not thrown', async () => {
    const dir = await freshDir('badarchive');
    const written = await writeCifar10Folder(dir, { trainPerBatch: [2], test: 2, seed: 4 });
    await fsp.writeFile(path.join(written.folder, 'batches.meta.txt'), 'cat\ndog\n');
    const meta = left(await readCifar10(dir)());
    assert.equal(meta.kind, 'bad-meta');
    assert.equal(meta.message, 'batches.meta.txt: expected 10 class names, one per line, found 2 (cat, dog)');

    const archive = await makeCifar10Archive(path.join(dir, 'good.tar.gz'), { trainPerBatch: [40], test: 40, seed: 4 });
    const bytes = await fsp.readFile(archive.archive);
    const truncated = path.join(dir, 'truncated.tar.gz');
    await fsp.writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const t = left(await readCifar10(truncated)());
    assert.equal(t.kind, 'bad-archive');
    assert.ok(t.message.startsWith(`${truncated}: cannot read as a .tar.gz archive`), t.message);

    const foreign = path.join(dir, 'foreign.tgz');
    await fsp.writeFile(foreign, 'this is not an archive');
    assert.equal(left(await readCifar10(foreign)()).kind, 'bad-archive');

    // orThrow / orThrowTask unwrap Right and throw the structured error on Left.
    assert.throws(() => orThrow(E.left(t)), (x: unknown) => x instanceof DataErrorException && x.dataError === t);
    await assert.rejects(orThrowTask(readCifar10(foreign)), DataErrorException);
    assert.equal(orThrow(await readCifar10(archive.archive)()).train.count, 40);
  });
});

describe('ensureCifar10 and downloads', () => {
  const opts = { trainPerBatch: [6, 5], test: 7, seed: 11 };
  let good: SyntheticCifar10 & { archive: string; md5: string };
  let goodBytes: Buffer;
  let corruptBytes: Buffer;
  let server: http.Server;
  let base = '';
  const hits = new Map<string, number>();
  const hit = (route: string): number => hits.get(route) ?? 0;

  before(async () => {
    const dir = await freshDir('served');
    good = await makeCifar10Archive(path.join(dir, 'cifar-10-binary.tar.gz'), opts);
    goodBytes = await fsp.readFile(good.archive);
    corruptBytes = Buffer.from(goodBytes);
    corruptBytes[corruptBytes.length >> 1] ^= 0xff; // same size, wrong md5
    server = http.createServer((req, res) => {
      const route = req.url ?? '';
      const n = hit(route) + 1;
      hits.set(route, n);
      const full = (body: Buffer): void => {
        res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(body.length) });
        res.end(body);
      };
      // Promise the whole archive, send half, then drop the connection.
      const half = (): void => {
        res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(goodBytes.length) });
        res.write(goodBytes.subarray(0, goodBytes.length >> 1), () => res.destroy());
      };
      if (route.startsWith('/good')) full(goodBytes);
      else if (route.startsWith('/redirect')) {
        res.writeHead(302, { location: route.replace('/redirect', '/good') });
        res.end();
      } else if (route.startsWith('/corrupt')) full(corruptBytes);
      else if (route.startsWith('/flaky')) (n === 1 ? half() : full(goodBytes));
      else if (route.startsWith('/broken')) half();
      else {
        res.writeHead(404);
        res.end('not found');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const cacheContents = async (cacheDir: string): Promise<string[]> =>
    (await fsp.readdir(cacheDir).catch(() => [] as string[])).sort();

  test('file:// URL: downloads, verifies, unpacks into the cache and reads', async () => {
    const cacheDir = await freshDir('cache-file');
    const info: string[] = [];
    const data = right(await ensureCifar10({
      cacheDir, url: pathToFileURL(good.archive).href, md5: good.md5, retryDelayMs: 0, onInfo: (l) => info.push(l),
    })());
    sameData(data, good);
    assert.equal(data.source, path.join(cacheDir, 'cifar-10-batches-bin'));
    // Only the unpacked folder remains: no archive, no .part, no .unpack-* temp.
    assert.deepEqual(await cacheContents(cacheDir), ['cifar-10-batches-bin']);
    assert.ok(info.some((l) => l.includes('11 training images') && l.includes('7 test images')), info.join('\n'));
  });

  test('http with a redirect: lands in the cache; a second call uses the cache without downloading', async () => {
    const cacheDir = await freshDir('cache-http');
    const url = `${base}/redirect/a`;
    const first = right(await loadCifar10({ cacheDir, url, md5: good.md5, retryDelayMs: 0, progress: true })());
    sameData(first, good);
    assert.equal(hit('/redirect/a'), 1);
    assert.equal(hit('/good/a'), 1);
    const info: string[] = [];
    const second = right(await ensureCifar10({ cacheDir, url, md5: good.md5, onInfo: (l) => info.push(l) })());
    sameData(second, good);
    assert.equal(hit('/redirect/a'), 1, 'second call must not download');
    assert.equal(hit('/good/a'), 1);
    assert.ok(info[0].startsWith('using cached '), info[0]);
  });

  test('wrong md5 is retried, then reported with URL, bytes and both md5s; cache stays empty', async () => {
    const cacheDir = await freshDir('cache-corrupt');
    const url = `${base}/corrupt/a`;
    const e = left(await ensureCifar10({ cacheDir, url, md5: good.md5, retries: 2, retryDelayMs: 0 })());
    assert.equal(hit('/corrupt/a'), 3);
    assert.equal(e.kind, 'checksum-mismatch');
    assert.equal(e.file, url);
    assert.ok(e.message.includes(url), e.message);
    assert.ok(e.message.includes(`received ${goodBytes.length} bytes`), e.message);
    assert.ok(e.message.includes(`expected md5 ${good.md5}`), e.message);
    const actual = (await import('node:crypto')).createHash('md5').update(corruptBytes).digest('hex');
    assert.ok(e.message.includes(`actual md5 ${actual}`), e.message);
    assert.deepEqual(await cacheContents(cacheDir), []);
  });

  test('connection closed half way is retried and succeeds on the second try', async () => {
    const cacheDir = await freshDir('cache-flaky');
    const url = `${base}/flaky/a`;
    const info: string[] = [];
    const data = right(await ensureCifar10({ cacheDir, url, md5: good.md5, retryDelayMs: 0, onInfo: (l) => info.push(l) })());
    sameData(data, good);
    assert.equal(hit('/flaky/a'), 2);
    assert.ok(info.some((l) => l.startsWith('attempt 1 of 3 to download') && l.includes(`of ${goodBytes.length}`)), info.join('\n'));
    assert.deepEqual(await cacheContents(cacheDir), ['cifar-10-batches-bin']);
  });

  test('a connection that always closes half way fails after the retries, leaving nothing', async () => {
    const cacheDir = await freshDir('cache-broken');
    const url = `${base}/broken/a`;
    const e = left(await ensureCifar10({ cacheDir, url, md5: good.md5, retries: 1, retryDelayMs: 0 })());
    assert.equal(hit('/broken/a'), 2);
    assert.equal(e.kind, 'download-failed');
    assert.ok(e.message.startsWith(`download of ${url} failed after 2 attempts: received `), e.message);
    assert.ok(e.offset !== undefined && e.offset < goodBytes.length);
    assert.ok(e.message.includes(`expected md5 ${good.md5}`), e.message);
    assert.deepEqual(await cacheContents(cacheDir), []);
  });

  test('a 404 or a missing file:// target is not retried', async () => {
    const cacheDir = await freshDir('cache-404');
    const e = left(await ensureCifar10({ cacheDir, url: `${base}/missing/a`, md5: good.md5, retryDelayMs: 0 })());
    assert.equal(hit('/missing/a'), 1);
    assert.equal(e.kind, 'download-failed');
    assert.match(e.message, /HTTP 404/);
    const gone = pathToFileURL(path.join(cacheDir, 'gone.tar.gz')).href;
    const f = left(await downloadFile(gone, path.join(cacheDir, 'x.tar.gz'), { retryDelayMs: 0 })());
    assert.match(f.message, /failed after 1 attempt: received 0 bytes/);
    assert.deepEqual(await cacheContents(cacheDir), []);
  });

  test('data option reads that path and leaves the cache alone', async () => {
    const cacheDir = path.join(await freshDir('cache-data'), 'never');
    const data = right(await ensureCifar10({ data: good.archive, cacheDir })());
    sameData(data, good);
    assert.deepEqual(await cacheContents(cacheDir), []);
  });

  test('a damaged cache is reported with a hint, not downloaded over', async () => {
    const cacheDir = await freshDir('cache-damaged');
    const written = await writeCifar10Folder(cacheDir, { trainPerBatch: [2], test: 2, seed: 1 });
    await fsp.rm(path.join(written.folder, 'test_batch.bin'));
    const e = left(await ensureCifar10({ cacheDir, url: `${base}/good/damaged`, md5: good.md5 })());
    assert.equal(e.kind, 'missing-file');
    assert.ok(e.message.endsWith(`(cached copy in ${written.folder}; delete that folder to download again)`), e.message);
    assert.equal(hit('/good/damaged'), 0);
  });

  test('default cache folder follows XDG_CACHE_HOME, else ~/.cache', () => {
    assert.equal(defaultCacheDir('cifar10', { XDG_CACHE_HOME: '/xdg' }), path.join('/xdg', 'tensorspread', 'cifar10'));
    assert.equal(defaultCacheDir('cifar10', {}), path.join(os.homedir(), '.cache', 'tensorspread', 'cifar10'));
  });
});

const realData = process.env.CIFAR10_DATA;
test('real CIFAR-10 subset (CIFAR10_DATA)', {
  skip: realData === undefined || realData === '' ? 'CIFAR10_DATA is not set (path to the real subset .tar.gz)' : false,
}, async (t) => {
  const started = performance.now();
  const info: string[] = [];
  const data = right(await readCifar10(realData!, { onInfo: (l) => info.push(l) })());
  t.diagnostic(`read in ${(performance.now() - started).toFixed(0)} ms: ${info.join('; ')}`);
  assert.equal(data.train.count, 10_000);
  assert.equal(data.test.count, 10_000);
  assert.equal(data.train.images.length, 10_000 * IMAGE_BYTES);
  assert.deepEqual(data.classNames, [...CIFAR10_CLASS_NAMES]);
  assert.ok(data.train.labels.every((l) => l <= 9) && data.test.labels.every((l) => l <= 9));
  const perClass = new Array(10).fill(0);
  for (const l of data.test.labels) perClass[l]++;
  assert.deepEqual(perClass, new Array(10).fill(1000));
});
