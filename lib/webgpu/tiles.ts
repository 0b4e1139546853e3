// Tile sizes for the tiled WGSL kernels, chosen from the device's limits and the problem's shape.
//
// A workgroup computes a block of rows x columns of a matrix product C = A B. It stages a slab of
// A (rows x depth) and of B (depth x columns) in workgroup memory, then each invocation multiplies
// the slabs into a small register tile of its own (registers[0] x registers[1] outputs), so every
// value read from workgroup memory feeds several multiply-adds. The block is
// workgroup[1] * registers[0] rows by workgroup[0] * registers[1] columns.
//
// Which block suits a problem depends on the device: a large block reuses each loaded value more
// but leaves fewer workgroups to spread over the device's cores. WebGPU's default limits (16 KiB
// of workgroup memory, 256 invocations) fit every block offered here, so a device that grants no
// more than the defaults (gpu.js asks for none of these limits) runs all of them.

/** The limits a tiled kernel is sized by, under WebGPU's own names. */
export interface KernelLimits {
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxComputeWorkgroupSizeY: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxStorageBuffersPerShaderStage: number;
}

/** What every WebGPU device grants unless more was asked for (the specification's defaults). */
export const webgpuDefaultLimits: KernelLimits = {
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBufferBindingSize: 134217728,
  maxStorageBuffersPerShaderStage: 8,
};

/** A device's limits as the kernels need them (a GPUSupportedLimits, or anything shaped like one). */
export const kernelLimitsOf = (limits: Readonly<Record<keyof KernelLimits, number>>): KernelLimits => ({
  maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
  maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
  maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
  maxComputeWorkgroupSizeY: limits.maxComputeWorkgroupSizeY,
  maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
  maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
  maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
});

export interface TileConfig {
  /** Invocations of a workgroup: [across columns, across rows]. */
  readonly workgroup: readonly [number, number];
  /** Outputs one invocation keeps in registers: [rows, columns]. */
  readonly registers: readonly [number, number];
  /** How much of the shared (inner) dimension one slab stages at a time. */
  readonly depth: number;
}

export const tileRows = (config: TileConfig): number => config.workgroup[1] * config.registers[0];
export const tileColumns = (config: TileConfig): number => config.workgroup[0] * config.registers[1];
export const invocations = (config: TileConfig): number => config.workgroup[0] * config.workgroup[1];
/** Workgroup memory one block stages: a slab of A and one of B, in float32. */
export const workgroupBytes = (config: TileConfig): number => 4 * config.depth * (tileRows(config) + tileColumns(config));

/**
 * Whether a device with these limits can run the config, and whether the kernels' loads divide
 * evenly among the invocations (each loads the same number of values of each slab, or a slab
 * smaller than the workgroup is loaded by its first invocations, one value each; and the column
 * (or row) an invocation loads stays the same from slab to slab, so its index arithmetic is done
 * once).
 */
export const fits = (config: TileConfig, limits: KernelLimits): boolean => {
  const threads = invocations(config);
  const rows = tileRows(config);
  const columns = tileColumns(config);
  return (
    threads <= limits.maxComputeInvocationsPerWorkgroup &&
    config.workgroup[0] <= limits.maxComputeWorkgroupSizeX &&
    config.workgroup[1] <= limits.maxComputeWorkgroupSizeY &&
    workgroupBytes(config) <= limits.maxComputeWorkgroupStorageSize &&
    [rows, columns, config.depth].every((extent) => threads % extent === 0) &&
    [rows, columns].every((extent) => (extent * config.depth) % threads === 0 || threads % (extent * config.depth) === 0)
  );
};

/**
 * For small products only (`smallProduct`): a product that small is bound by the latency of one
 * dispatch, not by what a block reuses, and this config's short body (8 multiply-adds a slab)
 * a driver compiles fastest: lavapipe takes about 1 s for it against 4 s for 8x8/4x4/16, which
 * the compiled-equals-interpreted properties, drawing new shapes each run, pay every time.
 */
export const smallProductConfig: TileConfig = { workgroup: [8, 8], registers: [1, 1], depth: 8 };

/** Multiply-adds up to which a product is small, and its output up to which it is; both must hold. */
export const smallProduct = { multiplyAdds: 2 ** 20, outputs: 4096 } as const;

/** The blocks on offer: 128 x 128 reuses most, 32 x 32 leaves most workgroups; ties go to the first. */
export const tileConfigs: readonly TileConfig[] = [
  { workgroup: [16, 16], registers: [8, 8], depth: 16 },
  { workgroup: [16, 16], registers: [4, 8], depth: 16 },
  { workgroup: [16, 16], registers: [8, 4], depth: 16 },
  { workgroup: [32, 8], registers: [4, 4], depth: 16 },
  { workgroup: [8, 32], registers: [4, 4], depth: 16 },
  { workgroup: [16, 16], registers: [4, 4], depth: 16 },
  { workgroup: [8, 8], registers: [4, 4], depth: 16 },
  // Few rows: an input gradient into 3 channels would leave 29 of a 32-row block's rows idle.
  { workgroup: [64, 4], registers: [1, 4], depth: 8 },
  // Beyond WebGPU's defaults: a device that grants them (lavapipe: 32 KiB and 1024 invocations).
  { workgroup: [16, 16], registers: [8, 8], depth: 32 },
  { workgroup: [32, 32], registers: [4, 4], depth: 16 },
  smallProductConfig,
];

/**
 * Workgroups a dispatch should have before a larger block is worth its reuse: enough to keep a
 * large GPU's cores busy a few times over (an H200 has 132 streaming multiprocessors).
 */
export const busyWorkgroups = 264;

export interface GemmExtent {
  readonly rows: number;
  readonly columns: number;
  readonly depth: number;
  /** Independent products (a batch of matrices). */
  readonly batches: number;
}

/** Blocks of this config the product needs. */
export const blocksOf = (extent: GemmExtent, config: TileConfig): number =>
  Math.ceil(extent.rows / tileRows(config)) * Math.ceil(extent.columns / tileColumns(config)) * extent.batches;

/**
 * Of the configs that fit the device, the one that does most useful work per value loaded while
 * keeping the device busy: a block's reuse (its outputs per value staged), times the share of its
 * outputs inside the product (a 128-row block over 32 output channels computes three quarters
 * padding), times how much of the device its blocks (split along the inner dimension where there
 * are few, `chooseSplits`) keep busy. Ties go to the config listed first. A small product
 * takes `smallProductConfig`.
 */
export const chooseTileConfig = (extent: GemmExtent, limits: KernelLimits): TileConfig => {
  const outputs = extent.rows * extent.columns * extent.batches;
  if (outputs <= smallProduct.outputs && outputs * extent.depth <= smallProduct.multiplyAdds && fits(smallProductConfig, limits)) return smallProductConfig;
  const fitting = tileConfigs.filter((config) => config !== smallProductConfig && fits(config, limits));
  if (fitting.length === 0) throw new Error('webgpu tiles: no tile config fits this device (it grants fewer than 64 invocations or 4 KiB of workgroup memory)');
  const score = (config: TileConfig) => {
    const rows = tileRows(config);
    const columns = tileColumns(config);
    const blocks = blocksOf(extent, config);
    const inside = (extent.rows * extent.columns * extent.batches) / (blocks * rows * columns);
    const busy = Math.min(1, (blocks * chooseSplits(extent, config)) / busyWorkgroups);
    return ((rows * columns) / (rows + columns)) * inside * busy;
  };
  return fitting.reduce((best, config) => (score(config) > score(best) ? config : best));
};

/**
 * Into how many ranges of the inner dimension to split a product whose output is too small to
 * keep the device busy (a convolution's weight gradient: a 3 x 3 kernel's worth of outputs summed
 * over every pixel of the batch). Each range is a whole number of slabs and at least four slabs
 * deep; the ranges' partial sums are added by a second kernel. Enough ranges for `busyWorkgroups`
 * however few the blocks: the first convolution's weight gradient of the small encoder is one
 * block, and when its splits stopped at 64 it ran 64 workgroups on the H200's 132 multiprocessors
 * at 185 GFLOP/s, where the next two layers' (53 splits of several blocks) reached 2,800 and
 * 4,200 (bench/tiled-kernels.ts, batch 256). Their partial sums stay below busyWorkgroups blocks'
 * worth of floats (17 MB at 128 x 128).
 */
export const chooseSplits = (extent: GemmExtent, config: TileConfig): number => {
  const blocks = blocksOf(extent, config);
  const slabs = Math.ceil(extent.depth / config.depth);
  if (blocks >= busyWorkgroups) return 1;
  return Math.max(1, Math.min(Math.ceil(busyWorkgroups / blocks), Math.floor(slabs / 4)));
};

/**
 * A dispatch of `groups` workgroups within the per-dimension limit: along x, folded onto y (and z)
 * when there are more. The kernels number their workgroups x + y * X + z * X * Y and return early
 * past `groups`, so any fold works.
 */
export const dispatchFor = (groups: number, limits: KernelLimits): [number, number, number] => {
  const most = limits.maxComputeWorkgroupsPerDimension;
  if (groups <= most) return [Math.max(groups, 1), 1, 1];
  const y = Math.ceil(groups / most);
  if (y <= most) return [Math.ceil(groups / y), y, 1];
  const z = Math.ceil(y / most);
  if (z > most) throw new Error(`webgpu tiles: ${groups} workgroups are more than a dispatch holds`);
  return [most, most, z];
};
