export { compile, planKernels } from './compile.ts';
export { type Capabilities, capabilitiesOf, type CompileLimits } from './capabilities.ts';
export { webgpuDevice, type WebGPUDevice } from './webgpu.ts';
export type { ArgumentValue, CompiledFunction, CompiledValue, CompileOptions, ExecutionReport, KernelTiming, KernelWork } from './compile.ts';
export { backendNamed, backendNames, chooseBackend } from './backend.ts';
export type { BackendChoice, BackendName, BackendRequest } from './backend.ts';
