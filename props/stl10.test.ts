// STL-10 in its official binary layout (lib/data/stl10-*.ts): the column-major channels read
// into CHW row-major (a hand-written file that a reader swapping rows and columns fails), labels
// 1..10, round trips through folders and archives, exact errors naming the file and the offset,
// the unlabeled images cut to the first N, and the cache and md5-checked download from a file:// URL.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import {
  STL10_IMAGE_BYTES, type Stl10, type SyntheticStl10, encodeStl10Images, ensureStl10, makeStl10Archive, makeSyntheticStl10,
  parseStl10Images, parseStl10Labels, readStl10, writeStl10Folder,
} from '../lib/data/index.ts';
import { left, right, temporaryFolders } from './temporary-folders.ts';

const freshDir = temporaryFolders('tensorspread-stl10-test-');

const sameBytes = (a: Uint8Array, b: Uint8Array, what: string) => assert.ok(Buffer.from(a).equals(Buffer.from(b)), `${what} differ`);

const sameData = (actual: Stl10, expected: SyntheticStl10, unlabeled = expected.unlabeled.count): void => {
  for (const split of ['train', 'test'] as const) {
    assert.equal(actual[split].count, expected[split].count);
    sameBytes(actual[split].images, expected[split].images, `${split} images`);
    sameBytes(actual[split].labels, expected[split].labels, `${split} labels`);
  }
  assert.equal(actual.unlabeled.count, unlabeled);
  sameBytes(actual.unlabeled.images, expected.unlabeled.images.subarray(0, unlabeled * STL10_IMAGE_BYTES), 'unlabeled images');
  assert.deepEqual(actual.classNames, expected.classNames);
};

describe('records', () => {
  test('a hand-written column-major image reads as rows and columns, channel by channel', () => {
    // The file's byte for channel c, row r, column x sits at c*9216 + x*96 + r; its value is
    // unequal to the value at (x, r) whenever r != x, so swapping rows and columns fails.
    const value = (c: number, r: number, x: number) => (c * 101 + r * 7 + x * 3) & 255;
    const file = new Uint8Array(2 * STL10_IMAGE_BYTES);
    for (let image = 0; image < 2; image++)
      for (let c = 0; c < 3; c++)
        for (let r = 0; r < 96; r++) for (let x = 0; x < 96; x++) file[image * STL10_IMAGE_BYTES + c * 9216 + x * 96 + r] = value(c + image, r, x);
    const { images, count } = right(parseStl10Images('train_X.bin', file));
    assert.equal(count, 2);
    for (let image = 0; image < 2; image++)
      for (let c = 0; c < 3; c++)
        for (let r = 0; r < 96; r++)
          for (let x = 0; x < 96; x++) {
            const at = image * STL10_IMAGE_BYTES + c * 9216 + r * 96 + x;
            if (images[at] !== value(c + image, r, x)) assert.fail(`image ${image}, channel ${c}, row ${r}, column ${x}: ${images[at]}, expected ${value(c + image, r, x)}`);
          }
    // Row 0 of channel 0 is the file's first column: its bytes 0, 96, 192, ...
    assert.deepEqual(Array.from(images.subarray(0, 4)), [file[0], file[96], file[192], file[288]]);
  });

  test('encode . parse is the identity, and a prefix reads the first images of a longer file', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 3 }), fc.integer(), fc.integer({ min: 0, max: 3 }), (count, seed, kept) => {
      const images = makeSyntheticStl10({ train: count, test: 0, unlabeled: 0, seed }).train.images;
      const file = encodeStl10Images(images, count);
      sameBytes(right(parseStl10Images('x.bin', file)).images, images, 'images');
      const first = Math.min(kept, count);
      const prefix = right(parseStl10Images('x.bin', file.subarray(0, first * STL10_IMAGE_BYTES), file.length));
      assert.equal(prefix.count, first);
      sameBytes(prefix.images, images.subarray(0, first * STL10_IMAGE_BYTES), 'prefix');
    }), { numRuns: 20 });
  });

  test('a size that is not whole images names the leftover and its offset', () => {
    const e = left(parseStl10Images('test_X.bin', new Uint8Array(2 * STL10_IMAGE_BYTES + 5)));
    assert.deepEqual(e, {
      kind: 'bad-size', file: 'test_X.bin', offset: 55296,
      message: 'test_X.bin: size 55301 bytes is not a multiple of the 27648-byte image (3 channels of 96x96); 5 bytes left over at offset 55296, after 2 whole images',
    });
  });

  test('labels 1..10 read as 0..9; 0 or above 10 is named with its offset', () => {
    assert.deepEqual(Array.from(right(parseStl10Labels('train_y.bin', Uint8Array.of(1, 10, 5)))), [0, 9, 4]);
    for (const bad of [0, 11, 255])
      assert.deepEqual(left(parseStl10Labels('train_y.bin', Uint8Array.of(3, 1, bad, 2))), {
        kind: 'bad-label', file: 'train_y.bin', offset: 2, message: `train_y.bin: label byte ${bad} at offset 2 (image 2) is not a class in 1..10`,
      });
  });
});

describe('readStl10', () => {
  const options = { train: 10, test: 7, unlabeled: 5, seed: 3 };

  test('folder, folder containing it, and .tar.gz give the exact images; unlabeled cut to the first N or skipped', async () => {
    const dir = await freshDir('roundtrip');
    const written = await writeStl10Folder(dir, options);
    const archive = await makeStl10Archive(path.join(dir, 'stl.tar.gz'), options);
    for (const source of [written.folder, dir, archive.archive]) {
      const info: string[] = [];
      sameData(right(await readStl10(source, { onInfo: (line) => info.push(line) })()), written);
      assert.match(info[0], /^STL-10 from .*: 10 training images, 7 test images, 5 unlabeled images, 10 classes, 96x96$/);
      sameData(right(await readStl10(source, { unlabeled: 2 })()), written, 2);
      sameData(right(await readStl10(source, { unlabeled: 0 })()), written, 0);
    }
    await fsp.rm(path.join(written.folder, 'unlabeled_X.bin'));
    sameData(right(await readStl10(written.folder, { unlabeled: 0 })()), written, 0);
    assert.equal(left(await readStl10(written.folder)()).message,
      `no unlabeled_X.bin (read no unlabeled images to do without it) in ${written.folder} (found: class_names.txt, test_X.bin, test_y.bin, train_X.bin, train_y.bin)`);
    assert.throws(() => readStl10(written.folder, { unlabeled: -1 }), /readStl10: unlabeled = -1 must be a natural number of images/);
  });

  test('labels and images that differ in number, a bad label in an archive, a missing file: named with file and offset', async () => {
    const dir = await freshDir('bad');
    const written = await writeStl10Folder(dir, options);
    const labels = path.join(written.folder, 'train_y.bin');
    await fsp.writeFile(labels, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9));
    assert.deepEqual(left(await readStl10(written.folder)()), {
      kind: 'bad-size', file: labels, offset: 9, message: 'train_y.bin: 9 labels for the 10 images of train_X.bin; the labels end at offset 9',
    });

    const dir2 = await freshDir('bad-label');
    const w2 = await writeStl10Folder(dir2, options);
    const testLabels = path.join(w2.folder, 'test_y.bin');
    const bytes = await fsp.readFile(testLabels);
    bytes[4] = 0;
    await fsp.writeFile(testLabels, bytes);
    const archive = path.join(dir2, 'bad.tar.gz');
    const tar = await import('tar');
    await tar.create({ gzip: true, file: archive, cwd: dir2 }, ['stl10_binary']);
    assert.deepEqual(left(await readStl10(archive)()), {
      kind: 'bad-label', file: `${archive}:stl10_binary/test_y.bin`, offset: 4, message: 'test_y.bin: label byte 0 at offset 4 (image 4) is not a class in 1..10',
    });

    await fsp.appendFile(path.join(w2.folder, 'unlabeled_X.bin'), new Uint8Array(3));
    await fsp.writeFile(testLabels, (await fsp.readFile(testLabels)).map(() => 1));
    const e = left(await readStl10(w2.folder, { unlabeled: 1 })());
    assert.equal(e.kind, 'bad-size');
    assert.equal(e.offset, 5 * STL10_IMAGE_BYTES, 'the whole file is checked, not only the prefix read');

    await fsp.rm(path.join(w2.folder, 'test_X.bin'));
    assert.match(left(await readStl10(w2.folder)()).message, /^no test_X\.bin in .*stl10_binary \(found: class_names\.txt, test_y\.bin, train_X\.bin, train_y\.bin, unlabeled_X\.bin\)$/);
  });
});

describe('ensureStl10', () => {
  test('a file:// URL with the right md5 is downloaded, unpacked into the cache and read; the cache serves the second call', async () => {
    const dir = await freshDir('download');
    const archive = await makeStl10Archive(path.join(dir, 'stl10_binary.tar.gz'), { train: 4, test: 3, unlabeled: 2, seed: 9 });
    const cacheDir = path.join(dir, 'cache');
    const info: string[] = [];
    const url = pathToFileURL(archive.archive).href;
    const data = right(await ensureStl10({ cacheDir, url, md5: archive.md5, retryDelayMs: 0, onInfo: (line) => info.push(line) })());
    sameData(data, archive);
    assert.equal(data.source, path.join(cacheDir, 'stl10_binary'));
    assert.deepEqual((await fsp.readdir(cacheDir)).sort(), ['stl10_binary']);
    assert.ok(info.some((line) => line.startsWith(`downloaded ${url}`)), info.join('\n'));
    const again: string[] = [];
    sameData(right(await ensureStl10({ cacheDir, url: 'file:///nowhere', onInfo: (line) => again.push(line) })()), archive);
    assert.ok(again[0].startsWith('using cached '), again[0]);
  });

  test('a wrong md5 is reported with both md5s and leaves the cache empty', async () => {
    const dir = await freshDir('md5');
    const archive = await makeStl10Archive(path.join(dir, 'stl10_binary.tar.gz'), { train: 2, test: 2, unlabeled: 0, seed: 1 });
    const cacheDir = path.join(dir, 'cache');
    const url = pathToFileURL(archive.archive).href;
    const wrong = createHash('md5').update('not the archive').digest('hex');
    const e = left(await ensureStl10({ cacheDir, url, md5: wrong, retries: 0, retryDelayMs: 0 })());
    assert.equal(e.kind, 'checksum-mismatch');
    assert.ok(e.message.includes(`expected md5 ${wrong}, actual md5 ${archive.md5}`), e.message);
    assert.deepEqual(await fsp.readdir(cacheDir), []);
  });
});
