// The autodiff transformations over trees: shapes of results, second order, vjp, auxiliary
// outputs, custom VJPs, accumulation through shared nodes, and the errors a user meets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  add, checkGrad, conv2d, customVjp, exp, grad, interpret, log, logsumexp, matmul, mul, reshape, softmax, sum, tanh, tensor, tensorArbitrary,
  type Tensor, valueAndGrad, vjp,
} from '../lib/index.ts';
import { runs } from './runs.ts';

const data = (t: Tensor) => Array.from(interpret(t).data);

test('grad returns a tree shaped like the parameters, non-tensor leaves kept', () => {
  const params: { layers: { w: Tensor; name: string }[]; scale: Tensor } = {
    layers: [{ w: tensor([1, 2], [2]), name: 'first' }, { w: tensor([3], [1]), name: 'second' }],
    scale: tensor([2], []),
  };
  const g = grad((p: typeof params) => mul(add(sum(mul(p.layers[0].w, p.layers[0].w)), sum(p.layers[1].w)), p.scale))(params);
  assert.equal(g.layers[0].name, 'first');
  assert.deepEqual(data(g.layers[0].w), [4, 8]);
  assert.deepEqual(data(g.layers[1].w), [2]);
  assert.deepEqual(data(g.scale), [8]);
  assert.deepEqual(Object.keys(g), Object.keys(params));
});

test('an input with no path to the output gets zeros of its shape', () => {
  const g = grad((p: { used: Tensor; unused: Tensor }) => sum(p.used))({ used: tensor([1], [1]), unused: tensor([1, 2, 3, 4], [2, 2]) });
  assert.deepEqual(interpret(g.unused), { shape: [2, 2], data: new Float64Array(4) });
});

test('a node used several times accumulates its cotangents', () => {
  const x = tensor([3], [1]);
  const g = grad((x: Tensor) => { const y = mul(x, x); return sum(add(mul(y, y), y)); })(x);
  assert.deepEqual(data(g), [4 * 27 + 6]);
});

test('second order: grad of grad of x^3 is 6x, and checkGrad agrees on grad-of-grad programs', () => {
  const cube = (x: Tensor) => sum(mul(mul(x, x), x));
  const second = grad((x: Tensor) => sum(grad(cube)(x)))(tensor([1, -2, 0.5], [3]));
  assert.deepEqual(data(second), [6, -12, 3]);
  const program = ({ x, w }: { x: Tensor; w: Tensor }) => logsumexp(reshape(tanh(conv2d(x, w, { padding: 1 })), [-1]));
  const arbitrary = fc.record({ x: tensorArbitrary([1, 2, 4, 4]), w: tensorArbitrary([2, 2, 3, 3]), v: tensorArbitrary([1, 2, 4, 4]) });
  fc.assert(
    fc.property(arbitrary, ({ x, w, v }) => {
      // The gradient's directional derivative along v, itself differentiated: a Hessian-vector product.
      const result = checkGrad(({ x, w }: { x: Tensor; w: Tensor }) => sum(mul(grad(program)({ x, w }).x, v)), { x, w }, { maxElementsPerInput: 12 });
      if (result._tag === 'Left') throw new Error(JSON.stringify(result.left));
    }),
    { numRuns: runs(5) },
  );
  const matmulProgram = ({ a, b }: { a: Tensor; b: Tensor }) => sum(softmax(matmul(a, b)));
  const result = checkGrad((p: { a: Tensor; b: Tensor }) => sum(mul(grad(matmulProgram)(p).a, p.a)), {
    a: tensor([0.1, -0.3, 0.7, 0.2, 0.5, -0.9], [2, 3]),
    b: tensor([0.4, -0.2, 0.3, 0.8, -0.6, 0.1], [3, 2]),
  });
  assert.equal(result._tag, 'Right', JSON.stringify(result));
});

test('vjp gives the outputs and a pullback that matches grad on scalar outputs', () => {
  const f = (p: { a: Tensor; b: Tensor }) => ({ product: mul(p.a, p.b), total: sum(exp(p.a)) });
  const primals = { a: tensor([1, 2], [2]), b: tensor([3, 4], [2]) };
  const [outputs, pullback] = vjp(f, primals);
  assert.deepEqual(data(outputs.product), [3, 8]);
  const cotangents = pullback({ product: tensor([1, 10], [2]), total: tensor([0], []) });
  assert.deepEqual(data(cotangents.a), [3, 40]);
  assert.deepEqual(data(cotangents.b), [1, 20]);
  const viaPullback = pullback({ product: tensor([0, 0], [2]), total: tensor([1], []) });
  assert.deepEqual(data(viaPullback.a), data(grad((p: typeof primals) => f(p).total)(primals).a));
});

test('valueAndGrad returns the value, and with hasAux the auxiliary output untouched', () => {
  const [value, g] = valueAndGrad((x: Tensor) => sum(mul(x, x)))(tensor([1, 2], [2]));
  assert.deepEqual(data(value), [5]);
  assert.deepEqual(data(g), [2, 4]);
  const [[loss, aux], g2] = valueAndGrad((x: Tensor) => [sum(x), { count: 2, doubled: mul(x, 2) }] as const, { hasAux: true })(tensor([1, 2], [2]));
  assert.deepEqual(data(loss), [3]);
  assert.equal(aux.count, 2);
  assert.deepEqual(data(aux.doubled), [2, 4]);
  assert.deepEqual(data(g2), [1, 1]);
});

test('grad of a function that does not return one number names the shape', () => {
  assert.throws(() => grad((x: Tensor) => mul(x, 2))(tensor([1, 2], [2])), /single number.*\[2\]/);
});

test('a custom VJP replaces the derivative, and the harness tells a right rule from a wrong one', () => {
  const softLog = (scale: number) =>
    customVjp('log-with-rule', (x: Tensor) => log(x), (ct, [x]) => [mul(ct, mul(tensor([scale], []), exp(mul(log(x), -1))))]);
  const x = tensor([2, 4], [2]);
  assert.deepEqual(data(grad((x: Tensor) => sum(softLog(3)(x)))(x)), [1.5, 0.75]);
  assert.equal(checkGrad((x: Tensor) => sum(softLog(1)(x)), x)._tag, 'Right');
  const wrong = checkGrad((x: Tensor) => sum(softLog(1.01)(x)), x);
  assert.equal(wrong._tag, 'Left');
  if (wrong._tag === 'Left' && wrong.left.kind === 'mismatch') {
    assert.equal(wrong.left.input, '(root)');
    assert.equal(wrong.left.index, 0);
    assert.ok(Math.abs(wrong.left.numeric - 0.5) < 1e-8);
    assert.ok(Math.abs(wrong.left.analytic - 0.505) < 1e-12);
  } else assert.fail(`expected a mismatch, got ${JSON.stringify(wrong)}`);
});

test('gradients are graphs: building one evaluates nothing, and interpreting it twice gives the same numbers', () => {
  const g = grad((x: Tensor) => sum(tanh(matmul(x, x))))(tensor([0.1, 0.2, 0.3, 0.4], [2, 2]));
  assert.ok(g.inputs.length > 0);
  assert.deepEqual(interpret(g), interpret(g));
});
