// The objective a run minimises: a built-in one by name, or a user's file that exports a
// function of the [2N, d] features (first views, then second views) and { temperature }. A
// file's objective is tried once on small features before training, so a mistake shows up
// as a sentence naming the file rather than deep inside a compiled step.

import { pathToFileURL } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
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

const builtIn: Record<(typeof builtInObjectiveNames)[number], ObjectiveFunction> = {
  'invariant-spreading': (features, { temperature }) => invariantSpreadingLoss(features, { temperature }),
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
    return E.left(`${where} failed on [8, 8] features: ${(cause as Error).message}`);
  }
  if (value.shape.length !== 0) return E.left(`${where} returned shape ${formatShape(value.shape)} for [8, 8] features; expected a scalar (shape [])`);
  if (!Number.isFinite(value.data[0])) return E.left(`${where} returned ${value.data[0]} for [8, 8] unit features; expected a finite number`);
  return E.right(objective);
};

/** `spec` is a built-in name or the path of a .ts/.js file. */
export const loadObjective = async (spec: string, temperature: number): Promise<E.Either<string, Objective>> => {
  const named = (builtIn as Record<string, ObjectiveFunction>)[spec];
  if (named !== undefined) return E.right((features) => named(features, { temperature }));
  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(spec).href);
  } catch (cause) {
    return E.left(`cannot load the objective file ${spec}: ${(cause as Error).message}`);
  }
  // A CommonJS-compiled file puts its exports under `default`.
  const candidates = [module.default, module.objective, (module.default as Record<string, unknown> | undefined)?.objective,
    (module.default as Record<string, unknown> | undefined)?.default];
  const found = candidates.find((c): c is ObjectiveFunction => typeof c === 'function');
  if (found === undefined)
    return E.left(`${spec} exports no objective: expected \`export default\` or \`export const objective\`, a function ` +
      `(features: Tensor<[2N, d]>, { temperature }) => scalar Tensor (found exports: ${Object.keys(module).join(', ') || 'none'})`);
  return tryObjective((features) => found(features, { temperature }), `the objective in ${spec}`);
};

export const isBuiltInObjective = (spec: string): boolean => (builtInObjectiveNames as readonly string[]).includes(spec);
