/**
 * The store's file index of layers: `<store>/lading-cache/layers/<alg>-<hex>.json`, one
 * file per layer blob, written the first time a layer command reads the layer. A
 * directory the OCI layout ignores (skopeo, umoci and containerd see only blobs/,
 * index.json and oci-layout). It is rebuilt when missing or unreadable and never trusted
 * for content: bytes always come from the verified blob; only the listing (names, modes,
 * sizes, member positions) and the diff_id computed when the blob was read come from it.
 * @module
 */
import { randomHex } from "../digest.ts";
import type { CachedEntry, CachedLayer, LayerIndexCache } from "../layers/image_layers.ts";
import { base64ToBytes as unb64, bytesToBase64 as b64 } from "../layers/layer_index_codec.ts";
import type { Descriptor } from "../types.ts";

/** Bumped when the file format changes (older files are ignored and rewritten). */
const VERSION = 1;
/** The directory under the store. */
export const CACHE_DIR = "lading-cache/layers";

function fileOf(dir: string, digest: string): string {
  return `${dir}/${CACHE_DIR}/${digest.replace(":", "-")}.json`;
}

/** The layer index cache of the store at `dir` (a no-op when the store is read-only). */
export function storeLayerCache(dir: string): LayerIndexCache {
  return {
    async get(layer: Descriptor): Promise<CachedLayer | undefined> {
      let text: string;
      try {
        text = await Deno.readTextFile(fileOf(dir, layer.digest));
      } catch {
        return undefined;
      }
      try {
        const doc = JSON.parse(text);
        if (
          doc?.version !== VERSION || doc.digest !== layer.digest || doc.size !== layer.size ||
          !Array.isArray(doc.entries)
        ) return undefined;
        const entries = (doc.entries as (CachedEntry & { xattrs?: Record<string, string> })[])
          .map((e) =>
            e.xattrs
              ? {
                ...e,
                xattrs: Object.fromEntries(
                  Object.entries(e.xattrs).map(([k, v]) => [k, unb64(v as string)]),
                ),
              }
              : e
          );
        return { stats: doc.stats, files: doc.files, whiteouts: doc.whiteouts, entries };
      } catch {
        return undefined; // unreadable: read the layer again and rewrite it
      }
    },
    async put(layer: Descriptor, index: CachedLayer): Promise<void> {
      const path = fileOf(dir, layer.digest);
      const tmp = `${path}.${Deno.pid}-${randomHex()}.tmp`;
      try {
        await Deno.mkdir(`${dir}/${CACHE_DIR}`, { recursive: true });
        const entries = index.entries.map((e) =>
          e.xattrs
            ? {
              ...e,
              xattrs: Object.fromEntries(
                Object.entries(e.xattrs).map(([k, v]) => [k, b64(v)]),
              ),
            }
            : e
        );
        await Deno.writeTextFile(
          tmp,
          JSON.stringify({
            version: VERSION,
            digest: layer.digest,
            size: layer.size,
            stats: index.stats,
            files: index.files,
            whiteouts: index.whiteouts,
            entries,
          }),
        );
        await Deno.rename(tmp, path);
      } catch {
        // A read-only store or a full disk: the index is an optimization only.
        await Deno.remove(tmp).catch(() => {});
      }
    },
  };
}

/** Removes the index files of blobs the store no longer has (after gc). */
export async function pruneLayerCache(
  dir: string,
  has: (digest: string) => Promise<boolean>,
  options: { dryRun?: boolean } = {},
): Promise<{ path: string; size: number }[]> {
  const removed: { path: string; size: number }[] = [];
  try {
    for await (const e of Deno.readDir(`${dir}/${CACHE_DIR}`)) {
      const m = /^(sha256|sha512)-([0-9a-f]+)\.json$/.exec(e.name);
      const path = `${dir}/${CACHE_DIR}/${e.name}`;
      if (m && (await has(`${m[1]}:${m[2]}`))) continue;
      const size = await Deno.stat(path).then((s) => s.size, () => 0);
      if (!options.dryRun) await Deno.remove(path).catch(() => {});
      removed.push({ path: `${CACHE_DIR}/${e.name}`, size });
    }
  } catch {
    // no cache yet
  }
  return removed;
}
