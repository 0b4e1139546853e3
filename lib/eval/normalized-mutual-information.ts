// Normalised mutual information between a labelling and a clustering, with the arithmetic-mean
// normalisation of deep metric learning and scikit-learn's default:
//   NMI(Y, C) = 2 I(Y; C) / (H(Y) + H(C)),
// entropies in nats from the counts of each label, each cluster and each (label, cluster) pair.
// It is 1 for the same partition under any renaming, and near 0 for independent ones. Counting is
// host work on n integers; there is nothing here for a kernel.

const counts = (values: ArrayLike<number>): Map<number, number> => {
  const tally = new Map<number, number>();
  for (let i = 0; i < values.length; i++) tally.set(values[i], (tally.get(values[i]) ?? 0) + 1);
  return tally;
};

// Written as p log(n / count), the form each term of I takes for a pair that is the whole of its
// label and its cluster, so that identical partitions give 2 I = H(Y) + H(C) to the last bit.
const entropy = (tally: Map<number, number>, n: number): number => {
  let h = 0;
  for (const count of tally.values()) h += (count / n) * Math.log(n / count);
  return h;
};

/**
 * NMI of `labels` and `clusters` (one integer each per item). Two partitions into one part each
 * are the same partition: 1, as scikit-learn says; one part against several: 0.
 */
export const normalizedMutualInformation = (labels: ArrayLike<number>, clusters: ArrayLike<number>): number => {
  const n = labels.length;
  if (clusters.length !== n) throw new RangeError(`normalizedMutualInformation: ${n} labels and ${clusters.length} clusters`);
  if (n === 0) throw new RangeError('normalizedMutualInformation: no items');
  const labelCounts = counts(labels);
  const clusterCounts = counts(clusters);
  if (labelCounts.size === 1 && clusterCounts.size === 1) return 1;
  // A pair's key: the label's and the cluster's positions in their tallies.
  const labelIndex = new Map([...labelCounts.keys()].map((label, i) => [label, i]));
  const clusterIndex = new Map([...clusterCounts.keys()].map((cluster, i) => [cluster, i]));
  const pairs = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const pair = labelIndex.get(labels[i])! * clusterCounts.size + clusterIndex.get(clusters[i])!;
    pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
  }
  const labelTotals = [...labelCounts.values()];
  const clusterTotals = [...clusterCounts.values()];
  let mutual = 0;
  for (const [pair, count] of pairs) {
    const label = Math.floor(pair / clusterCounts.size);
    const cluster = pair % clusterCounts.size;
    mutual += (count / n) * Math.log((count * n) / (labelTotals[label] * clusterTotals[cluster]));
  }
  const h = entropy(labelCounts, n) + entropy(clusterCounts, n);
  // Rounding can leave I a hair below 0 or 2I a hair above H(Y) + H(C); NMI lies in [0, 1].
  return Math.min(1, Math.max(0, (2 * mutual) / h));
};
