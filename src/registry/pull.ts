// This module is browser compatible.
/**
 * Pull, push and copy: the graph copy of `copy.ts` between a registry repository and a
 * store (or another repository). Pulled documents go through the import parsers; every
 * blob is hashed while it streams into the store's writer; names are recorded last.
 *
 * @example
 * ```ts
 * import { pullImage } from "@lading/oci";
 * console.log(typeof pullImage); // function
 * ```
 * @module
 */
import { type Digest, digestBytes } from "../digest.ts";
import { InvalidInputError, NotFoundError } from "../errors.ts";
import { isIndexMediaType } from "../media_types.ts";
import { formatPlatform, hostPlatform } from "../platform.ts";
import { getRuntime } from "../runtime/mod.ts";
import { DEFAULT_JSON_LIMIT, parseIndex, parseJson } from "../schema.ts";
import { filterPlatforms } from "../walk.ts";
import { formatReference, parseReference, type Reference } from "../reference.ts";
import type { Runtime } from "../runtime/types.ts";
import type { ImageRecord, ImageSource, ImageTarget, Leases } from "../store/types.ts";
import type { Descriptor, Platform } from "../types.ts";
import {
  type BlobProgress,
  type ContentSource,
  copyGraph,
  type CopyGraphResult,
  storeSource,
  storeTarget,
} from "../copy.ts";
import type { ImportedImage } from "../import/mod.ts";
import { RegistryClient } from "./client.ts";
import { registrySource, registryTarget } from "./repository.ts";

/** Options of {@link pullImage}. */
export interface PullOptions {
  /**
   * The client of the reference's registry (credentials, a private CA's `fetch`, plain
   * http); default: `new RegistryClient(domain)`, anonymous https.
   */
  readonly client?: RegistryClient;
  /** Platforms to fetch under an index (default: the host's). */
  readonly platforms?: readonly Platform[];
  /** Fetch every platform. */
  readonly allPlatforms?: boolean;
  /** Also fetch the artifacts that refer to the image (and name them by digest). */
  readonly referrers?: boolean;
  /** Blobs downloaded at once (default 4). */
  readonly concurrency?: number;
  /** Also fetch non-distributable (foreign) layers from the registry (default: skip them). */
  readonly nonDistributable?: boolean;
  /** Record the image under this name instead of the normalized reference. */
  readonly name?: string;
  /** Progress of each blob. */
  readonly onProgress?: (p: BlobProgress) => void;
  /** Non-fatal findings. */
  readonly onWarning?: (message: string) => void;
  /** Hashing runtime. */
  readonly runtime?: Runtime;
}

/** What a pull did (shaped like an import's result, plus the pulled image itself). */
export interface PullResult {
  /** The name recorded: the normalized reference, `…@sha256:…` for a digest reference. */
  readonly name: string;
  /** The digest of the image pulled (index or manifest). */
  readonly digest: Digest;
  /** Its media type. */
  readonly mediaType: string;
  /** Its size in bytes. */
  readonly size: number;
  /** Platforms fetched (`linux/amd64`). */
  readonly platforms: string[];
  /** Every name recorded (the image, then referrers by digest). */
  readonly images: ImportedImage[];
  /** Blobs fetched, already present, bytes fetched, and downloads resumed. */
  readonly blobs: { added: number; present: number; bytes: number; resumed: number };
  /** Non-fatal findings. */
  readonly warnings: string[];
}

/** The given client, else an anonymous https one for the reference's registry. */
function clientFor(ref: string, client?: RegistryClient): RegistryClient {
  return client ?? new RegistryClient(parseReference(ref).domain);
}

function repositoryOf(client: RegistryClient, ref: string): Reference {
  const r = parseReference(ref);
  if (r.domain !== client.host) {
    throw new TypeError(
      `the reference ${ref} is on ${r.domain}, the client talks to ${client.host}`,
    );
  }
  return r;
}

/** The reference to ask the registry for: digest, else tag, else `latest`. */
function wanted(r: Reference): string {
  return r.digest ?? r.tag ?? "latest";
}

/**
 * The name ctr records: the normalized reference (with `:latest` when neither is given).
 *
 * @example
 * ```ts
 * import { parseReference, pulledName } from "@lading/oci";
 * console.log(pulledName(parseReference("registry.test/team/app"))); // registry.test/team/app:latest
 * ```
 */
export function pulledName(r: Reference): string {
  if (r.tag === undefined && r.digest === undefined) {
    return formatReference({ ...r, tag: "latest" });
  }
  return formatReference(r);
}

/**
 * Pulls an image from a registry into a store: the index (or manifest) is stored and
 * named; under an index only the chosen platforms' manifests are fetched (the others
 * show as missing, as after `import --platform`). Blobs the store has are not
 * transferred. Verified blobs stay on failure (unnamed; a later pull reuses them); no
 * name changes on failure.
 *
 * @throws {NotFoundError}, {RegistryError}, {DigestMismatchError} naming the blob,
 *   {InvalidInputError} for bad documents.
 *
 * @example
 * ```ts
 * import { appendLayer, emptyImage, listImageFiles, MemoryStore, pullImage, pushImage, RegistryClient, writeImage } from "@lading/oci";
 * import { MemoryRegistry } from "@lading/oci/testing";
 * const registry = new MemoryRegistry(); // a real one: new RegistryClient("ghcr.io"), or lookupCredentials from @lading/oci/fs
 * const client = new RegistryClient("registry.test", { fetch: registry.fetch });
 * const elsewhere = new MemoryStore();
 * await writeImage(elsewhere, await appendLayer(elsewhere, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "a:1" });
 * await pushImage(elsewhere, "a:1", { to: "registry.test/team/app:1", client });
 *
 * const store = new MemoryStore();
 * const pulled = await pullImage(store, "registry.test/team/app:1", { client, allPlatforms: true });
 * console.log(pulled.name, pulled.blobs.added); // registry.test/team/app:1 3
 * console.log((await listImageFiles(store, pulled.name)).map((f) => f.path)); // [ "etc", "etc/motd" ]
 * ```
 */
export async function pullImage(
  store: ImageTarget & Partial<Leases>,
  ref: string,
  options: PullOptions = {},
): Promise<PullResult> {
  const client = clientFor(ref, options.client);
  const r = repositoryOf(client, ref);
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    options.onWarning?.(m);
  };
  const platforms = options.allPlatforms
    ? []
    : options.platforms?.length
    ? options.platforms
    : [hostPlatform()];
  const resolved = await client.resolve(r.path, wanted(r));
  const lease = store.lease ? await store.lease() : undefined;
  try {
    // The walk writes nothing before `beforeWrite`, which leases every digest it reaches
    // (the root too) under one writer lock.
    const source = registrySource(client, r.path);
    const target = storeTarget(store, "the store");
    const name = options.name ?? pulledName(r);
    const common = {
      concurrency: options.concurrency ?? 4,
      nonDistributable: options.nonDistributable,
      onProgress: options.onProgress,
      onWarning: warn,
      runtime: options.runtime,
      beforeWrite: async (digests: readonly Digest[]) => {
        await lease?.add(digests);
      },
    };
    const result = await copyGraph(source, target, {
      ...common,
      root: resolved.descriptor,
      platforms,
      rootBytes: resolved.bytes,
      image: name,
      verb: "pull",
    });
    const records: ImageRecord[] = [{ name, target: resolved.descriptor }];
    const totals = { ...result.blobs };
    if (options.referrers) {
      const subjects = new Set<Digest>(
        result.digests.filter((d) =>
          d === resolved.descriptor.digest || isManifestDigest(result, d)
        ),
      );
      const seen = new Set<Digest>();
      for (const subject of subjects) {
        for (const referrer of await client.referrers(r.path, subject)) {
          if (seen.has(referrer.digest)) continue;
          seen.add(referrer.digest);
          const rr = await copyGraph(source, target, {
            ...common,
            root: referrer,
            platforms: [],
            image: `referrer ${referrer.digest} of ${name}`,
            verb: "pull",
          });
          add(totals, rr.blobs);
          records.push({
            name: formatReference({ domain: r.domain, path: r.path, digest: referrer.digest }),
            target: referrerTarget(referrer),
          });
        }
      }
    }
    // Names last, after every blob they reach is committed.
    await store.putImages(records);
    return {
      name,
      digest: resolved.descriptor.digest,
      mediaType: resolved.descriptor.mediaType,
      size: resolved.descriptor.size,
      platforms: result.platforms,
      images: records.map((x) => ({
        name: x.name,
        digest: x.target.digest,
        mediaType: x.target.mediaType,
        size: x.target.size,
      })),
      blobs: {
        added: totals.transferred,
        present: totals.present,
        bytes: totals.bytes,
        resumed: totals.resumed,
      },
      warnings,
    };
  } finally {
    await lease?.release().catch(() => {});
  }
}

function referrerTarget(d: Descriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

function isManifestDigest(result: CopyGraphResult, d: Digest): boolean {
  return result.manifests.includes(d);
}

function add(a: CopyGraphResult["blobs"], b: CopyGraphResult["blobs"]): void {
  a.transferred += b.transferred;
  a.mounted += b.mounted;
  a.present += b.present;
  a.bytes += b.bytes;
  a.resumed += b.resumed;
}

/** Options of {@link pushImage}. */
export interface PushImageOptions extends PushOptions {
  /** The reference to push to (`registry.example.com/team/app:1`, or `…@sha256:…`). */
  readonly to: string;
  /** The client of that registry; default: `new RegistryClient(domain)`, anonymous https. */
  readonly client?: RegistryClient;
}

/** Options of {@link pushImage} and {@link copyImage}. */
export interface PushOptions {
  /** Push only these platforms' manifests under an index (default: all). */
  readonly platforms?: readonly Platform[];
  /** Blobs uploaded at once (default 3). */
  readonly concurrency?: number;
  /** Also push non-distributable (foreign) layers (default: skip them, as skopeo does). */
  readonly nonDistributable?: boolean;
  /** Upload in chunks of this many bytes (default: one request per blob). */
  readonly chunkSize?: number;
  /** Progress of each blob. */
  readonly onProgress?: (p: BlobProgress) => void;
  /** Non-fatal findings. */
  readonly onWarning?: (message: string) => void;
  /** Hashing runtime. */
  readonly runtime?: Runtime;
}

/** What a push or copy did. */
export interface PushResult {
  /** The remote reference written (normalized). */
  readonly ref: string;
  /** The digest of the image pushed (index or manifest). */
  readonly digest: Digest;
  /** Its media type. */
  readonly mediaType: string;
  /** Its size in bytes. */
  readonly size: number;
  /** Blobs uploaded, mounted from another repository, already present, and bytes sent. */
  readonly blobs: { uploaded: number; mounted: number; present: number; bytes: number };
  /** Non-fatal findings. */
  readonly warnings: string[];
}

/**
 * Pushes a named image of a store to a registry: children first, exact bytes, then
 * the tag. Blobs the registry has (`HEAD`) are skipped; blobs of an image that came
 * from another repository of the same registry are mounted. An image with missing
 * content is refused before anything is sent, listing what is missing.
 *
 * @throws {NotFoundError} for an unknown local name; {MissingContentError};
 *   {RegistryError} when the registry refuses.
 *
 * @example
 * ```ts
 * import { appendLayer, emptyImage, MemoryStore, pushImage, RegistryClient, writeImage } from "@lading/oci";
 * import { MemoryRegistry } from "@lading/oci/testing";
 * const registry = new MemoryRegistry();
 * const client = new RegistryClient("registry.test", { fetch: registry.fetch });
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "a", content: "a" }] }), { name: "example.com/a:1" });
 * const pushed = await pushImage(store, "example.com/a:1", { to: "registry.test/team/a:1", client });
 * console.log(pushed.ref, pushed.blobs.uploaded); // registry.test/team/a:1 3 (layer, config, manifest)
 * const again = await pushImage(store, "example.com/a:1", { to: "registry.test/team/a:1", client });
 * console.log(again.blobs.uploaded, again.blobs.present); // 0 3 (HEAD says the registry has them)
 * ```
 */
export async function pushImage(
  store: ImageSource,
  localName: string,
  options: PushImageOptions,
): Promise<PushResult> {
  const { to: remoteRef, client: given, ...pushOptions } = options;
  const client = clientFor(remoteRef, given);
  const r = repositoryOf(client, remoteRef);
  const record = await findImage(store, localName);
  let mountFrom: string | undefined;
  try {
    const local = parseReference(record.name);
    if (local.domain === client.host && local.path !== r.path) mountFrom = local.path;
  } catch {
    // a local name that is not a reference: nothing to mount from
  }
  const target = record.target;
  if (r.digest && r.digest !== target.digest) {
    throw new InvalidInputError(
      `Cannot push ${record.name} to ${remoteRef}: the image is ${target.digest}, not ${r.digest}`,
    );
  }
  return await pushGraph(
    storeSource(store, `the store (${record.name})`),
    client,
    r,
    target,
    undefined,
    { ...pushOptions, mountFrom, verb: "push" },
  );
}

async function findImage(store: ImageSource, name: string): Promise<ImageRecord> {
  try {
    return await store.getImage(name);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
    let normalized: string | undefined;
    try {
      normalized = pulledName(parseReference(name));
    } catch {
      throw e;
    }
    if (normalized === name) throw e;
    return await store.getImage(normalized).catch(() => {
      throw e;
    });
  }
}

async function pushGraph(
  source: ContentSource,
  client: RegistryClient,
  r: Reference,
  root: Descriptor,
  rootBytes: Uint8Array | undefined,
  options: PushOptions & { mountFrom?: string; verb?: string },
): Promise<PushResult> {
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    options.onWarning?.(m);
  };
  const target = registryTarget(client, r.path, {
    mountFrom: options.mountFrom,
    chunkSize: options.chunkSize,
    onWarning: warn,
  });
  const tag = r.digest ? undefined : r.tag ?? "latest";
  ({ root, rootBytes } = await selectPlatforms(source, root, rootBytes, {
    platforms: options.platforms ?? [],
    runtime: options.runtime,
    onWarning: warn,
  }));
  if (r.digest && r.digest !== root.digest) {
    throw new InvalidInputError(
      `Cannot push to ${
        formatReference(r)
      }: with --platform the image pushed is ${root.digest}, not ${r.digest}`,
    );
  }
  const result = await copyGraph(source, target, {
    root,
    platforms: options.platforms ?? [],
    concurrency: options.concurrency ?? 3,
    rootBytes,
    rootTag: tag ?? root.digest,
    onProgress: options.onProgress,
    onWarning: warn,
    runtime: options.runtime,
    requirePlatformMatch: true,
    image: formatReference(r),
    verb: options.verb,
    nonDistributable: options.nonDistributable,
  });
  return {
    ref: r.digest ? formatReference(r) : formatReference({ ...r, tag }),
    digest: root.digest,
    mediaType: root.mediaType,
    size: root.size,
    blobs: {
      uploaded: result.blobs.transferred,
      mounted: result.blobs.mounted,
      present: result.blobs.present,
      bytes: result.blobs.bytes,
    },
    warnings,
  };
}

/**
 * What a push of some platforms of an index sends (`docker push --platform`, crane's
 * `--platform`): a registry refuses an index whose manifests it does not have, so the
 * index cannot go as it is. One platform: its manifest alone, as a single-platform image.
 * Several: a new index listing only theirs (a new digest). An index whose entries all
 * match, or where none does (the copy then says which platforms there are), is unchanged.
 */
async function selectPlatforms(
  source: ContentSource,
  root: Descriptor,
  rootBytes: Uint8Array | undefined,
  options: {
    platforms: readonly Platform[];
    runtime?: Runtime;
    onWarning: (m: string) => void;
  },
): Promise<{ root: Descriptor; rootBytes: Uint8Array | undefined }> {
  const { platforms } = options;
  if (!platforms.length || !isIndexMediaType(root.mediaType)) return { root, rootBytes };
  const bytes = rootBytes ?? await source.fetchDocument(root, DEFAULT_JSON_LIMIT);
  const what = `index ${root.digest}`;
  const index = parseIndex(bytes, { what, descriptor: root });
  const kept = filterPlatforms(index.manifests, platforms);
  if (kept.length === index.manifests.length || !kept.some((d) => d.platform)) {
    return { root, rootBytes };
  }
  const all = index.manifests.filter((d) => d.platform).length;
  if (kept.length === 1) {
    const only = kept[0];
    options.onWarning(
      `pushing the ${
        formatPlatform(only.platform!)
      } manifest ${only.digest} alone, as a single-platform image (the index ${root.digest} lists ${all} platforms)`,
    );
    return {
      root: { mediaType: only.mediaType, digest: only.digest, size: only.size },
      rootBytes: undefined,
    };
  }
  // The same document with fewer entries: every other field as it was.
  const raw = parseJson(bytes, { what }) as { manifests: unknown[] };
  const keep = new Set(kept);
  raw.manifests = raw.manifests.filter((_, i) => keep.has(index.manifests[i]));
  const filtered = new TextEncoder().encode(JSON.stringify(raw));
  const runtime = options.runtime ?? await getRuntime();
  const digest = await digestBytes(runtime, filtered);
  options.onWarning(
    `pushing a new index ${digest} with the ${kept.length} of ${all} platforms asked for (the store's index is ${root.digest})`,
  );
  return {
    root: { mediaType: root.mediaType, digest, size: filtered.byteLength },
    rootBytes: filtered,
  };
}

/** Options of {@link copyImage}. */
export interface CopyOptions extends PushOptions {
  /** The client of the source's registry; default: `new RegistryClient(domain)`. */
  readonly sourceClient?: RegistryClient;
  /**
   * The client of the target's registry; default: the source's when both references are
   * on one registry, else `new RegistryClient(domain)`.
   */
  readonly targetClient?: RegistryClient;
  /**
   * Mount blobs from the source repository when both are on one registry (default true).
   * Turn it off when the two clients carry different credentials: the target's account
   * may not read the source repository.
   */
  readonly mount?: boolean;
}

/**
 * Copies an image from one registry repository to another (every platform by default;
 * blobs are mounted when both are on the same registry). The digest is unchanged.
 *
 * @example
 * ```ts
 * import { appendLayer, copyImage, emptyImage, MemoryStore, pushImage, RegistryClient, writeImage } from "@lading/oci";
 * import { MemoryRegistry } from "@lading/oci/testing";
 * const registry = new MemoryRegistry();
 * const client = new RegistryClient("registry.test", { fetch: registry.fetch });
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "a", content: "a" }] }), { name: "a:1" });
 * await pushImage(store, "a:1", { to: "registry.test/team/a:1", client });
 * const copied = await copyImage("registry.test/team/a:1", "registry.test/prod/a:1", { sourceClient: client });
 * console.log(copied.blobs.mounted, copied.blobs.uploaded); // 2 1 (same registry: layer and config mounted, the manifest put)
 * ```
 */
export async function copyImage(
  sourceRef: string,
  targetRef: string,
  options: CopyOptions = {},
): Promise<PushResult> {
  const { sourceClient, targetClient, ...copyOptions } = options;
  const from = clientFor(sourceRef, sourceClient);
  const sameRegistry = parseReference(targetRef).domain === from.host;
  const to = targetClient ?? (sameRegistry ? from : clientFor(targetRef));
  const s = repositoryOf(from, sourceRef);
  const t = repositoryOf(to, targetRef);
  const resolved = await from.resolve(s.path, wanted(s));
  if (t.digest && t.digest !== resolved.descriptor.digest) {
    throw new InvalidInputError(
      `Cannot copy ${sourceRef} to ${targetRef}: the image is ${resolved.descriptor.digest}, not ${t.digest}`,
    );
  }
  const source = registrySource(from, s.path);
  return await pushGraph(source, to, t, resolved.descriptor, resolved.bytes, {
    ...copyOptions,
    concurrency: options.concurrency ?? 4,
    mountFrom: (options.mount ?? true) && from.host === to.host && s.path !== t.path
      ? s.path
      : undefined,
  });
}
