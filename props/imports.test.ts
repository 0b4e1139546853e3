// The library's import graph. A circle of imports makes a module's meaning depend on load order
// and hides which layer rests on which; the only circles allowed are the primitives whose
// gradients are each other, which must know each other's op.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const lib = join(dirname(fileURLToPath(import.meta.url)), '..', 'lib');

/** Every module of lib/ with the modules of lib/ it imports (type-only imports included). */
const importGraph = (): Map<string, string[]> => {
  const files = readdirSync(lib, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(ts|js)$/.test(file) && !file.endsWith('.d.ts'))
    .map((file) => resolve(lib, file));
  const known = new Set(files);
  return new Map(
    files.map((file) => {
      const source = readFileSync(file, 'utf8');
      const imported = [...source.matchAll(/(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/g)].map((m) => resolve(dirname(file), m[1]));
      return [relative(lib, file), imported.filter((path) => known.has(path)).map((path) => relative(lib, path))];
    }),
  );
};

/** The strongly connected components of more than one module (Tarjan's algorithm). */
const circles = (graph: ReadonlyMap<string, readonly string[]>): string[][] => {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return found;
};

/** Pairs of primitives whose VJPs are written with each other's op. */
const gradientPairs = [
  ['primitives/broadcast-to.ts', 'primitives/sum.ts'],
  ['primitives/gather.ts', 'primitives/scatter-add.ts'],
  ['primitives/pad.ts', 'primitives/slice.ts'],
].map((pair) => pair.join(' '));

test('no import circle in lib/ but the primitives whose gradients are each other', () => {
  const unexpected = circles(importGraph()).map((component) => component.join(' ')).filter((component) => !gradientPairs.includes(component));
  assert.deepEqual(unexpected, []);
});

test('the native kernels do not import the compiler that calls them', () => {
  const graph = importGraph();
  const back = [...graph].filter(([file]) => file.startsWith('native/')).flatMap(([file, imported]) => imported.filter((path) => path.startsWith('compile/')).map((path) => `${file} -> ${path}`));
  assert.deepEqual(back, []);
});
