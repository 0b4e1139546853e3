// Loading an objective from a file: a dynamic import of its absolute path (tsx, when it is
// registered, compiles TypeScript on the way), then its exports read as an objective definition.
// A file that exports `init` is a stateful objective. Every way this can go wrong is a Left
// naming the file and what was expected.

import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Either, chain, left, right } from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type ObjectiveDefinition, objectiveFromModule } from './objective-definition.ts';
import { type AnyObjectiveDefinition, isStatefulDefinition, statefulObjectiveFromModule } from './stateful-objective-definition.ts';

/** A stateless or a stateful objective's definition. */
export const loadAnyObjective = async (file: string): Promise<Either<string, AnyObjectiveDefinition>> => {
  const path = resolve(file);
  if (!existsSync(path)) return left(`${file}: no such file (looked for ${path})`);
  if (!statSync(path).isFile()) return left(`${file}: not a file; expected a TypeScript or JavaScript module that exports the objective`);
  let exports: Record<string, unknown>;
  try {
    exports = await import(pathToFileURL(path).href);
  } catch (error) {
    return left(`${file}: could not be loaded: ${error instanceof Error ? error.message : String(error)}`);
  }
  const nested = (typeof exports.default === 'object' && exports.default !== null ? exports.default : {}) as Record<string, unknown>;
  return exports.init !== undefined || nested.init !== undefined ? statefulObjectiveFromModule(exports, file) : objectiveFromModule(exports, file);
};

/** A stateless objective's definition; a stateful file is refused. */
export const loadObjective = async (file: string): Promise<Either<string, ObjectiveDefinition>> =>
  pipe(
    await loadAnyObjective(file),
    chain((definition) => isStatefulDefinition(definition)
      ? left(`${file}: exports \`init\`, a stateful objective; expected a function of the features alone here`)
      : right(definition)),
  );
