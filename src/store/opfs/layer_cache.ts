// This module is browser compatible.
/**
 * The page's layer index cache: one file per layer blob in the OPFS folder
 * `<store>/lading-cache/layers/<alg>-<hex>.idx` (the format of
 * `src/layers/layer_index_codec.ts`), the same place the CLI keeps its index in an fs
 * store, a folder the OCI layout ignores. Kept in memory too once read, so switching
 * between images or platforms never reads a file twice. An index is never trusted for
 * content (bytes come from the verified blob); a missing or unreadable one is a miss.
 * @module
 */
import type { CachedLayer, LayerIndexCache } from "../../layers/image_layers.ts";
import { decodeLayerIndex, encodeLayerIndex } from "../../layers/layer_index_codec.ts";
import type { Descriptor } from "../../types.ts";
import type { OpfsDirectoryHandle } from "./dom.ts";
import { fileOrUndefined, readFileBytes, removeQuietly, writeSmallFile } from "./files.ts";

/** The folder under the store, as in an fs store. */
export const LAYER_CACHE_DIR = "lading-cache/layers";

/** An index file is refused above this size (a miss: the layer is read instead). */
const MAX_INDEX_BYTES = 256 * 1024 * 1024;

/** A {@link LayerIndexCache} over an OPFS folder, with the encoded form exposed for workers. */
export interface OpfsLayerCache extends LayerIndexCache {
  /**
   * Keeps an index already encoded (by a worker) for `layer`; with `decode`, also in
   * memory, and returns it (undefined when the bytes do not decode).
   */
  putEncoded(
    layer: Descriptor,
    bytes: Uint8Array,
    options?: { decode?: boolean },
  ): Promise<CachedLayer | undefined>;
  /** True when an index of `layer` is kept (in memory or as a file). */
  has(layer: Descriptor): Promise<boolean>;
  /** Removes the index files of blobs `keep` says are gone (after gc); their count. */
  prune(keep: (digest: string) => Promise<boolean>): Promise<number>;
}

const fileName = (digest: string) => `${digest.replace(":", "-")}.idx`;

/**
 * The layer index cache in the folder `dir` (the store's folder): index files live in
 * {@link LAYER_CACHE_DIR} below it, created on the first write.
 *
 * @example
 * ```ts ignore
 * import { appendLayer, emptyImage, mergeImage, resolveImage, writeImage } from "@lading/oci";
 * import { openOpfsStore, opfsLayerCache, opfsRoot, removeOpfsStore } from "@lading/oci/opfs";
 * const store = await openOpfsStore({ path: "example-cache" });
 * try {
 *   const draft = await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] });
 *   await writeImage(store, draft, { name: "example.com/a:1" });
 *   const layerIndex = opfsLayerCache(await (await opfsRoot()).getDirectoryHandle("example-cache"));
 *   const image = await resolveImage(store, "example.com/a:1");
 *   await mergeImage(store, image, { layerIndex }); // reads the layer, keeps its index
 *   console.log(await layerIndex.has(draft.layers[0])); // true: the next merged view reads no layer
 * } finally {
 *   await store.close();
 *   await removeOpfsStore("example-cache");
 * }
 * ```
 */
export function opfsLayerCache(dir: OpfsDirectoryHandle): OpfsLayerCache {
  const memory = new Map<string, CachedLayer>();
  let folder: Promise<OpfsDirectoryHandle> | undefined;
  const cacheDir = () =>
    folder ??= (async () => {
      let d = dir;
      for (const part of LAYER_CACHE_DIR.split("/")) {
        d = await d.getDirectoryHandle(part, { create: true });
      }
      return d;
    })().catch((e) => {
      folder = undefined;
      throw e;
    });
  const write = async (layer: Descriptor, bytes: Uint8Array) => {
    try {
      await writeSmallFile(await cacheDir(), fileName(layer.digest), bytes);
    } catch {
      // Full or read-only: the index is an optimization only.
    }
  };
  return {
    async get(layer) {
      const kept = memory.get(layer.digest);
      if (kept) return kept;
      try {
        const handle = await fileOrUndefined(await cacheDir(), fileName(layer.digest));
        if (!handle) return undefined;
        const index = decodeLayerIndex(
          await readFileBytes(handle, MAX_INDEX_BYTES, "layer index"),
          layer,
        );
        if (index) memory.set(layer.digest, index);
        return index;
      } catch {
        return undefined;
      }
    },
    async put(layer, index) {
      memory.set(layer.digest, index);
      await write(layer, encodeLayerIndex(layer, index));
    },
    async putEncoded(layer, bytes, options = {}) {
      memory.delete(layer.digest);
      const index = options.decode ? decodeLayerIndex(bytes, layer) : undefined;
      if (index) memory.set(layer.digest, index);
      await write(layer, bytes);
      return index;
    },
    async has(layer) {
      if (memory.has(layer.digest)) return true;
      try {
        return !!(await fileOrUndefined(await cacheDir(), fileName(layer.digest)));
      } catch {
        return false;
      }
    },
    async prune(keep) {
      let removed = 0;
      const d = await cacheDir();
      const doomed: string[] = [];
      for await (const [name] of d.entries()) {
        const m = /^(sha256|sha512)-([0-9a-f]+)\.idx$/.exec(name);
        if (m && await keep(`${m[1]}:${m[2]}`)) continue;
        doomed.push(name);
        if (m) memory.delete(`${m[1]}:${m[2]}`);
      }
      for (const name of doomed) {
        await removeQuietly(d, name);
        removed++;
      }
      return removed;
    },
  };
}
