// Emscripten pthread worker for tfjs-backend-wasm's threaded-SIMD build under Node's worker_threads.
// Emscripten would start this worker from a blob: URL, which Node cannot load; ./wasm-threads.ts
// points it here instead. The worker source ships inside the package as a string; its "\n"
// escapes were unescaped by the template literal that holds it, so restore them as the backend does.
const { wasmWorkerContents } = require(
  '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js');
new Function('require', '__filename', wasmWorkerContents.replace(/\n/g, '\\n'))(require, __filename);
