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
  return (epoch) => base * factor ** milestones.filter((m) => epoch >= m).length;
};
