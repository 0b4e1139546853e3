// The command line of examples/cifar10.ts: one table of flags gives the parser, the checks
// with their messages, and the --help text, so the three cannot drift apart.

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import { type BackendName, backendNamed, backendNames } from '../compile/backend.ts';
import { augmentationNames, parseAugmentations } from '../augment/train-augmentation.ts';
import { IMAGE_SIDE } from '../data/cifar10-types.ts';
import { STL10_SIDE } from '../data/stl10-types.ts';
import { smallestImageSize } from './encoder-choice.ts';
import { parseClassList } from './unseen-classes.ts';
import { datasetNames, builtInObjectiveNames, defaultLearningRate, defaultTrainOptions, type EncoderName, encoderNames, paperMilestones, type TrainOptions } from './options.ts';
import { isStatefulObjectiveName, statefulObjectiveNames, statefulTemperature } from './stateful-objective-choice.ts';

type Parse = (text: string) => E.Either<string, unknown>;

interface Flag {
  readonly name: string;
  readonly key: keyof TrainOptions;
  /** The value's placeholder in --help; none for a switch. */
  readonly value?: string;
  readonly parse?: Parse;
  readonly help: string;
  /** The default as --help shows it. */
  readonly shown: string;
}

const integer = (min: number): Parse => (text) => {
  const n = Number(text);
  if (/^-?\d+$/.test(text.trim()) && Number.isSafeInteger(n) && n >= min) return E.right(n);
  // 1e9 is a number, but a count is written in digits: say so rather than "not an integer".
  return E.left(`expected an integer >= ${min}${/e/i.test(text) && Number.isInteger(n) ? ' written in digits' : ''}, got "${text}"`);
};
/** Decimal, as people write numbers: Number() would also read 0x10 as 16 and 0b11 as 3. */
const decimal = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const positiveNumber: Parse = (text) => {
  const n = Number(text);
  return decimal.test(text.trim()) && Number.isFinite(n) && n > 0 ? E.right(n) : E.left(`expected a positive number, got "${text}"`);
};
const nonNegativeNumber: Parse = (text) => {
  const n = Number(text);
  return decimal.test(text.trim()) && Number.isFinite(n) && n >= 0 ? E.right(n) : E.left(`expected a number >= 0, got "${text}"`);
};
const oneOf = (choices: readonly string[]): Parse => (text) =>
  choices.includes(text) ? E.right(text) : E.left(`expected one of ${choices.join(', ')}, got "${text}"`);
/** A backend by its name, or by an earlier name that is still accepted (webasm: native). */
const backend: Parse = (text) => {
  const named = backendNamed(text);
  return named === undefined ? E.left(`expected one of ${backendNames.join(', ')}, got "${text}"`) : E.right(named);
};
const integerList = (min: number, { increasing = false, allowNone = false } = {}): Parse => (text) => {
  if (allowNone && text.trim() === 'none') return E.right([]);
  const items = text.split(',').map((t) => t.trim());
  const values = items.map(Number);
  if (items.some((t, i) => !/^\d+$/.test(t) || values[i] < min))
    return E.left(`expected a comma-separated list of integers >= ${min}${allowNone ? ' (or "none")' : ''}, got "${text}"`);
  if (increasing && values.some((v, i) => i > 0 && v <= values[i - 1])) return E.left(`expected increasing values, got "${text}"`);
  return E.right(values);
};
const objective: Parse = (text) => {
  if ((builtInObjectiveNames as readonly string[]).includes(text) || isStatefulObjectiveName(text)) return E.right(text);
  const file = path.resolve(text);
  if (existsSync(file)) return E.right(file);
  return E.left(`expected one of ${[...builtInObjectiveNames, ...statefulObjectiveNames].join(', ')} or an existing .ts/.js file, got "${text}" (no such file: ${file})`);
};

const defaults = defaultTrainOptions();

export const flags: readonly Flag[] = [
  { name: 'dataset', key: 'dataset', value: datasetNames.join('|'), parse: oneOf(datasetNames), shown: defaults.dataset,
    help: 'cifar10: 50,000 training images of 32x32; stl10: its 5,000 labelled and 100,000 unlabeled training images of 96x96, kNN among the labelled ones' },
  { name: 'data', key: 'data', value: 'PATH', parse: (t) => E.right(path.resolve(t)), shown: 'the cache, else download',
    help: 'the data set\'s binary folder (cifar-10-batches-bin, stl10_binary, or its parent) or .tar.gz archive' },
  { name: 'image-size', key: 'imageSize', value: 'S', parse: integer(1), shown: 'the data set\'s: 32 or 96',
    help: 'height and width of the views and of the evaluation\'s images; the crop samples at this size, and other images are resized whole' },
  { name: 'epochs', key: 'epochs', value: 'N', parse: integer(0), shown: String(defaults.epochs), help: 'epochs to train in all (a resumed run may raise it)' },
  { name: 'batch-size', key: 'batchSize', value: 'N', parse: integer(2), shown: String(defaults.batchSize),
    help: 'images per step, two augmented views each; the last partial batch of an epoch is dropped' },
  { name: 'train-size', key: 'trainSize', value: 'N', parse: integer(2), shown: 'all', help: 'train on the first N training images' },
  { name: 'test-size', key: 'testSize', value: 'N', parse: integer(1), shown: 'all', help: 'evaluate on the first N test images' },
  { name: 'encoder', key: 'encoder', value: encoderNames.join('|'), parse: oneOf(encoderNames), shown: defaults.encoder,
    help: 'small: 3 conv-BN-ReLU-pool stages; resnet18: the paper\'s CIFAR ResNet18' },
  { name: 'widths', key: 'widths', value: 'A,B,C', parse: integerList(1), shown: 'small 32,64,128; resnet18 64,128,256,512',
    help: 'channels of the encoder\'s stages (narrow ones make quick tests)' },
  { name: 'feature-dimension', key: 'featureDimension', value: 'D', parse: integer(1), shown: String(defaults.featureDimension),
    help: 'length of the embedding' },
  { name: 'objective', key: 'objective', value: `${[...builtInObjectiveNames, ...statefulObjectiveNames].join('|')}|FILE.ts`, parse: objective, shown: defaults.objective,
    help: 'the loss of the [2N, d] features (first views, then second views); FILE.ts exports it as `objective` or as default (`objective` when both): (features, { temperature }) => scalar tensor; outside this project name the file .mts' },
  { name: 'temperature', key: 'temperature', value: 'T', parse: positiveNumber, shown: String(defaults.temperature),
    help: `softmax temperature of the objective (align-uniform has none; ${statefulObjectiveNames.join(' and ')} default to ${statefulTemperature})` },
  { name: 'negative-weight', key: 'negativeWeight', value: 'W', parse: nonNegativeNumber, shown: String(defaults.negativeWeight),
    help: 'the invariant-spreading loss\'s weight on its negatives (the authors\' negM; 0 leaves the positive term alone)' },
  { name: 'augment', key: 'augmentations', value: 'LIST', parse: parseAugmentations, shown: augmentationNames.join(','),
    help: 'the parts of the training augmentation that run, any of crop, jitter, gray, flip (or none), for the paper\'s ablations' },
  { name: 'lr', key: 'learningRate', value: 'RATE', parse: positiveNumber,
    shown: encoderNames.map((name) => `${name} ${defaultLearningRate(name)}`).join(', '),
    help: 'SGD learning rate (resnet18 has the paper\'s; the small encoder\'s was measured on CIFAR-10)' },
  { name: 'lr-milestones', key: 'learningRateMilestones', value: 'E1,E2|none', parse: integerList(1, { increasing: true, allowNone: true }),
    shown: `the paper's ${paperMilestones.join(',')}, those before --epochs`,
    help: `epochs after which the learning rate is multiplied by --lr-decay; the default is not scaled to --epochs: a run of ${paperMilestones[0]} epochs or fewer keeps its first rate, as the start of the paper's schedule` },
  { name: 'lr-decay', key: 'learningRateDecay', value: 'F', parse: positiveNumber, shown: String(defaults.learningRateDecay), help: 'factor at each milestone' },
  { name: 'momentum', key: 'momentum', value: 'M', parse: nonNegativeNumber, shown: String(defaults.momentum), help: 'SGD momentum' },
  { name: 'weight-decay', key: 'weightDecay', value: 'W', parse: nonNegativeNumber, shown: String(defaults.weightDecay), help: 'SGD L2 weight decay' },
  { name: 'knn-k', key: 'knnK', value: 'K', parse: integer(1), shown: String(defaults.knnK),
    help: 'neighbours that vote in the weighted kNN evaluation (at most the training images)' },
  { name: 'knn-sigma', key: 'knnSigma', value: 'S', parse: positiveNumber, shown: String(defaults.knnSigma), help: 'temperature of the kNN vote weights' },
  { name: 'train-classes', key: 'trainClasses', value: 'LIST', parse: (text) => parseClassList(text), shown: 'all',
    help: 'train only on these classes (like 0-4 or 0,2,5-7) and evaluate kNN on their test images; each epoch also scores the other classes\' test images as unseen categories: Recall@1,2,4,8 and k-means NMI' },
  { name: 'linear-eval', key: 'linearEval', shown: 'off',
    help: 'after the last epoch, train a linear softmax classifier on the frozen backbone features of the training images and report its test top-1' },
  { name: 'eval-batch-size', key: 'evalBatchSize', value: 'N', parse: integer(1), shown: String(defaults.evalBatchSize),
    help: 'images per compiled call when computing features for the evaluation' },
  { name: 'backend', key: 'backend', value: backendNames.join('|'), parse: backend, shown: 'the best that works here',
    help: 'where the kernels run: webgpu and headlessgl through gpu.js on a GPU; native, the CPU path of WebAssembly SIMD GEMMs and JavaScript kernels on a pool of worker threads (webasm, its earlier name, is accepted); cpu, gpu.js\'s single-threaded JavaScript. The run says which ran and why better ones were passed over' },
  { name: 'seed', key: 'seed', value: 'S', parse: integer(Number.MIN_SAFE_INTEGER), shown: String(defaults.seed),
    help: 'seed of the initialisation, the data order and the augmentations' },
  { name: 'out', key: 'out', value: 'DIR', parse: (t) => (t.trim() === '' ? E.left('expected a folder, got ""') : E.right(path.resolve(t))), shown: 'runs/<timestamp>',
    help: 'folder for metrics.jsonl, checkpoint.safetensors, curves.png (and curves.vl.json), neighbours.png' },
  { name: 'resume', key: 'resume', shown: 'off',
    help: 'continue the run in --out (without --out: the newest run under runs/) from its checkpoint, with its options' },
];

const flagByKey = new Map(flags.map((flag) => [flag.key, flag]));

/** `--batch-size` for `batchSize`, for messages. */
export const flagName = (key: keyof TrainOptions): string => `--${flagByKey.get(key)?.name ?? key}`;

/** Words of `text` in lines of at most `width` characters, each line indented by `indent`. */
const wrap = (text: string, width: number, indent: string): string[] => {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(indent + line);
  return lines;
};

export const helpText = (command = 'tsx examples/cifar10.ts'): string => {
  const width = 96;
  const entries = flags.flatMap((flag) => [
    `  --${flag.name}${flag.value ? ` ${flag.value}` : ''}`,
    ...wrap(`${flag.help} (default: ${flag.shown})`, width, '        '),
  ]);
  return [
    `Usage: ${command} [options]`,
    '',
    'Trains an image embedding on CIFAR-10 (or STL-10) with the invariant and spreading instance feature',
    '(Ye et al., CVPR 2019) or another objective, evaluates it by weighted kNN (top-1, top-5)',
    'before the first epoch and after each, and writes metrics, a checkpoint and two pictures',
    'into its folder. Ctrl-C stops after the current step and writes a checkpoint; --resume',
    'continues exactly where it stopped.',
    '',
    'Options:',
    ...entries,
    '  --help',
    '        show this text',
    '',
    'A quick look on a slice of the data:',
    `  ${command} --data cifar-10-binary.tar.gz --epochs 1 --train-size 512 --test-size 512 --widths 8,16,16 --batch-size 32`,
  ].join('\n');
};

/** The options' text as the command line would give it: the inverse of a flag's parse. */
const asFlagText = (flag: Flag, value: unknown): string =>
  Array.isArray(value) ? (value.length === 0 && (flag.key === 'learningRateMilestones' || flag.key === 'augmentations') ? 'none' : value.join(','))
    : String(value);

/** Which options may be absent: those whose default is (the data set's image size, every image, every class...). */
const absentByDefault = new Set(flags.filter((flag) => (defaults as Record<string, unknown>)[flag.key] === undefined).map((flag) => flag.key));

/** What is wrong across options, that no single flag can see; undefined when nothing is. */
const crossOptionProblem = (options: TrainOptions): string | undefined => {
  if (options.dataset === 'stl10' && options.trainClasses !== undefined)
    return '--train-classes: STL-10\'s unlabeled training images have no class to choose by; use it with --dataset cifar10';
  if (options.trainSize !== undefined && options.trainSize < options.batchSize)
    return `--train-size ${options.trainSize} is smaller than --batch-size ${options.batchSize}: an epoch would have no step`;
  const smallest = smallestImageSize(options);
  const size = options.imageSize ?? (options.dataset === 'stl10' ? STL10_SIDE : IMAGE_SIDE);
  if (size < smallest) {
    const why = `the ${options.encoder} encoder's ${Math.log2(smallest)} stages each halve the size`;
    return options.imageSize !== undefined
      ? `--image-size ${size} is smaller than the smallest input of the encoder, ${smallest} (${why}): give --image-size ${smallest} or more`
      : `--widths ${options.widths?.join(',')}: ${why}, so it needs images of at least ${smallest}x${smallest}, larger than the data set's ${size}x${size}; give fewer --widths or --image-size ${smallest}`;
  }
  return undefined;
};

/**
 * What is wrong with a set of options, wherever they come from, in the words of the command line:
 * each value must be one its flag's own parse gives back from the value's text (so a checkpoint's
 * `learningRate: -5` is refused as `--lr -5` is, and `batchSize: "4"` as not a number), and the
 * options must agree with one another. Undefined when nothing is.
 */
export const optionProblem = (options: Readonly<Record<string, unknown>>): string | undefined => {
  for (const flag of flags) {
    if (flag.key === 'out' || flag.key === 'resume') continue;
    const value = options[flag.key];
    if (value === undefined || value === null) {
      if (absentByDefault.has(flag.key)) continue;
      return `--${flag.name}: missing`;
    }
    if (flag.parse === undefined) {
      if (typeof value !== 'boolean') return `--${flag.name}: expected true or false, got ${JSON.stringify(value)}`;
      continue;
    }
    const text = asFlagText(flag, value);
    const parsed = flag.parse(text);
    if (E.isLeft(parsed)) return `--${flag.name}: ${parsed.left}`;
    if (JSON.stringify(parsed.right) !== JSON.stringify(value))
      return `--${flag.name}: got ${JSON.stringify(value)}, not a value the flag gives (${JSON.stringify(text)} reads as ${JSON.stringify(parsed.right)})`;
  }
  return crossOptionProblem(options as unknown as TrainOptions);
};

export type CliRequest =
  | { readonly kind: 'help' }
  | {
      readonly kind: 'train';
      readonly options: TrainOptions;
      /** The options given on the command line (a resumed run keeps the others from its checkpoint). */
      readonly explicit: ReadonlySet<keyof TrainOptions>;
    };

/** `runs/2024-05-01T12-30-05` under `cwd`. */
export const defaultOutFolder = (now: Date, cwd = process.cwd()): string =>
  path.join(cwd, 'runs', now.toISOString().replace(/\.\d+Z$/, '').replace(/:/g, '-'));

/**
 * `--epochs -1` as `--epochs=-1`: node's parser takes a value that starts with a dash for an
 * option and calls the flag "ambiguous"; joined, the value reaches the flag's own check, which
 * says what the flag expects. Only numbers are joined: `--out -x` stays a missing value.
 */
const joinNegativeNumbers = (argv: readonly string[]): string[] => {
  const valued = new Set(flags.filter((flag) => flag.value !== undefined).map((flag) => `--${flag.name}`));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (valued.has(argv[i]) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${argv[i]}=${next}`);
      i++;
    } else out.push(argv[i]);
  }
  return out;
};

export const parseCliOptions = (argv: readonly string[], now = new Date()): E.Either<string, CliRequest> => {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: joinNegativeNumbers(argv),
      strict: true,
      tokens: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(flags.map((flag) => [flag.name, { type: flag.value ? 'string' : 'boolean' } as const])),
      },
    });
  } catch (cause) {
    const { code, message } = cause as NodeJS.ErrnoException;
    // "argument is ambiguous": a value-taking flag followed by another option, not by its value.
    const flag = /^Option '(--[\w-]+)'/.exec(message)?.[1];
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag !== undefined && /ambiguous/.test(message)) {
      const next = argv[argv.indexOf(flag) + 1];
      return E.left(`${flag}: expected a value after it, got "${next}"; a value that starts with a dash is written ${flag}=${next}`);
    }
    return E.left(`${message.split('\n')[0]}; see --help`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return E.right({ kind: 'help' });
  // A flag given twice would silently take its last value: one of the two was a slip.
  const given = (parsed.tokens ?? []).flatMap((token) => (token.kind === 'option' ? [token.name] : []));
  const twice = given.find((name, i) => given.indexOf(name) !== i);
  if (twice !== undefined) return E.left(`--${twice} is given twice; give each flag once`);
  const explicit = new Set<keyof TrainOptions>();
  const chosen: Record<string, unknown> = {};
  for (const flag of flags) {
    const text = values[flag.name];
    if (text === undefined) continue;
    explicit.add(flag.key);
    if (typeof text === 'boolean') chosen[flag.key] = text;
    else {
      const value = flag.parse!(text);
      if (E.isLeft(value)) return E.left(`--${flag.name}: ${value.left}`);
      chosen[flag.key] = value.right;
    }
  }
  if (explicit.has('negativeWeight') && chosen.objective !== undefined && chosen.objective !== 'invariant-spreading')
    return E.left(`--negative-weight weighs the invariant-spreading loss's negatives; --objective ${chosen.objective} has no such weight`);
  const epochs = (chosen.epochs as number | undefined) ?? defaults.epochs;
  const options = {
    ...defaultTrainOptions(epochs, (chosen.encoder as EncoderName | undefined) ?? defaults.encoder),
    out: defaultOutFolder(now),
    ...(isStatefulObjectiveName(String(chosen.objective)) ? { temperature: statefulTemperature } : {}),
    ...chosen,
  } as TrainOptions;
  const problem = crossOptionProblem(options);
  if (problem !== undefined) return E.left(problem);
  return E.right({ kind: 'train', options: { ...options, backend: options.backend as BackendName | undefined }, explicit });
};
