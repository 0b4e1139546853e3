// Claiming a run's folder: a run holds its --out folder from its first moment by a lock file
// created exclusively (open with 'wx'), which names the process. Two runs started into the same
// folder cannot both pass, whatever is (not yet) in it; a lock left by a process that no longer
// runs (kill -9, a second Ctrl-C) is taken over, and said so. A run that fails before it wrote
// anything leaves the folder as it found it: the lock goes, and the folder too if the run made it.
// A new run claims only a folder that holds nothing but a run of this program (out-folder.ts).

import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isLiveProcess, temporaryPathFor } from '../checkpoint/atomic-write.ts';
import { fileSystemReason } from '../checkpoint/file-errors.ts';
import { makeRunFolder, refuseForeignEntries, RUN_FILE_NAMES } from './out-folder.ts';

export const LOCK_FILE = RUN_FILE_NAMES.lock;

/** What a lock file says about its holder. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
}

export interface RunFolderClaim {
  readonly folder: string;
  readonly lockFile: string;
  /**
   * Removes the lock. With `undo`, also those of `files` that were not in the folder when it was
   * claimed, and the folder when this run made it and nothing else is in it.
   */
  readonly release: (options?: { readonly undo?: boolean; readonly files?: readonly string[] }) => Promise<void>;
}

const readHolder = async (file: string): Promise<{ text: string; holder: LockHolder | undefined } | undefined> => {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw cause;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string' ? { text, holder: parsed as LockHolder } : { text, holder: undefined };
  } catch {
    // Not written by this project's runs (they link a whole file into place): no live holder to name.
    return { text, holder: undefined };
  }
};

const describeHolder = (holder: LockHolder): string => `process ${holder.pid} on ${holder.host}, started ${holder.started}`;

const lockText = (holder: LockHolder): string => `${JSON.stringify(holder)}\n`;

/**
 * Creates the lock exclusively, whole: written to a temporary file first and then linked to
 * its name, which fails when the name exists; so a reader never sees a lock half-written.
 * False when a lock is already there.
 */
const createLock = async (file: string, holder: LockHolder, io: LockIo): Promise<boolean> => {
  const temporary = temporaryPathFor(file);
  try {
    // A full disk fails here, and leaves no empty lock behind (the finally removes it).
    const handle = await io.open(temporary, 'wx');
    try {
      await handle.writeFile(lockText(holder));
    } finally {
      await handle.close();
    }
    await fsp.link(temporary, file);
    return true;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`cannot write the run's lock ${file}: ${fileSystemReason(cause)}; choose another --out`);
  } finally {
    await fsp.rm(temporary, { force: true });
  }
};

/** The call the lock is written with, so that a test can fill the disk. */
export interface LockIo {
  readonly open: typeof fsp.open;
}

/** The folders this run made, innermost first; rmdir stops at the first that is not empty. */
const removeMadeFolders = async (folder: string, created: string | undefined): Promise<void> => {
  if (created === undefined) return;
  for (let dir = folder; dir.length >= created.length; dir = path.dirname(dir))
    if (!(await fsp.rmdir(dir).then(() => true, () => false))) break;
};

/**
 * Claims `folder` (made when missing) for this process, or throws a one-line error naming the
 * run that holds it, or, for a new run (`resume` false), what in it is not a run's. `log` is
 * told when a dead run's lock is taken over. A claim that fails leaves no folder it made.
 */
export const claimRunFolder = async (
  folder: string,
  log: (line: string) => void,
  { resume = false, io = fsp }: { readonly resume?: boolean; readonly io?: LockIo } = {},
): Promise<RunFolderClaim> => {
  const created = await makeRunFolder(folder);
  try {
    return await claimMadeFolder(folder, created, log, resume, io);
  } catch (cause) {
    await removeMadeFolders(folder, created);
    throw cause;
  }
};

const claimMadeFolder = async (folder: string, created: string | undefined, log: (line: string) => void, resume: boolean, io: LockIo): Promise<RunFolderClaim> => {
  const lockFile = path.join(folder, LOCK_FILE);
  const before = new Set(await fsp.readdir(folder));
  const me: LockHolder = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
  let claimed = await createLock(lockFile, me, io);
  if (!claimed) {
    const found = await readHolder(lockFile);
    const holder = found?.holder;
    if (holder !== undefined && (holder.host !== me.host || isLiveProcess(holder.pid)))
      throw new Error(`${folder} is in use by another run (${describeHolder(holder)}; lock file ${lockFile}); ` +
        `wait for it to end or choose another --out${holder.host === me.host ? '' : ' (on another machine: remove the lock only if that run is over)'}`);
    // The holder is gone. Removed only if it is still the lock just read, so that of two runs
    // taking over at once, the second finds the first's fresh lock and is refused.
    const again = await readHolder(lockFile);
    if (again === undefined || again.text === found?.text) await fsp.rm(lockFile, { force: true });
    claimed = await createLock(lockFile, me, io);
    if (!claimed) {
      const winner = (await readHolder(lockFile))?.holder;
      throw new Error(`${folder} is in use by another run (${winner === undefined ? 'unknown process' : describeHolder(winner)}; lock file ${lockFile}); choose another --out`);
    }
    log(`took over ${lockFile} from ${holder === undefined ? 'an unreadable lock' : `${describeHolder(holder)}, which no longer runs`}`);
  }
  if (!resume) {
    try {
      refuseForeignEntries(folder, [...before]);
    } catch (cause) {
      await fsp.rm(lockFile, { force: true });
      throw cause;
    }
  }
  let released = false;
  return {
    folder,
    lockFile,
    release: async ({ undo = false, files = [] } = {}) => {
      if (released) return;
      released = true;
      if (undo) await Promise.all(files.filter((file) => !before.has(path.basename(file))).map((file) => fsp.rm(file, { force: true })));
      // Only this run's own lock: never one a later run took over.
      if ((await readHolder(lockFile))?.text === lockText(me)) await fsp.rm(lockFile, { force: true });
      if (undo) await removeMadeFolders(folder, created);
    },
  };
};
