// Loading an objective from a file: its absolute path imported where a loop or an endless wait
// at its top level can be stopped (user-code.ts; tsx, when it is registered, compiles TypeScript
// on the way), then its exports read as an objective definition whose every function runs under
// the same time limit and Ctrl-C. Every way this can go wrong is a Left naming the file and what
// was expected; Ctrl-C throws UserCodeStopped.

import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Either, isLeft, left } from 'fp-ts/lib/Either.js';
import { type ObjectiveDefinition, objectiveFromModule } from './objective-definition.ts';
import { DEFAULT_TIME_LIMIT_SECONDS, importUserModule, userCodeGuard } from './user-code.ts';

export interface UserCodeLimits {
  /** How long the import, and each call of the file's functions, may take (default 60 s). */
  readonly timeLimitSeconds?: number;
  /** Aborted by the caller's Ctrl-C handler: stops the import. */
  readonly signal?: AbortSignal;
}

export const loadObjective = async (file: string, { timeLimitSeconds = DEFAULT_TIME_LIMIT_SECONDS, signal }: UserCodeLimits = {}): Promise<Either<string, ObjectiveDefinition>> => {
  const path = resolve(file);
  if (!existsSync(path)) return left(`${file}: no such file (looked for ${path})`);
  if (!statSync(path).isFile()) return left(`${file}: not a file; expected a TypeScript or JavaScript module that exports the objective`);
  const exports = await importUserModule(path, file, { timeLimitSeconds, signal });
  if (isLeft(exports)) return exports;
  const guard = userCodeGuard(timeLimitSeconds);
  return objectiveFromModule(exports.right, file, (f, what) => guard(f, what) as typeof f);
};
