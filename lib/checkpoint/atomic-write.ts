// Writing a file so that readers see the old content or the new, never a part: the bytes go
// to a temporary file in the same folder, are flushed to disk (fsync), and the temporary file
// is renamed over the destination; the folder is flushed too so the rename survives a crash.
// On any failure the temporary file is removed, the destination is left as it was, and the
// error (a FileWriteError) names the destination.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FileWriteError } from './file-errors.ts';

/** The file-system calls used, so a test can make one of them fail. */
export interface AtomicWriteIo {
  readonly open: typeof fsp.open;
  readonly rename: typeof fsp.rename;
  readonly rm: typeof fsp.rm;
}

let counter = 0;

/** The temporary name used for `file`: hidden, unique per process and call, in the same folder. */
export const temporaryPathFor = (file: string): string =>
  path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.${counter++}.tmp`);

const temporaryName = /^\..+\.(\d+)\.\d+\.\d+\.tmp$/;

/** Is `name` one of the temporary files that writeFileAtomic makes? */
export const isTemporaryName = (name: string): boolean => temporaryName.test(name);

/** Whether a process of this id runs on this machine. */
export const isLiveProcess = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (cause) {
    // EPERM: the process exists but belongs to someone else.
    return (cause as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Removes from `folder` the temporary files of writers that no longer run (a process killed
 * mid-write, say by a second Ctrl-C, cannot clean up after itself); a live writer's are kept.
 * Returns the names removed.
 */
export const removeStaleTemporaryFiles = async (folder: string): Promise<string[]> => {
  const names = await fsp.readdir(folder).catch(() => [] as string[]);
  const stale = names.filter((name) => {
    const match = temporaryName.exec(name);
    return match !== null && !isLiveProcess(Number(match[1]));
  });
  await Promise.all(stale.map((name) => fsp.rm(path.join(folder, name), { force: true })));
  return stale;
};

export const writeFileAtomic = async (file: string, bytes: Uint8Array | string, io: AtomicWriteIo = fsp): Promise<void> => {
  const temporary = temporaryPathFor(file);
  let handle: Awaited<ReturnType<typeof fsp.open>> | undefined;
  try {
    handle = await io.open(temporary, 'wx');
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await io.rename(temporary, file);
  } catch (cause) {
    await handle?.close().catch(() => undefined);
    await io.rm(temporary, { force: true }).catch(() => undefined);
    throw new FileWriteError(file, cause);
  }
  // Best effort: some file systems cannot open or fsync a folder.
  const folder = await fsp.open(path.dirname(file), 'r').catch(() => undefined);
  await folder?.sync().catch(() => undefined);
  await folder?.close().catch(() => undefined);
};
