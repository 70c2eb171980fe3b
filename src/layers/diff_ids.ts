// This module is browser compatible.
/**
 * diff_id verification: every layer decompressed (and its tar read strictly), its sha256
 * compared with the config's `rootfs.diff_ids`. Manifests without diff_ids (BuildKit
 * attestations) are skipped, not failed.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "@lading/oci";
 * import { checkDiffIds } from "@lading/oci";
 * try {
 *   await checkDiffIds(new MemoryStore(), "missing:latest");
 * } catch (e) {
 *   console.log((e as Error).name); // NotFoundError
 * }
 * ```
 * @module
 */
import { shortDigest } from "../digest.ts";
import { NotFoundError } from "../errors.ts";
import { findImage, type ResolvedImage } from "../image.ts";
import { configPlatform, readConfig, readDocument } from "../walk.ts";
import { isIndexMediaType, isManifestMediaType } from "../media_types.ts";
import { formatPlatform, isAttestation, platformMatches } from "../platform.ts";
import type { BlobProvider, ImageSource } from "../store/types.ts";
import type { Descriptor, ImageIndex, Platform } from "../types.ts";
import { type LayerSummary, readImageLayers, type ReadLayersOptions } from "./image_layers.ts";

/**
 * Decompresses every layer of a resolved image and compares it with the config's
 * diff_ids (skipped when the config lists none). For `import --verify-diff-ids`.
 *
 * @returns one summary per layer.
 * @throws {DigestMismatchError} naming the layer, the expected and the actual diff_id.
 */
export function verifyDiffIds(
  store: BlobProvider,
  resolved: ResolvedImage,
  options: Omit<ReadLayersOptions, "verifyDiffIds"> = {},
): Promise<LayerSummary[]> {
  return readImageLayers(store, resolved, { ...options, verifyDiffIds: true });
}

/** The check of one manifest of an image. */
export interface ManifestDiffIdCheck {
  /** The manifest's descriptor. */
  readonly manifest: Descriptor;
  /** Its platform (from the config), formatted, e.g. `linux/amd64`. */
  readonly platform?: string;
  /** Layer results (empty when skipped). */
  readonly layers: LayerSummary[];
  /** Why it was not checked (attestation, content absent). */
  readonly skipped?: string;
  /** True when every compared layer matched. */
  readonly ok: boolean;
}

/** The result of {@link checkDiffIds}. */
export interface DiffIdReport {
  /** The image name. */
  readonly name: string;
  /** One entry per manifest reached. */
  readonly manifests: ManifestDiffIdCheck[];
  /** True when no layer mismatched. */
  readonly ok: boolean;
}

/**
 * Checks the diff_ids of every manifest an image name reaches (every platform of an
 * index, or those matching `platform`). Mismatches are reported, not thrown; missing
 * content and attestation manifests are reported as skipped.
 *
 * @throws {NotFoundError} when the name is unknown.
 *
 * @example
 * ```ts
 * import { appendLayer, checkDiffIds, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * const report = await checkDiffIds(store, "example.com/a:1");
 * console.log(report.ok, report.manifests[0].layers[0].verified); // true true
 * ```
 */
export async function checkDiffIds(
  store: ImageSource,
  name: string,
  options: Omit<ReadLayersOptions, "verifyDiffIds"> & {
    platform?: Platform;
    platforms?: readonly Platform[];
  } = {},
): Promise<DiffIdReport> {
  const wanted = [...(options.platform ? [options.platform] : []), ...(options.platforms ?? [])];
  const matches = (p: Platform) => wanted.some((w) => platformMatches(w, p));
  const record = await findImage(store, name);
  const manifests: ManifestDiffIdCheck[] = [];
  const seen = new Set<string>();
  const visit = async (d: Descriptor, index: ImageIndex | undefined, depth: number) => {
    if (seen.has(d.digest) || depth > 16) return;
    seen.add(d.digest);
    if (!(await store.has(d.digest))) {
      if (isManifestMediaType(d.mediaType) || !isIndexMediaType(d.mediaType)) {
        manifests.push({
          manifest: d,
          layers: [],
          skipped: "not in the store",
          ok: true,
          ...platformOf(d),
        });
      }
      return;
    }
    const doc = await readDocument(store, d, options);
    if (!doc) return;
    if (doc.kind === "index") {
      for (const m of doc.index.manifests) {
        if (
          wanted.length && m.platform && !isIndexMediaType(m.mediaType) && !isAttestation(m) &&
          !matches(m.platform)
        ) continue;
        await visit(m, doc.index, depth + 1);
      }
      return;
    }
    if (isAttestation(d)) {
      manifests.push({
        manifest: d,
        layers: [],
        skipped: "attestation manifest",
        ok: true,
        ...platformOf(d),
      });
      return;
    }
    if (!(await store.has(doc.manifest.config.digest))) {
      manifests.push({
        manifest: d,
        layers: [],
        skipped: "config not in the store",
        ok: true,
        ...platformOf(d),
      });
      return;
    }
    const config = await readConfig(store, doc.manifest.config, options);
    const platform = configPlatform(config);
    if (wanted.length && !index && !matches(platform)) return;
    const resolved: ResolvedImage = {
      name: record.name,
      descriptor: record.target,
      ...(index ? { index } : {}),
      manifestDescriptor: d,
      manifest: doc.manifest,
      config,
      platform,
    };
    const missing = doc.manifest.layers.filter((l) => !seenPresent.has(l.digest));
    for (const l of missing) if (await store.has(l.digest)) seenPresent.add(l.digest);
    const absent = doc.manifest.layers.filter((l) => !seenPresent.has(l.digest));
    if (absent.length) {
      manifests.push({
        manifest: d,
        platform: formatPlatform(platform),
        layers: [],
        skipped: `${absent.length} layer(s) not in the store (${
          absent.map((l) => shortDigest(l.digest)).join(", ")
        })`,
        ok: true,
      });
      return;
    }
    const layers = await readImageLayers(store, resolved, {
      ...options,
      verifyDiffIds: false,
    });
    manifests.push({
      manifest: d,
      platform: formatPlatform(platform),
      layers,
      ...(config.rootfs?.diff_ids?.length ? {} : { skipped: "the config lists no diff_ids" }),
      ok: layers.every((l) => l.verified !== false),
    });
  };
  const seenPresent = new Set<string>();
  await visit(record.target, undefined, 0);
  if (manifests.length === 0 && wanted.length) {
    throw new NotFoundError(
      `image ${record.name} has no manifest for platform ${wanted.map(formatPlatform).join(", ")}`,
    );
  }
  return { name: record.name, manifests, ok: manifests.every((m) => m.ok) };
}

function platformOf(d: Descriptor): { platform?: string } {
  return d.platform ? { platform: formatPlatform(d.platform) } : {};
}
