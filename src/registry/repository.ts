// This module is browser compatible.
/**
 * A registry repository as a copy source and as a copy target (see `copy.ts`): the
 * same graph copy then pulls, pushes and copies.
 *
 * @example
 * ```ts
 * import { RegistryClient } from "@lading/oci";
 * import { registrySource } from "@lading/oci";
 * const client = new RegistryClient("127.0.0.1:5000", { plainHttp: true });
 * console.log(registrySource(client, "team/app").label); // 127.0.0.1:5000/team/app
 * ```
 * @module
 */
import type { Digest } from "../digest.ts";
import { LimitExceededError, NotFoundError } from "../errors.ts";
import { isIndexMediaType, OCI_DESCRIPTOR, OCI_INDEX } from "../media_types.ts";
import { parseIndex } from "../schema.ts";
import { readAllBytes } from "../store/blob.ts";
import type { BlobInfo, ImageRecord, ImageSource } from "../store/types.ts";
import type { Descriptor } from "../types.ts";
import { parseReference } from "../reference.ts";
import { isDocumentDescriptor } from "../walk.ts";
import type { ContentSource, ContentTarget } from "../copy.ts";
import { referrersTag, type RegistryClient } from "./client.ts";

function isManifestish(d: Descriptor): boolean {
  return isDocumentDescriptor(d) || d.mediaType === OCI_DESCRIPTOR;
}

/**
 * A registry repository as a copy source (manifests and blobs by descriptor).
 *
 * @example
 * ```ts
 * import { appendLayer, emptyImage, MemoryStore, pushImage, RegistryClient, registrySource, writeImage } from "@lading/oci";
 * import { MemoryRegistry } from "@lading/oci/testing";
 * const registry = new MemoryRegistry();
 * const client = new RegistryClient("registry.test", { fetch: registry.fetch });
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "a", content: "a" }] }), { name: "a:1" });
 * await pushImage(store, "a:1", { to: "registry.test/team/app:1", client });
 * const source = registrySource(client, "team/app");
 * const { descriptor } = await client.resolve("team/app", "1");
 * const manifest = JSON.parse(new TextDecoder().decode(await source.fetchDocument(descriptor, 4 << 20)));
 * console.log(source.label, manifest.config.mediaType); // registry.test/team/app application/vnd.oci.image.config.v1+json
 * ```
 */
export function registrySource(client: RegistryClient, repo: string): ContentSource {
  return {
    label: `${client.host}/${repo}`,
    async fetch(d, options) {
      if (isManifestish(d)) {
        const bytes = await client.fetchManifest(repo, d);
        return new Blob([bytes as BlobPart]).stream();
      }
      return await client.fetchBlob(repo, d, options);
    },
    async fetchDocument(d, maxBytes) {
      if (isManifestish(d)) return await client.fetchManifest(repo, d);
      if (d.size > maxBytes) {
        throw new LimitExceededError(
          `blob ${d.digest} has ${d.size} bytes, more than the ${maxBytes}-byte limit for JSON documents`,
        );
      }
      return await readAllBytes(await client.fetchBlob(repo, d), maxBytes, `blob ${d.digest}`);
    },
  };
}

/** Options of {@link registryTarget}. */
export interface RegistryTargetOptions {
  /** Another repository of the same registry to mount blobs from. */
  readonly mountFrom?: string;
  /** Upload in chunks of this many bytes (default: monolithic). */
  readonly chunkSize?: number;
  /** Notes (the referrers fallback tag was updated). */
  readonly onWarning?: (message: string) => void;
}

/**
 * A registry repository as a copy target: `HEAD` before upload, mounts from
 * `mountFrom`, documents by digest (the root by its tag), and the `sha256-<hex>`
 * referrers fallback tag kept when the registry does not answer `OCI-Subject`.
 *
 * @example
 * ```ts
 * import { appendLayer, copyGraph, emptyImage, MemoryStore, RegistryClient, registryTarget, storeSource, writeImage } from "@lading/oci";
 * import { MemoryRegistry } from "@lading/oci/testing";
 * const registry = new MemoryRegistry();
 * const client = new RegistryClient("registry.test", { fetch: registry.fetch });
 * const store = new MemoryStore();
 * const image = await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "a", content: "a" }] }), { name: "a:1" });
 * // pushImage does this (and more): the graph to the repository, the root under a tag.
 * await copyGraph(storeSource(store), registryTarget(client, "team/app"), { root: image.descriptor, rootTag: "v1" });
 * console.log((await client.head("team/app", "v1"))?.digest === image.descriptor.digest); // true
 * ```
 */
export function registryTarget(
  client: RegistryClient,
  repo: string,
  options: RegistryTargetOptions = {},
): ContentTarget {
  const sessions = new Map<Digest, string>();
  return {
    label: `${client.host}/${repo}`,
    verifies: true,
    async exists(d) {
      if (isManifestish(d)) return (await client.head(repo, d.digest)) !== undefined;
      return await client.blobExists(repo, d.digest, { push: true });
    },
    async tagged(d, tag) {
      // A tag that cannot be looked up (or names a schema 1 manifest) is written over.
      const named = await client.head(repo, tag).catch(() => undefined);
      return named?.digest === d.digest;
    },
    async mount(d) {
      if (!options.mountFrom || options.mountFrom === repo) return false;
      // distribution 2.8 answers 201 to a mount of a sha512 blob without linking it (the
      // manifest PUT then fails with MANIFEST_BLOB_UNKNOWN): upload those instead.
      if (!d.digest.startsWith("sha256:")) return false;
      const r = await client.mountBlob(repo, d.digest, options.mountFrom);
      if (!r.mounted && r.location) sessions.set(d.digest, r.location);
      return r.mounted;
    },
    async pushBlob(d, open, onBytes) {
      let last = 0;
      const location = sessions.get(d.digest);
      sessions.delete(d.digest);
      // A retry opens the blob again, and its byte count starts again from 0.
      const reopen = () => {
        last = 0;
        return open();
      };
      await client.uploadBlob(repo, d, reopen, {
        chunkSize: options.chunkSize,
        location,
        onProgress: (sent) => {
          onBytes(sent - last);
          last = sent;
        },
      });
      return "added";
    },
    async pushDocument(d, bytes, tag) {
      const r = await client.putManifest(repo, tag ?? d.digest, { mediaType: d.mediaType, bytes });
      const subject = subjectOf(bytes);
      if (subject && !r.subject) {
        await addToReferrersFallback(client, repo, subject, referrerDescriptor(d, bytes));
        options.onWarning?.(
          `${client.host}/${repo} has no referrers API: updated the fallback tag ${
            referrersTag(subject)
          }`,
        );
      }
      return "added";
    },
  };
}

function subjectOf(bytes: Uint8Array): Digest | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes));
    const digest = v?.subject?.digest;
    return typeof digest === "string" ? digest as Digest : undefined;
  } catch {
    return undefined;
  }
}

/** The descriptor a referrers list gives a manifest: with its artifactType and annotations. */
export function referrerDescriptor(d: Descriptor, bytes: Uint8Array): Descriptor {
  const v = JSON.parse(new TextDecoder().decode(bytes));
  const artifactType = typeof v.artifactType === "string"
    ? v.artifactType
    : typeof v.config?.mediaType === "string"
    ? v.config.mediaType
    : undefined;
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(artifactType ? { artifactType } : {}),
    ...(v.annotations && typeof v.annotations === "object" ? { annotations: v.annotations } : {}),
  };
}

/**
 * Adds `referrer` to the `sha256-<hex>` fallback index of `subject` (creating it; an
 * entry with the same digest is not added twice). The existing tag must be an index.
 */
export async function addToReferrersFallback(
  client: RegistryClient,
  repo: string,
  subject: Digest,
  referrer: Descriptor,
): Promise<void> {
  const tag = referrersTag(subject);
  let manifests: Descriptor[] = [];
  let base: Record<string, unknown> = {};
  try {
    const existing = await client.resolve(repo, tag);
    if (!isIndexMediaType(existing.descriptor.mediaType)) {
      throw new NotFoundError(
        `the referrers fallback tag ${client.host}/${repo}:${tag} is not an index; not replacing it`,
      );
    }
    manifests = [
      ...parseIndex(existing.bytes, { what: `referrers fallback tag ${tag}` }).manifests,
    ];
    base = JSON.parse(new TextDecoder().decode(existing.bytes));
  } catch (e) {
    if (!(e instanceof NotFoundError) || e.message.includes("is not an index")) throw e;
  }
  if (manifests.some((m) => m.digest === referrer.digest)) return;
  const index = {
    ...base,
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [...manifests, referrer],
  };
  await client.putManifest(repo, tag, {
    mediaType: OCI_INDEX,
    bytes: new TextEncoder().encode(JSON.stringify(index)),
  });
}

/**
 * A registry repository in the store's roles: {@link BlobProvider} (blobs and manifests
 * by digest) and {@link NameReader} (its tags as names `host/repo:tag`), so functions
 * that read images (`resolveImage`, the layer readers, export) read straight from a
 * registry. Nothing is verified here; readers of documents hash what they parse.
 *
 * @example
 * ```ts
 * import { RegistryClient } from "@lading/oci";
 * import { registryImageSource } from "@lading/oci";
 * const source = registryImageSource(
 *   new RegistryClient("127.0.0.1:5000", { plainHttp: true }),
 *   "team/app",
 * );
 * console.log(typeof source.getImage); // function
 * ```
 */
export function registryImageSource(client: RegistryClient, repo: string): ImageSource {
  const prefix = `${client.host}/${repo}`;
  const manifestSize = async (digest: Digest) => (await client.head(repo, digest))?.size;
  const info = async (digest: Digest): Promise<BlobInfo> => {
    const size = await client.blobSize(repo, digest) ?? await manifestSize(digest);
    if (size === undefined) throw new NotFoundError(`blob ${digest} not found in ${prefix}`);
    return { digest, size };
  };
  const reference = (name: string): string => {
    const r = parseReference(name);
    if (r.domain !== client.host || r.path !== repo) {
      throw new NotFoundError(`image ${name} is not in ${prefix}`);
    }
    return r.digest ?? r.tag ?? "latest";
  };
  return {
    async has(digest) {
      return (await client.blobSize(repo, digest)) !== undefined ||
        (await manifestSize(digest)) !== undefined;
    },
    info,
    async reader(digest, options = {}) {
      const size = await client.blobSize(repo, digest);
      if (size !== undefined) {
        return await client.fetchBlob(repo, {
          mediaType: "application/octet-stream",
          digest,
          size,
        }, { offset: options.offset });
      }
      const m = await client.resolve(repo, digest);
      return new Blob([m.bytes.subarray(options.offset ?? 0) as BlobPart]).stream();
    },
    async readSmall(digest, maxBytes) {
      const size = await client.blobSize(repo, digest);
      if (size === undefined) return (await client.resolve(repo, digest)).bytes;
      if (size > maxBytes) {
        throw new LimitExceededError(
          `blob ${digest} has ${size} bytes, more than the ${maxBytes}-byte limit for JSON documents`,
        );
      }
      const stream = await client.fetchBlob(repo, {
        mediaType: "application/octet-stream",
        digest,
        size,
      });
      return await readAllBytes(stream, maxBytes, `blob ${digest}`);
    },
    async getImage(name) {
      const m = await client.resolve(repo, reference(name));
      return { name, target: m.descriptor };
    },
    async listImages() {
      const records: ImageRecord[] = [];
      for (const tag of await client.tags(repo)) {
        const target = await client.head(repo, tag);
        if (target) records.push({ name: `${prefix}:${tag}`, target });
      }
      return records.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    },
  };
}
