// randomBits: 24 random bits per element, as the number k / 2^24 in [0, 1), from a key and the
// element's flat (row-major) index: out[i] = hashToUnit(key, i, stream). Counter-based, so
// an element's value depends on nothing but the key, its index and the stream: the same in the
// float64 interpreter and in a float32 kernel, whatever the order of evaluation.
//
// Code generation: not elementwise (the value depends on the output index, not on input
// values). A kernel computes its flat index i from the thread position, reads the four key
// words (floor, mod 2^24, as `toKeyWord`), and emits the body of `hashWord` from
// lib/random/hash.ts line for line with the rounds unrolled (`o` dropped), then divides by
// 2^24. Every value on the way is an integer below 2^24, so float32 computes it exactly.
//
// VJP: the key is integer data; nothing flows to it ([null]). The output is piecewise
// constant in the key (it is read through floor), so zero is its true derivative too.

import { formatShape, isShape, type Shape, sizeOf } from '../shape.ts';
import { apply, type Primitive, shapeError, type Tensor } from '../tensor.ts';
import { hashToUnit, KEY_WORDS, toKeyWord, WORD } from '../random/hash.ts';

export interface RandomBitsParams {
  /** The output shape. */
  readonly shape: Shape;
  /** The high word of the hashed counter: separates draws (0) from key derivation (see lib/random/key.ts). */
  readonly stream: number;
}

export const randomBitsPrimitive: Primitive<RandomBitsParams> = {
  name: 'randomBits',
  shape: (inputs, { shape, stream }) => {
    const [key] = inputs;
    if (key.length !== 1 || key[0] !== KEY_WORDS) throw shapeError('randomBits', `the key must have shape [${KEY_WORDS}]`, inputs);
    // The flat index must stay an integer that float32 holds exactly.
    if (sizeOf(shape) > WORD)
      throw shapeError('randomBits', `${formatShape(shape)} has more than 2^24 elements, the most one draw can index`, inputs);
    if (!Number.isInteger(stream) || stream < 0 || stream >= WORD)
      throw shapeError('randomBits', `stream ${stream} is not an integer in [0, 2^24)`, inputs);
    return shape;
  },
  evaluate: ([key], { stream }, shape) => {
    const words = Array.from(key.data, toKeyWord);
    const out = new Float64Array(sizeOf(shape));
    for (let i = 0; i < out.length; i++) out[i] = hashToUnit(words, i, stream);
    return out;
  },
  vjp: () => [null],
};

/** `randomBits(key, shape)`: uniform numbers k / 2^24 in [0, 1), one hash per element. */
export const randomBits = <const S extends Shape>(key: Tensor, shape: S, stream = 0): Tensor<S> => {
  if (!isShape(shape)) throw shapeError('randomBits', `${JSON.stringify(shape)} is not a shape of non-negative integers`, [key.shape]);
  return apply<S, RandomBitsParams>(randomBitsPrimitive, [key], { shape: [...shape], stream });
};
