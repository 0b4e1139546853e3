// Where downloaded datasets live: $XDG_CACHE_HOME/tensorspread/<name>, else
// ~/.cache/tensorspread/<name>, following the XDG base-directory convention.
import * as os from 'node:os';
import * as path from 'node:path';

export const PROJECT_NAME = 'tensorspread';

export const defaultCacheDir = (dataset = 'cifar10', env: NodeJS.ProcessEnv = process.env): string => {
  const xdg = env.XDG_CACHE_HOME;
  // XDG says relative values are invalid and must be ignored.
  const base = xdg !== undefined && xdg !== '' && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  return path.join(base, PROJECT_NAME, dataset);
};
