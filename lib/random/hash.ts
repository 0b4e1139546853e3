// The counter-based hash behind every random number: a keyed bijection of a 48-bit counter (a
// Feistel network on two 24-bit words, additions in place of XOR, the middle square as the
// round function) whose last word is the output. It is written with integer arithmetic that
// float32 carries exactly, so a float32 gpu.js kernel reproduces the float64 interpreter bit
// for bit:
//  - every value is an integer in [0, 2^24), the range where float32 holds every integer;
//  - a 24-bit word is split into two 12-bit limbs, so a product of limbs is below 2^24;
//  - sums of limbs stay below 2^14 and carry explicitly;
//  - every division is by a power of two (exact, even as a multiplication by the reciprocal)
//    and is followed by floor.
// A code generator translates this file line for line (unrolling the rounds); `observe` is the
// identity there, and lets a test see every intermediate value.

/** Receives every intermediate integer of the hash; returns it (a test checks or rounds it). */
export type Observe = (value: number) => number;

const unobserved: Observe = (value) => value;

export const LIMB = 4096; // 2^12
export const WORD = 16777216; // 2^24

/** A key is four 24-bit words, so 96 bits: split keys collide only after ~2^48 of them. */
export const KEY_WORDS = 4;

/** The round constants: the first hex digits of pi in 24-bit words ("nothing up my sleeve"). */
export const ROUND_CONSTANTS: readonly number[] = [0x243f6a, 0x8885a3, 0x08d313, 0x198a2e, 0x037073, 0x44a409, 0x382229, 0x9f31d0];

/**
 * Rounds of the Feistel network. Measured: every input bit (index, stream, each key word)
 * flips every output bit with probability 1/2 from 6 rounds on; 8 leave a margin.
 */
export const ROUNDS = ROUND_CONSTANTS.length;

/** (a + b) mod 2^24, limb by limb. */
export const addWords = (a: number, b: number, o: Observe = unobserved): number => {
  const aHigh = o(Math.floor(a / LIMB));
  const aLow = o(a - aHigh * LIMB);
  const bHigh = o(Math.floor(b / LIMB));
  const bLow = o(b - bHigh * LIMB);
  const low = o(aLow + bLow);
  const carry = o(Math.floor(low / LIMB));
  const lowWrapped = o(low - carry * LIMB);
  const high = o(aHigh + bHigh + carry);
  const highWrapped = o(high - Math.floor(high / LIMB) * LIMB);
  return o(highWrapped * LIMB + lowWrapped);
};

/**
 * The middle 24 bits (bits 12 to 35) of the 48-bit square of a 24-bit word: von Neumann's
 * middle square, the round function. A product of two values that both depend on the data is
 * what makes the network nonlinear under the additions that stand in for XOR here.
 * With t = high * 2^12 + low: t^2 = low^2 + 2 high low 2^12 + high^2 2^24, three 12x12 products.
 */
export const middleSquare = (t: number, o: Observe = unobserved): number => {
  const high = o(Math.floor(t / LIMB));
  const low = o(t - high * LIMB);
  const lowSquared = o(low * low);
  const cross = o(high * low);
  const highSquared = o(high * high);
  const lowSquaredHigh = o(Math.floor(lowSquared / LIMB));
  const crossHigh = o(Math.floor(cross / LIMB));
  const crossLow = o(cross - crossHigh * LIMB);
  const highSquaredLow = o(highSquared - Math.floor(highSquared / LIMB) * LIMB);
  // Bits 12..23 and 24..35 of the square, each with the carry of the column below.
  const column1 = o(lowSquaredHigh + 2 * crossLow);
  const carry1 = o(Math.floor(column1 / LIMB));
  const column2 = o(2 * crossHigh + highSquaredLow + carry1);
  const column1Low = o(column1 - carry1 * LIMB);
  const column2Low = o(column2 - Math.floor(column2 / LIMB) * LIMB);
  return o(column2Low * LIMB + column1Low);
};

/**
 * The 24-bit hash of the counter (index, stream) under a key of four 24-bit words. For a fixed
 * key and stream, distinct indices give the outputs of a bijection's distinct inputs (the
 * output is one of its two words, so they are pseudorandom rather than distinct).
 * `index` and `stream` are integers in [0, 2^24).
 */
export const hashWord = (key: ArrayLike<number>, index: number, stream = 0, o: Observe = unobserved): number => {
  let left = stream;
  let right = index;
  for (let round = 0; round < ROUNDS; round++) {
    const roundKey = addWords(key[round % KEY_WORDS], ROUND_CONSTANTS[round], o);
    const next = addWords(left, middleSquare(addWords(right, roundKey, o), o), o);
    left = right;
    right = next;
  }
  return right;
};

/** The hash as a number in [0, 1) with 24 bits of resolution: hashWord / 2^24 (an exact scaling). */
export const hashToUnit = (key: ArrayLike<number>, index: number, stream = 0, o: Observe = unobserved): number =>
  hashWord(key, index, stream, o) / WORD;

/** Any number read as a key word: floor, then mod 2^24, so that every input names a key. */
export const toKeyWord = (value: number): number => {
  const integer = Math.floor(value);
  return integer - Math.floor(integer / WORD) * WORD;
};
