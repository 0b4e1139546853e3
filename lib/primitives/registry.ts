// Every primitive of the language, by name. The property suite enumerates this table to prove
// that each one has a gradient property; the compiler looks primitives up here.

import type { Primitive } from '../tensor.ts';
import { absPrimitive } from './abs.ts';
import { addPrimitive } from './add.ts';
import { broadcastToPrimitive } from './broadcast-to.ts';
import { concatPrimitive } from './concat.ts';
import { constantPrimitive } from './constant.ts';
import { conv2dPrimitive } from './conv2d.ts';
import { customVjpPrimitive } from './custom-vjp.ts';
import { divPrimitive } from './div.ts';
import { equalPrimitive } from './equal.ts';
import { expPrimitive } from './exp.ts';
import { flipPrimitive } from './flip.ts';
import { floorPrimitive } from './floor.ts';
import { gatherPrimitive } from './gather.ts';
import { greaterPrimitive } from './greater.ts';
import { lessPrimitive } from './less.ts';
import { logPrimitive } from './log.ts';
import { matmulPrimitive } from './matmul.ts';
import { maxPrimitive } from './max.ts';
import { maximumPrimitive } from './maximum.ts';
import { minimumPrimitive } from './minimum.ts';
import { mulPrimitive } from './mul.ts';
import { negPrimitive } from './neg.ts';
import { padPrimitive } from './pad.ts';
import { placeholderPrimitive } from './placeholder.ts';
import { pool2dPrimitive } from './pool2d.ts';
import { maxPoolGradientPrimitive } from './max-pool-gradient.ts';
import { reshapePrimitive } from './reshape.ts';
import { scatterAddPrimitive } from './scatter-add.ts';
import { selectPrimitive } from './select.ts';
import { slicePrimitive } from './slice.ts';
import { sqrtPrimitive } from './sqrt.ts';
import { stopGradientPrimitive } from './stop-gradient.ts';
import { subPrimitive } from './sub.ts';
import { sumPrimitive } from './sum.ts';
import { transposePrimitive } from './transpose.ts';
import { topKIndicesPrimitive } from './top-k-indices.ts';
import { randomBitsPrimitive } from './random-bits.ts';

export const primitives: readonly Primitive<any>[] = [
  constantPrimitive,
  placeholderPrimitive,
  negPrimitive,
  expPrimitive,
  logPrimitive,
  sqrtPrimitive,
  absPrimitive,
  floorPrimitive,
  addPrimitive,
  subPrimitive,
  mulPrimitive,
  divPrimitive,
  maximumPrimitive,
  minimumPrimitive,
  lessPrimitive,
  greaterPrimitive,
  equalPrimitive,
  selectPrimitive,
  sumPrimitive,
  maxPrimitive,
  reshapePrimitive,
  transposePrimitive,
  broadcastToPrimitive,
  slicePrimitive,
  concatPrimitive,
  padPrimitive,
  flipPrimitive,
  matmulPrimitive,
  conv2dPrimitive,
  pool2dPrimitive,
  maxPoolGradientPrimitive,
  gatherPrimitive,
  scatterAddPrimitive,
  stopGradientPrimitive,
  customVjpPrimitive,
  topKIndicesPrimitive,
  randomBitsPrimitive,
];

export const primitiveByName: ReadonlyMap<string, Primitive<any>> = new Map(primitives.map((p) => [p.name, p]));
