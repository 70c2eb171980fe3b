// This module is browser compatible.
/**
 * lading: OCI images without a daemon — import, verify, store, list, inspect, export —
 * in Deno and in browsers. This is the library's whole public surface; the Deno
 * filesystem store is the separate export `@lading/oci/fs`.
 *
 * @example
 * ```ts
 * import { importImages, listImageSummaries, MemoryStore } from "./mod.ts";
 * const store = new MemoryStore();
 * console.log(typeof importImages, (await listImageSummaries(store)).length); // function 0
 * ```
 * @module
 */
export * from "./src/errors.ts";
export * from "./src/digest.ts";
export * from "./src/media_types.ts";
export type * from "./src/types.ts";
export * from "./src/schema.ts";
export * from "./src/platform.ts";
export * from "./src/reference.ts";
export type * from "./src/runtime/types.ts";
export { getRuntime, setRuntime } from "./src/runtime/mod.ts";
export type * from "./src/store/types.ts";
export { MemoryStore } from "./src/store/memory.ts";
export * from "./src/store/blob.ts";
export * from "./src/walk.ts";
export * from "./src/image.ts";
export * from "./src/tar.ts";
export {
  type ImportedImage,
  importImages,
  type ImportOptions,
  type ImportResult,
  type ImportTarget,
  type MissingBlob,
} from "./src/import/mod.ts";
export type { DirectorySource, ImportSource, StreamSource } from "./src/import/source.ts";
export * from "./src/import/names.ts";
export { decompress, detectCompression } from "./src/compression.ts";
export * from "./src/streams.ts";
export * from "./src/export/mod.ts";
export * from "./src/gc.ts";
export * from "./src/check.ts";
export * from "./src/layers/layer_reader.ts";
export * from "./src/layers/path.ts";
export * from "./src/layers/merged_fs.ts";
export * from "./src/layers/image_layers.ts";
export * from "./src/layers/waste.ts";
export * from "./src/layers/read_file.ts";
export * from "./src/layers/diff_ids.ts";
export * from "./src/layers/verify.ts";
export {
  type BlobProgress,
  type ContentSource,
  type ContentTarget,
  copyGraph,
  type CopyGraphOptions,
  type CopyGraphResult,
  storeSource,
  storeTarget,
  type TransferOutcome,
} from "./src/copy.ts";
export {
  type Challenge,
  type CredentialLookup,
  type Credentials,
  parseChallenges,
  TokenCache,
} from "./src/registry/auth.ts";
export { apiHost, RegistryTransport, type TransportOptions } from "./src/registry/transport.ts";
export {
  type FetchedManifest,
  MANIFEST_ACCEPT,
  referrersTag,
  RegistryClient,
  type RegistryClientOptions,
  type UploadOptions,
} from "./src/registry/client.ts";
export {
  registryImageSource,
  registrySource,
  registryTarget,
  type RegistryTargetOptions,
} from "./src/registry/repository.ts";
export {
  copyImage,
  pulledName,
  pullImage,
  type PullOptions,
  type PullResult,
  pushImage,
  type PushOptions,
  type PushResult,
} from "./src/registry/pull.ts";
export {
  addHistory,
  appendLayer,
  type ConfigChanges,
  emptyImage,
  type EmptyImageOptions,
  type HistoryOptions,
  type ImageDraft,
  loadImage,
  rebaseImage,
  setAnnotations,
  setConfig,
  writeImage,
  type WriteImageOptions,
  writeIndex,
  type WrittenImage,
} from "./src/build/image.ts";
export {
  type FileContent,
  type LayerFile,
  type LayerInput,
  type LayerOptions,
  writeLayer,
  type WrittenLayer,
} from "./src/build/layer.ts";
export {
  type NodeCryptoLike,
  nodeRuntime,
  type NodeStreamLike,
  type NodeZlibLike,
} from "./src/runtime/node.ts";
export { webRuntime } from "./src/runtime/web.ts";
export { type ImageFile, listImageFiles } from "./src/layers/files.ts";
