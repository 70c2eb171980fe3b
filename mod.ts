// This module is browser compatible.
/**
 * lading: OCI container images without a daemon, in Deno, Node and browsers — verified
 * all-or-nothing import, a content-addressed store (an OCI image layout), inspection and
 * merged filesystem views, deterministic export, image building, and registry pull/push.
 *
 * This is the main entry point; the others are `@lading/oci/fs` (Deno: the filesystem
 * store, path-based short calls, unpack), `@lading/oci/opfs` (browsers: the Origin Private
 * File System store), `@lading/oci/layers` (layer readers and the merged filesystem),
 * `@lading/oci/tar` (the strict tar reader), `@lading/oci/schema` (validating parsers) and
 * `@lading/oci/cli` (the command line).
 *
 * @example
 * ```ts
 * import { appendLayer, emptyImage, listImageFiles, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * const image = await appendLayer(store, emptyImage(), { files: [{ path: "hello", content: "hi" }] });
 * await writeImage(store, image, { name: "example.com/hello:1" });
 * console.log((await listImageFiles(store, "example.com/hello:1")).map((f) => f.path)); // [ "hello" ]
 * ```
 * @module
 */

// Errors
export {
  AlreadyExistsError,
  CancelledError,
  DigestMismatchError,
  InvalidInputError,
  IoError,
  LadingError,
  LimitExceededError,
  MissingContentError,
  NotFoundError,
  QuotaExceededError,
  RegistryError,
  SizeMismatchError,
} from "./src/errors.ts";

// Spec types, media types, digests, platforms, references
export type {
  Annotations,
  ContainerConfig,
  Descriptor,
  DockerArchiveEntry,
  History,
  ImageConfig,
  ImageIndex,
  ImageLayout,
  ImageManifest,
  Platform,
  RootFS,
} from "./src/types.ts";
export {
  type Compression,
  CONTAINERD_NAME,
  DOCKER_CONFIG,
  DOCKER_LAYER,
  DOCKER_LAYER_FOREIGN,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_PLUGIN_CONFIG,
  IN_TOTO,
  isConfigMediaType,
  isIndexMediaType,
  isLayerMediaType,
  isManifestMediaType,
  isNonDistributable,
  layerCompression,
  OCI_CONFIG,
  OCI_DESCRIPTOR,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_LAYER,
  OCI_LAYER_GZIP,
  OCI_LAYER_NONDIST,
  OCI_LAYER_NONDIST_GZIP,
  OCI_LAYER_NONDIST_ZSTD,
  OCI_LAYER_ZSTD,
  OCI_LAYOUT_HEADER,
  OCI_MANIFEST,
  OCI_REF_NAME,
} from "./src/media_types.ts";
export {
  type Digest,
  type DigestAlgorithm,
  digestBytes,
  EMPTY_JSON_DIGEST,
  type Expectation,
  isDigest,
  type ParsedDigest,
  parseDigest,
  shortDigest,
  verifyingStream,
} from "./src/digest.ts";
export {
  choosePlatformManifest,
  formatPlatform,
  hostPlatform,
  isAttestation,
  normalizePlatform,
  parsePlatform,
  platformMatches,
} from "./src/platform.ts";
export {
  familiarName,
  formatReference,
  normalizeReference,
  parseReference,
  type Reference,
  tryNormalizeReference,
} from "./src/reference.ts";
export { detectCompression } from "./src/compression.ts";

// Runtimes
export type { Decoder, Hasher, Runtime } from "./src/runtime/types.ts";
export { getRuntime, setRuntime } from "./src/runtime/mod.ts";
export {
  type NodeCryptoLike,
  nodeRuntime,
  type NodeRuntimeModules,
  type NodeStreamLike,
  type NodeZlibLike,
} from "./src/runtime/node.ts";
export { webRuntime } from "./src/runtime/web.ts";

// Stores (by role) and the in-memory store
export type {
  BlobHashing,
  BlobInfo,
  BlobIngester,
  BlobManager,
  BlobProvider,
  BlobWriter,
  ContentStore,
  ImageNames,
  ImageRecord,
  ImageSource,
  ImageTarget,
  Lease,
  Leases,
  NameReader,
  NameWriter,
  Store,
  WriterOptions,
} from "./src/store/types.ts";
export { MemoryStore } from "./src/store/memory.ts";
export { readBlobBytes, writeBlob } from "./src/store/blob.ts";

// Import and open
export {
  type ImportedEntry,
  type ImportedImage,
  importImages,
  type ImportInput,
  type ImportOptions,
  type ImportResult,
  type ImportTarget,
  type MissingBlob,
} from "./src/import/mod.ts";
export type { NameOptions } from "./src/import/names.ts";
export type { DirectorySource, ImportSource, StreamSource } from "./src/import/source.ts";
export {
  type ArchiveSource,
  type ArchiveView,
  openArchive,
  type OpenArchiveOptions,
  type RandomAccessFiles,
} from "./src/web/archive_store.ts";

// Read images
export {
  findImage,
  type ImageSummary,
  listImageSummaries,
  type ResolvedImage,
  resolveImage,
  summarizeImage,
} from "./src/image.ts";
export {
  type BlobPresence,
  blobPresence,
  childrenHandler,
  childrenOf,
  type ChildrenOptions,
  configPlatform,
  type Document,
  type DocumentCache,
  filterByPlatform,
  filterPlatforms,
  type Handler,
  readConfig,
  readDocument,
  type ReadOptions,
  rootsReaching,
  walk,
  type WalkContext,
  type WalkedGraph,
  walkGraph,
  type WalkOptions,
} from "./src/walk.ts";
export { type ImageFileEntry, listImageFiles } from "./src/layers/files.ts";
export {
  type ImageFile,
  readImageFile,
  type ReadImageFileOptions,
} from "./src/layers/read_file.ts";
export {
  type CachedEntry,
  type CachedLayer,
  type LayerIndexCache,
  type LayerSummary,
  type MergedImage,
  mergeImage,
  readImageLayers,
  type ReadImageLayersOptions,
  type ReadLayersOptions,
} from "./src/layers/image_layers.ts";
export { analyzeWaste, type WastedPath, type WasteReport } from "./src/layers/waste.ts";

// Verify and collect garbage
export {
  type BlobProblem,
  checkImage,
  checkImages,
  type CheckOptions,
  type ContentReport,
  type ImageCheck,
  type PlatformStatus,
  type ProblemKind,
  streamHashing,
  verifyContent,
} from "./src/check.ts";
export {
  checkDiffIds,
  type DiffIdReport,
  type ManifestDiffIdCheck,
} from "./src/layers/diff_ids.ts";
export { collectGarbage, type GcOptions, type GcResult, reachableDigests } from "./src/gc.ts";

// Export
export {
  type ArchivePart,
  exportArchive,
  type ExportedImage,
  type ExportFormat,
  type ExportOptions,
  type ExportPlan,
  planExport,
  type WriteOptions,
} from "./src/export/mod.ts";

// Build and change images
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

// Registries and copying between sources and targets
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
  type TokenRequest,
} from "./src/registry/auth.ts";
export {
  apiHost,
  type RegistryRequest,
  RegistryTransport,
  type RequestBody,
  type TransportOptions,
} from "./src/registry/transport.ts";
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
  type CopyOptions,
  pulledName,
  pullImage,
  type PullOptions,
  type PullResult,
  pushImage,
  type PushImageOptions,
  type PushOptions,
  type PushResult,
} from "./src/registry/pull.ts";
