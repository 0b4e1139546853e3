// Says whether webgpu can run here: the adapter that answered and its limits, or why none did
// (exit status 1). Used by `npm run test:webgpu`; also a quick check for a new machine.

import { isLeft } from 'fp-ts/lib/Either.js';
import { webgpuDevice } from '../lib/compile/webgpu.ts';

const device = await webgpuDevice();
if (isLeft(device)) {
  console.log(`no WebGPU adapter: ${device.left}`);
  process.exitCode = 1;
} else {
  const { adapter, software, storageBuffersPerKernel } = device.right;
  console.log(`adapter: ${adapter}, ${storageBuffersPerKernel} storage buffers a kernel${software ? ' (a software rasteriser on the CPU)' : ''}`);
}
