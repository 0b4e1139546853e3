// Augmentations: determinism under a key, the identities (flip twice, crop of the whole image,
// jitter of strength 0, hue by 0 or a full turn), the range [0, 1], agreement with plain-JS
// formulas (bilinear crop, brightness, contrast, saturation, hue), torchvision's crop fallback,
// the per-image order of colour jitter, the ablation switches of the training augmentation, and
// one compiled run against the interpreter.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { interpret, ShapeError, tensor, type Tensor } from '../lib/index.ts';
import { compile } from '../lib/compile/index.ts';
import { key, type Key, split, uniform } from '../lib/random/index.ts';
import {
  adjustBrightness, adjustContrast, adjustHue, adjustSaturation, CIFAR10_MEAN, CIFAR10_STD, cifarTrainAugmentation,
  colorJitter, compose, denormalize, type Images, normalize, randomGrayscale, randomHorizontalFlip, randomResizedCrop,
  parseAugmentations, resizedCrop, sampleCropBoxes, trainAugmentation, twoViews,
} from '../lib/augment/index.ts';
import { fill } from '../lib/constants.ts';
import * as E from 'fp-ts/lib/Either.js';
import { runs } from './runs.ts';
import { testBackends } from './backends.ts';
import { resizedCropIn } from '../lib/augment/resized-crop.ts';

type Shape4 = readonly [number, number, number, number];

const values = (t: Tensor): Float64Array => interpret(t).data;

const imagesOf = (data: ArrayLike<number>, shape: Shape4): Images => tensor(data, shape) as Images;

/** Pixel values in [0, 1], with the edges and exact ties (equal channels) common. */
const pixelArbitrary = fc.oneof(fc.constantFrom(0, 0.25, 0.5, 1), fc.double({ min: 0, max: 1, noNaN: true }));

const imagesArbitrary = (shape: Shape4): fc.Arbitrary<Images> =>
  fc
    .array(pixelArbitrary, { minLength: shape[0] * shape[1] * shape[2] * shape[3], maxLength: shape[0] * shape[1] * shape[2] * shape[3] })
    .map((data) => imagesOf(data, shape));

const keyArbitrary = fc.integer({ min: 0, max: 2 ** 31 }).map(key);

const assertClose = (actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, label: string) => {
  assert.equal(actual.length, expected.length, `${label}: lengths`);
  for (let i = 0; i < actual.length; i++)
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${label}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
};

const sameValues = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.from(a).every((x, i) => x === b[i]);

const SHAPE: Shape4 = [3, 3, 8, 8];
const smallImages = imagesArbitrary(SHAPE);

/** Index of (n, c, y, x) in row-major NCHW data. */
const at = ([, channels, height, width]: Shape4, n: number, c: number, y: number, x: number) => ((n * channels + c) * height + y) * width + x;

// Plain-JS references.

interface Box {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

/** Bilinear resize of each image's box to size x size, align-corners=false, clamped to the box. */
const resizedCropReference = (data: ArrayLike<number>, shape: Shape4, boxes: readonly Box[], size: number): Float64Array => {
  const [count, channels] = shape;
  const out = new Float64Array(count * channels * size * size);
  const axis = (start: number, length: number, i: number) => {
    const coordinate = Math.min(Math.max((i + 0.5) * (length / size) - 0.5, 0), length - 1);
    const first = Math.floor(coordinate);
    return { first: start + first, second: start + Math.min(first + 1, length - 1), weight: coordinate - first };
  };
  for (let n = 0; n < count; n++)
    for (let c = 0; c < channels; c++)
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const row = axis(boxes[n].top, boxes[n].height, y);
          const column = axis(boxes[n].left, boxes[n].width, x);
          const pixel = (yy: number, xx: number) => data[at(shape, n, c, yy, xx)];
          const top = pixel(row.first, column.first) * (1 - column.weight) + pixel(row.first, column.second) * column.weight;
          const bottom = pixel(row.second, column.first) * (1 - column.weight) + pixel(row.second, column.second) * column.weight;
          out[((n * channels + c) * size + y) * size + x] = top * (1 - row.weight) + bottom * row.weight;
        }
  return out;
};

const lumaOf = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;
const clamp01 = (x: number) => Math.min(Math.max(x, 0), 1);

/** Applies f to each pixel's (r, g, b) of each image, with the image's index and mean luma at hand. */
const perPixelReference = (
  data: ArrayLike<number>,
  shape: Shape4,
  f: (rgb: [number, number, number], n: number, meanLuma: number) => [number, number, number],
): Float64Array => {
  const [count, , height, width] = shape;
  const out = new Float64Array(data.length);
  for (let n = 0; n < count; n++) {
    let total = 0;
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) total += lumaOf(data[at(shape, n, 0, y, x)], data[at(shape, n, 1, y, x)], data[at(shape, n, 2, y, x)]);
    const meanLuma = total / (height * width);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const rgb = f([data[at(shape, n, 0, y, x)], data[at(shape, n, 1, y, x)], data[at(shape, n, 2, y, x)]], n, meanLuma);
        rgb.forEach((v, c) => (out[at(shape, n, c, y, x)] = v));
      }
  }
  return out;
};

/** Python's colorsys.rgb_to_hsv / hsv_to_rgb, which torchvision's tensor formulas follow. */
const hueShiftReference = ([r, g, b]: [number, number, number], shift: number): [number, number, number] => {
  const v = Math.max(r, g, b);
  const range = v - Math.min(r, g, b);
  if (range === 0) return [v, v, v];
  const s = range / v;
  const [rc, gc, bc] = [r, g, b].map((c) => (v - c) / range);
  const sixths = r === v ? bc - gc : g === v ? 2 + rc - bc : 4 + gc - rc;
  const h = (((sixths / 6 + shift) % 1) + 1) % 1;
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const [p, q, t] = [v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))];
  return ([[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]] as const)[i % 6].slice() as [number, number, number];
};

// Determinism and the two views.

test('the same key gives the same batch; another key gives another', () => {
  const images = fc.sample(smallImages, { numRuns: 1, seed: 1 })[0];
  const first = values(cifarTrainAugmentation(key(5), images));
  assert.ok(sameValues(first, values(cifarTrainAugmentation(key(5), images))));
  assert.ok(!sameValues(first, values(cifarTrainAugmentation(key(6), images))));
});

test('twoViews: first views then second views, from split keys, and they differ', () => {
  const images = fc.sample(smallImages, { numRuns: 1, seed: 2 })[0];
  const augmentation = compose(
    (k, x) => randomResizedCrop(k, x, { size: 8 }),
    (k, x) => randomHorizontalFlip(k, x),
  );
  const k = key(7);
  const views = interpret(twoViews(k, images, augmentation));
  assert.deepEqual(views.shape, [6, 3, 8, 8]);
  const [firstKey, secondKey] = split(k, 2);
  const half = views.data.length / 2;
  assert.ok(sameValues(views.data.subarray(0, half), values(augmentation(firstKey, images))));
  assert.ok(sameValues(views.data.subarray(half), values(augmentation(secondKey, images))));
  assert.ok(!sameValues(views.data.subarray(0, half), views.data.subarray(half)));
});

test('compose splits the key once per augmentation, in order', () => {
  const images = fc.sample(smallImages, { numRuns: 1, seed: 3 })[0];
  const crop = (k: Key, x: Images) => randomResizedCrop(k, x, { size: 6 });
  const k = key(8);
  const [cropKey, flipKey] = split(k, 2);
  assert.ok(sameValues(values(compose(crop, randomHorizontalFlip)(k, images)), values(randomHorizontalFlip(flipKey, crop(cropKey, images)))));
  assert.equal(compose()(k, images), images);
});

// Identities.

test('flip: twice with p = 1 is the identity; once mirrors the width axis; p = 0 changes nothing', () => {
  fc.assert(
    fc.property(smallImages, keyArbitrary, (images, k) => {
      const data = values(images);
      const once = values(randomHorizontalFlip(k, images, { p: 1 }));
      for (let n = 0; n < 3; n++)
        for (let c = 0; c < 3; c++)
          for (let y = 0; y < 8; y++)
            for (let x = 0; x < 8; x++) assert.equal(once[at(SHAPE, n, c, y, x)], data[at(SHAPE, n, c, y, 7 - x)]);
      const [k1, k2] = split(k, 2);
      assert.ok(sameValues(values(randomHorizontalFlip(k2, randomHorizontalFlip(k1, images, { p: 1 }), { p: 1 })), data));
      assert.ok(sameValues(values(randomHorizontalFlip(k, images, { p: 0 })), data));
    }),
    { numRuns: runs(10) },
  );
});

test('grayscale: with p = 1 three equal channels holding the luma; with p = 0 the image', () => {
  fc.assert(
    fc.property(smallImages, keyArbitrary, (images, k) => {
      const data = values(images);
      const gray = values(randomGrayscale(k, images, { p: 1 }));
      for (let n = 0; n < 3; n++)
        for (let y = 0; y < 8; y++)
          for (let x = 0; x < 8; x++) {
            const expected = lumaOf(data[at(SHAPE, n, 0, y, x)], data[at(SHAPE, n, 1, y, x)], data[at(SHAPE, n, 2, y, x)]);
            assert.ok(Math.abs(gray[at(SHAPE, n, 0, y, x)] - expected) < 1e-15);
            assert.equal(gray[at(SHAPE, n, 1, y, x)], gray[at(SHAPE, n, 0, y, x)]);
            assert.equal(gray[at(SHAPE, n, 2, y, x)], gray[at(SHAPE, n, 0, y, x)]);
          }
      assert.ok(sameValues(values(randomGrayscale(k, images, { p: 0 })), data));
    }),
    { numRuns: runs(10) },
  );
});

test('grayscale and flip choose per image with probability p', () => {
  const count = 4000;
  const pixels = imagesOf(Array.from({ length: count * 3 * 2 }, (_, i) => [0.9, 0.1, 0.4, 0.2, 0.6, 0.3][i % 6]), [count, 3, 1, 2]);
  const gray = values(randomGrayscale(key(9), pixels, { p: 0.2 }));
  const flipped = values(randomHorizontalFlip(key(10), pixels, { p: 0.5 }));
  let grayCount = 0;
  let flipCount = 0;
  for (let n = 0; n < count; n++) {
    if (gray[n * 6] === gray[n * 6 + 2]) grayCount++;
    if (flipped[n * 6] === 0.1) flipCount++;
  }
  // Five standard errors of a binomial proportion.
  assert.ok(Math.abs(grayCount / count - 0.2) < 5 * Math.sqrt(0.2 * 0.8 / count), `gray fraction ${grayCount / count}`);
  assert.ok(Math.abs(flipCount / count - 0.5) < 5 * Math.sqrt(0.25 / count), `flip fraction ${flipCount / count}`);
});

test('a crop of scale 1 and ratio 1 to the image size is the identity, exactly', () => {
  fc.assert(
    fc.property(smallImages, keyArbitrary, (images, k) => {
      assert.ok(sameValues(values(randomResizedCrop(k, images, { size: 8, scale: [1, 1], ratio: [1, 1] })), values(images)));
    }),
    { numRuns: runs(10) },
  );
});

test('jitter of strength 0 is the identity, and so are factors of 1 and a hue shift of 0 or a whole turn', () => {
  fc.assert(
    fc.property(smallImages, keyArbitrary, (images, k) => {
      const data = values(images);
      assert.ok(sameValues(values(colorJitter(k, images, { brightness: 0, contrast: 0, saturation: 0, hue: 0 })), data));
      assert.ok(sameValues(values(adjustBrightness(images, 1)), data));
      assert.ok(sameValues(values(adjustContrast(images, 1)), data));
      assert.ok(sameValues(values(adjustSaturation(images, 1)), data));
      assertClose(values(adjustHue(images, 0)), data, 1e-12, 'hue shift 0');
      assertClose(values(adjustHue(images, 1)), data, 1e-12, 'hue shift 1');
      assertClose(values(adjustHue(images, -1)), data, 1e-12, 'hue shift -1');
    }),
    { numRuns: runs(10) },
  );
});

test('a hue shift of a third of a turn takes red to green, green to blue and blue to red', () => {
  const primaries = imagesOf([1, 0, 0, 0, 1, 0, 0, 0, 1], [3, 3, 1, 1]);
  assertClose(values(adjustHue(primaries, 1 / 3)), [0, 1, 0, 0, 0, 1, 1, 0, 0], 1e-12, 'a third of a turn');
  assertClose(values(adjustHue(primaries, -1 / 3)), [0, 0, 1, 1, 0, 0, 0, 1, 0], 1e-12, 'back a third');
});

// The range.

test('before normalisation every output stays in [0, 1]', () => {
  const beforeNormalisation = compose(
    (k, x) => randomResizedCrop(k, x, { size: 8 }),
    (k, x) => colorJitter(k, x, { brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.5 }),
    randomGrayscale,
    randomHorizontalFlip,
  );
  fc.assert(
    fc.property(smallImages, keyArbitrary, (images, k) => {
      const [crop, whole] = split(k, 2);
      for (const output of [values(beforeNormalisation(whole, images)), values(randomResizedCrop(crop, images, { size: 5 }))])
        for (const v of output) assert.ok(v >= 0 && v <= 1, `${v} is outside [0, 1]`);
    }),
    { numRuns: runs(15) },
  );
});

// Normalisation.

test('normalize subtracts the channel mean and divides by its std; denormalize undoes it', () => {
  fc.assert(
    fc.property(smallImages, (images) => {
      const data = values(images);
      const normalized = values(normalize(images));
      for (let c = 0; c < 3; c++) {
        const i = at(SHAPE, 1, c, 2, 3);
        assert.ok(Math.abs(normalized[i] - (data[i] - CIFAR10_MEAN[c]) / CIFAR10_STD[c]) < 1e-12);
      }
      assertClose(values(denormalize(normalize(images))), data, 1e-12, 'round trip');
    }),
    { numRuns: runs(10) },
  );
});

// Crops.

const boxArbitrary = (height: number, width: number): fc.Arbitrary<Box> =>
  fc
    .tuple(fc.integer({ min: 1, max: height }), fc.integer({ min: 1, max: width }))
    .chain(([h, w]) =>
      fc.record({ top: fc.integer({ min: 0, max: height - h }), left: fc.integer({ min: 0, max: width - w }), height: fc.constant(h), width: fc.constant(w) }),
    );

const boxesTensors = (boxes: readonly Box[]) => ({
  top: tensor(boxes.map((b) => b.top), [boxes.length]),
  left: tensor(boxes.map((b) => b.left), [boxes.length]),
  height: tensor(boxes.map((b) => b.height), [boxes.length]),
  width: tensor(boxes.map((b) => b.width), [boxes.length]),
});

test('resizedCrop agrees with a plain-JS bilinear resize on random boxes and sizes', () => {
  fc.assert(
    fc.property(smallImages, fc.array(boxArbitrary(8, 8), { minLength: 3, maxLength: 3 }), fc.integer({ min: 1, max: 12 }), (images, boxes, size) => {
      const output = values(resizedCrop(images, boxesTensors(boxes), size));
      assertClose(output, resizedCropReference(values(images), SHAPE, boxes, size), 1e-12, 'bilinear');
    }),
    { numRuns: runs(20) },
  );
});

test('resizedCrop reads the same values through the batch\'s flat positions as through its per-channel view, interpreted and compiled', async () => {
  const samples = fc.sample(
    fc.tuple(smallImages, fc.array(boxArbitrary(8, 8), { minLength: 3, maxLength: 3 }), fc.integer({ min: 1, max: 12 })),
    { numRuns: runs(6), seed: 26 },
  );
  for (const [images, boxes, size] of samples) {
    const crop = (layout: 'batch' | 'channels') => (args: { images: Images }) => resizedCropIn(layout, args.images, boxesTensors(boxes), size);
    const byBatch = values(crop('batch')({ images }));
    assert.ok(sameValues(byBatch, values(crop('channels')({ images }))), 'interpreted');
    const data = Float32Array.from(values(images));
    for (const backend of testBackends) {
      const [batch, channels] = [compile(crop('batch'), { backend, onWarning: () => {} }), compile(crop('channels'), { backend, onWarning: () => {} })];
      try {
        const input = { images: { shape: [...SHAPE], data } };
        const [a, b] = [await batch(input as never), await channels(input as never)];
        assert.ok(sameValues(a.data, b.data), `${backend}: the layouts differ`);
        assertClose(a.data, byBatch, 1e-6, `${backend} against the interpreter`);
      } finally {
        await batch.destroy();
        await channels.destroy();
      }
    }
  }
});

test('resizedCrop uses pixel centres (align-corners=false): halving averages 2x2 blocks, doubling interpolates at quarters', () => {
  const ramp = imagesOf([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], [1, 1, 4, 4]);
  const whole = boxesTensors([{ top: 0, left: 0, height: 4, width: 4 }]);
  assertClose(values(resizedCrop(ramp, whole, 2)), [2.5, 4.5, 10.5, 12.5], 1e-12, 'halving');
  const pair = imagesOf([0, 4], [1, 1, 1, 2]);
  const doubled = values(resizedCrop(pair, boxesTensors([{ top: 0, left: 0, height: 1, width: 2 }]), 4));
  // Output columns at source x = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1); all four rows alike.
  assertClose(doubled.subarray(0, 4), [0, 1, 3, 4], 1e-12, 'doubling');
});

test('crop boxes are integer boxes inside the image, with about the asked area and aspect ratio', () => {
  const count = 400;
  const boxes = sampleCropBoxes(key(11), count, 32, 32);
  const [top, left, height, width] = [boxes.top, boxes.left, boxes.height, boxes.width].map(values);
  let placedAway = 0;
  for (let n = 0; n < count; n++) {
    for (const v of [top[n], left[n], height[n], width[n]]) assert.ok(Number.isInteger(v));
    assert.ok(height[n] >= 1 && top[n] >= 0 && top[n] + height[n] <= 32, `rows ${top[n]} + ${height[n]}`);
    assert.ok(width[n] >= 1 && left[n] >= 0 && left[n] + width[n] <= 32, `columns ${left[n]} + ${width[n]}`);
    // Rounding each side to whole pixels moves the area and the ratio a little.
    const area = (height[n] * width[n]) / 1024;
    assert.ok(area >= 0.18 && area <= 1, `area fraction ${area}`);
    const ratio = width[n] / height[n];
    assert.ok(ratio >= 0.75 * 0.92 && ratio <= (4 / 3) / 0.92, `ratio ${ratio}`);
    if (top[n] > 0 && left[n] > 0) placedAway++;
  }
  assert.ok(placedAway > count / 4, `only ${placedAway} boxes away from the top-left corner`);
});

test("crop boxes fall back to torchvision's centred box when no attempt fits", () => {
  // On 8 x 8, ratio 2 at full area wants 11 x 6 pixels: the fallback is 8 wide, 8 / 2 = 4 high, centred.
  const wide = sampleCropBoxes(key(12), 3, 8, 8, { scale: [1, 1], ratio: [2, 2] });
  assert.deepEqual([wide.top, wide.left, wide.height, wide.width].map((t) => Array.from(values(t))), [[2, 2, 2], [0, 0, 0], [4, 4, 4], [8, 8, 8]]);
  // On 8 high x 6 wide, ratio 1 at full area wants 7 x 7: the fallback is 6 x 6 (the image's ratio 3/4 clamped to 1), centred.
  const tall = sampleCropBoxes(key(13), 2, 8, 6, { scale: [1, 1], ratio: [1, 1] });
  assert.deepEqual([tall.top, tall.left, tall.height, tall.width].map((t) => Array.from(values(t))), [[1, 1], [0, 0], [6, 6], [6, 6]]);
});

// Colour, against plain-JS formulas.

const factorsArbitrary = fc.array(fc.double({ min: 0, max: 2, noNaN: true }), { minLength: 3, maxLength: 3 });

test('brightness, contrast and saturation agree with the blend formulas, for a shared factor and per-image factors', () => {
  fc.assert(
    fc.property(smallImages, factorsArbitrary, (images, factors) => {
      const data = values(images);
      const perImageFactors = tensor(factors, [3]);
      const blendReference = (x: number, reference: number, f: number) => clamp01(f * x + (1 - f) * reference);
      const cases = [
        { name: 'brightness', adjust: adjustBrightness, reference: (_rgb: number[], _mean: number) => [0, 0, 0] },
        { name: 'contrast', adjust: adjustContrast, reference: (_rgb: number[], mean: number) => [mean, mean, mean] },
        { name: 'saturation', adjust: adjustSaturation, reference: ([r, g, b]: number[]) => Array(3).fill(lumaOf(r, g, b)) },
      ];
      for (const { name, adjust, reference } of cases) {
        const expected = (factorOf: (n: number) => number) =>
          perPixelReference(data, SHAPE, (rgb, n, mean) => {
            const towards = reference(rgb, mean);
            return rgb.map((x, c) => blendReference(x, towards[c], factorOf(n))) as [number, number, number];
          });
        assertClose(values(adjust(images, factors[0])), expected(() => factors[0]), 1e-12, `${name} with one factor`);
        assertClose(values(adjust(images, perImageFactors)), expected((n) => factors[n]), 1e-12, `${name} per image`);
      }
    }),
    { numRuns: runs(10) },
  );
});

test("the hue shift agrees with colorsys's HSV round trip", () => {
  fc.assert(
    fc.property(smallImages, fc.array(fc.double({ min: -0.5, max: 0.5, noNaN: true }), { minLength: 3, maxLength: 3 }), (images, shifts) => {
      const expected = perPixelReference(values(images), SHAPE, (rgb, n) => hueShiftReference(rgb, shifts[n]));
      assertClose(values(adjustHue(images, tensor(shifts, [3]))), expected, 1e-9, 'hue');
    }),
    { numRuns: runs(10) },
  );
});

test('colorJitter applies the four adjustments in a random order per image, with factors drawn from its key', () => {
  const count = 8;
  const images = fc.sample(imagesArbitrary([count, 3, 4, 4]), { numRuns: 1, seed: 4 })[0];
  const k = key(14);
  const jittered = values(colorJitter(k, images));
  // The draws as colorJitter makes them: keys for brightness, contrast, saturation, hue, order.
  const [brightnessKey, contrastKey, saturationKey, hueKey] = split(k, 5);
  const adjustments = [
    (x: Images) => adjustBrightness(x, uniform(brightnessKey, [count], 0.6, 1.4)),
    (x: Images) => adjustContrast(x, uniform(contrastKey, [count], 0.6, 1.4)),
    (x: Images) => adjustSaturation(x, uniform(saturationKey, [count], 0.6, 1.4)),
    (x: Images) => adjustHue(x, uniform(hueKey, [count], -0.4, 0.4)),
  ];
  const permutations = (items: readonly number[]): number[][] =>
    items.length <= 1 ? [[...items]] : items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
  const orders = permutations([0, 1, 2, 3]).map((order) => ({ order, data: values(order.reduce((x, j) => adjustments[j](x), images)) }));
  const perImage = 3 * 4 * 4;
  const matched = new Set<string>();
  for (let n = 0; n < count; n++) {
    const mine = jittered.subarray(n * perImage, (n + 1) * perImage);
    const match = orders.find(({ data }) => data.subarray(n * perImage, (n + 1) * perImage).every((v, i) => Math.abs(v - mine[i]) < 1e-12));
    assert.ok(match !== undefined, `image ${n} matches no order of the four adjustments`);
    matched.add(match.order.join(''));
  }
  assert.ok(matched.size >= 2, `every image used the order ${[...matched]}`);
  // The fixed order is brightness, contrast, saturation, hue.
  assertClose(values(colorJitter(k, images, { order: 'fixed' })), orders[0].data, 1e-12, 'fixed order');
});

test('colour operations name themselves when the images are not RGB; crops when they are not NCHW', () => {
  const gray = imagesOf(new Array(16).fill(0.5), [1, 1, 4, 4]);
  assert.throws(() => colorJitter(key(1), gray), (e: unknown) => e instanceof ShapeError && /colorJitter: images must have 3 channels/.test(e.message));
  assert.throws(() => randomGrayscale(key(1), gray), /randomGrayscale/);
  assert.throws(() => randomResizedCrop(key(1), tensor([1, 2], [1, 2]) as unknown as Images), /randomResizedCrop: images must be \[N, C, H, W\]/);
  assert.throws(() => sampleCropBoxes(key(1), 2, 8, 8, { scale: [0.5, 0.2] }), RangeError);
});

// One compiled run.

test('compiled cifarTrainAugmentation (cpu) agrees with the interpreter within 1e-4', async () => {
  const shape: Shape4 = [4, 3, 32, 32];
  // Values k / 256, exact in float32, so both sides start from the same images.
  const data = Float32Array.from({ length: 4 * 3 * 32 * 32 }, (_, i) => ((i * 7919) % 257) / 256);
  const k = key(15);
  const expected = values(cifarTrainAugmentation(k, imagesOf(data, shape)));
  const compiled = compile((args: { key: Key; images: Images }) => cifarTrainAugmentation(args.key, args.images), {
    backend: 'cpu',
    onWarning: () => {},
  });
  try {
    const result = await compiled({ key: k, images: { shape, data } });
    assert.deepEqual(result.shape, [4, 3, 32, 32]);
    assertClose(result.data, expected, 1e-4, 'compiled');
  } finally {
    await compiled.destroy();
  }
});

// ---------------------------------------------------------------- the ablation switches

/** The paper's pipeline written out part by part: what every switch on must equal. */
const paperAugmentation = compose(
  (k, images) => randomResizedCrop(k, images, { size: 32, scale: [0.2, 1] }),
  (k, images) => colorJitter(k, images, { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.4 }),
  (k, images) => randomGrayscale(k, images, { p: 0.2 }),
  (k, images) => randomHorizontalFlip(k, images, { p: 0.5 }),
  (_k, images) => normalize(images),
);

test('trainAugmentation with every part is the paper\'s pipeline bit for bit, and so is cifarTrainAugmentation', () => {
  const images = uniform(key(3), [4, 3, 12, 12]) as Images;
  const expected = values(paperAugmentation(key(8), images));
  assert.ok(sameValues(values(trainAugmentation({ size: 32 })(key(8), images)), expected));
  // The order parts are named in does not matter: they run in the paper's order.
  assert.ok(sameValues(values(trainAugmentation({ augmentations: ['flip', 'gray', 'jitter', 'crop'] })(key(8), images)), expected));
  assert.ok(sameValues(values(cifarTrainAugmentation(key(8), images)), expected));
});

test('a switched-off part leaves the other parts\' draws as they were', () => {
  fc.assert(
    fc.property(keyArbitrary, smallImages, (k, images) => {
      const [crop, jitter, gray, flip] = split(k, 5);
      const cases: [Parameters<typeof trainAugmentation>[0], Images][] = [
        [{ augmentations: ['flip'], size: 8 }, randomHorizontalFlip(flip, images)],
        [{ augmentations: ['gray', 'flip'], size: 8 }, randomHorizontalFlip(flip, randomGrayscale(gray, images, { p: 0.2 }))],
        [{ augmentations: ['crop', 'jitter'], size: 8 },
          colorJitter(jitter, randomResizedCrop(crop, images, { size: 8 }), { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.4 })],
        [{ augmentations: [], size: 8 }, images],
      ];
      for (const [options, expected] of cases)
        assert.ok(sameValues(values(trainAugmentation(options)(k, images)), values(normalize(expected))), JSON.stringify(options));
    }),
    { numRuns: runs(10) },
  );
});

test('without the crop an image of another size is resized whole; grayscale alone greys or keeps each image', () => {
  const images = uniform(key(4), [6, 3, 8, 8]) as Images;
  const whole = resizedCrop(images, { top: fill([6], 0), left: fill([6], 0), height: fill([6], 8), width: fill([6], 8) }, 4);
  const resized = trainAugmentation({ augmentations: [], size: 4 })(key(1), images);
  assert.deepEqual(resized.shape, [6, 3, 4, 4]);
  assert.ok(sameValues(values(resized), values(normalize(whole))));
  const raw = values(images);
  const greyed = values(denormalize(trainAugmentation({ augmentations: ['gray'], size: 8 })(key(2), images)));
  let grey = 0;
  for (let n = 0; n < 6; n++) {
    const plane = (c: number) => Array.from({ length: 64 }, (_, p) => greyed[(n * 3 + c) * 64 + p]);
    const isGrey = [1, 2].every((c) => plane(c).every((v, p) => Math.abs(v - plane(0)[p]) < 1e-12));
    const kept = Array.from({ length: 192 }, (_, p) => greyed[n * 192 + p]).every((v, p) => Math.abs(v - raw[n * 192 + p]) < 1e-12);
    assert.ok(isGrey !== kept, `image ${n} is ${isGrey ? 'grey' : kept ? 'kept' : 'neither grey nor kept'}`);
    if (isGrey) grey++;
  }
  assert.ok(grey < 6, 'with p = 0.2 not all six images turn grey');
});

test('parseAugmentations reads any subset in any order, "none", and names a wrong word', () => {
  assert.deepEqual(parseAugmentations('crop,jitter,gray,flip'), E.right(['crop', 'jitter', 'gray', 'flip']));
  assert.deepEqual(parseAugmentations('flip, crop'), E.right(['crop', 'flip']));
  assert.deepEqual(parseAugmentations('none'), E.right([]));
  assert.deepEqual(parseAugmentations('crop,blur'), E.left('augmentations "crop,blur": "blur" is not one of crop, jitter, gray, flip (or "none" alone)'));
  assert.deepEqual(parseAugmentations('gray,gray'), E.left('augmentations "gray,gray": "gray" is named twice'));
  assert.ok(E.isLeft(parseAugmentations('')));
  assert.throws(() => trainAugmentation({ augmentations: ['blur' as 'crop'] }), /trainAugmentation: unknown augmentation "blur"; choose from crop, jitter, gray, flip/);
});
