// The kernel code of the counter-based hash in lib/random/hash.ts, written line for line from it
// (the rounds unrolled), so that a float32 kernel computes exactly the numbers the float64
// interpreter does: every intermediate is an integer below 2^24, every division is by a power of
// two and is followed by floor. A change to one file must be mirrored in the other; the compile
// tests compare the two bit for bit.

import { KEY_WORDS, LIMB, ROUND_CONSTANTS, WORD } from '../random/hash.ts';
import type { Emitter } from './emitter.ts';
import { code, type Expression, knownFloat32, literal } from '../codegen/expression.ts';

const limb = literal(LIMB);
const word = literal(WORD);

const floorDiv = (w: Emitter, a: Expression, d: number): Expression => w.temp(code`Math.floor(${a} / ${literal(d)})`);

/** (a + b) mod 2^24, limb by limb. */
const addWords = (w: Emitter, a: Expression, b: Expression): Expression => {
  const aHigh = floorDiv(w, a, LIMB);
  const aLow = w.temp(code`${a} - ${aHigh} * ${limb}`);
  const bHigh = floorDiv(w, b, LIMB);
  const bLow = w.temp(code`${b} - ${bHigh} * ${limb}`);
  const low = w.temp(code`${aLow} + ${bLow}`);
  const carry = floorDiv(w, low, LIMB);
  const lowWrapped = w.temp(code`${low} - ${carry} * ${limb}`);
  const high = w.temp(code`${aHigh} + ${bHigh} + ${carry}`);
  const highWrapped = w.temp(code`${high} - ${floorDiv(w, high, LIMB)} * ${limb}`);
  return w.temp(code`${highWrapped} * ${limb} + ${lowWrapped}`);
};

/** Bits 12 to 35 of the 48-bit square. */
const middleSquare = (w: Emitter, t: Expression): Expression => {
  const high = floorDiv(w, t, LIMB);
  const low = w.temp(code`${t} - ${high} * ${limb}`);
  const lowSquared = w.temp(code`${low} * ${low}`);
  const cross = w.temp(code`${high} * ${low}`);
  const highSquared = w.temp(code`${high} * ${high}`);
  const lowSquaredHigh = floorDiv(w, lowSquared, LIMB);
  const crossHigh = floorDiv(w, cross, LIMB);
  const crossLow = w.temp(code`${cross} - ${crossHigh} * ${limb}`);
  const highSquaredLow = w.temp(code`${highSquared} - ${floorDiv(w, highSquared, LIMB)} * ${limb}`);
  const column1 = w.temp(code`${lowSquaredHigh} + 2.0 * ${crossLow}`);
  const carry1 = floorDiv(w, column1, LIMB);
  const column2 = w.temp(code`2.0 * ${crossHigh} + ${highSquaredLow} + ${carry1}`);
  const column1Low = w.temp(code`${column1} - ${carry1} * ${limb}`);
  const column2Low = w.temp(code`${column2} - ${floorDiv(w, column2, LIMB)} * ${limb}`);
  return w.temp(code`${column2Low} * ${limb} + ${column1Low}`);
};

/** A key word as `toKeyWord` reads it: floor, then mod 2^24. */
export const emitKeyWord = (w: Emitter, value: Expression): Expression => {
  const integer = w.temp(code`Math.floor(${value})`);
  return w.temp(code`${integer} - ${floorDiv(w, integer, WORD)} * ${word}`);
};

/** hashToUnit(key, index, stream): the hash word divided by 2^24. */
export const emitHashToUnit = (w: Emitter, key: readonly Expression[], index: Expression, stream: number): Expression => {
  let left = literal(stream);
  let right = index;
  ROUND_CONSTANTS.forEach((constant, round) => {
    const roundKey = addWords(w, key[round % KEY_WORDS], literal(constant));
    const next = addWords(w, left, middleSquare(w, addWords(w, right, roundKey)));
    left = right;
    right = next;
  });
  // An integer below 2^24 over a power of two: exactly a float32, so a node's value needs no rounding.
  return w.temp(knownFloat32(code`${right} / ${word}`));
};
