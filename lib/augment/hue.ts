// Hue shift through HSV, torchvision's definition (_rgb2hsv, _hsv2rgb, adjust_hue) written with
// max, min and select: the hue moves by `shift` turns (mod 1), saturation and value stay.
// HSV rather than a rotation in YIQ: it is what torchvision computes, it maps primaries to
// primaries (red by a third of a turn is exactly green), and a rotation about the luma axis
// cannot, since it keeps luma, which differs between red and green.

import type { Tensor } from '../tensor.ts';
import { add } from '../primitives/add.ts';
import { concat } from '../primitives/concat.ts';
import { div } from '../primitives/div.ts';
import { equal } from '../primitives/equal.ts';
import type { Operand } from '../primitives/elementwise.ts';
import { floor } from '../primitives/floor.ts';
import { maximum } from '../primitives/maximum.ts';
import { minimum } from '../primitives/minimum.ts';
import { mul } from '../primitives/mul.ts';
import { select } from '../primitives/select.ts';
import { sub } from '../primitives/sub.ts';
import { clip } from '../composites/comparisons.ts';
import { channel, imageShape, type Images, perImage } from './images.ts';

/** Hue, saturation and value, each [N, 1, H, W] in [0, 1] (hue in turns, in [0, 1)). */
export interface HsvImages {
  readonly hue: Tensor;
  readonly saturation: Tensor;
  readonly value: Tensor;
}

/** x mod 1, in [0, 1) (Python's %, which torchvision uses, takes the divisor's sign). */
const fractionalPart = (x: Tensor): Tensor => sub(x, floor(x));

export const rgbToHsv = (images: Images): HsvImages => {
  imageShape('rgbToHsv', images, 3);
  const [red, green, blue] = [0, 1, 2].map((c) => channel(images, c));
  const value = maximum(maximum(red, green), blue);
  const chroma = sub(value, minimum(minimum(red, green), blue));
  const gray = equal(chroma, 0);
  // Gray pixels have no hue: divide by 1 instead of 0, as torchvision does.
  const saturation = div(chroma, select(gray, 1, value));
  const divisor = select(gray, 1, chroma);
  const [redDistance, greenDistance, blueDistance] = [red, green, blue].map((c) => div(sub(value, c), divisor));
  // The sector by which channel is the maximum (red first, then green), in sixths of a turn.
  const isRed = equal(value, red);
  const isGreen = equal(value, green);
  const sixths = select(
    isRed,
    sub(blueDistance, greenDistance),
    select(isGreen, add(sub(redDistance, blueDistance), 2), add(sub(greenDistance, redDistance), 4)),
  );
  return { hue: fractionalPart(add(div(sixths, 6), 1)), saturation, value };
};

export const hsvToRgb = ({ hue, saturation, value }: HsvImages): Images => {
  const scaled = mul(hue, 6);
  const whole = floor(scaled);
  const fraction = sub(scaled, whole);
  const sector = sub(whole, mul(floor(div(whole, 6)), 6)); // 0 ... 5, even for a hue of exactly 1
  const p = clip(mul(value, sub(1, saturation)), 0, 1);
  const q = clip(mul(value, sub(1, mul(saturation, fraction))), 0, 1);
  const t = clip(mul(value, sub(1, mul(saturation, sub(1, fraction)))), 0, 1);
  const bySector = (choices: readonly Tensor[]): Tensor =>
    choices.slice(0, -1).reduceRight<Tensor>((otherwise, choice, s) => select(equal(sector, s), choice, otherwise), choices[5]);
  return concat(
    [bySector([value, q, p, p, t, value]), bySector([t, value, value, q, p, p]), bySector([p, p, t, value, value, q])],
    1,
  ) as Images;
};

/** Shifts every pixel's hue by `shift` turns (a number, or one per image as [N]). */
export const adjustHue = <S extends Images>(images: S, shift: Operand): S => {
  const [count] = imageShape('adjustHue', images, 3);
  const hsv = rgbToHsv(images);
  const hue = fractionalPart(add(hsv.hue, perImage('adjustHue', shift, count)));
  // Already in [0, 1]: hsvToRgb clamps p, q and t, and the value is the input's maximum.
  return hsvToRgb({ ...hsv, hue }) as Tensor as S;
};
