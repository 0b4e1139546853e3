// What the battery checks of a stateful objective (lib/objectives/stateful-objective.ts): its
// loss, its initialiser and how many views it takes, with what its author declares about it. A
// file is stateful when it exports `init`; `statefulObjectiveFromModule` reads one from a file's
// exports and says clearly what is wrong when they are not what the battery expects.

import { type Either, left, right } from 'fp-ts/lib/Either.js';
import { isTensor } from '../tensor.ts';
import type { StatefulObjective } from '../objectives/stateful-objective.ts';
import type { ObjectiveOptions, UserFunctionGuard } from './objective-definition.ts';

export interface StatefulObjectiveDefinition<O extends object = any> {
  /** What the report calls it (the file's path when loaded from one). */
  readonly name?: string;
  readonly objective: StatefulObjective<O>;
  /** The options passed as the second argument; `{}` when absent. */
  readonly options?: O;
  /** Option sets to check besides `options`, each merged over it; detected from a `temperature` option when absent. */
  readonly temperatures?: readonly Partial<O>[];
  /**
   * A second implementation of the loss (same arguments), whose loss, gradients and next state
   * the objective's must equal: the check of the state's update, and of where a stopGradient sits.
   */
  readonly reference?: StatefulObjective<O>['loss'];
}

export type AnyObjectiveDefinition = import('./objective-definition.ts').ObjectiveDefinition | StatefulObjectiveDefinition;

export const isStatefulDefinition = (definition: AnyObjectiveDefinition): definition is StatefulObjectiveDefinition =>
  typeof definition.objective === 'object';

const isPlainObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

const describe = (x: unknown): string =>
  x === null ? 'null' : Array.isArray(x) ? 'an array' : isTensor(x) ? 'a tensor' : `${/^[aeiou]/.test(typeof x) ? 'an' : 'a'} ${typeof x}`;

/** Right(the definition) when every part has the type the battery needs, else Left(what is wrong, naming `where`). */
export const validateStatefulDefinition = (definition: StatefulObjectiveDefinition, where = 'the objective'): Either<string, StatefulObjectiveDefinition> => {
  const { objective, options, temperatures, reference } = definition;
  if (!isPlainObject(objective)) return left(`${where}: a stateful objective must be { views, init, loss }; got ${describe(objective)}`);
  if (typeof objective.loss !== 'function')
    return left(`${where}: the objective must be a function (features, options, { indices, state, params }) => { loss, state }; got ${describe(objective.loss)}`);
  if (typeof objective.init !== 'function') return left(`${where}: \`init\` must be a function (key, { count, dimension }, options) => { state, params }; got ${describe(objective.init)}`);
  if (objective.views !== 1 && objective.views !== 2) return left(`${where}: \`views\` must be 1 or 2 (augmented views drawn of each image); got ${JSON.stringify(objective.views) ?? describe(objective.views)}`);
  if (reference !== undefined && typeof reference !== 'function')
    return left(`${where}: \`reference\` must be a second implementation of the loss, a function of the same arguments; got ${describe(reference)}`);
  if (options !== undefined && !isPlainObject(options)) return left(`${where}: \`options\` must be an object (the objective's second argument); got ${describe(options)}`);
  if (temperatures !== undefined && (!Array.isArray(temperatures) || !temperatures.every(isPlainObject)))
    return left(`${where}: \`temperatures\` must be a list of option objects, e.g. [{ temperature: 0.05 }, { temperature: 0.5 }]; got ${describe(temperatures)}`);
  return right(definition);
};

/** A function through `guard`; anything else as it is, for validation to name. */
const guardedIfFunction = (x: unknown, guard: UserFunctionGuard, what: string): unknown =>
  typeof x === 'function' ? guard(x as (...args: never[]) => unknown, what) : x;

/**
 * The stateful definition a module exports: the loss as `objective` or as the default export,
 * `init`, and optionally `views` (default 2), `options`, `temperatures` and `reference`.
 */
export const statefulObjectiveFromModule = (exports: Record<string, unknown>, file: string, guard: UserFunctionGuard = (f) => f): Either<string, StatefulObjectiveDefinition> => {
  const nested = isPlainObject(exports.default) ? exports.default : {};
  const field = (name: string): unknown => (exports[name] !== undefined ? exports[name] : nested[name]);
  const loss = [exports.objective, exports.default, nested.objective, nested.default].find((x) => typeof x === 'function');
  if (loss === undefined)
    return left(`${file}: exports \`init\`, so it is a stateful objective, but no loss: export (features, options, { indices, state, params }) => { loss, state } as \`default\` or as \`objective\``);
  return validateStatefulDefinition(
    {
      name: file,
      // Each function the file exports runs through `guard` (a time limit and Ctrl-C, for a file).
      objective: {
        views: (field('views') ?? 2) as 1 | 2,
        init: guardedIfFunction(field('init'), guard, `the init in ${file}`) as StatefulObjective['init'],
        loss: guard(loss as StatefulObjective['loss'], `the objective in ${file}`),
      },
      options: field('options') as ObjectiveOptions | undefined,
      temperatures: field('temperatures') as ObjectiveOptions[] | undefined,
      reference: guardedIfFunction(field('reference'), guard, `the reference in ${file}`) as StatefulObjective['loss'] | undefined,
    },
    file,
  );
};
