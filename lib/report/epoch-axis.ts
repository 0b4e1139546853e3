// The x axis every per-epoch chart shares: the epochs from the first to the last measured, no
// padding, ticks on whole epochs only (each of a short run's, whole steps of a longer one's).

/** The epoch axis's encoding for a Vega-Lite spec, over these epochs (non-finite ones ignored). */
export const epochAxis = (epochs: readonly number[]) => {
  const finite = epochs.filter(Number.isFinite);
  const base = { field: 'epoch', type: 'quantitative', title: 'epoch' } as const;
  if (finite.length === 0) return { ...base, axis: { format: 'd' } };
  const [first, last] = [Math.min(...finite), Math.max(...finite)];
  const ticks = last - first <= 12 ? { values: Array.from({ length: Math.floor(last - first) + 1 }, (_, i) => first + i) } : { tickMinStep: 1 };
  return { ...base, axis: { format: 'd', ...ticks }, scale: { domain: [first, last], nice: false } };
};
