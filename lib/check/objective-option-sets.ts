// The option sets an objective is checked at: its own options, and lower and higher temperatures
// where it takes one, since a softmax over similarities / tau is where gradients go wrong at a
// small tau. A file says which with `temperatures`; otherwise a `temperature` option is detected
// by whether setting it changes the loss.

import { interpretScalar } from '../interpret.ts';
import { type ObjectiveDefinition, type ObjectiveFunction, type ObjectiveOptions, probeFeatures } from './objective-definition.ts';

/** The temperatures tried when the objective is found to take one. */
export const detectedTemperatures = [0.05, 0.5] as const;

export interface OptionSets {
  /** The objective's own options first. */
  readonly sets: readonly ObjectiveOptions[];
  /** How the sets were chosen, for the report. */
  readonly source: string;
}

const lossAt = (objective: ObjectiveFunction, options: ObjectiveOptions): number => {
  try {
    return interpretScalar(objective(probeFeatures(), options));
  } catch {
    return Number.NaN;
  }
};

/** Whether `{ temperature }` is an option of the objective: the loss changes with it. */
export const takesTemperature = (objective: ObjectiveFunction, options: ObjectiveOptions): boolean => {
  const [low, high] = detectedTemperatures.map((temperature) => lossAt(objective, { ...options, temperature }));
  return Number.isFinite(low) && Number.isFinite(high) && low !== high;
};

const withoutRepeats = (sets: readonly ObjectiveOptions[]): ObjectiveOptions[] => {
  const seen = new Set<string>();
  return sets.filter((set) => {
    const key = formatObjectiveOptions(set);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};

export const optionSetsOf = ({ objective, options = {}, temperatures }: ObjectiveDefinition): OptionSets => {
  if (temperatures !== undefined)
    return { sets: withoutRepeats([options, ...temperatures.map((extra) => ({ ...options, ...extra }))]), source: 'the options and the temperatures the file exports' };
  if (takesTemperature(objective, options))
    return {
      sets: withoutRepeats([options, ...detectedTemperatures.map((temperature) => ({ ...options, temperature }))]),
      source: `a \`temperature\` option was detected (the loss changes with it), so ${detectedTemperatures.join(' and ')} are tried too`,
    };
  return { sets: [options], source: 'no `temperature` option was detected (setting one does not change the loss)' };
};

const formatValue = (value: unknown): string =>
  typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value === 'function' ? 'a function' : JSON.stringify(value) ?? String(value);

/** `{ temperature: 0.05, negativeWeight: 0.7 }`; `{}` for no options. */
export const formatObjectiveOptions = (options: ObjectiveOptions): string => {
  const entries = Object.entries(options);
  return entries.length === 0 ? '{}' : `{ ${entries.map(([key, value]) => `${key}: ${formatValue(value)}`).join(', ')} }`;
};
