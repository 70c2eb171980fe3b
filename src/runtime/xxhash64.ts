// This module is browser compatible.
/**
 * hash-wasm's XXH64 alone, for `zstd_frames.ts` to load on the first zstd frame: a
 * dynamic `import("hash-wasm")` would make bundlers keep every hash-wasm algorithm
 * (~270 KB in each of the page's workers), a named import here keeps only this one.
 * @module
 */
export { createXXHash64 } from "hash-wasm";
