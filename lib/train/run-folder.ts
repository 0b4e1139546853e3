// Finding a run to resume: the folder under `runs/` whose checkpoint was written last.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { CHECKPOINT_FILE } from './run-checkpoint.ts';

export const latestRunFolder = async (root: string): Promise<string | undefined> => {
  let names: string[];
  try {
    names = await fsp.readdir(root);
  } catch {
    return undefined;
  }
  let latest: { folder: string; time: number } | undefined;
  for (const name of names) {
    const folder = path.join(root, name);
    const stat = await fsp.stat(path.join(folder, CHECKPOINT_FILE)).catch(() => undefined);
    if (stat !== undefined && (latest === undefined || stat.mtimeMs > latest.time)) latest = { folder, time: stat.mtimeMs };
  }
  return latest?.folder;
};
