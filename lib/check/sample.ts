// Deterministic numbers for the harness (the random cotangent of a non-scalar output). A small
// counter-based hash: the same seed gives the same numbers everywhere, with no global state.

const mix = (x: number): number => {
  // splitmix32-style finaliser on 32-bit integers.
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
};

export const uniformNumbers = (seed: number, count: number, low: number, high: number): Float64Array =>
  Float64Array.from({ length: count }, (_, i) => low + ((high - low) * mix(mix(seed | 0) + i)) / 4294967296);
