// Ties reading, caching and downloading together: ensureCifar10 returns the
// dataset from an explicit path, else from the cache, else downloads, verifies
// and unpacks it into the cache (temp folder, then rename) and reads it.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import * as tar from 'tar';
import { type DataError, dataError, describeCause, errnoCode, orThrowTask } from './errors.ts';
import {
  BATCHES_FOLDER, CIFAR10_ARCHIVE_NAME, CIFAR10_MD5, CIFAR10_URL, type Cifar10, describeCifar10,
} from './cifar10-types.ts';
import { readCifar10 } from './cifar10-read.ts';
import { downloadFile, md5OfFile } from './download.ts';
import { defaultCacheDir } from './cache.ts';

export interface EnsureCifar10Options {
  /** Read this folder or archive instead of using the cache. */
  data?: string;
  /** Default $XDG_CACHE_HOME/tensorspread/cifar10 or ~/.cache/tensorspread/cifar10. */
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

const exists = async (p: string): Promise<boolean> => {
  try {
    await fsp.stat(p);
    return true;
  } catch {
    return false;
  }
};

/**
 * Unpack a verified archive into a temp folder inside the cache, check that it
 * reads as CIFAR-10, then rename its batches folder into place.
 */
const unpackIntoCache = async (archive: string, cacheDir: string, onInfo?: (line: string) => void): Promise<E.Either<DataError, Cifar10>> => {
  const finalFolder = path.join(cacheDir, BATCHES_FOLDER);
  const tmp = await fsp.mkdtemp(path.join(cacheDir, '.unpack-'));
  try {
    try {
      await tar.extract({ file: archive, cwd: tmp, strict: true });
    } catch (cause) {
      return E.left(dataError('bad-archive', archive, `cannot unpack ${archive}: ${describeCause(cause)}`));
    }
    // The archive normally holds cifar-10-batches-bin/; accept files at its root too.
    const unpacked = (await exists(path.join(tmp, BATCHES_FOLDER))) ? path.join(tmp, BATCHES_FOLDER) : tmp;
    const data = await readCifar10(unpacked)();
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
        return readCifar10(finalFolder, { onInfo })();
      }
    }
    const placed = { ...data.right, source: finalFolder };
    onInfo?.(describeCifar10(placed));
    return E.right(placed);
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
};

/** Get CIFAR-10 from `data`, the cache, or the network, in that order. */
export const ensureCifar10 = (options: EnsureCifar10Options = {}): TE.TaskEither<DataError, Cifar10> =>
  async () => {
    const { onInfo } = options;
    if (options.data !== undefined) return readCifar10(options.data, { onInfo })();

    const cacheDir = path.resolve(options.cacheDir ?? defaultCacheDir());
    const folder = path.join(cacheDir, BATCHES_FOLDER);
    if (await exists(folder)) {
      onInfo?.(`using cached ${folder}`);
      const cached = await readCifar10(folder, { onInfo })();
      // A damaged cache is never repaired silently; say how to get a fresh copy.
      return E.isLeft(cached)
        ? E.left({ ...cached.left, message: `${cached.left.message} (cached copy in ${folder}; delete that folder to download again)` })
        : cached;
    }
    try {
      await fsp.mkdir(cacheDir, { recursive: true });
      const url = options.url ?? CIFAR10_URL;
      const md5 = (options.md5 ?? CIFAR10_MD5).toLowerCase();
      const archive = path.join(cacheDir, CIFAR10_ARCHIVE_NAME);
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
      const data = await unpackIntoCache(archive, cacheDir, onInfo);
      // Once unpacked the folder is the cache, so the archive goes; a verified archive that
      // does not read as CIFAR-10 goes too (it would fail the same way every time), but one
      // that failed for a file-system reason (disk full) is kept to save the download.
      if (E.isRight(data) || data.left.kind !== 'io-error') await fsp.rm(archive, { force: true });
      return data;
    } catch (cause) {
      return E.left(dataError('io-error', cacheDir, `cache ${cacheDir}: ${describeCause(cause)}`));
    }
  };

/** Alias that reads better in scripts: `const data = orThrow(await loadCifar10({...})())`. */
export const loadCifar10 = ensureCifar10;

/** For scripts that would rather throw: `const data = await loadCifar10OrThrow({...})`. */
export const loadCifar10OrThrow = (options: EnsureCifar10Options = {}): Promise<Cifar10> =>
  orThrowTask(ensureCifar10(options));
