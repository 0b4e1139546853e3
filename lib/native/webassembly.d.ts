// The part of the WebAssembly JavaScript API the native kernels use. Node has it all; the
// project compiles without the DOM library, which is where TypeScript declares it.

declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number; shared?: boolean });
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
    grow(pages: number): number;
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  function validate(bytes: Uint8Array): boolean;
  function instantiate(bytes: Uint8Array, imports?: Record<string, Record<string, unknown>>): Promise<{ module: Module; instance: Instance }>;
}
