// Downloads a URL (https, http or file) to a path, atomically: bytes go to a
// temp file in the destination folder, the md5 is checked, and only then is the
// temp file renamed into place. Short transfers and checksum mismatches are
// retried; the final error names the URL, the bytes received and both md5s.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { SingleBar } from 'cli-progress';
import { type DataError, type DataErrorKind, dataError, describeCause, errnoCode } from './errors.ts';

export interface DownloadOptions {
  /** Expected md5 (hex); when absent the file is accepted unverified. */
  md5?: string;
  /** Extra attempts after the first for short transfers, checksum mismatches and 5xx (default 2). */
  retries?: number;
  /** Show a cli-progress bar on stderr. */
  progress?: boolean;
  /** Pause before retry k is k*retryDelayMs (default 500). */
  retryDelayMs?: number;
  /** Give up on a connection idle this long (default 60 s). */
  timeoutMs?: number;
  /** Called with a line per attempt outcome. */
  onInfo?: (line: string) => void;
}

export interface DownloadResult {
  file: string;
  bytes: number;
  md5: string;
  attempts: number;
}

interface Source {
  stream: Readable;
  /** From Content-Length or the file size; undefined when unknown. */
  expectedBytes: number | undefined;
}

interface AttemptFailure {
  kind: DataErrorKind;
  retryable: boolean;
  bytes: number;
  md5?: string;
  reason: string;
}

const MAX_REDIRECTS = 10;

class OpenFailure extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
  }
}

/** Open an http(s) URL, following redirects (the official host may redirect). */
const openHttp = (url: URL, timeoutMs: number, redirects = 0): Promise<Source> =>
  new Promise((resolve, reject) => {
    const get = url.protocol === 'https:' ? https.get : http.get;
    const req = get(url, { headers: { 'user-agent': 'tensorspread-data/0.1' } }, (res) => {
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location !== undefined) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) {
          reject(new OpenFailure(`more than ${MAX_REDIRECTS} redirects`, false));
          return;
        }
        openHttp(new URL(location, url), timeoutMs, redirects + 1).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        // Server trouble may pass; a 404 or 403 will not.
        const retryable = status >= 500 || status === 408 || status === 429;
        reject(new OpenFailure(`HTTP ${status} ${res.statusMessage ?? ''}`.trim() + ` from ${url.href}`, retryable));
        return;
      }
      const length = res.headers['content-length'];
      const expected = length !== undefined && res.headers['content-encoding'] === undefined ? Number(length) : NaN;
      resolve({ stream: res, expectedBytes: Number.isFinite(expected) ? expected : undefined });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no data for ${timeoutMs} ms`)));
    req.on('error', (cause) => reject(new OpenFailure(describeCause(cause), true)));
  });

const openSource = async (url: URL, timeoutMs: number): Promise<Source> => {
  if (url.protocol === 'file:') {
    const file = fileURLToPath(url);
    let size: number;
    try {
      size = (await fsp.stat(file)).size;
    } catch (cause) {
      throw new OpenFailure(describeCause(cause), errnoCode(cause) !== 'ENOENT');
    }
    return { stream: createReadStream(file), expectedBytes: size };
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') return openHttp(url, timeoutMs);
  throw new OpenFailure(`unsupported URL scheme ${url.protocol} (use https:, http: or file:)`, false);
};

const formatBytes = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

/** One attempt: stream into `tmp`, hashing as it goes. */
const attempt = async (url: URL, tmp: string, options: DownloadOptions): Promise<E.Either<AttemptFailure, { bytes: number; md5: string }>> => {
  let source: Source;
  try {
    source = await openSource(url, options.timeoutMs ?? 60_000);
  } catch (cause) {
    const retryable = cause instanceof OpenFailure ? cause.retryable : true;
    return E.left({ kind: 'download-failed', retryable, bytes: 0, reason: describeCause(cause) });
  }
  const hash = createHash('md5');
  let bytes = 0;
  const bar = options.progress ? new SingleBar({
    stream: process.stderr,
    format: 'CIFAR-10 download [{bar}] {percentage}% | {got} of {all}',
    hideCursor: true,
  }) : undefined;
  const total = source.expectedBytes ?? 0;
  bar?.start(total, 0, { got: formatBytes(0), all: source.expectedBytes === undefined ? '?' : formatBytes(total) });
  // An explicit handle (not createWriteStream, which opens lazily) so that once this
  // function returns the temp file is closed and can be removed without a race.
  let handle: FileHandle | undefined;
  try {
    handle = await fsp.open(tmp, 'w');
    const out = handle;
    await pipeline(source.stream, async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) {
        hash.update(chunk);
        bytes += chunk.length;
        bar?.update(Math.min(bytes, total), { got: formatBytes(bytes) });
        await out.write(chunk);
      }
    });
    await out.sync(); // on disk before the rename makes it visible
  } catch (cause) {
    source.stream.destroy(); // already done by pipeline, except when the open failed
    const of = source.expectedBytes === undefined ? '' : ` of ${source.expectedBytes}`;
    return E.left({
      kind: 'download-failed', retryable: true, bytes, md5: hash.digest('hex'),
      reason: `transfer broke off after ${bytes}${of} bytes (${describeCause(cause)})`,
    });
  } finally {
    bar?.stop();
    await handle?.close().catch(() => undefined);
  }
  const md5 = hash.digest('hex');
  if (source.expectedBytes !== undefined && bytes !== source.expectedBytes) {
    return E.left({
      kind: 'download-failed', retryable: true, bytes, md5,
      reason: `connection closed early: received ${bytes} of ${source.expectedBytes} bytes`,
    });
  }
  if (options.md5 !== undefined && md5 !== options.md5.toLowerCase()) {
    return E.left({
      kind: 'checksum-mismatch', retryable: true, bytes, md5,
      reason: `checksum mismatch: received ${bytes} bytes with md5 ${md5}, expected md5 ${options.md5}`,
    });
  }
  return E.right({ bytes, md5 });
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const removeQuietly = async (p: string): Promise<void> => {
  await fsp.rm(p, { force: true }).catch(() => undefined);
};

/**
 * Download `url` to `dest`. The destination is written only once the whole
 * transfer has the expected size and md5; partial data never appears there.
 */
export const downloadFile = (url: string, dest: string, options: DownloadOptions = {}): TE.TaskEither<DataError, DownloadResult> =>
  async () => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return E.left(dataError('download-failed', url, `download of ${url} failed: not a valid URL`));
    }
    const retries = Math.max(0, options.retries ?? 2);
    const delay = options.retryDelayMs ?? 500;
    const dir = path.dirname(dest);
    const failures: AttemptFailure[] = [];
    try {
      await fsp.mkdir(dir, { recursive: true });
    } catch (cause) {
      return E.left(dataError('io-error', dir, `cannot create ${dir}: ${describeCause(cause)}`));
    }
    for (let k = 0; k <= retries; k++) {
      if (k > 0 && delay > 0) await sleep(k * delay);
      // Same folder as dest so the final rename is atomic.
      const tmp = path.join(dir, `.${path.basename(dest)}.${process.pid}.${Date.now()}.${k}.part`);
      let outcome: E.Either<AttemptFailure, { bytes: number; md5: string }>;
      try {
        outcome = await attempt(parsed, tmp, options);
      } catch (cause) {
        outcome = E.left({ kind: 'download-failed', retryable: true, bytes: 0, reason: describeCause(cause) });
      }
      if (E.isRight(outcome)) {
        try {
          await fsp.rename(tmp, dest);
        } catch (cause) {
          await removeQuietly(tmp);
          return E.left(dataError('io-error', dest, `cannot move the download of ${url} to ${dest}: ${describeCause(cause)}`));
        }
        options.onInfo?.(`downloaded ${url}: ${outcome.right.bytes} bytes, md5 ${outcome.right.md5}`);
        return E.right({ file: dest, bytes: outcome.right.bytes, md5: outcome.right.md5, attempts: k + 1 });
      }
      await removeQuietly(tmp);
      failures.push(outcome.left);
      options.onInfo?.(`attempt ${k + 1} of ${retries + 1} to download ${url} failed: ${outcome.left.reason}`);
      if (!outcome.left.retryable) break;
    }
    const last = failures[failures.length - 1];
    const md5s = `expected md5 ${options.md5 ?? '(none given)'}, actual md5 ${last.md5 ?? '(nothing received)'}`;
    const history = failures.map((f, i) => `attempt ${i + 1}: ${f.reason}`).join('; ');
    return E.left(dataError(last.kind, url,
      `download of ${url} failed after ${failures.length} attempt${failures.length === 1 ? '' : 's'}: ` +
      `received ${last.bytes} bytes, ${md5s} (${history})`, last.bytes));
  };

/** md5 of a file on disk, streamed (the official archive is 170 MB). */
export const md5OfFile = async (file: string): Promise<string> => {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
};
