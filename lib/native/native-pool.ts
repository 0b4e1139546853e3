// The native kernels' threads: one worker per core (as gpu.js sizes its own pool), each with an
// instance of the kernels' module (GEMM, patch gather, shifted sums) over one shared WebAssembly memory. The main thread lays a job's
// operands into the memory, hands each worker its share, and reads the result back.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { assembleModule } from './wasm-assembler.ts';
import { GEMM_COLUMNS, GEMM_ROWS, gemmKernel } from './gemm-kernel.ts';
import { patchRowKernel } from './patch-kernel.ts';
import { shiftAddRowKernel } from './shift-add-kernel.ts';

const PAGE_FLOATS = 65536 / 4;
/** WebAssembly's 32-bit addresses: 4 GiB, 65536 pages. */
const MAXIMUM_PAGES = 65536;

let compiledModule: WebAssembly.Module | undefined;
const gemmModule = () => (compiledModule ??= new WebAssembly.Module(assembleModule([
      { name: 'gemm', body: gemmKernel() },
      { name: 'patchRow', body: patchRowKernel() },
      { name: 'shiftAddRow', body: shiftAddRowKernel() },
    ], MAXIMUM_PAGES)));

/** A job for one worker (see worker.js for the kinds); offsets are in floats. */
export type NativeJob = { readonly kind: 'conv-images' | 'conv-channels' | 'conv-shifts' | 'matmul' } & Record<string, unknown>;

export class NativePool {
  readonly threads: number;
  private readonly memory: WebAssembly.Memory;
  private workers: Worker[] | undefined;
  private floats: Float32Array;

  constructor(threads = availableParallelism()) {
    this.threads = Math.max(1, threads);
    this.memory = new WebAssembly.Memory({ initial: 16, maximum: MAXIMUM_PAGES, shared: true });
    this.floats = new Float32Array(this.memory.buffer);
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

  /** The shared memory as floats, grown first to hold at least `elements`. Call it inside `exclusive`. */
  reserve(elements: number): Float32Array {
    const pages = Math.ceil(elements / PAGE_FLOATS);
    const current = this.memory.buffer.byteLength / 65536;
    if (pages > MAXIMUM_PAGES)
      throw new Error(`native kernels: a step needs ${(elements * 4) / 2 ** 30} GiB of working memory, more than WebAssembly's 4 GiB; use a smaller batch`);
    if (pages > current) this.memory.grow(pages - current);
    if (this.floats.buffer.byteLength !== this.memory.buffer.byteLength) this.floats = new Float32Array(this.memory.buffer);
    return this.floats;
  }

  /** Runs one job on each of the first `jobs.length` workers and waits for all of them. */
  async run(jobs: readonly NativeJob[]): Promise<void> {
    const workers = this.start();
    const replies = jobs.map(
      (job, i) =>
        new Promise<void>((resolve, reject) => {
          const worker = workers[i];
          const onError = (error: Error) => reject(new Error(`native kernels: worker ${i} failed: ${error.message}`));
          worker.once('error', onError);
          // A worker in a job keeps the process alive until it answers.
          worker.ref();
          worker.once('message', (reply: { ok: boolean; message?: string }) => {
            worker.off('error', onError);
            worker.unref();
            if (reply.ok) resolve();
            else reject(new Error(`native kernels: worker ${i} failed on a ${job.kind} job: ${reply.message}`));
          });
          worker.postMessage(job);
        }),
    );
    await Promise.all(replies);
  }

  async destroy(): Promise<void> {
    const workers = this.workers;
    this.workers = undefined;
    if (workers) await Promise.all(workers.map((worker) => worker.terminate()));
  }

  private start(): Worker[] {
    if (this.workers === undefined) {
      const module = gemmModule();
      this.workers = Array.from({ length: this.threads }, () => {
        const worker = new Worker(new URL('./worker.js', import.meta.url), {
          workerData: { module, memory: this.memory, blockRows: GEMM_ROWS, blockColumns: GEMM_COLUMNS },
        });
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
