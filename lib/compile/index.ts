export { compile } from './compile.ts';
export type { ArgumentValue, CompiledFunction, CompiledValue, CompileOptions, ExecutionReport, KernelTiming } from './compile.ts';
export { backendNames, chooseBackend } from './backend.ts';
export type { BackendChoice, BackendName } from './backend.ts';
