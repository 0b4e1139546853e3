// A runtime runs one kind of segment of a compiled program (a host step, a gpu.js pipeline, a
// native GEMM step, a run of the native pool's JavaScript kernels): it reads its inputs from the
// call's values, writes its results there, releases what it was the last to read, and records
// what ran. compile() only walks the segments and hands each to the runtime of its kind.

import type { BuiltSegment } from '../build.ts';
import type { CallValues } from '../call-values.ts';
import type { CallRecord } from '../execution-report.ts';

export type SegmentKind = BuiltSegment['kind'];

export interface SegmentRuntime<S extends BuiltSegment> {
  readonly run: (segment: S, values: CallValues, record: CallRecord) => Promise<void>;
  /** Lets go of what the runtime holds on a backend (device buffers), when the compiled function is destroyed. */
  readonly release?: () => Promise<void>;
}

/** One runtime for each kind of segment. */
export type Runtimes = { readonly [K in SegmentKind]: SegmentRuntime<Extract<BuiltSegment, { kind: K }>> };

/** Runs a segment on the runtime of its kind. */
export const runSegment = (runtimes: Runtimes, segment: BuiltSegment, values: CallValues, record: CallRecord): Promise<void> =>
  (runtimes[segment.kind] as SegmentRuntime<BuiltSegment>).run(segment, values, record);
