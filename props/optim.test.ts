// Optimisers: two steps of SGD (plain, Nesterov) and Adam against values worked out by hand,
// weight decay, a learning rate given as a scalar tensor, convergence on a quadratic, and the
// step-decay schedule.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { add, interpret, mul, scalar, square, sub, sum, tensor, type Tensor, valueAndGrad } from '../lib/index.ts';
import { adam, type Optimizer, type OptimizerState, sgd, stepDecay } from '../lib/optim/index.ts';
import { materialize } from '../lib/nn/index.ts';

type Tree = { w: Tensor; b: Tensor };

const tree = (w: number[], b: number): Tree => ({ w: tensor(w, [w.length]), b: tensor([[b]], [1, 1]) });

const leaves = (t: Tree) => {
  const value = interpret(t);
  return [...value.w.data, ...value.b.data];
};

const close = (actual: readonly number[], expected: readonly number[], tolerance = 1e-14) => {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]) <= tolerance, `[${i}] ${a} vs ${expected[i]}`));
};

/** Runs `steps` updates with fixed gradients, materializing between steps as a training loop does. */
const run = (optimizer: Optimizer, params: Tree, gradients: readonly Tree[]) => {
  let state: OptimizerState<Tree> = optimizer.init(params);
  const trajectory: number[][] = [];
  for (const grads of gradients) {
    const next = materialize(optimizer.update(params, state, grads));
    ({ params, state } = next);
    trajectory.push(leaves(params));
  }
  return { params, state, trajectory };
};

const start = tree([1, -2], 0.5);
const gradients = [tree([0.5, 1], -1), tree([-0.25, 2], 0)];

test('SGD with momentum and weight decay: two steps by hand', () => {
  const { trajectory } = run(sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 0.01 }), start, gradients);
  // w[0]: g = 0.5 + 0.01 * 1 = 0.51, v = 0.51, p = 1 - 0.051 = 0.949;
  //       g = -0.25 + 0.00949 = -0.24051, v = 0.459 - 0.24051 = 0.21849, p = 0.949 - 0.021849 = 0.927151.
  // w[1]: g = 1 - 0.02 = 0.98, p = -2.098; g = 2 - 0.02098 = 1.97902, v = 0.882 + 1.97902 = 2.86102, p = -2.384102.
  // b:    g = -1 + 0.005 = -0.995, p = 0.5995; g = 0.005995, v = -0.8955 + 0.005995 = -0.889505, p = 0.6884505.
  close(trajectory[0], [0.949, -2.098, 0.5995]);
  close(trajectory[1], [0.927151, -2.384102, 0.6884505]);
});

test('SGD with Nesterov momentum: two steps by hand', () => {
  const { trajectory } = run(sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true }), start, gradients);
  // w[0]: g = 0.51, v = 0.51, step g + 0.9 v = 0.969, p = 0.9031;
  //       g = -0.25 + 0.009031 = -0.240969, v = 0.459 - 0.240969 = 0.218031,
  //       step -0.240969 + 0.1962279 = -0.0447411, p = 0.9031 + 0.00447411 = 0.90757411.
  close([trajectory[0][0], trajectory[1][0]], [0.9031, 0.90757411]);
});

test('weight decay alone shrinks every parameter by lr x wd per step (no momentum yet)', () => {
  const zero = tree([0, 0], 0);
  const { trajectory } = run(sgd({ learningRate: 0.5, weightDecay: 0.1 }), start, [zero]);
  close(trajectory[0], [1, -2, 0.5].map((p) => p * (1 - 0.05)));
  const none = run(sgd({ learningRate: 0.5, weightDecay: 0 }), start, [zero]);
  close(none.trajectory[0], [1, -2, 0.5]);
});

test('the learning rate may be a scalar tensor (an input of a compiled step) with the same result', () => {
  const asNumber = run(sgd({ learningRate: 0.1, weightDecay: 0.01 }), start, gradients).trajectory;
  const asTensor = run(sgd({ learningRate: scalar(0.1), weightDecay: 0.01 }), start, gradients).trajectory;
  assert.deepEqual(asTensor, asNumber);
  const adamNumber = run(adam({ learningRate: 0.1 }), start, gradients).trajectory;
  const adamTensor = run(adam({ learningRate: scalar(0.1) }), start, gradients).trajectory;
  close(adamTensor.flat(), adamNumber.flat(), 1e-15);
  assert.throws(() => sgd({ learningRate: tensor([0.1, 0.2], [2]) as unknown as Tensor<readonly []> }), RangeError);
});

test('Adam: two steps by hand, with the bias corrections', () => {
  const { trajectory, state } = run(adam({ learningRate: 0.1 }), start, gradients);
  // w[0], gradients 0.5 then -0.25:
  const m1 = 0.1 * 0.5; // 0.05
  const v1 = 0.001 * 0.25; // 0.00025
  const p1 = 1 - (0.1 * (m1 / 0.1)) / (Math.sqrt(v1 / 0.001) + 1e-8); // 1 - 0.1 x 0.5 / 0.50000001
  const m2 = 0.9 * m1 + 0.1 * -0.25; // 0.02
  const v2 = 0.999 * v1 + 0.001 * 0.0625; // 0.00031225
  const p2 = p1 - (0.1 * (m2 / (1 - 0.81))) / (Math.sqrt(v2 / (1 - 0.998001)) + 1e-8);
  close([trajectory[0][0], trajectory[1][0]], [p1, p2], 1e-12);
  assert.ok(Math.abs(p1 - 0.900000002) < 1e-12);
  // Every coordinate's first step is lr x sign(g) (up to epsilon): Adam's scale invariance.
  close(trajectory[0], [1 - 0.1, -2 - 0.1, 0.5 + 0.1], 1e-8);
  assert.equal(interpret(state.step as Tensor).data[0], 2);
});

test('Adam with weight decay adds wd x p to the gradient', () => {
  const { trajectory } = run(adam({ learningRate: 0.1, weightDecay: 0.5 }), start, [tree([0.5, 1], -0.25)]);
  // b: g = -0.25 + 0.5 x 0.5 = 0 -> no step; w[0]: g = 1 > 0; w[1]: g = 1 - 1 = 0.
  close(trajectory[0], [0.9, -2, 0.5], 1e-8);
});

/** f(p) = sum a (p - c)^2 over both leaves; with weight decay wd the optimum is 2 a c / (2 a + wd). */
const a = { w: [1, 3], b: 0.5 };
const c = { w: [2, -1], b: 4 };
const objective = (p: Tree): Tensor =>
  add(sum(mul(tensor(a.w, [2]), square(sub(p.w, tensor(c.w, [2]))))), mul(sum(square(sub(p.b, c.b))), a.b));

/** Minimises the objective; `optimizerAt(step)` may build the optimiser anew each step (a schedule). */
const minimise = (optimizerAt: (step: number) => Optimizer, steps: number) => {
  let params = start;
  let state = optimizerAt(0).init(params);
  const gradient = valueAndGrad(objective);
  for (let step = 0; step < steps; step++) {
    const [, grads] = gradient(params);
    ({ params, state } = materialize(optimizerAt(step).update(params, state, grads)));
  }
  return leaves(params);
};

test('minimising a quadratic converges: SGD to the weight-decayed optimum, Adam to the optimum', () => {
  const decayed = [...a.w.map((ai, i) => (2 * ai * c.w[i]) / (2 * ai + 5e-4)), (2 * a.b * c.b) / (2 * a.b + 5e-4)];
  const plainSgd = sgd({ learningRate: 0.1 });
  close(minimise(() => plainSgd, 300), decayed, 1e-6);
  const plainAdam = adam({ learningRate: 0.05 });
  close(minimise(() => plainAdam, 600), [...c.w, c.b], 1e-3);
  // A scheduled rate, entering as a scalar tensor each step, as a compiled step would take it.
  const schedule = stepDecay(0.1, { milestones: [150], factor: 0.5 });
  close(minimise((step) => sgd({ learningRate: scalar(schedule(step)), weightDecay: 0 }), 300), [...c.w, c.b], 1e-6);
});

test('stepDecay multiplies the rate by the factor at each milestone passed', () => {
  const schedule = stepDecay(0.03, { milestones: [120, 160] });
  close([0, 119, 120, 159, 160, 199].map(schedule), [0.03, 0.03, 0.003, 0.003, 0.0003, 0.0003], 1e-18);
  assert.equal(stepDecay(1, { milestones: [], factor: 0.5 })(1000), 1);
  // The decimal a person would write, not the binary product's tail (0.00010000000000000002).
  assert.deepEqual([0, 1, 2].map(stepDecay(0.01, { milestones: [1, 2] })), [0.01, 0.001, 0.0001]);
  assert.throws(() => stepDecay(1, { milestones: [10, 5] }), RangeError);
});

test('mismatched trees are refused with the paths named', () => {
  const optimizer = sgd({ learningRate: 0.1 });
  const state = optimizer.init(start);
  assert.throws(() => optimizer.update(start, state, { w: start.w } as unknown as Tree), /sgd: the gradients have leaves \[w\], not those of the parameters \[b, w\]/);
  assert.throws(() => optimizer.update(start, state, tree([1, 2, 3], 0)), /sgd: w has shape \[3\] in the gradients but \[2\] in the parameters/);
});
