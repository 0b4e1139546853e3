// Test helpers shared by the data tests: a temporary root per test file, removed afterwards, and
// unwrapping an Either of a DataError with a message that says what came instead.
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before } from 'node:test';
import * as E from 'fp-ts/lib/Either.js';
import type { DataError } from '../lib/data/index.ts';

/** Registers the root's creation and removal; the returned function makes a fresh folder under it. */
export const temporaryFolders = (prefix: string): ((label: string) => Promise<string>) => {
  let root = '';
  let counter = 0;
  before(async () => {
    root = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  });
  after(async () => {
    await fsp.rm(root, { recursive: true, force: true });
  });
  return async (label) => {
    const dir = path.join(root, `${label}-${counter++}`);
    await fsp.mkdir(dir, { recursive: true });
    return dir;
  };
};

export const right = <A>(r: E.Either<DataError, A>): A => {
  if (E.isLeft(r)) assert.fail(`expected Right, got ${r.left.kind}: ${r.left.message}`);
  return r.right;
};

export const left = <A>(r: E.Either<DataError, A>): DataError => {
  if (E.isRight(r)) assert.fail('expected Left, got Right');
  return r.left;
};
