// This module is browser compatible.
/**
 * Per-layer indexes: the members of every layer of an image as plain headers (no bytes),
 * read once, so that any view of the image — one layer's changes, the filesystem up to a
 * layer, the merged filesystem, a search across layers — is computed in memory without
 * reading a blob again. The merged views are built by the same {@link MergedFilesystem}
 * that `lading diff`, `waste` and `unpack` use.
 *
 * @example
 * ```ts
 * import { mergeLayerIndexes, type IndexedEntry } from "./layer_index.ts";
 * const base = { mode: 0o644, uid: 0, gid: 0, uname: "", gname: "", mtime: 0, linkname: "",
 *   devmajor: 0, devminor: 0, offset: 0 };
 * const layers: IndexedEntry[][] = [
 *   [{ ...base, index: 0, name: "a", path: "a", type: "file", size: 5 }],
 *   [{ ...base, index: 0, name: ".wh.a", path: ".wh.a", type: "file", size: 0,
 *      whiteout: { kind: "whiteout", path: "a" } }],
 * ];
 * console.log(mergeLayerIndexes(layers, 0).lookup("a")?.size); // 5
 * console.log(mergeLayerIndexes(layers).lookup("a")); // undefined
 * ```
 * @module
 */
import { shortDigest } from "../digest.ts";
import type { ResolvedImage } from "../image.ts";
import type { BlobProvider } from "../store/types.ts";
import type { TarHeader } from "../tar.ts";
import { type LayerSummary, readImageLayers, type ReadLayersOptions } from "./image_layers.ts";
import { MergedFilesystem } from "./merged_fs.ts";
import type { Whiteout } from "./path.ts";

/** A layer member without its bytes: the header, its position and normalized path. */
export type IndexedEntry = TarHeader & {
  /** Position in the layer, from 0. */
  readonly index: number;
  /** Normalized path (`.` for the root). */
  readonly path: string;
  /** Set for `.wh.` members. */
  readonly whiteout?: Whiteout;
};

/** Every layer of an image, indexed. */
export interface ImageLayerIndex {
  /** One summary per manifest layer (sizes, file counts, verified diff_id, history line). */
  readonly summaries: readonly LayerSummary[];
  /** The members of each layer, in tar order. */
  readonly entries: readonly (readonly IndexedEntry[])[];
}

/** Options for {@link indexImageLayers}. */
export interface IndexLayersOptions extends ReadLayersOptions {
  /** Stops reading (the promise rejects with the signal's reason). */
  readonly signal?: AbortSignal;
  /** Compressed bytes read so far, over all layers. */
  readonly onBytes?: (bytes: number) => void;
}

/**
 * A provider whose readers count the bytes they deliver and stop when `signal` aborts.
 * Only `reader` is wrapped; everything else is the provider's.
 */
export function countingProvider(
  provider: BlobProvider,
  options: { signal?: AbortSignal; onBytes?: (bytes: number) => void },
): BlobProvider {
  let total = 0;
  const wrapped = Object.create(provider) as BlobProvider;
  wrapped.reader = async (digest, ...rest) => {
    options.signal?.throwIfAborted();
    const stream = await provider.reader(digest, ...rest);
    return stream.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          options.signal?.throwIfAborted();
          total += chunk.byteLength;
          options.onBytes?.(total);
          controller.enqueue(chunk);
        },
      }),
    );
  };
  wrapped.has = (d) => provider.has(d);
  wrapped.info = (d) => provider.info(d);
  return wrapped;
}

/**
 * Reads every layer of `image` once (diff_ids verified unless turned off) and keeps each
 * member's header. Memory is proportional to the number of members, never to their bytes.
 */
export async function indexImageLayers(
  store: BlobProvider,
  image: ResolvedImage,
  options: IndexLayersOptions = {},
): Promise<ImageLayerIndex> {
  const entries: IndexedEntry[][] = image.manifest.layers.map(() => []);
  const provider = options.signal || options.onBytes ? countingProvider(store, options) : store;
  const summaries = await readImageLayers(provider, image, {
    ...options,
    onEntry: (layer, e) => {
      const { body: _b, chunks: _c, ...header } = e;
      entries[layer].push(header);
    },
  });
  return { summaries, entries };
}

/**
 * The merged filesystem of layers `0..upTo` (default: all) built from their indexes, with
 * the per-layer changes and per-path versions recorded.
 */
export function mergeLayerIndexes(
  entries: readonly (readonly IndexedEntry[])[],
  upTo: number = entries.length - 1,
  options: { layerLabel?: (layer: number) => string; onWarning?: (m: string) => void } = {},
): MergedFilesystem {
  const fs = new MergedFilesystem({
    onWarning: options.onWarning,
    layerLabel: options.layerLabel,
  });
  for (let i = 0; i <= upTo && i < entries.length; i++) {
    for (const e of entries[i]) fs.apply(i, e);
    fs.endLayer(i);
  }
  return fs;
}

/** Layer labels as the CLI writes them (`layer 2 sha256:ab12…`). */
export function layerLabels(image: ResolvedImage): (layer: number) => string {
  return (i) => `layer ${i} ${shortDigest(image.manifest.layers[i]?.digest ?? "")}`;
}
