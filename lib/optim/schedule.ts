// Learning-rate schedules: host-side functions of the epoch. The value enters the compiled
// step as a scalar tensor input, so a change of rate is not a change of program.

export interface StepDecayOptions {
  /** Epochs at which the rate is multiplied by `factor`, in increasing order. */
  readonly milestones: readonly number[];
  /** Default 0.1. */
  readonly factor?: number;
}

/** `stepDecay(base, { milestones, factor })(epoch)`: base x factor^(milestones passed), as PyTorch's MultiStepLR. */
export const stepDecay = (base: number, { milestones, factor = 0.1 }: StepDecayOptions): ((epoch: number) => number) => {
  if (milestones.some((m, i) => !Number.isFinite(m) || (i > 0 && m <= milestones[i - 1])))
    throw new RangeError(`stepDecay: milestones [${milestones.join(', ')}] must increase`);
  // Rounded to 15 significant digits: the base and factor are decimals, and their binary product
  // would otherwise reach metrics.jsonl as 0.00010000000000000002 for 0.01 x 0.1 x 0.1.
  return (epoch) => Number((base * factor ** milestones.filter((m) => epoch >= m).length).toPrecision(15));
};
