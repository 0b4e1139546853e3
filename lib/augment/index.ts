// Augmentations: pure functions of (key, images) on NCHW batches in [0, 1], written in the
// language so that they run in the interpreter and compile to kernels like any other program.

export type { Images } from './images.ts';
export type { Augmentation } from './compose.ts';
export { compose, twoViews } from './compose.ts';
export { cifarTrainAugmentation } from './cifar-train-augmentation.ts';
export { augmentationNames, parseAugmentations, trainAugmentation } from './train-augmentation.ts';
export type { AugmentationName, TrainAugmentationOptions } from './train-augmentation.ts';
export { randomResizedCrop } from './random-resized-crop.ts';
export type { RandomResizedCropOptions } from './random-resized-crop.ts';
export { sampleCropBoxes } from './crop-boxes.ts';
export type { CropBoxes, CropBoxOptions } from './crop-boxes.ts';
export { resizedCrop } from './resized-crop.ts';
export { colorJitter } from './color-jitter.ts';
export type { ColorJitterOptions } from './color-jitter.ts';
export { adjustBrightness, adjustContrast, adjustSaturation, blend } from './color-adjustments.ts';
export { adjustHue, hsvToRgb, rgbToHsv } from './hue.ts';
export type { HsvImages } from './hue.ts';
export { grayscale, luma, LUMA_WEIGHTS, randomGrayscale } from './grayscale.ts';
export type { RandomGrayscaleOptions } from './grayscale.ts';
export { horizontalFlip, randomHorizontalFlip } from './random-horizontal-flip.ts';
export type { RandomHorizontalFlipOptions } from './random-horizontal-flip.ts';
export { CIFAR10_MEAN, CIFAR10_STD, denormalize, normalize } from './normalize.ts';
export type { NormalizeOptions } from './normalize.ts';
