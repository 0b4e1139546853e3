// A kernel body as the emitter builds it: statements that say what each defines and reads, so
// that the back ends decide what runs once a row and what a kernel costs from the structure,
// not by reading the generated text again. They become text last, in `renderStatements`.

import type { Expression } from './expression.ts';

/** A thread's position along one axis of the output's layout. */
export type ThreadAxis = 'x' | 'y' | 'z';

/**
 * In the native pool's kernels, the output element's flat position, `z * height * width + y *
 * width + x` (javascript-kernel.ts defines it): a buffer laid out as the output and read at the
 * output's own index is read there, with no index arithmetic.
 */
export const FLAT_POSITION = 'f';

export type Statement =
  /** `const name = expression;`: a temporary, which reads what its expression reads. */
  | { readonly kind: 'const'; readonly name: string; readonly expression: Expression }
  /** `let name = initial;` (or `let name;`): an accumulator or a chosen value, which changes. */
  | { readonly kind: 'let'; readonly name: string; readonly initial?: Expression }
  /** `name = expression;` or `name += expression;`: an accumulator's update, a chosen value's choice. */
  | { readonly kind: 'assign'; readonly name: string; readonly operator: '=' | '+='; readonly expression: Expression }
  /** A loop of `count` passes; each pass takes `perPass` elements of what it reduces (two in a paired reduction), 1 unless said. */
  | { readonly kind: 'loop'; readonly counter: string; readonly count: number; readonly body: readonly Statement[]; readonly perPass?: number }
  /** A choice whose branches assign the chosen value: only the side taken runs. */
  | { readonly kind: 'if'; readonly condition: Expression; readonly then: readonly Statement[]; readonly otherwise: readonly Statement[] };

/** Statements as lines of source, each indented by `depth` levels. */
export const renderStatements = (statements: readonly Statement[], depth = 0): string[] => {
  const pad = '  '.repeat(depth);
  return statements.flatMap((statement): string[] => {
    switch (statement.kind) {
      case 'const':
        return [`${pad}const ${statement.name} = ${statement.expression.text};`];
      case 'let':
        return [`${pad}let ${statement.name}${statement.initial === undefined ? '' : ` = ${statement.initial.text}`};`];
      case 'assign':
        return [`${pad}${statement.name} ${statement.operator} ${statement.expression.text};`];
      case 'loop': {
        const { counter, count } = statement;
        return [`${pad}for (let ${counter} = 0; ${counter} < ${count}; ${counter}++) {`, ...renderStatements(statement.body, depth + 1), `${pad}}`];
      }
      case 'if':
        return [
          `${pad}if (${statement.condition.text}) {`,
          ...renderStatements(statement.then, depth + 1),
          `${pad}} else {`,
          ...renderStatements(statement.otherwise, depth + 1),
          `${pad}}`,
        ];
    }
  });
};

/** The names a statement reads, at any depth (a loop's counter and a branch's own names among them). */
export const namesRead = (statement: Statement): string[] => {
  switch (statement.kind) {
    case 'const':
    case 'assign':
      return [...statement.expression.reads];
    case 'let':
      return [...(statement.initial?.reads ?? [])];
    case 'loop':
      return statement.body.flatMap(namesRead);
    case 'if':
      return [...statement.condition.reads, ...[...statement.then, ...statement.otherwise].flatMap(namesRead)];
  }
};

/** The loops inside a statement, itself included, at any depth. */
export const loopsIn = (statement: Statement): Extract<Statement, { kind: 'loop' }>[] => {
  switch (statement.kind) {
    case 'loop':
      return [statement, ...statement.body.flatMap(loopsIn)];
    case 'if':
      return [...statement.then, ...statement.otherwise].flatMap(loopsIn);
    default:
      return [];
  }
};
