import { conv2d, grad, mul, sum } from '../lib/index.ts';
import type { Tensor } from '../lib/tensor.ts';
import { compile } from '../lib/compile/index.ts';
const random = (size: number, seed: number) => Float32Array.from({ length: size }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 0.5);
const value = (shape: number[], seed: number) => ({ shape, data: random(shape.reduce((a, b) => a * b, 1), seed) });
const [c, o, size] = process.argv.slice(2).map(Number);
const args = { x: value([256, c, size, size], 1), w: value([o, c, 3, 3], 2), g: value([256, o, size, size], 3) };
const f = (p: any) => grad((q: { x: Tensor; w: Tensor }) => sum(mul(conv2d(q.x, q.w, { padding: 1 }), p.g)))({ x: p.x, w: p.w });
const compiled = compile(f as never, { backend: 'webasm', debug: process.argv.includes('--debug') });
await compiled(args as never);
for (let r = 0; r < 5; r++) {
  const t = performance.now();
  await compiled(args as never);
  const rep = compiled.report()!;
  console.log((performance.now() - t).toFixed(1), 'ms', rep.segments!.map((s) => `${s.kind} ${s.milliseconds.toFixed(1)} ${s.nodes.join(' ').slice(0, 60)}`).join(' | '));
}
await compiled.destroy();
