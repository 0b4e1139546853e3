// Every TypeScript block of the README runs: each is written beside the package (so that
// `import ... from 'tensorspread'` resolves to this checkout) and run with tsx.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

test('the README has TypeScript examples', () => assert.ok(blocks.length >= 2));

blocks.forEach((source, i) =>
  test(`README block ${i + 1} runs`, () => {
    const folder = join(root, '.readme-blocks');
    mkdirSync(folder, { recursive: true });
    const file = join(folder, `block-${i + 1}-${process.pid}.ts`);
    writeFileSync(file, source);
    try {
      execFileSync(process.execPath, ['--import', 'tsx', file], { cwd: root, stdio: 'pipe', timeout: 120_000 });
    } catch (error) {
      const { stderr, stdout } = error as { stderr?: Buffer; stdout?: Buffer };
      assert.fail(`README block ${i + 1} failed:\n${stdout?.toString() ?? ''}${stderr?.toString() ?? ''}`);
    } finally {
      rmSync(file, { force: true });
    }
  }),
);
