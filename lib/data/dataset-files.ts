// Collecting a dataset's files from a folder (or a folder that contains the dataset's own
// folder) or from a tar archive (.tar.gz/.tgz/.tar), streamed into memory with node-tar and never
// unpacked to disk. The caller says which file names it wants and how many bytes of each to keep
// (a prefix, when only the first images of a large file are wanted); the parsers do the rest.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as tar from 'tar';
import { type DataError, dataError, describeCause, errnoCode } from './errors.ts';

/** One wanted file: where it is (for messages), its full size, and the bytes kept. */
export interface DatasetFile {
  readonly location: string;
  readonly size: number;
  readonly bytes: Uint8Array;
}

/** What a folder or archive holds, before parsing. */
export interface DatasetFiles {
  /** The folder or archive path, used in messages and as the dataset's source. */
  readonly source: string;
  /** Everything present (short names for folders, entry paths for archives), for "found: ..." messages. */
  readonly present: string[];
  /** The wanted files by short name. */
  readonly files: Map<string, DatasetFile>;
}

export interface DatasetFileSelection {
  /** The dataset's own folder (cifar-10-batches-bin): a folder holding it is read through it. */
  readonly folder: string;
  readonly wanted: (name: string) => boolean;
  /** How many leading bytes of a wanted file to keep (all of them by default). */
  readonly keep?: (name: string, size: number) => number;
}

const isDirectory = async (p: string): Promise<boolean> => {
  try {
    return (await fsp.stat(p)).isDirectory();
  } catch {
    return false;
  }
};

/** The first `length` bytes of a file, read in pieces: readFile stops at 2 GiB, and STL-10's unlabeled file is 2.8 GB. */
const readPrefix = async (location: string, length: number): Promise<Uint8Array> => {
  const handle = await fsp.open(location, 'r');
  try {
    const bytes = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(bytes, filled, Math.min(length - filled, 1 << 30), filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === length ? bytes : bytes.subarray(0, filled);
  } finally {
    await handle.close();
  }
};

const readFolder = async (folder: string, { folder: own, wanted, keep }: DatasetFileSelection): Promise<E.Either<DataError, DatasetFiles>> => {
  const inner = path.join(folder, own);
  const dir = (await isDirectory(inner)) ? inner : folder;
  const present = (await fsp.readdir(dir)).sort();
  const files = new Map<string, DatasetFile>();
  for (const name of present.filter(wanted)) {
    const location = path.join(dir, name);
    const { size } = await fsp.stat(location);
    files.set(name, { location, size, bytes: await readPrefix(location, Math.min(size, keep?.(name, size) ?? size)) });
  }
  return E.right({ source: dir, present, files });
};

const readArchive = async (archive: string, { wanted, keep }: DatasetFileSelection): Promise<E.Either<DataError, DatasetFiles>> => {
  const present: string[] = [];
  const files = new Map<string, DatasetFile>();
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
        if (!wanted(name)) return;
        const location = `${archive}:${entryPath}`;
        if (files.has(name)) {
          problem ??= dataError('bad-archive', archive,
            `${archive}: holds ${name} twice (${files.get(name)!.location.slice(archive.length + 1)} and ${entryPath})`);
          return;
        }
        // Preallocate what is kept so a large entry is copied once.
        const size = entry.size;
        const bytes = new Uint8Array(Math.min(size, keep?.(name, size) ?? size));
        let filled = 0;
        entry.on('data', (chunk: Buffer) => {
          if (filled < bytes.length) bytes.set(chunk.subarray(0, bytes.length - filled), filled);
          filled += chunk.length;
        });
        entry.on('end', () => {
          if (filled !== size) {
            problem ??= dataError('bad-archive', archive,
              `${archive}: entry ${entryPath} holds ${filled} bytes, its header says ${size}`, filled);
          }
        });
        files.set(name, { location, size, bytes });
      },
    });
  } catch (cause) {
    return E.left(dataError('bad-archive', archive,
      `${archive}: cannot read as a .tar.gz archive (${describeCause(cause)})` +
      (present.length > 0 ? `; entries read before the failure: ${present.join(', ')}` : '')));
  }
  return problem ? E.left(problem) : E.right({ source: archive, present: present.sort(), files });
};

/**
 * The wanted files of `source`: a folder (or one that contains `selection.folder`) or a tar
 * archive (any regular file is tried as one). A path that does not exist is a missing-file error.
 */
export const readDatasetFiles = async (source: string, selection: DatasetFileSelection): Promise<E.Either<DataError, DatasetFiles>> => {
  let stat;
  try {
    stat = await fsp.stat(source);
  } catch (cause) {
    return E.left(errnoCode(cause) === 'ENOENT'
      ? dataError('missing-file', source, `no such folder or archive: ${source}`)
      : dataError('io-error', source, `${source}: ${describeCause(cause)}`));
  }
  return stat.isDirectory() ? readFolder(source, selection) : readArchive(source, selection);
};

/** "no X in SOURCE (found: ...)": a required file that is not there. */
export const missingFile = (raw: DatasetFiles, what: string): DataError =>
  dataError('missing-file', raw.source,
    `no ${what} in ${raw.source} (found: ${raw.present.length > 0 ? raw.present.join(', ') : 'nothing'})`);
