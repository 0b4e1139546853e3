// The run's side of unseen-category evaluation (lib/train/unseen-classes.ts): the class lists a
// run trains on, the rows of the other classes, and Recall@K and NMI of their embedding.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { key } from '../lib/random/index.ts';
import { mulberry32 } from '../lib/data/index.ts';
import { parseClassList, rowsOfClasses, unseenClasses, unseenClassFields, unseenClassMetrics } from '../lib/train/unseen-classes.ts';

test('class lists: numbers and ranges in any mix, sorted; mistakes named, a class named twice among them', () => {
  assert.deepEqual(parseClassList('0-4'), E.right([0, 1, 2, 3, 4]));
  assert.deepEqual(parseClassList('7, 0,2-3'), E.right([0, 2, 3, 7]));
  assert.deepEqual(parseClassList('7, 0,2-3,3'), E.left('classes "7, 0,2-3,3": class 3 is named twice'));
  assert.deepEqual(parseClassList('9'), E.right([9]));
  assert.deepEqual(parseClassList('0-10'), E.left('classes "0-10": 10 is not a class in 0..9'));
  assert.deepEqual(parseClassList('4-2'), E.left('classes "4-2": the range 4-2 runs backwards'));
  assert.deepEqual(parseClassList('cat'), E.left('classes "cat": "cat" is not a class number or a range like 0-4'));
  assert.deepEqual(parseClassList('0-9'), E.left('classes "0-9": every class is named, so none is left unseen to evaluate on'));
  assert.deepEqual(unseenClasses([0, 1, 2, 3, 4]), [5, 6, 7, 8, 9]);
  assert.deepEqual(rowsOfClasses([3, 0, 5, 3, 9], [3, 9]), [0, 3, 4]);
});

test('the unseen-class metrics of well-separated classes are perfect, of random features poor; named as metrics.jsonl names them', async () => {
  const random = mulberry32(53);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const d = 12;
  const labels = Array.from({ length: 150 }, (_, i) => 5 + (i % 5));
  const centres = new Map(labels.map((l) => [l, Array.from({ length: d }, gaussian)]));
  const separated = { shape: [150, d], data: Float32Array.from(labels.flatMap((l) => centres.get(l)!.map((c) => c + 0.05 * gaussian()))) };
  const options = { key: key(2), backend: 'native' as const, onWarning: () => undefined };
  const perfect = await unseenClassMetrics(separated, labels, options);
  assert.deepEqual(unseenClassFields(perfect), { recall_at_1: 1, recall_at_2: 1, recall_at_4: 1, recall_at_8: 1, nmi: 1 });
  const noise = { shape: [150, d], data: Float32Array.from({ length: 150 * d }, gaussian) };
  const poor = await unseenClassMetrics(noise, labels, options);
  assert.ok(poor.recall[0].recall < 0.4 && poor.nmi < 0.2, JSON.stringify(poor));
  assert.deepEqual(Object.keys(unseenClassFields(poor, '_backbone')), ['recall_at_1_backbone', 'recall_at_2_backbone', 'recall_at_4_backbone', 'recall_at_8_backbone', 'nmi_backbone']);
});
