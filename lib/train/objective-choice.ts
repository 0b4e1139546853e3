// The objective a run minimises: a built-in one by name, or a user's file that exports a
// function of the [2N, d] features (first views, then second views) and { temperature }. A
// file's objective is tried once on small features before training, so a mistake shows up
// as a sentence naming the file rather than deep inside a compiled step. A file is read by the
// objective checker's loader, so both pick the same export.

import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { loadObjective as loadObjectiveDefinition, type UserCodeLimits } from '../check/load-objective.ts';
import type { ObjectiveDefinition } from '../check/objective-definition.ts';
import { UserCodeStopped } from '../check/user-code.ts';
import { isTensor, type Tensor } from '../tensor.ts';
import { tensor } from '../constants.ts';
import { interpret } from '../interpret.ts';
import { formatShape } from '../shape.ts';
import { l2Normalize } from '../composites/normalize.ts';
import { alignmentUniformityLoss } from '../objectives/alignment-uniformity.ts';
import { invariantSpreadingLoss } from '../objectives/invariant-spreading.ts';
import { ntXentLoss } from '../objectives/nt-xent.ts';
import { builtInObjectiveNames } from './options.ts';

export type Features = Tensor<readonly [number, number]>;

/** What a user's objective file exports. */
export type ObjectiveFunction = (features: Features, options: { readonly temperature: number }) => Tensor;

/** The objective with its options bound, as the training step takes it. */
export type Objective = (features: Features) => Tensor;

/** What the run's options say to a built-in objective; each takes the settings it has. */
interface BuiltInSettings {
  readonly temperature: number;
  /** The invariant-spreading loss's weight on its negatives (negM). */
  readonly negativeWeight: number;
}

const builtIn: Record<(typeof builtInObjectiveNames)[number], (features: Features, settings: BuiltInSettings) => Tensor> = {
  'invariant-spreading': (features, { temperature, negativeWeight }) => invariantSpreadingLoss(features, { temperature, negativeWeight }),
  'nt-xent': (features, { temperature }) => ntXentLoss(features, { temperature }),
  'align-uniform': (features) => alignmentUniformityLoss(features),
};

/** Try the objective on 4 instances x 2 views of 8-d unit features: it must give a finite scalar. */
const tryObjective = (objective: Objective, where: string): E.Either<string, Objective> => {
  const features = l2Normalize(tensor(Array.from({ length: 8 * 8 }, (_, i) => Math.sin(1.7 * i + 0.3)), [8, 8])) as Features;
  let value;
  try {
    const loss: unknown = objective(features);
    if (!isTensor(loss)) {
      const kind = (loss as object | undefined)?.constructor?.name ?? typeof loss;
      return E.left(kind === 'Tensor'
        ? `${where} returned a Tensor of another copy of the library: a .ts file outside this project loads as CommonJS, ` +
          'with its own copy; name the file .mts, or put it inside the project'
        : `${where} returned ${kind}, expected a scalar Tensor`);
    }
    value = interpret(loss);
  } catch (cause) {
    if (cause instanceof UserCodeStopped) {
      if (cause.reason === 'ctrl-c') throw cause;
      return E.left(cause.message);
    }
    return E.left(`${where} failed on [8, 8] features: ${(cause as Error).message}`);
  }
  if (value.shape.length !== 0) return E.left(`${where} returned shape ${formatShape(value.shape)} for [8, 8] features; expected a scalar (shape [])`);
  if (!Number.isFinite(value.data[0])) return E.left(`${where} returned ${value.data[0]} for [8, 8] unit features; expected a finite number`);
  return E.right(objective);
};

/**
 * The objective as the training step calls it: a failure on the real batch, which the tries on
 * small features did not meet, says which objective failed on which shape, in training, rather
 * than surfacing bare from deep inside the step's trace.
 */
const inTraining = (objective: ObjectiveFunction, options: { readonly temperature: number }, where: string): Objective => (features) => {
  const shape = formatShape(features.shape);
  let loss: unknown;
  try {
    loss = objective(features, options);
  } catch (cause) {
    if (cause instanceof UserCodeStopped) throw cause;
    throw new Error(`${where} failed on ${shape} features in training: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  if (!isTensor(loss) || loss.size !== 1)
    throw new Error(`${where} returned ${isTensor(loss) ? `shape ${formatShape(loss.shape)}` : typeof loss} for ${shape} features in training; expected a scalar Tensor`);
  return loss;
};

/**
 * `spec` is a built-in name or the path of a .ts/.js file, read by the same loader as the
 * objective checker's (so a file is checked and trained on the same export), with its
 * `options` under the run's temperature. `negativeWeight` reaches the invariant-spreading loss alone.
 * A file's import and every call of its objective run under `limits` (a time limit, and Ctrl-C).
 */
export const loadObjective = async (spec: string, temperature: number, negativeWeight = 1, limits: UserCodeLimits = {}): Promise<E.Either<string, Objective>> => {
  const named = (builtIn as Record<string, (features: Features, settings: BuiltInSettings) => Tensor>)[spec];
  if (named !== undefined) return E.right((features) => named(features, { temperature, negativeWeight }));
  const definition = await loadObjectiveDefinition(spec, limits);
  return E.isLeft(definition) ? definition : boundObjective(definition.right, spec, temperature);
};

/** A file's objective with its options under the run's temperature, tried once on small features. */
export const boundObjective = (definition: ObjectiveDefinition, spec: string, temperature: number): E.Either<string, Objective> => {
  const options = { ...(definition.options ?? {}), temperature };
  const where = `the objective in ${spec}`;
  const objective = definition.objective as ObjectiveFunction;
  return pipe(
    tryObjective((features) => objective(features, options), where),
    E.map(() => inTraining(objective, options, where)),
  );
};

export const isBuiltInObjective = (spec: string): boolean => (builtInObjectiveNames as readonly string[]).includes(spec);
