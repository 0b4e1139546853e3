// The objective battery's report as text: a header (what was checked, and how), a line per
// property, and under a failure its shrunk counterexample: m, d, the features (rounded, when
// the batch is small), the seed and path that regenerate it, and what disagreed.

import { formatObjectiveOptions } from './objective-option-sets.ts';
import type { ObjectiveBatteryPlan, ObjectiveCounterexample, ObjectiveReport, ObjectivePropertyFailure, ObjectivePropertyResult } from './objective-battery.ts';

export interface ObjectiveReportFormatOptions {
  /** The command that reruns the battery, without `--seed` (the CLI passes its own invocation). */
  readonly rerunCommand?: string;
}

/** Batches of at most this many numbers are printed in full. */
const printedValues = 64;

const label = { passed: 'PASS', failed: 'FAIL', info: 'INFO' } as const;

const seconds = (s: number): string => `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;

const formatNumber = (v: number): string => (v < 0 ? '' : ' ') + v.toFixed(5);

const kindOf = (batch: ObjectiveCounterexample): string =>
  batch.kind === 'unit' ? 'random unit features' : batch.kind === 'nearly coincident' ? 'nearly coincident features (rows within 1e-6)' : 'antipodal features (every row u or -u)';

const largestDistance = (rows: ObjectiveCounterexample['rows']): number => {
  let largest = 0;
  for (const a of rows) for (const b of rows) largest = Math.max(largest, Math.hypot(...a.map((v, c) => v - b[c])));
  return largest;
};

export const formatCounterexample = (batch: ObjectiveCounterexample, indent = ''): string[] => {
  const lines = [`${indent}counterexample: m ${batch.m}, d ${batch.d}, ${kindOf(batch)}${batch.order === undefined ? '' : `, instances reordered as [${batch.order.join(', ')}]`}`];
  if (batch.rows.length * batch.d > printedValues) return [...lines, `${indent}  (${batch.rows.length} x ${batch.d} values; the seed and path regenerate them)`];
  const m = batch.m;
  lines.push(
    ...batch.rows.map(
      (row, r) => `${indent}  [${row.map(formatNumber).join(', ')} ]  row ${r}: ${r < m ? 'first' : 'second'} view of instance ${r < m ? r : r - m}`,
    ),
  );
  if (batch.kind === 'nearly coincident') {
    const spread = largestDistance(batch.rows);
    lines.push(`${indent}  (${spread === 0 ? 'the rows coincide exactly' : `rounded: the rows are at most ${spread.toExponential(2)} apart`})`);
  }
  return lines;
};

const formatFailure = (failure: ObjectivePropertyFailure, options: ObjectiveReportFormatOptions, indent: string): string[] => [
  `${indent}${failure.message}`,
  ...(failure.counterexample === undefined ? [] : formatCounterexample(failure.counterexample, indent)),
  `${indent}found at run ${failure.runs}, shrunk ${failure.shrinks} times; regenerate: fast-check seed ${failure.seed}` +
    (failure.path === undefined ? '' : `, path "${failure.path}"`),
  ...(options.rerunCommand === undefined ? [] : [`${indent}rerun: ${options.rerunCommand} --seed ${failure.seed}`]),
];

export const formatBatteryProperty = (result: ObjectivePropertyResult, options: ObjectiveReportFormatOptions = {}): string => {
  const indent = '        ';
  const head = `  ${label[result.outcome]}  ${result.name}  (${result.runs} run${result.runs === 1 ? '' : 's'}, ${seconds(result.seconds)})`;
  const lines = [head];
  if (result.note !== undefined) lines.push(`${indent}${result.note}`);
  if (result.outcome === 'info') lines.push(`${indent}${result.holds ? 'it holds' : 'it does not hold:'}`);
  if (result.failure !== undefined) lines.push(...formatFailure(result.failure, options, indent));
  return lines.join('\n');
};

const nodes = (n: number): string => `${n} stopGradient node${n === 1 ? '' : 's'}`;
const itOrThem = (n: number): string => (n === 1 ? 'it' : 'them');

/** What finite differences cannot judge: where the stopGradient nodes sit that the loss depends on. */
const stopGradientLines = ({ stopGradientNodes: n, reference }: ObjectiveBatteryPlan): string[] =>
  n === 0 ? []
  : reference ? [`  ${nodes(n)} the loss depends on: finite differences hold ${itOrThem(n)} fixed, so the gradient is also checked against \`reference\``]
  : [
      `  ${nodes(n)} the loss depends on: finite differences hold ${itOrThem(n)} fixed, so they agree with the gradient wherever`,
      `    ${n === 1 ? 'it sits' : 'they sit'}; export \`reference\`, a second implementation of the objective, to have the gradient checked against it`,
    ];

export const formatBatteryHeader = (report: ObjectiveBatteryPlan): string =>
  [
    `check-objective: ${report.name}`,
    `  option sets: ${report.optionSets.map(formatObjectiveOptions).join(', ')}`,
    `    (${report.optionSetsSource})`,
    `  batches: m ${report.sizes.instances.join('..')} instances (2m rows: first views, then second views), d ${report.sizes.dimensions.join('..')}, L2-normalised rows`,
    `  ${report.runs} runs a property, seed ${report.seed}`,
    ...stopGradientLines(report),
    '',
  ].join('\n');

export const formatBatterySummary = (report: ObjectiveReport): string => {
  const count = (outcome: ObjectivePropertyResult['outcome']) => report.properties.filter((p) => p.outcome === outcome).length;
  return [
    ...(report.warnings.length === 0 ? [] : ['', '  compiler warnings:', ...report.warnings.map((w) => `    ${w}`)]),
    '',
    `${count('passed')} passed, ${count('failed')} failed, ${count('info')} for information, in ${seconds(report.seconds)}: ` +
      (report.passed ? 'every required property holds' : 'FAILED: a required property does not hold'),
    ...(report.stopGradientNodes > 0 && !report.reference
      ? [`not judged: where the loss's ${nodes(report.stopGradientNodes)} ${report.stopGradientNodes === 1 ? 'sits' : 'sit'} (no \`reference\` to check the gradient against)`]
      : []),
  ].join('\n');
};

/** The whole report: the header, every property, the summary. */
export const formatObjectiveReport = (report: ObjectiveReport, options: ObjectiveReportFormatOptions = {}): string =>
  [formatBatteryHeader(report), ...report.properties.map((p) => formatBatteryProperty(p, options)), formatBatterySummary(report)].join('\n');
