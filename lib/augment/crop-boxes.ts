// The crop boxes of a random resized crop, drawn as torchvision's RandomResizedCrop.get_params
// draws them, for a whole batch at once: up to ten attempts per image, each a target area
// (a uniform fraction of the image's area, in `scale`) and a log-uniform aspect ratio (in
// `ratio`) giving width = round(sqrt(area * ratio)) and height = round(sqrt(area / ratio)).
// The first attempt that fits in the image wins, placed uniformly at random; an image whose ten
// attempts all fail gets torchvision's fallback, the largest centred box of the image whose
// aspect ratio is clamped into `ratio`. The attempts are vectors of [attempts, N] and the
// choice is a chain of selects, so nothing waits on the host.
// Differences from torchvision: rounding is half up (floor(x + 1/2)) rather than Python's half
// to even, and the position is floor(u * (H - h + 1)) from a 24-bit uniform u.

import type { Tensor } from '../tensor.ts';
import { fill } from '../constants.ts';
import { add } from '../primitives/add.ts';
import { div } from '../primitives/div.ts';
import { exp } from '../primitives/exp.ts';
import { floor } from '../primitives/floor.ts';
import { greater } from '../primitives/greater.ts';
import { max } from '../primitives/max.ts';
import { minimum } from '../primitives/minimum.ts';
import { mul } from '../primitives/mul.ts';
import { reshape } from '../primitives/reshape.ts';
import { select } from '../primitives/select.ts';
import { slice } from '../primitives/slice.ts';
import { sqrt } from '../primitives/sqrt.ts';
import { sub } from '../primitives/sub.ts';
import { lessEqual } from '../composites/comparisons.ts';
import { uniform } from '../random/distributions.ts';
import { type Key, split } from '../random/key.ts';

/** Integer boxes (as floats), one entry per image: rows top ... top + height - 1, columns likewise. */
export interface CropBoxes {
  readonly top: Tensor<readonly [number]>;
  readonly left: Tensor<readonly [number]>;
  readonly height: Tensor<readonly [number]>;
  readonly width: Tensor<readonly [number]>;
}

export interface CropBoxOptions {
  /** The range of the crop's area as a fraction of the image's. Default [0.2, 1] (the paper's). */
  readonly scale?: readonly [number, number];
  /** The range of the crop's aspect ratio, width / height, sampled log-uniformly. Default [3/4, 4/3]. */
  readonly ratio?: readonly [number, number];
  /** How many boxes to try before the fallback. Default 10 (torchvision's). */
  readonly attempts?: number;
}

const roundHalfUp = (x: Tensor): Tensor => floor(add(x, 0.5));

/** torchvision's fallback: the whole image, narrowed to the nearest allowed ratio, centred. */
const fallbackBox = (height: number, width: number, [low, high]: readonly [number, number]) => {
  const imageRatio = width / height;
  const [h, w] =
    imageRatio < low ? [Math.round(width / low), width] : imageRatio > high ? [height, Math.round(height * high)] : [height, width];
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
};

/** A uniform integer in [0, extent] per image, for extents that differ per image. */
const position = (key: Key, count: number, extent: Tensor): Tensor =>
  minimum(floor(mul(uniform(key, [count]), add(extent, 1))), extent);

export const sampleCropBoxes = (
  key: Key,
  count: number,
  height: number,
  width: number,
  { scale = [0.2, 1], ratio = [3 / 4, 4 / 3], attempts = 10 }: CropBoxOptions = {},
): CropBoxes => {
  if (!(scale[0] > 0 && scale[0] <= scale[1])) throw new RangeError(`sampleCropBoxes: scale [${scale.join(', ')}] is not a range of positive fractions`);
  if (!(ratio[0] > 0 && ratio[0] <= ratio[1])) throw new RangeError(`sampleCropBoxes: ratio [${ratio.join(', ')}] is not a range of positive ratios`);
  if (!(Number.isInteger(attempts) && attempts >= 1)) throw new RangeError(`sampleCropBoxes: attempts ${attempts} is not a positive integer`);
  const [areaKey, ratioKey, topKey, leftKey] = split(key, 4);
  const area = height * width;
  const targetArea = uniform(areaKey, [attempts, count], scale[0] * area, scale[1] * area);
  const aspectRatio = exp(uniform(ratioKey, [attempts, count], Math.log(ratio[0]), Math.log(ratio[1])));
  const widths = roundHalfUp(sqrt(mul(targetArea, aspectRatio)));
  const heights = roundHalfUp(sqrt(div(targetArea, aspectRatio)));
  const fits = mul(
    mul(greater(widths, 0), lessEqual(widths, width)),
    mul(greater(heights, 0), lessEqual(heights, height)),
  );
  // The first attempt that fits: walk the attempts backwards, each overriding what came later.
  const fallback = fallbackBox(height, width, ratio);
  const attempt = (t: Tensor, a: number): Tensor => reshape(slice(t, [{ start: a, stop: a + 1 }]), [count]);
  let chosenHeight: Tensor = fill([count], fallback.height);
  let chosenWidth: Tensor = fill([count], fallback.width);
  for (let a = attempts - 1; a >= 0; a--) {
    chosenHeight = select(attempt(fits, a), attempt(heights, a), chosenHeight);
    chosenWidth = select(attempt(fits, a), attempt(widths, a), chosenWidth);
  }
  const found = max(fits, 0);
  const top = select(found, position(topKey, count, sub(height, chosenHeight)), fallback.top);
  const left = select(found, position(leftKey, count, sub(width, chosenWidth)), fallback.left);
  return {
    top: top as Tensor<readonly [number]>,
    left: left as Tensor<readonly [number]>,
    height: chosenHeight as Tensor<readonly [number]>,
    width: chosenWidth as Tensor<readonly [number]>,
  };
};
