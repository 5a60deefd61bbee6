/** Backend layer: choosing the backend, wasm kernel fixes and threads, the 2-D matmul helper, memory checks. */
export { tf } from './tf';
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Rank, Variable, NamedTensorMap } from './tf';
export { ready, backendInfo, shutdownBackends, pickBackend, BACKEND_NAMES, DEFAULT_LOADERS } from './select';
export type { BackendName, BackendInfo, ReadyOptions, BackendLoader, LoadedBackend } from './select';
export { prepareNativeEnvironment } from './native';
export type { NativeInfo } from './native';
export { canReadSync, isSoftwareAdapter, webGpuAdapterInfo, DAWN_BACKENDS, WEBGPU_PACKAGES } from './webgpu';
export type { WebGpuInfo, DawnBackend } from './webgpu';
export { matmul, matmulNoGrad, matmulShape, transposeLast2 } from './matmul';
export type { MatmulShape } from './matmul';
export { assertFitsInMemory, backendMemoryLimit, formatBytes, WASM_HEAP_LIMIT_BYTES } from './memory';
export { registerWasmKernelFixes, copyBox, transposeLastTwo } from './wasm-kernels';
export { segmentMatmul, gatherSegments, segmentKernelsAvailable } from './segments';
export type { SegmentProduct } from './segments';
export { MAX_WASM_THREADS } from './wasm-threads';
