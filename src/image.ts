// This module is browser compatible.
/**
 * Resolving a name to index → manifest → config, and summaries for `images ls` /
 * `images inspect`.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "@lading/oci";
 * import { listImageSummaries } from "@lading/oci";
 * console.log(await listImageSummaries(new MemoryStore())); // []
 * ```
 * @module
 */
import { type Digest, isDigest, shortDigest } from "./digest.ts";
import { InvalidInputError, NotFoundError } from "./errors.ts";
import { tryNormalizeReference } from "./reference.ts";
import { isConfigMediaType, isIndexMediaType } from "./media_types.ts";
import { choosePlatformManifest, formatPlatform, isAttestation } from "./platform.ts";
import { readBlobBytes } from "./store/blob.ts";
import type { ImageRecord, ImageSource, NameReader } from "./store/types.ts";
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from "./types.ts";
import {
  childrenOf,
  configPlatform,
  mayHaveChildren,
  readConfig,
  readDocument,
  type ReadOptions,
  walk,
} from "./walk.ts";

/** An image resolved down to one platform's manifest and config. */
export interface ResolvedImage {
  /** The name asked for (or the digest). */
  readonly name: string;
  /** What the name points at. */
  readonly descriptor: Descriptor;
  /** The index the manifest was chosen from (the innermost one, when nested). */
  readonly index?: ImageIndex;
  /** The chosen manifest's descriptor. */
  readonly manifestDescriptor: Descriptor;
  /** The chosen manifest. */
  readonly manifest: ImageManifest;
  /** The config. */
  readonly config: ImageConfig;
  /** The platform from the config (or the index entry). */
  readonly platform: Platform;
}

/** How {@link matchImages} matched what the user typed. */
export type ImageMatchKind = "name" | "reference" | "digest" | "prefix";

/** The names a user-given name, digest or digest prefix means. */
export interface ImageMatch {
  /** `name`: an exact stored name; `reference`: the normalized reference
   * (`my/app` → `docker.io/my/app:latest`); `digest`: a full digest; `prefix`: a hex prefix. */
  readonly kind: ImageMatchKind;
  /** The digest every record points at (one digest, even for a prefix). */
  readonly digest: Digest;
  /** Every stored name that matches (several only for a digest or prefix), sorted. */
  readonly records: ImageRecord[];
}

/** Shortest hex prefix of an image digest that {@link matchImages} accepts. */
export const MIN_DIGEST_PREFIX = 12;

/**
 * The one rule every command uses to turn what the user typed into stored names:
 * 1. an exact stored name;
 * 2. the normalized reference (`busybox` → `docker.io/library/busybox:latest`,
 *    `my/app` → `docker.io/my/app:latest`, `example.com/x` → `example.com/x:latest`);
 * 3. a full digest (`sha256:` + 64 hex digits) that names point at;
 * 4. a bare hex prefix of at least {@link MIN_DIGEST_PREFIX} digits that exactly one
 *    image digest starts with.
 * Returns `undefined` when nothing matches.
 *
 * @throws {InvalidInputError} a prefix that more than one image digest starts with.
 */
export async function matchImages(
  names: NameReader,
  query: string,
): Promise<ImageMatch | undefined> {
  const all = await names.listImages();
  const exact = all.find((r) => r.name === query);
  if (exact) return { kind: "name", digest: exact.target.digest, records: [exact] };
  const normalized = tryNormalizeReference(query);
  const ref = normalized !== undefined ? all.find((r) => r.name === normalized) : undefined;
  if (ref) return { kind: "reference", digest: ref.target.digest, records: [ref] };
  let kind: ImageMatchKind | undefined;
  let hits: ImageRecord[] = [];
  if (isDigest(query)) {
    kind = "digest";
    hits = all.filter((r) => r.target.digest === query);
  } else if (/^[0-9a-f]+$/.test(query) && query.length >= MIN_DIGEST_PREFIX) {
    kind = "prefix";
    hits = all.filter((r) => r.target.digest.startsWith(`sha256:${query}`));
  }
  if (!kind || hits.length === 0) return undefined;
  const digests = [...new Set(hits.map((r) => r.target.digest))];
  if (digests.length > 1) {
    throw new InvalidInputError(
      `${query} is the start of more than one image digest (${
        digests.map((d) => shortDigest(d)).join(", ")
      }); give more digits`,
    );
  }
  return { kind, digest: digests[0], records: hits.sort((a, b) => a.name < b.name ? -1 : 1) };
}

/**
 * Finds a record by the rule of {@link matchImages}; a digest that no name points at but
 * whose index or manifest is in the store gives a record named by the digest.
 *
 * @throws {NotFoundError} when nothing matches.
 *
 * @example
 * ```ts
 * import { appendLayer, findImage, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * console.log((await findImage(store, "example.com/a:1")).target.mediaType); // application/vnd.oci.image.manifest.v1+json
 * ```
 */
export async function findImage(
  store: ImageSource,
  nameOrDigest: string,
): Promise<ImageRecord> {
  const match = await matchImages(store, nameOrDigest);
  if (match) return match.records[0];
  if (isDigest(nameOrDigest) && await store.has(nameOrDigest as Digest)) {
    const info = await store.info(nameOrDigest as Digest);
    const doc = await readBlobBytes(store, info.digest);
    const text = new TextDecoder().decode(doc);
    const mediaType = /"manifests"\s*:/.test(text)
      ? "application/vnd.oci.image.index.v1+json"
      : "application/vnd.oci.image.manifest.v1+json";
    const declared = /"mediaType"\s*:\s*"([^"]+)"/.exec(text)?.[1];
    return {
      name: nameOrDigest,
      target: { mediaType: declared ?? mediaType, digest: info.digest, size: info.size },
    };
  }
  const hint = /^[0-9a-f]{1,11}$/.test(nameOrDigest) && nameOrDigest.length >= 4
    ? ` (a digest prefix needs at least ${MIN_DIGEST_PREFIX} hex digits)`
    : "";
  throw new NotFoundError(`image ${JSON.stringify(nameOrDigest)} not found in the store${hint}`);
}

/** A name resolved down to one manifest, whatever its config is (images and artifacts). */
export interface ResolvedManifest {
  /** The name asked for (or the digest). */
  readonly name: string;
  /** What the name points at. */
  readonly descriptor: Descriptor;
  /** The index the manifest was chosen from (the innermost one, when nested). */
  readonly index?: ImageIndex;
  /** The chosen manifest's descriptor. */
  readonly manifestDescriptor: Descriptor;
  /** The chosen manifest. */
  readonly manifest: ImageManifest;
}

/**
 * Resolves a name (or digest) to one platform's manifest without reading its config (so
 * it works for OCI artifacts too). On an index without `platform`: the host platform if
 * present, else the first non-attestation entry.
 *
 * @throws {NotFoundError} when the name, the platform, or a needed blob is absent.
 */
export async function resolveManifest(
  store: ImageSource,
  nameOrDigest: string,
  options: ReadOptions & { platform?: Platform } = {},
): Promise<ResolvedManifest> {
  const record = await findImage(store, nameOrDigest);
  let descriptor = record.target;
  let index: ImageIndex | undefined;
  for (let depth = 0; depth < 16; depth++) {
    if (!(await store.has(descriptor.digest))) {
      throw new NotFoundError(
        `image ${record.name}: ${descriptor.mediaType} ${descriptor.digest} is not in the store`,
      );
    }
    const doc = await readDocument(store, descriptor, options);
    if (!doc) {
      throw new NotFoundError(
        `image ${record.name}: ${
          shortDigest(descriptor.digest)
        } is neither an index nor a manifest`,
      );
    }
    if (doc.kind === "index") {
      index = doc.index;
      const nested = doc.index.manifests.filter((m) => isIndexMediaType(m.mediaType));
      // Without a platform, prefer what is present: an incomplete image (imported with
      // --allow-missing) still resolves to one of the platforms it has.
      let candidates = doc.index.manifests;
      if (!options.platform) {
        const present: Descriptor[] = [];
        for (const m of candidates) if (await store.has(m.digest)) present.push(m);
        if (present.length) candidates = present;
      }
      const chosen = choosePlatformManifest(candidates, options.platform);
      if (!chosen) {
        if (nested.length && !options.platform) {
          descriptor = nested[0];
          continue;
        }
        const available = doc.index.manifests.filter((m) => m.platform && !isAttestation(m))
          .map((m) => formatPlatform(m.platform!));
        throw new NotFoundError(
          `image ${record.name} has no manifest for platform ${
            options.platform ? formatPlatform(options.platform) : "(any)"
          }; available: ${available.join(", ") || "none"}`,
        );
      }
      descriptor = chosen;
      continue;
    }
    return {
      name: record.name,
      descriptor: record.target,
      index,
      manifestDescriptor: descriptor,
      manifest: doc.manifest,
    };
  }
  throw new NotFoundError(`image ${record.name}: indexes nested too deep`);
}

/**
 * Resolves a name (or digest) to one platform's manifest and config. On an index without
 * `platform`: the host platform if present, else the first non-attestation entry.
 *
 * @throws {NotFoundError} when the name, the platform, or a needed blob is absent.
 * @throws {InvalidInputError} when the manifest is an OCI artifact (its config is not an
 *   image config), so it has no filesystem.
 *
 * @example
 * ```ts
 * import { appendLayer, resolveImage, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * const image = await resolveImage(store, "example.com/a:1", { platform: { os: "linux", architecture: "amd64" } });
 * console.log(image.manifest.layers.length, image.config.os); // 1 linux
 * ```
 */
export async function resolveImage(
  store: ImageSource,
  nameOrDigest: string,
  options: ReadOptions & { platform?: Platform } = {},
): Promise<ResolvedImage> {
  const m = await resolveManifest(store, nameOrDigest, options);
  const configType = m.manifest.config.mediaType;
  if (!isConfigMediaType(configType)) {
    throw new InvalidInputError(
      `${m.name} is not a container image but an artifact (config media type ${configType}${
        m.manifest.artifactType ? `, artifact type ${m.manifest.artifactType}` : ""
      }): its layers are not filesystem layers`,
    );
  }
  if (!(await store.has(m.manifest.config.digest))) {
    throw new NotFoundError(
      `image ${m.name}: config ${m.manifest.config.digest} is not in the store`,
    );
  }
  const config = await readConfig(store, m.manifest.config, options);
  return {
    ...m,
    config,
    platform: configPlatform(config),
  };
}

/** What `images ls` shows for one name. */
export interface ImageSummary {
  /** The image name. */
  readonly name: string;
  /** The digest of what it points at. */
  readonly digest: Digest;
  /** The media type of what it points at (index or manifest). */
  readonly mediaType: string;
  /** The target descriptor's size plus every reachable blob present in the store. */
  readonly size: number;
  /** Platforms whose manifest is present (formatted, e.g. `linux/amd64`). */
  readonly platforms: string[];
  /** Platforms listed in an index whose content is not (completely) present. */
  readonly missingPlatforms: string[];
  /** Every reachable blob that is absent. */
  readonly missing: Digest[];
}

/**
 * Summarizes one record: size of all reachable content present, platforms present and
 * absent, and the missing blobs.
 *
 * @example
 * ```ts
 * import { appendLayer, summarizeImage, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * const summary = await summarizeImage(store, await store.getImage("example.com/a:1"));
 * console.log(summary.size > 0); // true
 * ```
 */
export async function summarizeImage(
  store: ImageSource,
  record: ImageRecord,
  options: ReadOptions = {},
): Promise<ImageSummary> {
  let size = 0;
  const missing: Digest[] = [];
  const platforms = new Set<string>();
  const missingPlatforms = new Set<string>();
  const sizes = new Map<string, number>();
  // Which platform each manifest belongs to, and whether its blobs are all present.
  const manifestPlatform = new Map<string, string>();
  const incomplete = new Set<string>();
  await walk([record.target], async (d, ctx) => {
    if (d.platform && !isAttestation(d)) manifestPlatform.set(d.digest, formatPlatform(d.platform));
    if (!(await store.has(d.digest))) {
      missing.push(d.digest);
      for (const p of [d, ...[...ctx.parents].reverse()]) {
        const plat = manifestPlatform.get(p.digest);
        if (plat) {
          incomplete.add(plat);
          break;
        }
      }
      return [];
    }
    sizes.set(d.digest, d.size);
    const doc = mayHaveChildren(d)
      ? await readDocument(store, d, options).catch((e) => {
        if (e instanceof NotFoundError) return undefined;
        throw e;
      })
      : undefined;
    if (doc?.kind === "manifest" && !manifestPlatform.has(d.digest) && !d.platform) {
      // A single-manifest image: its platform is the config's.
      if (await store.has(doc.manifest.config.digest)) {
        const c = await readConfig(store, doc.manifest.config, options).catch(() => undefined);
        if (c) {
          manifestPlatform.set(d.digest, formatPlatform(configPlatform(c)));
        }
      }
    }
    return doc ? childrenOf(doc) : [];
  });
  for (const s of sizes.values()) size += s;
  for (const p of manifestPlatform.values()) {
    if (incomplete.has(p)) missingPlatforms.add(p);
    else platforms.add(p);
  }
  return {
    name: record.name,
    digest: record.target.digest,
    mediaType: record.target.mediaType,
    size,
    platforms: [...platforms].sort(),
    missingPlatforms: [...missingPlatforms].sort(),
    missing,
  };
}

/**
 * Summaries of every image in the store, sorted by name.
 *
 * @example
 * ```ts
 * import { appendLayer, listImageSummaries, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * const [s] = await listImageSummaries(store);
 * console.log(s.name, s.platforms); // example.com/a:1 [ "linux/amd64" ]
 * ```
 */
export async function listImageSummaries(
  store: ImageSource,
  options: ReadOptions = {},
): Promise<ImageSummary[]> {
  // Names with the same target share one walk (a hostile index.json of N entries pointing
  // at one index of N manifests costs N, not N²).
  const byTarget = new Map<string, ImageSummary>();
  const out: ImageSummary[] = [];
  for (const r of await store.listImages()) {
    const key = `${r.target.digest} ${r.target.size} ${r.target.mediaType}`;
    let summary = byTarget.get(key);
    if (!summary) {
      summary = await summarizeImage(store, r, options);
      byTarget.set(key, summary);
    }
    out.push({ ...summary, name: r.name, missing: [...summary.missing] });
  }
  return out;
}
