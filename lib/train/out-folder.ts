// The folder a run writes into (--out), made and checked before the run claims it. It is made a
// level at a time rather than with mkdir's recursive option, which under /proc loops without end
// (each level "does not exist", and is tried again) and on a read-only mount reports ENOENT.
// Every refusal is one line naming --out, the folder, and what is wrong with it.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileSystemReason } from '../checkpoint/file-errors.ts';
import { isTemporaryName } from '../checkpoint/atomic-write.ts';
import { CURVES_FILE, CURVES_SPEC_FILE, NEIGHBOURS_FILE } from './report-files.ts';
import { CHECKPOINT_FILE } from './run-checkpoint.ts';
import { METRICS_FILE } from './run-report.ts';

/** The names a run writes; those beside the checkpoint are its own only where a checkpoint is. */
export const RUN_FILE_NAMES = { checkpoint: CHECKPOINT_FILE, lock: 'run.lock', beside: [METRICS_FILE, CURVES_FILE, CURVES_SPEC_FILE, NEIGHBOURS_FILE] } as const;

/** Undefined when `file` is not there (or a file above it is in the way, found next). */
const statOf = (file: string) => fsp.stat(file).catch((cause: NodeJS.ErrnoException) => {
  if (cause.code === 'ENOENT' || cause.code === 'ENOTDIR') return undefined;
  throw new Error(`--out ${file}: ${fileSystemReason(cause)}`);
});

/** Why `mkdir(level)` failed, in words: the parent exists and is a folder. */
const makeFailure = (folder: string, level: string, cause: NodeJS.ErrnoException): Error => {
  const parent = path.dirname(level);
  const reason = cause.code === 'ENOENT' ? `${parent} takes no new folders (a virtual file system, such as /proc?)`
    : cause.code === 'EROFS' ? `the file system of ${parent} is read-only`
    : `${fileSystemReason(cause)} in ${parent}`;
  return new Error(`--out ${folder}: cannot make the folder ${level}: ${reason}; choose another --out`);
};

/**
 * Makes `folder` and any missing folders above it; returns the outermost one it made (undefined
 * when it was there). Refuses a file in the way, by name.
 */
export const makeRunFolder = async (folder: string): Promise<string | undefined> => {
  const missing: string[] = [];
  let existing = folder;
  let found = await statOf(existing);
  while (found === undefined && path.dirname(existing) !== existing) {
    missing.unshift(existing);
    existing = path.dirname(existing);
    found = await statOf(existing);
  }
  if (found !== undefined && !found.isDirectory())
    throw new Error(existing === folder ? `--out ${folder} is a file, not a folder; choose a folder for the run`
      : `--out ${folder}: ${existing} is a file, not a folder; choose another --out`);
  for (const level of missing) {
    try {
      await fsp.mkdir(level);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'EEXIST' && (await statOf(level))?.isDirectory()) continue;
      // Folders made before the failure go again, innermost first.
      for (const made of missing.slice(0, missing.indexOf(level)).reverse()) await fsp.rmdir(made).catch(() => undefined);
      throw makeFailure(folder, level, cause as NodeJS.ErrnoException);
    }
  }
  return missing[0];
};

/**
 * The entries of a folder that are no part of a run of this program: a new run needs a folder
 * holding nothing else, lest it overwrite a user's file of the same name as one of its own. A
 * lock and half-written files are a stopped run's (taken over, removed); metrics and pictures are
 * a run's only beside its checkpoint.
 */
export const foreignEntries = (names: readonly string[]): string[] => {
  const own = new Set<string>([RUN_FILE_NAMES.checkpoint, RUN_FILE_NAMES.lock, ...(names.includes(RUN_FILE_NAMES.checkpoint) ? RUN_FILE_NAMES.beside : [])]);
  return names.filter((name) => !own.has(name) && !isTemporaryName(name)).sort();
};

export const refuseForeignEntries = (folder: string, names: readonly string[]): void => {
  const foreign = foreignEntries(names);
  if (foreign.length === 0) return;
  const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? ` and ${foreign.length - 5} more` : '');
  throw new Error(`--out ${folder} holds what is not a run of this program (${shown}); a new run writes into an empty or new folder: choose another --out`);
};
