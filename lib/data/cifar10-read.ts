// Reads CIFAR-10 from the cifar-10-batches-bin folder, a folder containing it,
// or a .tar.gz/.tgz archive (streamed into memory with node-tar, never unpacked
// to disk). Accepts whichever data_batch_N.bin files are present and reports them.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import * as tar from 'tar';
import { type DataError, dataError, describeCause, errnoCode } from './errors.ts';
import {
  BATCHES_FOLDER, type Cifar10, type CifarSplit, META_FILE, TEST_FILE,
  describeCifar10, isCifarFileName, trainBatchNumber,
} from './cifar10-types.ts';
import { concatSplits, parseCifarRecords, parseClassNames } from './cifar10-records.ts';

export interface ReadOptions {
  /** Called with one line saying how many images and which files were found. */
  onInfo?: (line: string) => void;
}

/** What a folder or archive holds, before parsing. */
interface RawCifarFiles {
  /** The folder or archive path, used in messages and as Cifar10.source. */
  source: string;
  /** Everything present (short names for folders, entry paths for archives), for "found: ..." messages. */
  present: string[];
  /** The CIFAR files by short name with the full location used in errors. */
  files: Map<string, { location: string; bytes: Uint8Array }>;
}

const isDirectory = async (p: string): Promise<boolean> => {
  try {
    return (await fsp.stat(p)).isDirectory();
  } catch {
    return false;
  }
};

const readFolder = async (folder: string): Promise<E.Either<DataError, RawCifarFiles>> => {
  // A folder that contains cifar-10-batches-bin is read through it.
  const inner = path.join(folder, BATCHES_FOLDER);
  const dir = (await isDirectory(inner)) ? inner : folder;
  const present = (await fsp.readdir(dir)).sort();
  const files = new Map<string, { location: string; bytes: Uint8Array }>();
  for (const name of present.filter(isCifarFileName)) {
    const location = path.join(dir, name);
    const bytes = await fsp.readFile(location);
    files.set(name, { location, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
  }
  return E.right({ source: dir, present, files });
};

const readArchive = async (archive: string): Promise<E.Either<DataError, RawCifarFiles>> => {
  const present: string[] = [];
  const files = new Map<string, { location: string; bytes: Uint8Array }>();
  let problem: DataError | undefined;
  try {
    await tar.list({
      file: archive,
      strict: true, // a truncated or foreign archive must fail, not read as empty
      onReadEntry: (entry) => {
        if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') return;
        const entryPath = entry.path.replace(/\/+$/, '');
        present.push(entryPath);
        const name = path.posix.basename(entryPath);
        if (!isCifarFileName(name)) return;
        const location = `${archive}:${entryPath}`;
        if (files.has(name)) {
          problem ??= dataError('bad-archive', archive,
            `${archive}: holds ${name} twice (${files.get(name)!.location.slice(archive.length + 1)} and ${entryPath})`);
          return;
        }
        // Preallocate the entry's size so a 30 MB batch is copied once.
        const bytes = new Uint8Array(entry.size);
        let filled = 0;
        entry.on('data', (chunk: Buffer) => {
          if (filled + chunk.length <= bytes.length) bytes.set(chunk, filled);
          filled += chunk.length;
        });
        entry.on('end', () => {
          if (filled !== entry.size) {
            problem ??= dataError('bad-archive', archive,
              `${archive}: entry ${entryPath} holds ${filled} bytes, its header says ${entry.size}`, filled);
          }
        });
        files.set(name, { location, bytes });
      },
    });
  } catch (cause) {
    return E.left(dataError('bad-archive', archive,
      `${archive}: cannot read as a .tar.gz archive (${describeCause(cause)})` +
      (present.length > 0 ? `; entries read before the failure: ${present.join(', ')}` : '')));
  }
  return problem ? E.left(problem) : E.right({ source: archive, present: present.sort(), files });
};

const missing = (raw: RawCifarFiles, what: string): DataError =>
  dataError('missing-file', raw.source,
    `no ${what} in ${raw.source} (found: ${raw.present.length > 0 ? raw.present.join(', ') : 'nothing'})`);

/** Parse the collected files into a Cifar10; pure apart from the byte copies. */
export const assembleCifar10 = (raw: RawCifarFiles): E.Either<DataError, Cifar10> => {
  const trainNames = [...raw.files.keys()]
    .filter((n) => trainBatchNumber(n) !== undefined)
    .sort((a, b) => trainBatchNumber(a)! - trainBatchNumber(b)!);
  if (trainNames.length === 0) return E.left(missing(raw, 'data_batch_N.bin training file'));
  const test = raw.files.get(TEST_FILE);
  if (test === undefined) return E.left(missing(raw, TEST_FILE));
  const meta = raw.files.get(META_FILE);
  if (meta === undefined) return E.left(missing(raw, META_FILE));

  const classNames = parseClassNames(META_FILE, new TextDecoder().decode(meta.bytes), meta.location);
  if (E.isLeft(classNames)) return classNames;
  const trainSplits: CifarSplit[] = [];
  for (const name of trainNames) {
    const f = raw.files.get(name)!;
    const split = parseCifarRecords(name, f.bytes, f.location);
    if (E.isLeft(split)) return split;
    trainSplits.push(split.right);
  }
  const testSplit = parseCifarRecords(TEST_FILE, test.bytes, test.location);
  if (E.isLeft(testSplit)) return testSplit;
  return E.right({
    // One batch needs no copy; several are joined in batch order.
    train: trainSplits.length === 1 ? trainSplits[0] : concatSplits(trainSplits),
    test: testSplit.right,
    classNames: classNames.right,
    source: raw.source,
    trainFiles: trainNames,
  });
};

/**
 * Read CIFAR-10 from `source`: the cifar-10-batches-bin folder, a folder
 * containing it, or a tar archive (.tar.gz/.tgz/.tar; any regular file is
 * tried as one). The result's `trainFiles` and `onInfo` say what was found.
 */
export const readCifar10 = (source: string, options: ReadOptions = {}): TE.TaskEither<DataError, Cifar10> =>
  async () => {
    try {
      let stat;
      try {
        stat = await fsp.stat(source);
      } catch (cause) {
        return E.left(errnoCode(cause) === 'ENOENT'
          ? dataError('missing-file', source, `no such folder or archive: ${source}`)
          : dataError('io-error', source, `${source}: ${describeCause(cause)}`));
      }
      const raw = stat.isDirectory() ? await readFolder(source) : await readArchive(source);
      const result = E.isLeft(raw) ? raw : assembleCifar10(raw.right);
      if (E.isRight(result)) options.onInfo?.(describeCifar10(result.right));
      return result;
    } catch (cause) {
      // Keep the TaskEither contract: unexpected I/O failures become Left, never a rejection.
      return E.left(dataError('io-error', source, `${source}: ${describeCause(cause)}`));
    }
  };
