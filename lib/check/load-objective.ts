// Loading an objective from a file: its absolute path imported where a loop or an endless wait
// at its top level can be stopped (user-code.ts; tsx, when it is registered, compiles TypeScript
// on the way), then its exports read as an objective definition whose every function runs under
// the same time limit and Ctrl-C. A file that exports `init` is a stateful objective. Every way
// this can go wrong is a Left naming the file and what was expected; Ctrl-C throws UserCodeStopped.

import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Either, chain, isLeft, left, right } from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type ObjectiveDefinition, objectiveFromModule, type UserFunctionGuard } from './objective-definition.ts';
import { type AnyObjectiveDefinition, isStatefulDefinition, statefulObjectiveFromModule } from './stateful-objective-definition.ts';
import { DEFAULT_TIME_LIMIT_SECONDS, importUserModule, userCodeGuard } from './user-code.ts';

export interface UserCodeLimits {
  /** How long the import, and each call of the file's functions, may take (default 60 s). */
  readonly timeLimitSeconds?: number;
  /** Aborted by the caller's Ctrl-C handler: stops the import. */
  readonly signal?: AbortSignal;
}

/** A stateless or a stateful objective's definition. */
export const loadAnyObjective = async (file: string, { timeLimitSeconds = DEFAULT_TIME_LIMIT_SECONDS, signal }: UserCodeLimits = {}): Promise<Either<string, AnyObjectiveDefinition>> => {
  const path = resolve(file);
  if (!existsSync(path)) return left(`${file}: no such file (looked for ${path})`);
  if (!statSync(path).isFile()) return left(`${file}: not a file; expected a TypeScript or JavaScript module that exports the objective`);
  const imported = await importUserModule(path, file, { timeLimitSeconds, signal });
  if (isLeft(imported)) return imported;
  const exports = imported.right;
  const userGuard = userCodeGuard(timeLimitSeconds);
  const guard: UserFunctionGuard = (f, what) => userGuard(f, what) as typeof f;
  const nested = (typeof exports.default === 'object' && exports.default !== null ? exports.default : {}) as Record<string, unknown>;
  return exports.init !== undefined || nested.init !== undefined ? statefulObjectiveFromModule(exports, file, guard) : objectiveFromModule(exports, file, guard);
};

/** A stateless objective's definition; a stateful file is refused. */
export const loadObjective = async (file: string, limits: UserCodeLimits = {}): Promise<Either<string, ObjectiveDefinition>> =>
  pipe(
    await loadAnyObjective(file, limits),
    chain((definition) => isStatefulDefinition(definition)
      ? left(`${file}: exports \`init\`, a stateful objective; expected a function of the features alone here`)
      : right(definition)),
  );
