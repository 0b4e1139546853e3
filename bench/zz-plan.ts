import { cifarTrainAugmentation, invariantSpreadingLoss, key, materialize, sgd, smallCifarEncoder } from '../lib/index.ts';
import type { Encoder } from '../lib/nn/encoder.ts';
import type { TensorTree } from '../lib/tree.ts';
import { planKernels } from '../lib/compile/compile.ts';
import { capabilitiesOf } from '../lib/compile/capabilities.ts';
import { trainingStep } from '../lib/train/training-step.ts';
import { flattenTree, unflattenTree } from '../lib/tree.ts';
import { evaluateNodes } from '../lib/interpret.ts';
const encoder = smallCifarEncoder() as unknown as Encoder<TensorTree, TensorTree>;
const step = trainingStep({ encoder, objective: (f) => invariantSpreadingLoss(f), optimizer: (lr) => sgd({ learningRate: lr }), augmentation: cifarTrainAugmentation });
const initial = materialize(encoder.init(key(0)));
const opt = materialize(sgd({ learningRate: 0.03 }).init(initial.params));
const toValues = (tree: unknown) => { const { leaves } = flattenTree(tree); return unflattenTree(tree, evaluateNodes(leaves).map((v) => ({ shape: [...v.shape], data: Float32Array.from(v.data) }))); };
const batch = 128;
const args = { params: toValues(initial.params), state: toValues(initial.state), optimizerState: toValues(opt), images: { shape: [batch, 3, 32, 32], data: new Float32Array(batch * 3 * 1024) }, key: toValues(key(1)), learningRate: { shape: [], data: Float32Array.of(0.03) } };
const plan = planKernels(step as any, args as any, capabilitiesOf('webasm'));
let pin = 0, pout = 0, nin = 0, nout = 0, big = 0;
const label = (t: any) => `${t.primitive.name}${t.size > 1e6 ? '(' + (t.size / 1e6).toFixed(1) + 'M)' : ''}`;
for (const s of plan.segments) {
  if (s.kind === 'pipeline') { pin += s.inputs.reduce((a, t) => a + t.size, 0); pout += s.exports.reduce((a, t) => a + t.size, 0); big += s.steps.filter((k) => k.node.size > 1e6).length; console.log('pipeline', s.steps.length, 'in', s.inputs.filter((t) => t.size > 1e5).map(label).join(' '), '| out', s.exports.filter((t) => t.size > 1e5).map(label).join(' '), '| big kernels', s.steps.filter((k) => k.node.size > 1e6).map((k) => label(k.node)).join(' ')); }
  if (s.kind === 'native') { nin += s.operands.reduce((a, o) => a + o.base.size, 0); nout += s.node.size; }
}
console.log('pipeline in', (pin / 1e6).toFixed(1), 'M floats; out', (pout / 1e6).toFixed(1), 'M; native in', (nin / 1e6).toFixed(1), 'out', (nout / 1e6).toFixed(1), 'big kernels', big);
