// This module is browser compatible.
/**
 * The layers of a resolved image: per-layer summaries (sizes, file counts, verified
 * diff_id, the history line that made it) and the merged filesystem, each layer read
 * once, streaming.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "@lading/oci";
 * import { summarizeLayers } from "@lading/oci/layers";
 * import type { ResolvedImage } from "../image.ts";
 * // An image with no layers has no summaries.
 * const image = {
 *   manifest: { schemaVersion: 2, config: { mediaType: "", digest: "sha256:" + "0".repeat(64), size: 0 }, layers: [] },
 *   config: { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } },
 * } as unknown as ResolvedImage;
 * console.log(await summarizeLayers(new MemoryStore(), image)); // []
 * ```
 * @module
 */
import { type Digest, shortDigest } from "../digest.ts";
import { DigestMismatchError, InvalidInputError } from "../errors.ts";
import type { ResolvedImage } from "../image.ts";
import { isLayerMediaType, layerCompression } from "../media_types.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Runtime } from "../runtime/types.ts";
import type { BlobProvider } from "../store/types.ts";
import type { Descriptor, History, ImageConfig } from "../types.ts";
import { type Compression, type LayerEntry, type LayerStats, openLayer } from "./layer_reader.ts";
import { MergedFilesystem } from "./merged_fs.ts";

/** Options shared by the functions that read layers. */
export interface ReadLayersOptions {
  /** Hashing and decompression (default: detected). */
  readonly runtime?: Runtime;
  /** Cap on the uncompressed bytes of one layer. */
  readonly maxLayerBytes?: number;
  /** Receives warnings (media type mismatches, duplicates, skipped blobs). */
  readonly onWarning?: (message: string) => void;
  /** Compare each layer's sha256 with `rootfs.diff_ids` (default true). */
  readonly verifyDiffIds?: boolean;
  /**
   * Hash the uncompressed layers (default true). Without it there is no `diffId` and
   * nothing to verify: for views of blobs a store verified by digest already.
   */
  readonly hash?: boolean;
  /** Called after each layer is read. */
  readonly onLayer?: (summary: LayerSummary) => void;
  /**
   * A file index of layers kept between runs (the CLI keeps one in the store). A layer
   * found there is not read again: its members are replayed from the index (metadata
   * only: their `body()` throws) with the diff_id computed when it was indexed. Give it
   * only for work that needs no bytes (listings, merged views, sizes); bytes always come
   * from the verified blob.
   */
  readonly layerIndex?: LayerIndexCache;
}

/** Options of {@link readImageLayers}. */
export interface ReadImageLayersOptions extends ReadLayersOptions {
  /** Receives every member of layer `layer`, in tar order (its body may be read then). */
  readonly onEntry?: (layer: number, entry: LayerEntry) => void | Promise<void>;
  /** Called when layer `layer` has been read to its end (before its diff_id check). */
  readonly onLayerEnd?: (layer: number) => void;
}

/** What a full read of a layer found, without the bytes (see {@link LayerIndexCache}). */
export interface CachedLayer {
  /** Sizes and digests of the layer as read. */
  readonly stats: LayerStats;
  /** Regular files. */
  readonly files: number;
  /** Whiteouts and opaque markers. */
  readonly whiteouts: number;
  /** Every member's header, normalized path and whiteout, in tar order. */
  readonly entries: readonly CachedEntry[];
}

/** A member as a {@link CachedLayer} keeps it. */
export type CachedEntry = Omit<LayerEntry, "body" | "chunks">;

/** Where {@link readImageLayers} keeps and finds layer indexes (keyed by the blob digest). */
export interface LayerIndexCache {
  /** The index of a layer, when kept. */
  get(layer: Descriptor): Promise<CachedLayer | undefined>;
  /** Keeps the index of a layer. */
  put(layer: Descriptor, index: CachedLayer): Promise<void>;
  /**
   * The runtime to read a layer with while it is indexed (optional): one whose decoder
   * records what {@link put} keeps besides the listing, e.g. gzip access points.
   */
  indexingRuntime?(layer: Descriptor, runtime: Runtime): Runtime;
}

function notFromIndex(): never {
  throw new TypeError("a member replayed from the layer index has no bytes");
}

/** One layer of an image, after reading it. */
export interface LayerSummary {
  /** Position in the manifest, base first. */
  readonly index: number;
  /** The layer's descriptor. */
  readonly descriptor: Descriptor;
  /** The diff_id the config names for it (absent for attestation-style manifests). */
  readonly expectedDiffId?: Digest;
  /** The sha256 of the uncompressed bytes (absent when the blob is not a layer). */
  readonly diffId?: Digest;
  /** True when `diffId` equals `expectedDiffId`; undefined when there is nothing to compare. */
  readonly verified?: boolean;
  /** Compression found in the bytes. */
  readonly compression?: Compression;
  /** Bytes of the uncompressed tar. */
  readonly uncompressedSize?: number;
  /** Members, whiteouts included. */
  readonly entries?: number;
  /** Regular files. */
  readonly files?: number;
  /** Whiteouts and opaque markers. */
  readonly whiteouts?: number;
  /** The `created_by` of the history entry that made this layer. */
  readonly createdBy?: string;
  /** The history entry that made this layer. */
  readonly history?: History;
  /** Why the blob was not read (not a layer media type). */
  readonly skipped?: string;
}

/**
 * The history entries that produced layers, aligned with the manifest's layers
 * (`empty_layer` entries skipped). When history is missing or too short, the missing
 * ones are `undefined`.
 *
 * @example
 * ```ts
 * import { layerHistory } from "@lading/oci/layers";
 * const config = { os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: [] }, history: [{ created_by: "ENV A=1", empty_layer: true }, { created_by: "COPY . /" }] };
 * console.log(layerHistory(config, 1)[0]?.created_by); // COPY . /
 * ```
 */
export function layerHistory(config: ImageConfig, layerCount: number): (History | undefined)[] {
  const produced = (config.history ?? []).filter((h) => !h.empty_layer);
  return Array.from({ length: layerCount }, (_, i) => produced[i]);
}

/** The diff_ids to compare with, or `undefined` when the config lists none (attestations). */
function expectedDiffIds(image: ResolvedImage): readonly Digest[] | undefined {
  const ids = image.config.rootfs?.diff_ids ?? [];
  if (ids.length === 0) return undefined;
  if (ids.length !== image.manifest.layers.length) {
    throw new InvalidInputError(
      `image ${image.name}: the manifest has ${image.manifest.layers.length} layers but the config lists ${ids.length} diff_ids`,
    );
  }
  return ids;
}

/**
 * True when a descriptor's blob is a tar changeset we can read.
 *
 * @example
 * ```ts
 * import { isReadableLayer } from "@lading/oci/layers";
 * console.log(isReadableLayer({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${"a".repeat(64)}`, size: 1 })); // true
 * ```
 */
export function isReadableLayer(d: Descriptor): boolean {
  return isLayerMediaType(d.mediaType) || layerCompression(d.mediaType) !== undefined;
}

/**
 * Reads every layer of `image` once, calling `onEntry` for each member, and returns the
 * per-layer summaries. Layers whose media type is not a layer are skipped (with a
 * warning). A diff_id mismatch throws {@link DigestMismatchError} naming the layer.
 *
 * @example
 * ```ts
 * import { appendLayer, readImageLayers, resolveImage, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * const paths: string[] = [];
 * const image = await resolveImage(store, "example.com/a:1");
 * const layers = await readImageLayers(store, image, { onEntry: (_, e) => void paths.push(e.path) });
 * console.log(layers[0].verified, paths); // true [ "etc", "etc/motd" ]
 * ```
 */
export async function readImageLayers(
  store: BlobProvider,
  image: ResolvedImage,
  options: ReadImageLayersOptions = {},
): Promise<LayerSummary[]> {
  const onEntry = options.onEntry ?? (() => {});
  const layers = image.manifest.layers;
  const expected = expectedDiffIds(image);
  const history = layerHistory(image.config, layers.length);
  const out: LayerSummary[] = [];
  for (let i = 0; i < layers.length; i++) {
    const d = layers[i];
    const common = {
      index: i,
      descriptor: d,
      ...(expected ? { expectedDiffId: expected[i] } : {}),
      ...(history[i]?.created_by !== undefined ? { createdBy: history[i]!.created_by } : {}),
      ...(history[i] ? { history: history[i] } : {}),
    };
    if (!isReadableLayer(d)) {
      const skipped = `${d.mediaType} is not a layer media type`;
      options.onWarning?.(`layer ${i} ${shortDigest(d.digest)}: skipped, ${skipped}`);
      const s: LayerSummary = { ...common, skipped };
      out.push(s);
      options.onLayerEnd?.(i);
      options.onLayer?.(s);
      continue;
    }
    const what = `layer ${i} ${shortDigest(d.digest)}`;
    let files = 0;
    let whiteouts = 0;
    let stats: LayerStats;
    const found = await options.layerIndex?.get(d);
    // An index made without hashing has no diff_id: it serves only reads that hash nothing.
    const cached = found && (found.stats.diffId || options.hash === false) ? found : undefined;
    if (cached) {
      for (const e of cached.entries) {
        const pending = onEntry(i, { ...e, body: notFromIndex, chunks: notFromIndex });
        if (pending) await pending; // (no await per member when onEntry is synchronous)
      }
      stats = cached.stats;
      files = cached.files;
      whiteouts = cached.whiteouts;
    } else {
      const runtime = options.layerIndex?.indexingRuntime
        ? options.layerIndex.indexingRuntime(d, options.runtime ?? await getRuntime())
        : options.runtime;
      const layer = await openLayer(await store.reader(d.digest), {
        mediaType: d.mediaType,
        what,
        runtime,
        maxLayerBytes: options.maxLayerBytes,
        onWarning: options.onWarning,
        hash: options.hash,
      });
      const kept: CachedEntry[] | undefined = options.layerIndex ? [] : undefined;
      try {
        for await (const entry of layer) {
          if (entry.whiteout) whiteouts++;
          else if (entry.type === "file") files++;
          if (kept) {
            const { body: _b, chunks: _c, ...header } = entry;
            kept.push(header);
          }
          await onEntry(i, entry);
        }
      } catch (e) {
        await layer.cancel(e);
        throw e;
      }
      stats = await layer.finish();
      if (kept && (stats.diffId || options.hash === false)) {
        await options.layerIndex!.put(d, { stats, files, whiteouts, entries: kept });
      }
    }
    const exp = expected?.[i];
    const verified = exp === undefined || stats.diffId === undefined
      ? undefined
      : exp === stats.diffId;
    if (verified === false && options.verifyDiffIds !== false) {
      throw new DigestMismatchError(
        `${what} of image ${image.name}: the uncompressed layer hashes to ${stats.diffId}, the config's diff_id is ${exp}`,
        exp!,
        stats.diffId!,
      );
    }
    options.onLayerEnd?.(i);
    const s: LayerSummary = {
      ...common,
      diffId: stats.diffId,
      ...(verified !== undefined ? { verified } : {}),
      compression: stats.compression,
      uncompressedSize: stats.uncompressedSize,
      entries: stats.entries,
      files,
      whiteouts,
    };
    out.push(s);
    options.onLayer?.(s);
  }
  return out;
}

/**
 * Reads every layer and summarizes it (for `lading layers`): digest, compression, sizes,
 * member counts, the diff_id and whether it matches the config, the history entry.
 *
 * @example
 * ```ts
 * import { appendLayer, emptyImage, MemoryStore, resolveImage, writeImage } from "@lading/oci";
 * import { summarizeLayers } from "@lading/oci/layers";
 * const store = new MemoryStore();
 * let image = await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] });
 * image = await appendLayer(store, image, { files: [{ path: "app/run", content: "#!/bin/sh\n" }] });
 * await writeImage(store, image, { name: "example.com/a:1" });
 * for (const layer of await summarizeLayers(store, await resolveImage(store, "example.com/a:1"))) {
 *   console.log(layer.index, layer.compression, layer.files, layer.verified); // 0 gzip 1 true, then 1 gzip 1 true
 * }
 * ```
 */
export function summarizeLayers(
  store: BlobProvider,
  image: ResolvedImage,
  options: ReadLayersOptions = {},
): Promise<LayerSummary[]> {
  return readImageLayers(store, image, options);
}

/** An image's merged filesystem with the summaries of the layers that built it. */
export interface MergedImage {
  /** The merged filesystem. */
  readonly fs: MergedFilesystem;
  /** One summary per layer. */
  readonly layers: LayerSummary[];
}

/**
 * Builds the merged filesystem of an image (metadata only; every layer streamed once,
 * diff_ids verified unless turned off).
 *
 * @throws {InvalidInputError} for unsafe or malformed layers, {DigestMismatchError} for a
 * layer that does not match its diff_id.
 *
 * @example
 * ```ts
 * import { appendLayer, mergeImage, resolveImage, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * const { fs } = await mergeImage(store, await resolveImage(store, "example.com/a:1"));
 * console.log(fs.lookup("etc/motd")?.size); // 2
 * ```
 */
export async function mergeImage(
  store: BlobProvider,
  image: ResolvedImage,
  options: ReadLayersOptions & {
    /** Record per-layer changes (default true; `diff` needs them). */
    trackChanges?: boolean;
    /** Record per-path versions (default true; the waste analysis needs them). */
    trackVersions?: boolean;
  } = {},
): Promise<MergedImage> {
  const fs = new MergedFilesystem({
    onWarning: options.onWarning,
    trackChanges: options.trackChanges,
    trackVersions: options.trackVersions,
    layerLabel: (i) => `layer ${i} ${shortDigest(image.manifest.layers[i]?.digest ?? "")}`,
  });
  const layers = await readImageLayers(store, image, {
    ...options,
    onEntry: (i, e) => fs.apply(i, e),
    onLayerEnd: (i) => fs.endLayer(i),
  });
  return { fs, layers };
}
