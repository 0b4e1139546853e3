// Loading an objective from a file: a dynamic import of its absolute path (tsx, when it is
// registered, compiles TypeScript on the way), then its exports read as an objective definition.
// Every way this can go wrong is a Left naming the file and what was expected.

import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Either, left } from 'fp-ts/lib/Either.js';
import { type ObjectiveDefinition, objectiveFromModule } from './objective-definition.ts';

export const loadObjective = async (file: string): Promise<Either<string, ObjectiveDefinition>> => {
  const path = resolve(file);
  if (!existsSync(path)) return left(`${file}: no such file (looked for ${path})`);
  if (!statSync(path).isFile()) return left(`${file}: not a file; expected a TypeScript or JavaScript module that exports the objective`);
  let exports: Record<string, unknown>;
  try {
    exports = await import(pathToFileURL(path).href);
  } catch (error) {
    return left(`${file}: could not be loaded: ${error instanceof Error ? error.message : String(error)}`);
  }
  return objectiveFromModule(exports, file);
};
