/**
 * The store's listings of merged images, under `<store>/lading-cache/merged/` (a directory
 * the OCI layout ignores, next to the per-layer index of `layer_cache.ts`): one file per
 * chain of layers (`layers/merged_listing.ts` describes the format), written by the first
 * `ls` or `cat` of an image and read by the next ones, so that they neither replay every
 * layer's members nor build the merged tree. Named by a checksum of the layers and
 * diff_ids it was made from, which it also names in full: another image's listing, a
 * damaged or truncated one is a miss, and the listing is made again from the layer index
 * (or the layers). Never a source of bytes: `cat` reads the member it names from the
 * verified blob and checks that the member there is the one named.
 * @module
 */
import { randomHex } from "../digest.ts";
import type { ResolvedImage } from "../image.ts";
import type { ReadLayersOptions } from "../layers/image_layers.ts";
import {
  encodeMergedListing,
  listingChecksum,
  type ListingSource,
  listingSourceOf,
  MergedListing,
  sourceKey,
} from "../layers/merged_listing.ts";
import type { BlobProvider } from "../store/types.ts";
import { memberAt, type StoreLayerCache } from "./layer_cache.ts";

/** The directory under the store. */
export const MERGED_DIR = "lading-cache/merged";

/** What a listing of `image` is made from (its file is named after it). */
export function listingSource(image: ResolvedImage): ListingSource {
  return {
    layers: image.manifest.layers,
    diffIds: image.config.rootfs?.diff_ids ?? [],
  };
}

function fileOf(dir: string, source: ListingSource): string {
  const key = listingChecksum(new TextEncoder().encode(sourceKey(source)));
  return `${dir}/${MERGED_DIR}/${key}.list`;
}

/**
 * The listing of `image`'s merged filesystem: from the store's file when there is a good
 * one (its warnings given again through `options.onWarning`), else made by merging the
 * layers (from the layer index when it has them, diff_ids verified) and written for the
 * next time (a read-only store keeps none, and that is all).
 */
export async function mergedListing(
  store: BlobProvider,
  image: ResolvedImage,
  options: ReadLayersOptions & { layerIndex: StoreLayerCache; storeDir: string },
): Promise<MergedListing> {
  const source = listingSource(image);
  const path = fileOf(options.storeDir, source);
  const stored = await Deno.readFile(path).then(
    (bytes) => MergedListing.decode(bytes, source),
    () => undefined,
  );
  if (stored) {
    for (const w of stored.warnings) options.onWarning?.(w);
    return stored;
  }
  const warnings: string[] = [];
  const { mergeImage } = await import("../layers/image_layers.ts");
  const { fs } = await mergeImage(store, image, {
    ...options,
    onWarning: (m) => {
      warnings.push(m);
      options.onWarning?.(m);
    },
    trackChanges: false,
    trackVersions: false,
  });
  const layers = await Promise.all(image.manifest.layers.map((d) => options.layerIndex.get(d)));
  const bytes = encodeMergedListing(fs, {
    source,
    warnings,
    member: (ref) => {
      const entry = layers[ref.layer]?.entries[ref.entry];
      if (!entry) throw new TypeError(`layer ${ref.layer} has no indexed member ${ref.entry}`);
      return memberAt(entry);
    },
  });
  const tmp = `${path}.${Deno.pid}-${randomHex()}.tmp`;
  try {
    await Deno.mkdir(`${options.storeDir}/${MERGED_DIR}`, { recursive: true });
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch {
    // A read-only store or a full disk: the listing is an optimization only.
    await Deno.remove(tmp).catch(() => {});
  }
  const listing = MergedListing.decode(bytes, source);
  if (!listing) throw new TypeError("a merged listing just made does not read back");
  return listing;
}

/**
 * Removes the listings that name a layer the store no longer has (after gc), and files
 * that are not listings of this version under their own name.
 */
export async function pruneMergedCache(
  dir: string,
  has: (digest: string) => Promise<boolean>,
  options: { dryRun?: boolean } = {},
): Promise<{ path: string; size: number }[]> {
  const removed: { path: string; size: number }[] = [];
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(`${dir}/${MERGED_DIR}`)) names.push(e.name);
  } catch {
    return removed; // no listing yet
  }
  for (const name of names.sort()) {
    const path = `${dir}/${MERGED_DIR}/${name}`;
    const source = await Deno.readFile(path).then(listingSourceOf, () => undefined);
    const keep = source !== undefined && fileOf(dir, source) === path &&
      (await Promise.all(source.layers.map((l) => has(l.digest)))).every(Boolean);
    if (keep) continue;
    const size = await Deno.stat(path).then((s) => s.size, () => 0);
    if (!options.dryRun) await Deno.remove(path).catch(() => {});
    removed.push({ path: `${MERGED_DIR}/${name}`, size });
  }
  return removed;
}
