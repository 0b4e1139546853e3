// A new embedding objective in three steps: write it, check it, train with it.
//
//   npx tsx examples/custom-objective.ts                      check it, then train a tiny encoder for a few steps
//   npm run check-objective -- examples/custom-objective.ts   the same checks, from the command line
//
// The objective is the debiased contrastive loss (Chuang, Robinson, Lin, Torralba and Jegelka,
// NeurIPS 2020): NT-Xent whose sum over the N = 2m - 2 negatives is corrected for the chance
// tau+ (`positivePrior`) that a "negative" is of the anchor's own class. With s = x_i . x_k / t,
//   N g_i = max((sum_negatives e^s_ik - N tau+ e^s_ip) / (1 - tau+), N e^(-1/t)),
//   loss  = mean_i -log(e^s_ip / (e^s_ip + N g_i)) = mean_i log1p(N g_i / e^s_ip).
// The features are unit rows, so e^s stays within e^(+-1/t): finite in float32 down to t = 0.05.

import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import {
  checkObjective, colorJitter, compose, div, exp, formatObjectiveReport, instanceCount, interpretScalar, key, log1p, materialize, maximum, mean, mul,
  negativeMask, normalize, ntXentLoss, type ObjectiveProperty, type ObjectiveReport, pairwiseSimilarity, positiveMask, randomGrayscale,
  randomHorizontalFlip, randomResizedCrop, select, sgd, smallCifarEncoder, sub, sum, type Tensor, tensor,
} from '../lib/index.ts';
import { compile } from '../lib/compile/index.ts';
import { trainingStep } from '../lib/train/training-step.ts';

// ---- 1. write it ----

export interface DebiasedContrastiveOptions {
  /** t; the paper uses 0.5. */
  readonly temperature?: number;
  /** tau+, the chance that a negative shares the anchor's class; 0 gives NT-Xent. */
  readonly positivePrior?: number;
}

export const debiasedContrastiveLoss = (
  features: Tensor<readonly [number, number]>,
  { temperature = 0.5, positivePrior = 0.1 }: DebiasedContrastiveOptions = {},
): Tensor => {
  const m = instanceCount('debiasedContrastiveLoss', features);
  const negativeCount = 2 * m - 2;
  const similarity = exp(div(pairwiseSimilarity(features), temperature));
  const positive = sum(select(positiveMask(m), similarity, 0), -1);
  const negatives = sum(select(negativeMask(m), similarity, 0), -1);
  const debiased = maximum(div(sub(negatives, mul(positive, negativeCount * positivePrior)), 1 - positivePrior), negativeCount * Math.exp(-1 / temperature));
  return mean(log1p(div(debiased, positive)));
};

// What `npm run check-objective` reads from this file: the objective, and two properties of its
// own beyond the battery's. Its `temperature` option is detected; 0.05 and 0.5 are tried too.
export default debiasedContrastiveLoss;

export const properties: ObjectiveProperty[] = [
  { name: 'the loss is at least 0 (N g_i >= 0)', property: (_features, { loss }) => loss >= 0 },
  {
    name: 'with positivePrior 0 it is NT-Xent',
    property: (features, { options }) => {
      const temperature = (options.temperature as number | undefined) ?? 0.5;
      const debiased = interpretScalar(debiasedContrastiveLoss(features, { temperature, positivePrior: 0 }));
      const reference = interpretScalar(ntXentLoss(features, { temperature }));
      if (Math.abs(debiased - reference) > 1e-10 * Math.max(1, Math.abs(reference))) throw new Error(`${debiased}, NT-Xent ${reference}`);
    },
  },
];

// ---- 2. check it ----

export const checkDebiasedContrastive = (runs: number, seed = 1): Promise<ObjectiveReport> =>
  checkObjective({ name: 'debiasedContrastiveLoss', objective: debiasedContrastiveLoss, properties }, { runs, seed });

// ---- 3. train with it ----

/** A tiny configuration (8x8 images, narrow encoder) so that a few steps take seconds on a CPU. */
const size = 8;
const encoder = smallCifarEncoder({ widths: [4, 6, 8], featureDimension: 8 });
const augmentation = compose(
  (k, images) => randomResizedCrop(k, images, { size, scale: [0.2, 1] }),
  (k, images) => colorJitter(k, images, { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 }),
  (k, images) => randomGrayscale(k, images, { p: 0.2 }),
  (k, images) => randomHorizontalFlip(k, images, { p: 0.5 }),
  (_k, images) => normalize(images),
);

/** The loss of each of `steps` compiled training steps on one batch of 8 synthetic images (the same views every step). */
export const trainDebiasedContrastive = async (steps: number): Promise<number[]> => {
  const step = trainingStep({
    encoder,
    objective: (features) => debiasedContrastiveLoss(features, { temperature: 0.2 }),
    optimizer: (learningRate) => sgd({ learningRate, momentum: 0.9 }),
    augmentation,
  });
  const compiled = compile(step);
  const { params, state } = materialize(encoder.init(key(3)));
  let inputs: any = {
    params,
    state,
    optimizerState: materialize(sgd({ learningRate: 0.1, momentum: 0.9 }).init(params)),
    images: tensor(Array.from({ length: 8 * 3 * size * size }, (_, i) => (Math.sin(i * 0.61) + 1) / 2), [8, 3, size, size]),
    key: key(6),
    learningRate: tensor([0.1], []),
  };
  const losses: number[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      const out: any = await compiled(inputs);
      losses.push(out.loss.data[0]);
      inputs = { ...inputs, params: out.params, state: out.state, optimizerState: out.optimizerState };
    }
  } finally {
    await compiled.destroy();
  }
  return losses;
};

const main = async () => {
  const report = await checkDebiasedContrastive(Number(process.env.CHECK_RUNS ?? 20));
  console.log(formatObjectiveReport(report));
  if (!report.passed) {
    process.exitCode = 1;
    return;
  }
  console.log('\ntraining a tiny encoder with it (compiled training step, 8 images of 8x8):');
  const losses = await trainDebiasedContrastive(12);
  losses.forEach((loss, s) => console.log(`  step ${String(s + 1).padStart(2)}  loss ${loss.toFixed(4)}`));
  console.log(`loss ${losses[0].toFixed(4)} -> ${losses[losses.length - 1].toFixed(4)}`);
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
