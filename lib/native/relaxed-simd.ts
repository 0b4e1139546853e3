// Whether this engine runs WebAssembly's relaxed SIMD, whose f32x4.relaxed_madd lets the GEMM
// kernel do a multiply-add in one instruction (an FMA on x86-64 with FMA, on ARM64) instead of a
// multiply and an add. The kernel's inner loop is bound by instructions, not by memory:
// `node --import tsx bench/gemm-kernel.ts` on one core of this project's 2-core AMD EPYC runs
// the step's shapes 1.26 to 1.40 times as fast fused.
//
// Relaxed SIMD is a finished WebAssembly feature that V8 ships on by default from V8 11.4
// (Node 22); Node 20's V8 has it behind --experimental-wasm-relaxed-simd. So: validate a module
// that uses it; where that fails, turn V8's flag on and validate again (a WebAssembly feature
// flag is read when a module is validated, so turning it on before the GEMM module is compiled
// is enough, for the worker threads too: V8's flags are the process's). Where it still fails,
// the kernel multiplies and adds, and the report says why (report().native.multiplyAdd).

import { setFlagsFromString } from 'node:v8';
import { assembleModule, FunctionBuilder } from './wasm-assembler.ts';

export type MultiplyAdd = { readonly fused: true; readonly how: string } | { readonly fused: false; readonly reason: string };

/** A module of one function that does one relaxed_madd on zeros: valid only where relaxed SIMD is. */
const probe = (): Uint8Array => {
  const f = new FunctionBuilder(['i32']);
  f.get(f.param(0)).v128Zero().v128Zero().v128Zero().f32x4RelaxedMadd().v128Store(0);
  return assembleModule([{ name: 'probe', body: f }], 1);
};

/** The form in a few words, for the benches' lines: "fused (how)" or "separate (why)". */
export const describeMultiplyAdd = (form: MultiplyAdd): string => (form.fused ? `fused (${form.how})` : `separate (${form.reason})`);

let known: MultiplyAdd | undefined;

/** Whether the GEMM kernel may use relaxed_madd here, turning V8's flag on where that is what it takes. */
export const multiplyAdd = (): MultiplyAdd => {
  if (known !== undefined) return known;
  const module = probe();
  if (WebAssembly.validate(module)) return (known = { fused: true, how: 'relaxed SIMD, on by default' });
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch (error) {
    return (known = { fused: false, reason: `relaxed SIMD is off and V8's flag could not be set (${error instanceof Error ? error.message : String(error)})` });
  }
  if (WebAssembly.validate(module)) return (known = { fused: true, how: 'relaxed SIMD, on by --experimental-wasm-relaxed-simd' });
  return (known = { fused: false, reason: `this engine (Node ${process.versions.node}, V8 ${process.versions.v8}) does not validate relaxed SIMD` });
};
