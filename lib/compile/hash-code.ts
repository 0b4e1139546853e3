// The kernel code of the counter-based hash in lib/random/hash.ts (the rounds unrolled), so that a
// kernel computes exactly the numbers the interpreter does. A change to one file must be mirrored
// in the other; the compile tests compare the two bit for bit on every backend.
//
// Two forms of the same integers:
//  - limbs, for kernels whose arithmetic is float32 (gpu.js, WebGPU): written line for line from
//    hash.ts, every intermediate an integer below 2^24, every division by a power of two and
//    followed by floor;
//  - whole words, for the native pool's JavaScript kernels, whose arithmetic is float64: (a + b)
//    mod 2^24 and the middle square floor(t^2 / 2^12) mod 2^24 directly, each exact there (t^2 <
//    2^48 < 2^53, and a division by a power of two only moves the exponent). hash.ts computes the
//    same integers limb by limb (props/random.test.ts checks the identities on any words). About
//    26 operations a round against the limbs' 92, counted in a [128] draw's emitted kernel: a
//    draw's kernel runs a few hundred elements a step, too few for V8 to optimise it in a short
//    run, so each operation costs what V8's interpreter makes it.
// Both carry trees, with which simd-kernel.ts can lower them.

import { KEY_WORDS, LIMB, ROUND_CONSTANTS, WORD } from '../random/hash.ts';
import type { Emitter } from './emitter.ts';
import { code, type Expression, knownFloat32, literal, withTree } from '../codegen/expression.ts';

const limb = literal(LIMB);
const word = literal(WORD);

const texts = {
  '+': (a: Expression, b: Expression) => code`(${a} + ${b})`,
  '-': (a: Expression, b: Expression) => code`(${a} - ${b})`,
  '*': (a: Expression, b: Expression) => code`(${a} * ${b})`,
  '/': (a: Expression, b: Expression) => code`(${a} / ${b})`,
};
/** `a op b` with its tree. */
const binary = (op: keyof typeof texts, a: Expression, b: Expression): Expression => withTree(texts[op](a, b), { op, a, b });
const floor = (x: Expression): Expression => withTree(code`Math.floor(${x})`, { op: 'floor', x });

const floorDiv = (w: Emitter, a: Expression, d: number): Expression => w.temp(floor(binary('/', a, literal(d))));
/** a - h * d: what is left of a below the multiple h of d. */
const below = (w: Emitter, a: Expression, h: Expression, d: Expression): Expression => w.temp(binary('-', a, binary('*', h, d)));

/** (a + b) mod 2^24, limb by limb. */
const addWordsInLimbs = (w: Emitter, a: Expression, b: Expression): Expression => {
  const aHigh = floorDiv(w, a, LIMB);
  const aLow = below(w, a, aHigh, limb);
  const bHigh = floorDiv(w, b, LIMB);
  const bLow = below(w, b, bHigh, limb);
  const low = w.temp(binary('+', aLow, bLow));
  const carry = floorDiv(w, low, LIMB);
  const lowWrapped = below(w, low, carry, limb);
  const high = w.temp(binary('+', binary('+', aHigh, bHigh), carry));
  const highWrapped = below(w, high, floorDiv(w, high, LIMB), limb);
  return w.temp(binary('+', binary('*', highWrapped, limb), lowWrapped));
};

/** Bits 12 to 35 of the 48-bit square, limb by limb. */
const middleSquareInLimbs = (w: Emitter, t: Expression): Expression => {
  const high = floorDiv(w, t, LIMB);
  const low = below(w, t, high, limb);
  const lowSquared = w.temp(binary('*', low, low));
  const cross = w.temp(binary('*', high, low));
  const highSquared = w.temp(binary('*', high, high));
  const lowSquaredHigh = floorDiv(w, lowSquared, LIMB);
  const crossHigh = floorDiv(w, cross, LIMB);
  const crossLow = below(w, cross, crossHigh, limb);
  const highSquaredLow = below(w, highSquared, floorDiv(w, highSquared, LIMB), limb);
  const column1 = w.temp(binary('+', lowSquaredHigh, binary('*', literal(2), crossLow)));
  const carry1 = floorDiv(w, column1, LIMB);
  const column2 = w.temp(binary('+', binary('+', binary('*', literal(2), crossHigh), highSquaredLow), carry1));
  const column1Low = below(w, column1, carry1, limb);
  const column2Low = below(w, column2, floorDiv(w, column2, LIMB), limb);
  return w.temp(binary('+', binary('*', column2Low, limb), column1Low));
};

/** x mod 2^24 for an integer 0 <= x < 2^53. */
const wrapWord = (w: Emitter, x: Expression): Expression => below(w, x, floorDiv(w, x, WORD), word);

/** The hash's two operations in the form the kernel's arithmetic carries exactly. */
const operations = (w: Emitter) =>
  w.flatFloat32
    ? {
        addWords: (a: Expression, b: Expression) => wrapWord(w, w.temp(binary('+', a, b))),
        middleSquare: (t: Expression) => wrapWord(w, floorDiv(w, binary('*', t, t), LIMB)),
      }
    : { addWords: (a: Expression, b: Expression) => addWordsInLimbs(w, a, b), middleSquare: (t: Expression) => middleSquareInLimbs(w, t) };

/** A key word as `toKeyWord` reads it: floor, then mod 2^24. */
export const emitKeyWord = (w: Emitter, value: Expression): Expression => wrapWord(w, w.temp(floor(value)));

/** hashToUnit(key, index, stream): the hash word divided by 2^24. */
export const emitHashToUnit = (w: Emitter, key: readonly Expression[], index: Expression, stream: number): Expression => {
  const { addWords, middleSquare } = operations(w);
  let left = literal(stream);
  let right = index;
  ROUND_CONSTANTS.forEach((constant, round) => {
    const roundKey = addWords(key[round % KEY_WORDS], literal(constant));
    const next = addWords(left, middleSquare(addWords(right, roundKey)));
    left = right;
    right = next;
  });
  // An integer below 2^24 over a power of two: exactly a float32, so a node's value needs no rounding.
  return w.temp(knownFloat32(binary('/', right, word)));
};
