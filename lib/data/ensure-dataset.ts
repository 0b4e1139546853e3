// Ties reading, caching and downloading together for any dataset released as one archive: the
// dataset from an explicit path, else from the cache, else downloaded, verified by md5, unpacked
// into the cache (a temporary folder, then a rename) and read.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import * as tar from 'tar';
import { type DataError, dataError, describeCause, errnoCode } from './errors.ts';
import { downloadFile, md5OfFile } from './download.ts';
import { defaultCacheDir } from './cache.ts';

export interface EnsureDatasetOptions {
  /** Read this folder or archive instead of using the cache. */
  data?: string;
  /** Default $XDG_CACHE_HOME/tensorspread/<dataset> or ~/.cache/tensorspread/<dataset>. */
  cacheDir?: string;
  /** Default the official archive; file:// and http:// work too. */
  url?: string;
  /** Expected md5 of the archive at `url`; default the official one. */
  md5?: string;
  /** cli-progress bar on stderr while downloading. */
  progress?: boolean;
  /** Extra download attempts (default 2). */
  retries?: number;
  /** Pause before retry k is k*retryDelayMs (default 500). */
  retryDelayMs?: number;
  /** Idle connection timeout (default 60 s). */
  timeoutMs?: number;
  /** Lines saying what was found, used, downloaded. */
  onInfo?: (line: string) => void;
}

/** What differs between datasets: where the official archive is, and how its folder reads. */
export interface DatasetRelease<T extends { source: string }> {
  /** The cache's subfolder (cifar10, stl10). */
  readonly name: string;
  /** The folder the archive unpacks to (cifar-10-batches-bin, stl10_binary). */
  readonly folder: string;
  readonly archiveName: string;
  readonly url: string;
  readonly md5: string;
  readonly read: (source: string, onInfo?: (line: string) => void) => TE.TaskEither<DataError, T>;
  readonly describe: (data: T) => string;
}

const exists = async (p: string): Promise<boolean> => {
  try {
    await fsp.stat(p);
    return true;
  } catch {
    return false;
  }
};

/**
 * Unpack a verified archive into a temp folder inside the cache, check that it reads as the
 * dataset, then rename its folder into place.
 */
const unpackIntoCache = async <T extends { source: string }>(
  release: DatasetRelease<T>, archive: string, cacheDir: string, onInfo?: (line: string) => void,
): Promise<E.Either<DataError, T>> => {
  const finalFolder = path.join(cacheDir, release.folder);
  const tmp = await fsp.mkdtemp(path.join(cacheDir, '.unpack-'));
  try {
    try {
      await tar.extract({ file: archive, cwd: tmp, strict: true });
    } catch (cause) {
      return E.left(dataError('bad-archive', archive, `cannot unpack ${archive}: ${describeCause(cause)}`));
    }
    // The archive normally holds the dataset's folder; accept files at its root too.
    const unpacked = (await exists(path.join(tmp, release.folder))) ? path.join(tmp, release.folder) : tmp;
    const data = await release.read(unpacked)();
    if (E.isLeft(data)) return data;
    if (unpacked === tmp) {
      // Files were at the archive root: move the whole temp folder into place.
      await fsp.rename(tmp, finalFolder);
    } else {
      try {
        await fsp.rename(unpacked, finalFolder);
      } catch (cause) {
        // Another process finished first; its folder is as good as ours.
        const code = errnoCode(cause);
        if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw cause;
        onInfo?.(`${finalFolder} appeared while unpacking; using it`);
        return release.read(finalFolder, onInfo)();
      }
    }
    const placed = { ...data.right, source: finalFolder };
    onInfo?.(release.describe(placed));
    return E.right(placed);
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
};

/** Get the dataset from `data`, the cache, or the network, in that order. */
export const ensureDataset = <T extends { source: string }>(release: DatasetRelease<T>, options: EnsureDatasetOptions = {}): TE.TaskEither<DataError, T> =>
  async () => {
    const { onInfo } = options;
    if (options.data !== undefined) return release.read(options.data, onInfo)();

    const cacheDir = path.resolve(options.cacheDir ?? defaultCacheDir(release.name));
    const folder = path.join(cacheDir, release.folder);
    if (await exists(folder)) {
      onInfo?.(`using cached ${folder}`);
      const cached = await release.read(folder, onInfo)();
      // A damaged cache is never repaired silently; say how to get a fresh copy.
      return E.isLeft(cached)
        ? E.left({ ...cached.left, message: `${cached.left.message} (cached copy in ${folder}; delete that folder to download again)` })
        : cached;
    }
    try {
      await fsp.mkdir(cacheDir, { recursive: true });
      const url = options.url ?? release.url;
      const md5 = (options.md5 ?? release.md5).toLowerCase();
      const archive = path.join(cacheDir, release.archiveName);
      // A verified archive left by an interrupted unpack saves a download; anything else goes.
      if (await exists(archive)) {
        if ((await md5OfFile(archive)) === md5) onInfo?.(`reusing verified ${archive}`);
        else await fsp.rm(archive, { force: true });
      }
      if (!(await exists(archive))) {
        onInfo?.(`downloading ${url} to ${cacheDir}`);
        const got = await downloadFile(url, archive, {
          md5, progress: options.progress, retries: options.retries, retryDelayMs: options.retryDelayMs,
          timeoutMs: options.timeoutMs, onInfo,
        })();
        if (E.isLeft(got)) return got;
      }
      const data = await unpackIntoCache(release, archive, cacheDir, onInfo);
      // Once unpacked the folder is the cache, so the archive goes; a verified archive that
      // does not read as the dataset goes too (it would fail the same way every time), but one
      // that failed for a file-system reason (disk full) is kept to save the download.
      if (E.isRight(data) || data.left.kind !== 'io-error') await fsp.rm(archive, { force: true });
      return data;
    } catch (cause) {
      return E.left(dataError('io-error', cacheDir, `cache ${cacheDir}: ${describeCause(cause)}`));
    }
  };
