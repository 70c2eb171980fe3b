// This module is browser compatible.
/**
 * Resolving a name to index → manifest → config, and summaries for `images ls` /
 * `images inspect`.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "./store/memory.ts";
 * import { listImageSummaries } from "./image.ts";
 * console.log(await listImageSummaries(new MemoryStore())); // []
 * ```
 * @module
 */
import { type Digest, isDigest, shortDigest } from "./digest.ts";
import { NotFoundError } from "./errors.ts";
import { isIndexMediaType } from "./media_types.ts";
import { choosePlatformManifest, formatPlatform, isAttestation } from "./platform.ts";
import { parseConfig } from "./schema.ts";
import { readBlobBytes } from "./store/blob.ts";
import type { BlobProvider, ImageRecord, ImageSource } from "./store/types.ts";
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from "./types.ts";
import { childrenOf, type Document, mayHaveChildren, parseDocument, walk } from "./walk.ts";

/** Options for reading documents out of a store. */
export interface ReadOptions {
  /** JSON size cap (default 4 MiB). */
  readonly maxBytes?: number;
  /** Receives warnings (same-kind media type differences). */
  readonly onWarning?: (message: string) => void;
}

/** Reads and parses the index or manifest a descriptor points at. */
export async function readDocument(
  store: BlobProvider,
  descriptor: Descriptor,
  options: ReadOptions = {},
): Promise<Document | undefined> {
  const bytes = await readBlobBytes(store, descriptor.digest, options.maxBytes);
  return parseDocument(descriptor, bytes, options);
}

/** Reads and parses an image config. */
export async function readConfig(
  store: BlobProvider,
  descriptor: Descriptor,
  options: ReadOptions = {},
): Promise<ImageConfig> {
  const bytes = await readBlobBytes(store, descriptor.digest, options.maxBytes);
  return parseConfig(bytes, { ...options, what: `config ${descriptor.digest}` });
}

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

/** Finds a record by name, familiar name, or digest of its target. */
export async function findImage(store: ImageSource, nameOrDigest: string): Promise<ImageRecord> {
  try {
    return await store.getImage(nameOrDigest);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  const all = await store.listImages();
  const candidates = all.filter((r) =>
    r.target.digest === nameOrDigest ||
    (nameOrDigest.length >= 12 && !nameOrDigest.includes(":") &&
      r.target.digest.startsWith(`sha256:${nameOrDigest}`)) ||
    r.name === `docker.io/library/${nameOrDigest}` || r.name === `docker.io/${nameOrDigest}` ||
    (!/:[^/]*$/.test(nameOrDigest) && r.name === `docker.io/library/${nameOrDigest}:latest`) ||
    (!/:[^/]*$/.test(nameOrDigest) && r.name === `${nameOrDigest}:latest`)
  );
  if (candidates.length >= 1) return candidates[0];
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
  throw new NotFoundError(`image ${JSON.stringify(nameOrDigest)} not found in the store`);
}

/**
 * Resolves a name (or digest) to one platform's manifest and config. On an index without
 * `platform`: the host platform if present, else the first non-attestation entry.
 *
 * @throws {NotFoundError} when the name, the platform, or a needed blob is absent.
 */
export async function resolveImage(
  store: ImageSource,
  nameOrDigest: string,
  options: ReadOptions & { platform?: Platform } = {},
): Promise<ResolvedImage> {
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
    if (!(await store.has(doc.manifest.config.digest))) {
      throw new NotFoundError(
        `image ${record.name}: config ${doc.manifest.config.digest} is not in the store`,
      );
    }
    const config = await readConfig(store, doc.manifest.config, options);
    return {
      name: record.name,
      descriptor: record.target,
      index,
      manifestDescriptor: descriptor,
      manifest: doc.manifest,
      config,
      platform: {
        os: config.os,
        architecture: config.architecture,
        ...(config.variant ? { variant: config.variant } : {}),
        ...(config["os.version"] ? { "os.version": config["os.version"] } : {}),
      },
    };
  }
  throw new NotFoundError(`image ${record.name}: indexes nested too deep`);
}

/** What `images ls` shows for one name. */
export interface ImageSummary {
  readonly name: string;
  readonly digest: Digest;
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
          manifestPlatform.set(
            d.digest,
            formatPlatform({ os: c.os, architecture: c.architecture, variant: c.variant }),
          );
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

/** Summaries of every image in the store, sorted by name. */
export async function listImageSummaries(
  store: ImageSource,
  options: ReadOptions = {},
): Promise<ImageSummary[]> {
  const out: ImageSummary[] = [];
  for (const r of await store.listImages()) out.push(await summarizeImage(store, r, options));
  return out;
}
