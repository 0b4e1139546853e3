// The kernel code of the counter-based hash in lib/random/hash.ts, written line for line from it
// (the rounds unrolled), so that a float32 kernel computes exactly the numbers the float64
// interpreter does: every intermediate is an integer below 2^24, every division is by a power of
// two and is followed by floor. A change to one file must be mirrored in the other; the compile
// tests compare the two bit for bit.

import { KEY_WORDS, LIMB, ROUND_CONSTANTS, WORD } from '../random/hash.ts';
import type { Emitter } from './emitter.ts';

const floorDiv = (w: Emitter, a: string, d: number): string => w.temp(`Math.floor(${a} / ${d}.0)`);

/** (a + b) mod 2^24, limb by limb. */
const addWords = (w: Emitter, a: string, b: string): string => {
  const aHigh = floorDiv(w, a, LIMB);
  const aLow = w.temp(`${a} - ${aHigh} * ${LIMB}.0`);
  const bHigh = floorDiv(w, b, LIMB);
  const bLow = w.temp(`${b} - ${bHigh} * ${LIMB}.0`);
  const low = w.temp(`${aLow} + ${bLow}`);
  const carry = floorDiv(w, low, LIMB);
  const lowWrapped = w.temp(`${low} - ${carry} * ${LIMB}.0`);
  const high = w.temp(`${aHigh} + ${bHigh} + ${carry}`);
  const highWrapped = w.temp(`${high} - ${floorDiv(w, high, LIMB)} * ${LIMB}.0`);
  return w.temp(`${highWrapped} * ${LIMB}.0 + ${lowWrapped}`);
};

/** Bits 12 to 35 of the 48-bit square. */
const middleSquare = (w: Emitter, t: string): string => {
  const high = floorDiv(w, t, LIMB);
  const low = w.temp(`${t} - ${high} * ${LIMB}.0`);
  const lowSquared = w.temp(`${low} * ${low}`);
  const cross = w.temp(`${high} * ${low}`);
  const highSquared = w.temp(`${high} * ${high}`);
  const lowSquaredHigh = floorDiv(w, lowSquared, LIMB);
  const crossHigh = floorDiv(w, cross, LIMB);
  const crossLow = w.temp(`${cross} - ${crossHigh} * ${LIMB}.0`);
  const highSquaredLow = w.temp(`${highSquared} - ${floorDiv(w, highSquared, LIMB)} * ${LIMB}.0`);
  const column1 = w.temp(`${lowSquaredHigh} + 2.0 * ${crossLow}`);
  const carry1 = floorDiv(w, column1, LIMB);
  const column2 = w.temp(`2.0 * ${crossHigh} + ${highSquaredLow} + ${carry1}`);
  const column1Low = w.temp(`${column1} - ${carry1} * ${LIMB}.0`);
  const column2Low = w.temp(`${column2} - ${floorDiv(w, column2, LIMB)} * ${LIMB}.0`);
  return w.temp(`${column2Low} * ${LIMB}.0 + ${column1Low}`);
};

/** A key word as `toKeyWord` reads it: floor, then mod 2^24. */
export const emitKeyWord = (w: Emitter, value: string): string => {
  const integer = w.temp(`Math.floor(${value})`);
  return w.temp(`${integer} - ${floorDiv(w, integer, WORD)} * ${WORD}.0`);
};

/** hashToUnit(key, index, stream): the hash word divided by 2^24. */
export const emitHashToUnit = (w: Emitter, key: readonly string[], index: string, stream: number): string => {
  let left = `${stream}.0`;
  let right = index;
  ROUND_CONSTANTS.forEach((constant, round) => {
    const roundKey = addWords(w, key[round % KEY_WORDS], `${constant}.0`);
    const next = addWords(w, left, middleSquare(w, addWords(w, right, roundKey)));
    left = right;
    right = next;
  });
  return w.temp(`${right} / ${WORD}.0`);
};
