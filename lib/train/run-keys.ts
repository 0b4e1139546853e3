// Every random choice of a run as a pure function of the seed and the position in the run, so
// that a run resumed from a checkpoint draws exactly what the uninterrupted run would have:
//   initialisation     split(key(seed), 3)[0]
//   data order         permutation(foldIn(split(key(seed), 3)[1], epoch), trainCount)
//   step augmentations foldIn(foldIn(split(key(seed), 3)[2], epoch), step)
//   unseen-class k-means foldIn(split(key(seed), 5)[3], epoch)
//   linear probe       split(key(seed), 5)[4]
//   a stateful objective's initial state and parameters  split(key(seed), 6)[5]
// split's i-th key does not depend on how many are asked for, so the keys added later (the
// last three) left the first three, and older runs' numbers, as they were.

import { interpret } from '../interpret.ts';
import { type Key, foldIn, key, split } from '../random/key.ts';
import { permutation } from '../random/distributions.ts';

export interface RunKeys {
  /** The key of the encoder's initial parameters. */
  readonly initialisation: Key;
  /** The order in which epoch `epoch` (1-based) visits the training images. */
  readonly epochOrder: (epoch: number, trainCount: number) => Int32Array;
  /** The key of the two augmented views of step `step` (0-based) of epoch `epoch`. */
  readonly stepKey: (epoch: number, step: number) => Key;
  /** The k-means seeding of epoch `epoch`'s unseen-class evaluation. */
  readonly clusteringKey: (epoch: number) => Key;
  /** The data order of the linear probe. */
  readonly linearProbe: Key;
  /** The key of a stateful objective's initialiser (a memory bank's rows, exemplar weights). */
  readonly objectiveInitialisation: Key;
}

export const runKeys = (seed: number): RunKeys => {
  const [initialisation, order, augmentation, clustering, linearProbe, objectiveInitialisation] = split(key(seed), 6);
  return {
    objectiveInitialisation,
    clusteringKey: (epoch) => foldIn(clustering, epoch),
    linearProbe,
    initialisation,
    epochOrder: (epoch, trainCount) => Int32Array.from(interpret(permutation(foldIn(order, epoch), trainCount)).data),
    stepKey: (epoch, step) => foldIn(foldIn(augmentation, epoch), step),
  };
};
