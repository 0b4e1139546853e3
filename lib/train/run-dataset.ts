// The data set a run reads, by --dataset: CIFAR-10, or STL-10 with as many of its unlabeled images
// as the steps can use (the labelled ones come first, so --train-size N needs at most N of them,
// and a run that uses none never reads the 2.8 GB file). From --data, the cache or a download.

import { loadCifar10OrThrow } from '../data/cifar10.ts';
import { loadStl10OrThrow } from '../data/stl10.ts';
import type { TrainOptions } from './options.ts';
import type { RunDataset } from './training-data.ts';

export const loadRunDataset = (
  options: Pick<TrainOptions, 'dataset' | 'data' | 'trainSize'>,
  { progress, onInfo }: { readonly progress?: boolean; readonly onInfo: (line: string) => void },
): Promise<RunDataset> =>
  options.dataset === 'stl10'
    ? loadStl10OrThrow({ data: options.data, progress, onInfo, unlabeled: options.trainSize })
    : loadCifar10OrThrow({ data: options.data, progress, onInfo });
