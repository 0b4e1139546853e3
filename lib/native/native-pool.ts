// The native kernels' threads: one worker per core (as gpu.js sizes its own pool), each with an
// instance of the kernels' module (GEMM, patch gather, shifted sums) over the float arena's shared
// WebAssembly memory (float-arena.ts), where a compiled program's arrays are: a job reads its
// operands there in place (others the main thread copies into the pool's scratch block), each
// worker takes its share, and the results go to the caller's array or the scratch block.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { assembleModule } from './wasm-assembler.ts';
import { GEMM_COLUMNS, GEMM_ROWS, gemmKernel } from './gemm-kernel.ts';
import { implicitGemmKernel } from './implicit-gemm-kernel.ts';
import { implicitRowsGemmKernel } from './implicit-rows-gemm-kernel.ts';
import { multiplyAdd, type MultiplyAdd } from './relaxed-simd.ts';
import { patchRowKernel } from './patch-kernel.ts';
import { shiftAddRowKernel } from './shift-add-kernel.ts';
import { transposeTapsKernel } from './transpose-kernel.ts';
import type { JavascriptKernel } from './javascript-kernel.ts';
import { type FloatArena, MAXIMUM_PAGES, sharedFloatArena } from './float-arena.ts';
import type { NativeOperand, StridedView } from './strided-view.ts';
import type { NativeJob, NativeWorkerData, WorkerReply } from './worker-jobs.ts';

/**
 * Below this many inner-loop passes a kernel runs on the calling thread: handing it to the
 * workers costs a message and a reply each, tens of microseconds.
 */
const PASSES_ON_THE_CALLING_THREAD = 1 << 15;

let compiledModule: WebAssembly.Module | undefined;
const gemmModule = () => (compiledModule ??= new WebAssembly.Module(assembleModule([
      { name: 'gemm', body: gemmKernel({ fusedMultiplyAdd: multiplyAdd().fused }) },
      { name: 'implicitGemm', body: implicitGemmKernel({ fusedMultiplyAdd: multiplyAdd().fused }) },
      { name: 'implicitRowsGemm', body: implicitRowsGemmKernel({ fusedMultiplyAdd: multiplyAdd().fused }) },
      { name: 'patchRow', body: patchRowKernel() },
      { name: 'shiftAddRow', body: shiftAddRowKernel() },
      { name: 'transposeTaps', body: transposeTapsKernel() },
    ], MAXIMUM_PAGES)));

/**
 * How a worker thread starts: by registering tsx's loader, then importing worker.ts. A worker
 * does not inherit the loader the main thread runs under (neither `node --import tsx` nor the
 * tsx command reach worker threads in Node 20), so a worker started from worker.ts's URL alone
 * would fail on its first type annotation.
 */
const workerSource = (): string => {
  const loader = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const worker = JSON.stringify(new URL('./worker.ts', import.meta.url).href);
  return `import(${loader}).then(({ register }) => { register(); return import(${worker}); });`;
};

export class NativePool {
  readonly threads: number;
  /** Whether the GEMM kernel's multiply-adds are fused (relaxed-simd.ts), and how or why not. */
  readonly multiplyAdd: MultiplyAdd = multiplyAdd();
  private readonly arena: FloatArena = sharedFloatArena();
  private readonly memory: WebAssembly.Memory = this.arena.memory;
  private workers: Worker[] | undefined;
  private floats: Float32Array = new Float32Array(this.memory.buffer);
  /** This pool's scratch block in the arena: operands copied in, packed factors, products. */
  private scratch: Float32Array | undefined;

  constructor(threads = availableParallelism()) {
    this.threads = Math.max(1, threads);
  }

  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Runs `job` once every job begun before it has ended: each job lays its operands out from
   * the start of the one shared memory, so two at once (two compiled functions called together)
   * would overwrite each other's.
   */
  exclusive<T>(job: () => Promise<T>): Promise<T> {
    const result = this.queue.then(job);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * The shared memory as floats, and where this pool's scratch block of at least `elements`
   * floats begins in it and how long it is (taken from the arena, larger when a job needs
   * more). Every offset a job names is into this memory. Call it inside `exclusive`.
   */
  reserve(elements: number): { readonly memory: Float32Array; readonly base: number; readonly length: number } {
    if (this.scratch === undefined || this.scratch.length < elements) {
      if (this.scratch !== undefined) this.arena.give(this.scratch);
      this.scratch = this.arena.take(elements);
    }
    if (this.floats.buffer.byteLength !== this.memory.buffer.byteLength) this.floats = new Float32Array(this.memory.buffer);
    return { memory: this.floats, base: this.scratch.byteOffset / 4, length: this.scratch.length };
  }

  /** Where `array` is in the memory the jobs address (an arena array), its offset there in floats. */
  offsetOf(array: Float32Array): number | undefined {
    return this.arena.holds(array) ? array.byteOffset / 4 : undefined;
  }

  /**
   * Where a job reads an operand: in place where its array is the arena's, the view shifted to
   * the array's position in the memory; otherwise copied to `at` (in the scratch block).
   */
  place(memory: Float32Array, { data, view }: NativeOperand, at: number): StridedView {
    const offset = this.offsetOf(data);
    if (offset !== undefined) return { ...view, offset: view.offset + offset };
    memory.set(data, at);
    return { ...view, offset: view.offset + at };
  }

  /** Runs one job on each of the first `jobs.length` workers and waits for all of them. */
  async run(jobs: readonly NativeJob[], what?: string): Promise<void> {
    const workers = this.start();
    const replies = jobs.map(
      (job, i) =>
        new Promise<void>((resolve, reject) => {
          const worker = workers[i];
          const onError = (error: Error) => reject(new Error(`native kernels: worker ${i} failed: ${error.message}`));
          worker.once('error', onError);
          // A worker in a job keeps the process alive until it answers.
          worker.ref();
          worker.once('message', (reply: WorkerReply) => {
            worker.off('error', onError);
            worker.unref();
            if (reply.ok) resolve();
            else reject(new Error(`native kernels: worker ${i} failed on a ${job.kind} job${what === undefined ? '' : ` for ${what}`}: ${reply.message}`));
          });
          worker.postMessage(job);
        }),
    );
    // Every worker's reply is awaited, failed or not, before the next job: a reply that came
    // late would otherwise be taken for the next job's.
    const settled = await Promise.allSettled(replies);
    const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** The kernels each worker has compiled, by id: the source is sent with the first job only. */
  private readonly sent: Set<number>[] = [];
  /** Kernels each worker is to drop, told with its next kernel job. */
  private readonly forgotten: number[][] = [];

  /**
   * The workers drop these kernels (a compiled function destroyed: a run compiles its kNN afresh
   * each epoch, and the workers would otherwise keep every epoch's kernels).
   */
  forget(kernels: Iterable<JavascriptKernel>): void {
    for (const kernel of kernels)
      this.sent.forEach((sent, i) => {
        if (sent.delete(kernel.id)) (this.forgotten[i] ??= []).push(kernel.id);
      });
  }

  /**
   * Writes positions [0, cells) of `out` with a JavaScript kernel reading `buffers`, all in
   * shared memory: on this thread when the kernel is small, else in equal shares, the first on
   * this thread and the others on the workers. Its element loop runs as SIMD where it has one
   * and every array is in the float arena. Answers the number of threads it ran on, and whether
   * it ran the SIMD loop.
   *
   * This thread takes a share because it would otherwise wait: handing a kernel to both workers
   * cost about 90 us beyond its work here (two messages out, two replies, four wake-ups), one
   * worker about a third of that, and this thread's own share overlaps it.
   */
  async runKernel(kernel: JavascriptKernel, out: Float32Array, buffers: readonly Float32Array[], cells: number): Promise<{ readonly threads: number; readonly simd: boolean }> {
    const arena = sharedFloatArena();
    const simd = kernel.simd !== undefined && arena.holds(out) && buffers.every((buffer) => arena.holds(buffer));
    const shares = Math.min(this.threads, Math.ceil((cells * kernel.cost(simd)) / PASSES_ON_THE_CALLING_THREAD));
    const share = (i: number) => [Math.floor((cells * i) / shares), Math.floor((cells * (i + 1)) / shares)] as const;
    const here = (start: number, end: number) => {
      try {
        kernel.runHere(out, buffers, start, end, simd);
      } catch (error) {
        throw new Error(`native kernels: the kernel for ${kernel.name} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    if (shares <= 1) {
      here(0, cells);
      return { threads: 1, simd };
    }
    await this.exclusive(async () => {
      // The workers' shares are posted first (run posts before it awaits), then this thread's runs.
      const workers = this.run(
        Array.from({ length: shares - 1 }, (_, i) => {
          const sent = (this.sent[i] ??= new Set());
          const first = !sent.has(kernel.id);
          sent.add(kernel.id);
          const forget = this.forgotten[i]?.splice(0) ?? [];
          const [start, end] = share(i + 1);
          return {
            kind: 'kernel',
            id: kernel.id,
            ...(first ? { source: kernel.source, ...(kernel.simd === undefined ? {} : { simdModule: kernel.simdModule }) } : {}),
            simd,
            ...(forget.length > 0 ? { forget } : {}),
            out,
            buffers,
            start,
            end,
          };
        }),
        kernel.name,
      ).catch((error: unknown) => {
        // A worker that failed on the kernel's first job did not keep it: send the source again.
        for (const sent of this.sent) sent?.delete(kernel.id);
        throw error;
      });
      try {
        here(...share(0));
      } finally {
        // Every worker's reply is awaited before the next job, whether this share failed or not.
        await workers;
      }
    });
    return { threads: shares, simd };
  }

  async destroy(): Promise<void> {
    const workers = this.workers;
    this.workers = undefined;
    this.sent.length = 0;
    this.forgotten.length = 0;
    if (workers) await Promise.all(workers.map((worker) => worker.terminate()));
    // The scratch block goes back to the arena once no worker can be writing it.
    if (this.scratch !== undefined) this.arena.give(this.scratch);
    this.scratch = undefined;
  }

  private start(): Worker[] {
    if (this.workers === undefined) {
      const module = gemmModule();
      const workerData: NativeWorkerData = { module, memory: this.memory, arena: sharedFloatArena().memory, blockRows: GEMM_ROWS, blockColumns: GEMM_COLUMNS };
      const source = workerSource();
      this.workers = Array.from({ length: this.threads }, () => {
        const worker = new Worker(source, { eval: true, workerData });
        // Idle workers must not keep the process alive; a job in flight is awaited by its caller.
        worker.unref();
        return worker;
      });
    }
    return this.workers;
  }
}

let shared: NativePool | undefined;
/** The process's pool, started on first use; idle, its workers do not keep the process alive. */
export const sharedNativePool = (): NativePool => (shared ??= new NativePool());
