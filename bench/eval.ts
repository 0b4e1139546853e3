// Seconds of the unseen-category metrics and the linear probe, compiled: Recall@1/2/4/8 and
// k-means (10 restarts) with NMI on N rows of 128-d Gaussian clusters (5 classes), and linear-probe
// milliseconds per step at batch 256. Prints figures; never passes or fails on time.
//
//   npm run bench:eval -- [--rows 10000] [--dimension 128] [--backend native] [--interpreted]

import { parseArgs } from 'node:util';
import { key, kMeans, linearProbe, normalizedMutualInformation, recallAtK } from '../lib/index.ts';
import type { BackendName } from '../lib/compile/index.ts';
import { mulberry32 } from '../lib/data/index.ts';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '10000' }, dimension: { type: 'string', default: '128' }, backend: { type: 'string' }, interpreted: { type: 'boolean', default: false } },
});
const n = Number(values.rows);
const d = Number(values.dimension);
const options = { backend: values.backend as BackendName | undefined, interpreted: values.interpreted, onWarning: (m: string) => console.error(`warning: ${m}`) };
const random = mulberry32(1);
const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const centres = Array.from({ length: 5 }, () => Array.from({ length: d }, gaussian));
const labels = Array.from({ length: n }, (_, i) => i % 5);
// Noise of 4 per coordinate: clusters that overlap, so the figures are neither 0 nor 1.
const points = { shape: [n, d], data: Float32Array.from(labels.flatMap((l) => centres[l].map((c) => c + 4 * gaussian()))) };
const seconds = (start: number) => ((performance.now() - start) / 1000).toFixed(2);

let start = performance.now();
const recall = await recallAtK(points, labels, [1, 2, 4, 8], options);
console.log(`recallAtK ${n} x ${d}: ${seconds(start)} s (${recall.map(({ k, recall: r }) => `R@${k} ${r.toFixed(4)}`).join(', ')})`);
start = performance.now();
const clusters = await kMeans(points, 5, { ...options, key: key(0) });
console.log(`kMeans ${n} x ${d}, k 5, 10 restarts: ${seconds(start)} s (${clusters.iterations} iterations; NMI ${normalizedMutualInformation(labels, clusters.assignments).toFixed(4)})`);
start = performance.now();
const steps = 2 * Math.floor(n / 256);
await linearProbe(points, labels, points, labels, { classes: 5, key: key(0), epochs: 2, backend: options.backend, onWarning: options.onWarning });
console.log(`linearProbe ${n} x ${d}: ${steps} steps and the predictions in ${seconds(start)} s (${((1000 * (performance.now() - start)) / 1000 / steps).toFixed(1)} ms a step, kernel builds and predictions included)`);
