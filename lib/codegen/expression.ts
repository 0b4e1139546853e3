// A kernel's expressions as values built by construction: each carries its text and what the
// emitter needs to know of it (the names it reads, whether a temporary would only rename it,
// whether its value is a float32 number), so that nothing reads the generated text back. The
// rules and the primitives write them with the tagged templates `code` and `keepsFloat32`, whose
// interpolations are other expressions and integers; text is only ever joined, never parsed.

export interface Expression {
  /** Its source text. */
  readonly text: string;
  /**
   * The names it reads that change within a kernel: temporaries, loop counters, accumulators,
   * chosen values and the thread's position. Buffers never change during a kernel and are not
   * among them.
   */
  readonly reads: readonly string[];
  /** A bare name or a number in plain digits: a temporary of it would only rename it. */
  readonly atom: boolean;
  /**
   * Its value is always a float32 number, so that rounding it to float32 changes nothing: a
   * buffer's element, a value already rounded, or what keeps float32 operands float32 (max,
   * floor, a comparison) applied to such values and float32 literals.
   */
  readonly float32: boolean;
  /** The integer it is, where it is one written out (an index of 0 drops its term). */
  readonly integer?: number;
  /** The number it is, where it is a finite literal (a ReLU's 0). */
  readonly constant?: number;
  /** Where it is a quotient, its operands: the native kernels may multiply by a divisor's reciprocal computed once. */
  readonly quotient?: { readonly dividend: Expression; readonly divisor: Expression };
  /**
   * What it computes, as an operation on expressions, where it is one that the native pool's
   * WebAssembly kernels compute (simd-kernel.ts): the text is JavaScript's, the tree says the
   * same in a form another back end can lower. An expression without one keeps its kernel in
   * JavaScript.
   */
  readonly tree?: Tree;
}

/**
 * An expression's operation, with JavaScript's meaning on float64 numbers: `round` is
 * Math.fround, `max` and `min` are Math.max and Math.min, a comparison is 1 or 0, `select` takes
 * `a` where the condition is not 0, `nonzero` is the condition `x != 0` itself. `read` is a
 * buffer's element at the output's own flat position (plus `row`, a name computed once a plane,
 * where it reads another plane of the same size), or with `column`, at `row` (a name computed
 * once a row or a plane; absent, 0) plus the thread's x, or with `reversed` too, plus
 * `reversed` - x (a flip along x); `gather` a buffer's element at the position `at`, a value
 * (NaN where `at` is not an integer in the buffer's bounds); `literal` a number written out.
 */
export type Tree =
  | { readonly op: 'read'; readonly buffer: string; readonly row?: Expression; readonly column?: true; readonly reversed?: number }
  | { readonly op: 'gather'; readonly buffer: string; readonly at: Expression }
  | { readonly op: 'literal'; readonly value: number }
  | { readonly op: 'round' | 'neg' | 'sqrt' | 'abs' | 'floor' | 'nonzero'; readonly x: Expression }
  | { readonly op: '+' | '-' | '*' | '/' | 'max' | 'min' | '==' | '>' | '<'; readonly a: Expression; readonly b: Expression }
  | { readonly op: 'select'; readonly condition: Expression; readonly a: Expression; readonly b: Expression };

/** `expression` with the tree that says what it computes. */
export const withTree = (expression: Expression, tree: Tree): Expression => ({ ...expression, tree });

/** A name the emitter minted (a temporary, a counter, an accumulator, a chosen value), which reads itself. */
export interface Name extends Expression {
  readonly name: string;
}

/** What a template interpolates: an expression, or an integer (index arithmetic's strides and bounds). */
export type Piece = Expression | number;

/** The names read by any of `expressions`, each once. */
const readsOfAll = (expressions: readonly Expression[]): string[] => [...new Set(expressions.flatMap((e) => e.reads))];

/** An integer as index arithmetic writes it, in plain digits (float32 holds it below 2^24). */
export const integer = (value: number): Expression => {
  if (!Number.isInteger(value)) throw new Error(`codegen: ${value} is interpolated as an integer, but it is not one; write it with literal()`);
  return { text: String(value), reads: [], atom: true, float32: Math.fround(value) === value, integer: value, tree: { op: 'literal', value } };
};

/** The integer 0, as an index: an axis of extent 1, or a position that adds nothing. */
export const zero = integer(0);

export const isZero = (expression: Expression): boolean => expression.integer === 0;

/**
 * A JavaScript number literal that gpu.js parses, always as a floating-point value: an integer
 * gets `.0` (JavaScript prints integers from 1e21 on with an exponent, which is a float already),
 * a negative number parentheses. One in plain digits (0.5, 3.0) is an atom; a negative one, one
 * with an exponent (1e-24) or a non-finite one is named by a temporary where a value uses it, as
 * the emitter always has, so that a float64 literal is rounded once there rather than at each use.
 */
export const literal = (value: number): Expression => {
  // NaN, the infinities and -0 are float32 numbers too.
  const constant = (text: string): Expression => ({ text, reads: [], atom: false, float32: true, tree: { op: 'literal', value } });
  if (Number.isNaN(value)) return constant('(0.0 / 0.0)');
  if (value === Infinity) return constant('(1.0 / 0.0)');
  if (value === -Infinity) return constant('(-1.0 / 0.0)');
  if (Object.is(value, -0)) return constant('(-0.0)');
  const magnitude = Math.abs(value);
  const written = Number.isInteger(value) && magnitude < 1e21 ? `${value}.0` : String(value);
  // JavaScript prints a number in plain digits from 1e-6 up to 1e21, with an exponent outside.
  const plainDigits = value === 0 || (magnitude >= 1e-6 && magnitude < 1e21);
  return {
    text: value < 0 ? `(${written})` : written,
    reads: [],
    atom: value >= 0 && plainDigits,
    float32: Math.fround(value) === value,
    constant: value,
    tree: { op: 'literal', value },
  };
};

/** A name the emitter minted, whose value is a float32 number when `float32` says so. */
export const name = (text: string, float32: boolean): Name => ({ text, name: text, reads: [text], atom: true, float32 });

/**
 * The thread's position along an axis. It is not an atom: a temporary names it all the same, so
 * that a kernel's temporaries are numbered alike on every backend (`x` on the native pool,
 * `this.thread.x` in gpu.js). An index, it is not claimed to be a float32.
 */
export const threadPosition = (text: string): Name => ({ ...name(text, false), atom: false });

/** A buffer parameter: it never changes during a kernel, so reading it reads no name. */
export const parameter = (text: string): Expression => ({ text, reads: [], atom: true, float32: false });

const build = (strings: TemplateStringsArray, pieces: readonly Piece[], keepsFloat32: boolean): Expression => {
  const operands = pieces.map((piece) => (typeof piece === 'number' ? integer(piece) : piece));
  const text = operands.reduce((joined, operand, i) => joined + operand.text + strings[i + 1], strings[0]);
  return { text, reads: readsOfAll(operands), atom: false, float32: keepsFloat32 && operands.every((operand) => operand.float32) };
};

/** Code that reads what its interpolated expressions read; its value is not claimed to be a float32. */
export const code = (strings: TemplateStringsArray, ...pieces: Piece[]): Expression => build(strings, pieces, false);

/**
 * Code whose value is a float32 whenever every interpolated value is: a maximum, a minimum, floor,
 * abs, a negation, a comparison as 0 or 1, a choice between operands. Rounding it to float32
 * again would change nothing.
 */
export const keepsFloat32 = (strings: TemplateStringsArray, ...pieces: Piece[]): Expression => build(strings, pieces, true);

/** An expression whose value is a float32 number by what it computes (a buffer's element, an exact quotient). */
export const knownFloat32 = (expression: Expression): Expression => ({ ...expression, float32: true });

/** The expression rounded to float32, as the native pool's kernels store every node's value. */
export const roundedToFloat32 = (expression: Expression): Expression => withTree(knownFloat32(code`Math.fround(${expression})`), { op: 'round', x: expression });

/** `dividend / divisor`, which says that it is a quotient and of what. */
export const quotient = (dividend: Expression, divisor: Expression): Expression => ({
  ...code`(${dividend} / ${divisor})`,
  quotient: { dividend, divisor },
  tree: { op: '/', a: dividend, b: divisor },
});

/** `parts` (at least one) joined by `separator` (` + `, ` && `), reading what they read; one part is itself. */
export const join = (parts: readonly Expression[], separator: string): Expression => {
  if (parts.length === 0) throw new Error('codegen: join was given no parts');
  if (parts.length === 1) return parts[0];
  return { text: parts.map((part) => part.text).join(separator), reads: readsOfAll(parts), atom: false, float32: false };
};
