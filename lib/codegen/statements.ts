// A kernel body as the emitter builds it: statements that say what each defines and reads, so
// that the back ends decide what runs once a row and what a kernel costs from the structure,
// not by reading the generated text again. They become text last, in `renderStatements`.

/** A thread's position along one axis of the output's layout. */
export type ThreadAxis = 'x' | 'y' | 'z';

export type Statement =
  /** `const name = expression;`: a temporary, which reads `reads` (names and thread axes). */
  | { readonly kind: 'const'; readonly name: string; readonly expression: string; readonly reads: readonly string[] }
  /** `let name = initial;` (or `let name;`): an accumulator or a chosen value, which changes. */
  | { readonly kind: 'let'; readonly name: string; readonly initial?: string }
  /** A statement a kernel rule wrote itself (an accumulator's update). */
  | { readonly kind: 'line'; readonly text: string }
  | { readonly kind: 'loop'; readonly counter: string; readonly count: number; readonly body: readonly Statement[] }
  /** A choice whose branches assign the chosen value: only the side taken runs. */
  | { readonly kind: 'if'; readonly condition: string; readonly then: readonly Statement[]; readonly otherwise: readonly Statement[] };

/** Statements as lines of source, each indented by `depth` levels. */
export const renderStatements = (statements: readonly Statement[], depth = 0): string[] => {
  const pad = '  '.repeat(depth);
  return statements.flatMap((statement): string[] => {
    switch (statement.kind) {
      case 'const':
        return [`${pad}const ${statement.name} = ${statement.expression};`];
      case 'let':
        return [`${pad}let ${statement.name}${statement.initial === undefined ? '' : ` = ${statement.initial}`};`];
      case 'line':
        return statement.text.split('\n').map((line) => `${pad}${line}`);
      case 'loop': {
        const { counter, count } = statement;
        return [`${pad}for (let ${counter} = 0; ${counter} < ${count}; ${counter}++) {`, ...renderStatements(statement.body, depth + 1), `${pad}}`];
      }
      case 'if':
        return [
          `${pad}if (${statement.condition}) {`,
          ...renderStatements(statement.then, depth + 1),
          `${pad}} else {`,
          ...renderStatements(statement.otherwise, depth + 1),
          `${pad}}`,
        ];
    }
  });
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
