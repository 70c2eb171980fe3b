// This module is browser compatible.
/**
 * `@lading/oci/layers` — the layer-level tools under `listImageFiles`, `mergeImage` and
 * `analyzeWaste`: a streaming reader for one layer blob (any compression, strict tar,
 * decompression cap), OCI whiteout paths, and the merged filesystem that applies layers
 * in order.
 *
 * @example
 * ```ts
 * import { openLayer } from "@lading/oci/layers";
 * import { packTar } from "modern-tar";
 * const tar = await packTar([{ header: { name: "etc/motd", size: 2 }, body: "hi" }]);
 * const layer = await openLayer(new Blob([tar]).stream());
 * for await (const entry of layer) console.log(entry.type, entry.path); // file etc/motd
 * ```
 * @module
 */
export {
  DEFAULT_MAX_LAYER_BYTES,
  type LayerEntry,
  LayerReader,
  type LayerStats,
  openLayer,
  type OpenLayerOptions,
  openStoreLayer,
} from "./layers/layer_reader.ts";
export {
  baseName,
  joinPath,
  normalizeEntryPath,
  OPAQUE_MARKER,
  parentPath,
  parseWhiteout,
  pathComponents,
  ROOT,
  type Whiteout,
  WHITEOUT_META_PREFIX,
  WHITEOUT_PREFIX,
} from "./layers/path.ts";
export {
  compareNames,
  type ContentRef,
  type DeletedPath,
  type FsNode,
  type LayerChange,
  linkRoot,
  MergedFilesystem,
  type MergedFilesystemOptions,
  type MergeEntry,
  nodePath,
  type PathVersions,
  subtreeBytes,
} from "./layers/merged_fs.ts";
export { findFile, openLayerEntry, type OpenLayerEntryOptions } from "./layers/read_file.ts";
export { isReadableLayer, layerHistory, summarizeLayers } from "./layers/image_layers.ts";
export type { LayerEntryType, TarHeader } from "./tar.ts";
