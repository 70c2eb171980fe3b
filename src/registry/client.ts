// This module is browser compatible.
/**
 * A low-level client of the OCI distribution API for one registry host: resolve a tag
 * or digest, fetch manifests and blobs (resuming a cut body with `Range`), check
 * existence, list tags (paginated), list referrers (API, then the `sha256-<hex>` tag
 * fallback), upload blobs (monolithic or chunked), mount across repositories and put
 * manifests. `fetch` is injected, so the client runs in Deno and in browsers.
 *
 * @example
 * ```ts
 * import { RegistryClient } from "@lading/oci";
 * const client = new RegistryClient("127.0.0.1:5000", {
 *   plainHttp: true,
 *   fetch: () => Promise.resolve(new Response(null, { status: 404 })),
 * });
 * console.log(await client.blobExists("x", `sha256:${"0".repeat(64)}`)); // false
 * ```
 * @module
 */
import { type Digest, digestBytes, isDigest, parseDigest, shortDigest } from "../digest.ts";
import {
  DigestMismatchError,
  InvalidInputError,
  LimitExceededError,
  NotFoundError,
  RegistryError,
  SizeMismatchError,
} from "../errors.ts";
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  isIndexMediaType,
  isManifestMediaType,
  OCI_INDEX,
  OCI_MANIFEST,
} from "../media_types.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Runtime } from "../runtime/types.ts";
import { DEFAULT_JSON_LIMIT, detectDocumentKind, parseIndex, parseJson } from "../schema.ts";
import { readAllBytes } from "../store/blob.ts";
import type { Descriptor } from "../types.ts";
import { errorDetail } from "./auth.ts";
import { type BodyReader, bodyReader, fixedChunks, resumableBody } from "./blob_body.ts";
import { readReferrerPages } from "./referrers.ts";
import {
  nextPage,
  RegistryTransport,
  type RequestBody,
  type TransportOptions,
} from "./transport.ts";

/** Every manifest type lading reads, in the `Accept` header of manifest requests. */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST];

const SCHEMA1_TYPES = [
  "application/vnd.docker.distribution.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

/** Options of a {@link RegistryClient}. */
export interface RegistryClientOptions extends TransportOptions {
  /** Hashing runtime (default: detected). */
  readonly runtime?: Runtime;
  /** Cap for manifests (default 4 MiB). */
  readonly maxManifestBytes?: number;
  /** Times a cut blob body is resumed (default 5). */
  readonly maxResumes?: number;
  /** A blob body that sends nothing for this long (ms, default 60 s) is resumed. */
  readonly idleTimeoutMs?: number;
  /** Non-fatal findings (a `Docker-Content-Digest` that disagrees with the body). */
  readonly onWarning?: (message: string) => void;
}

/** A manifest or index as the registry served it, verified against its digest. */
export interface FetchedManifest {
  /** Media type (from `Content-Type`, else the body), digest and size of the bytes. */
  readonly descriptor: Descriptor;
  /** The exact bytes. */
  readonly bytes: Uint8Array;
}

/** What an upload did. */
export type UploadOutcome = "uploaded" | "mounted";

/** Options of {@link RegistryClient.uploadBlob}. */
export interface UploadOptions {
  /** Upload in `PATCH` chunks of this many bytes (default: one monolithic `PUT`). */
  readonly chunkSize?: number;
  /** An upload session the registry already opened (from a failed mount). */
  readonly location?: string;
  /** Bytes sent so far (progress). */
  readonly onProgress?: (bytes: number) => void;
}

function pullScope(repo: string): string {
  return `repository:${repo}:pull`;
}
function pushScope(repo: string): string {
  return `repository:${repo}:pull,push`;
}

function baseMediaType(contentType: string | null): string | undefined {
  const t = contentType?.split(";")[0].trim().toLowerCase();
  return t || undefined;
}

/**
 * The fallback tag of the referrers of `digest`: `sha256-<hex>`.
 *
 * @example
 * ```ts
 * import { referrersTag } from "@lading/oci";
 * console.log(referrersTag("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"));
 * // sha256-44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a
 * ```
 */
export function referrersTag(digest: Digest): string {
  const { algorithm, encoded } = parseDigest(digest);
  return `${algorithm}-${encoded}`.slice(0, 128);
}

/**
 * A low-level client of one registry host.
 *
 * @example
 * ```ts
 * import { appendLayer, emptyImage, MemoryStore, pushImage, RegistryClient, writeImage } from "@lading/oci";
 * import { MemoryRegistry } from "@lading/oci/testing";
 * const registry = new MemoryRegistry(); // a real one: new RegistryClient("ghcr.io", { credentials })
 * const client = new RegistryClient("registry.test", { fetch: registry.fetch });
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "a", content: "a" }] }), { name: "a:1" });
 * await pushImage(store, "a:1", { to: "registry.test/team/app:1", client });
 * const { descriptor, bytes } = await client.resolve("team/app", "1");
 * const manifest = JSON.parse(new TextDecoder().decode(bytes));
 * console.log(descriptor.mediaType, manifest.layers.length); // application/vnd.oci.image.manifest.v1+json 1
 * const layer = await client.fetchBlob("team/app", manifest.layers[0]);
 * console.log((await new Response(layer).arrayBuffer()).byteLength === manifest.layers[0].size); // true
 * console.log(await client.tags("team/app")); // [ "1" ]
 * ```
 */
export class RegistryClient {
  /** The registry host as in references (`127.0.0.1:5000`, `docker.io`). */
  readonly host: string;
  /** The HTTP layer (auth, retries, redirects). */
  readonly transport: RegistryTransport;
  #options: RegistryClientOptions;
  #runtime?: Runtime;

  /** A client for the registry at `host` (`registry.example.com`, `127.0.0.1:5000`). */
  constructor(host: string, options: RegistryClientOptions = {}) {
    this.host = host;
    this.transport = new RegistryTransport(host, options);
    this.#options = options;
    this.#runtime = options.runtime;
  }

  async #rt(): Promise<Runtime> {
    this.#runtime ??= await getRuntime();
    return this.#runtime;
  }

  #name(repo: string, ref?: string): string {
    if (ref === undefined) return `${this.host}/${repo}`;
    return `${this.host}/${repo}${ref.includes(":") ? "@" : ":"}${ref}`;
  }

  async #failure(res: Response, what: string): Promise<never> {
    const detail = errorDetail(await res.text().catch(() => ""));
    const tail = detail ? `: ${detail}` : "";
    if (res.status === 404) throw new NotFoundError(`Cannot ${what}: not found (404${tail})`);
    if (res.status === 403) {
      throw new RegistryError(`Cannot ${what}: access denied by ${this.host} (403${tail})`, 403);
    }
    throw new RegistryError(
      `Cannot ${what}: refused by the registry ${this.host} (${res.status}${tail})`,
      res.status,
    );
  }

  /**
   * Checks that the registry speaks the distribution API (and that credentials work).
   * `what` names the action in messages (default `reach the registry <host>`).
   */
  async ping(options: { what?: string } = {}): Promise<void> {
    const what = options.what ?? `reach the registry ${this.host}`;
    const res = await this.transport.request({ method: "GET", path: "/v2/", scopes: [], what });
    if (!res.ok) await this.#failure(res, what);
    await res.body?.cancel();
  }

  /**
   * Resolves a tag or digest to its manifest or index and fetches it. A digest reference
   * must hash to its digest; for a tag, a `Docker-Content-Digest` that disagrees with the
   * body is a warning and the body's digest wins.
   *
   * @throws {NotFoundError}, {RegistryError}, {DigestMismatchError},
   *   {LimitExceededError} (over 4 MiB), {InvalidInputError} (schema 1).
   */
  async resolve(repo: string, reference: string): Promise<FetchedManifest> {
    const isDigest = reference.includes(":");
    const expected = isDigest ? parseDigest(reference).digest : undefined;
    return await this.#getManifest(repo, reference, { expected });
  }

  /**
   * Fetches a manifest or index by descriptor (size and digest are checked; the kind
   * is checked by the parsers of the caller).
   */
  async fetchManifest(repo: string, descriptor: Descriptor): Promise<Uint8Array> {
    const m = await this.#getManifest(repo, descriptor.digest, {
      expected: descriptor.digest,
      size: descriptor.size,
      accept: descriptor.mediaType,
    });
    return m.bytes;
  }

  async #getManifest(
    repo: string,
    reference: string,
    opts: { expected?: Digest; size?: number; accept?: string },
  ): Promise<FetchedManifest> {
    const name = this.#name(repo, reference);
    const what = `fetch manifest ${name}`;
    const accept = [...MANIFEST_ACCEPT];
    if (opts.accept && !accept.includes(opts.accept)) accept.push(opts.accept);
    const res = await this.transport.request({
      method: "GET",
      path: `/v2/${repo}/manifests/${reference}`,
      headers: { accept: accept.join(", ") },
      scopes: [pullScope(repo)],
      what,
    });
    if (!res.ok) await this.#failure(res, what);
    const max = Math.min(
      opts.size ?? Infinity,
      this.#options.maxManifestBytes ?? DEFAULT_JSON_LIMIT,
    );
    const cap = this.#options.maxManifestBytes ?? DEFAULT_JSON_LIMIT;
    const length = Number(res.headers.get("content-length") ?? NaN);
    if (length > cap) {
      await res.body?.cancel();
      throw new LimitExceededError(
        `Cannot ${what}: the manifest has ${length} bytes, more than the ${cap}-byte limit`,
      );
    }
    if (opts.size !== undefined && length > opts.size) {
      await res.body?.cancel();
      throw new SizeMismatchError(
        `Cannot ${what}: the registry sends ${length} bytes, the descriptor says ${opts.size}`,
        opts.size,
        length,
      );
    }
    const type = baseMediaType(res.headers.get("content-type"));
    if (type && SCHEMA1_TYPES.includes(type)) {
      await res.body?.cancel();
      throw schema1Error(name);
    }
    const bytes = res.body
      ? await readAllBytes(res.body, opts.size !== undefined ? max : cap, `manifest ${name}`)
      : new Uint8Array();
    const algorithm = opts.expected ? parseDigest(opts.expected).algorithm : "sha256";
    const digest = await digestBytes(await this.#rt(), bytes, { algorithm });
    if (opts.expected && digest !== opts.expected) {
      throw new DigestMismatchError(
        `Cannot ${what}: the registry sent a manifest that hashes to ${digest}`,
        opts.expected,
        digest,
      );
    }
    if (opts.size !== undefined && bytes.byteLength !== opts.size) {
      throw new SizeMismatchError(
        `Cannot ${what}: the registry sent ${bytes.byteLength} bytes, the descriptor says ${opts.size}`,
        opts.size,
        bytes.byteLength,
      );
    }
    const header = res.headers.get("docker-content-digest");
    if (!opts.expected && header && header !== digest) {
      this.#options.onWarning?.(
        `${name}: the registry says Docker-Content-Digest ${header}, but the body hashes to ${digest}; using ${digest}`,
      );
    }
    let mediaType = type;
    let body: unknown;
    if (!mediaType || !(isIndexMediaType(mediaType) || isManifestMediaType(mediaType))) {
      body = parseJson(bytes, { what: `manifest ${name}`, maxJsonBytes: cap });
      const declared = (body as { mediaType?: unknown })?.mediaType;
      if (typeof declared === "string" && declared) mediaType = declared;
      else {
        const kind = detectDocumentKind(body);
        if (kind === "index") mediaType = OCI_INDEX;
        else if (kind === "manifest") mediaType = OCI_MANIFEST;
      }
      if ((body as { schemaVersion?: unknown })?.schemaVersion === 1) throw schema1Error(name);
    }
    if (mediaType && SCHEMA1_TYPES.includes(mediaType)) throw schema1Error(name);
    return {
      descriptor: { mediaType: mediaType ?? OCI_MANIFEST, digest, size: bytes.byteLength },
      bytes,
    };
  }

  /**
   * The descriptor of a tag or digest from a `HEAD` request (no body transferred), or
   * `undefined` when the registry does not have it. The digest comes from
   * `Docker-Content-Digest`; without it, from a `GET`.
   */
  async head(repo: string, reference: string): Promise<Descriptor | undefined> {
    const name = this.#name(repo, reference);
    const what = `look up ${name}`;
    const res = await this.transport.request({
      method: "HEAD",
      path: `/v2/${repo}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT.join(", ") },
      scopes: [pullScope(repo)],
      what,
    });
    await res.body?.cancel();
    if (res.status === 404) return undefined;
    if (!res.ok) await this.#failure(res, what);
    const digest = res.headers.get("docker-content-digest");
    const type = baseMediaType(res.headers.get("content-type"));
    const size = Number(res.headers.get("content-length") ?? NaN);
    if (
      !digest || !type || !Number.isSafeInteger(size) ||
      !(isIndexMediaType(type) || isManifestMediaType(type))
    ) {
      return (await this.resolve(repo, reference)).descriptor;
    }
    if (SCHEMA1_TYPES.includes(type)) throw schema1Error(name);
    return { mediaType: type, digest: parseDigest(digest).digest, size };
  }

  /** The size of a blob the repository has (`HEAD`), or `undefined` when it has none. */
  async blobSize(repo: string, digest: Digest): Promise<number | undefined> {
    const what = `check blob ${shortDigest(digest)} in ${this.#name(repo)}`;
    const res = await this.transport.request({
      method: "HEAD",
      path: `/v2/${repo}/blobs/${digest}`,
      scopes: [pullScope(repo)],
      what,
    });
    await res.body?.cancel();
    if (res.status === 404) return undefined;
    if (!res.ok) await this.#failure(res, what);
    const size = Number(res.headers.get("content-length") ?? NaN);
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RegistryError(`Cannot ${what}: the registry sent no Content-Length`);
    }
    return size;
  }

  /** True when the repository has the blob (`HEAD`). */
  async blobExists(
    repo: string,
    digest: Digest,
    options: { push?: boolean } = {},
  ): Promise<boolean> {
    const what = `check blob ${shortDigest(digest)} in ${this.#name(repo)}`;
    const res = await this.transport.request({
      method: "HEAD",
      path: `/v2/${repo}/blobs/${digest}`,
      scopes: [options.push ? pushScope(repo) : pullScope(repo)],
      what,
    });
    await res.body?.cancel();
    if (res.status === 404) return false;
    if (!res.ok) await this.#failure(res, what);
    return true;
  }

  /**
   * The bytes of a blob from `offset`, as a stream. A body cut short is resumed with
   * `Range: bytes=N-` (a server that ignores `Range` and sends everything again is
   * skipped forward). Bytes are NOT verified here: the store's writer does that.
   *
   * @throws {NotFoundError} when the registry does not have the blob.
   */
  async fetchBlob(
    repo: string,
    descriptor: Descriptor,
    options: { offset?: number; onResume?: (offset: number) => void } = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const what = `fetch blob ${descriptor.digest} from ${this.#name(repo)}`;
    const size = descriptor.size;
    const position = options.offset ?? 0;
    if (size > 0 && position >= size) return new Blob([]).stream();
    const open = async (position: number): Promise<BodyReader> => {
      const headers: Record<string, string> = {};
      if (position > 0) headers.range = `bytes=${position}-`;
      const res = await this.transport.request({
        method: "GET",
        path: `/v2/${repo}/blobs/${descriptor.digest}`,
        headers,
        scopes: [pullScope(repo)],
        what,
      });
      if (!res.ok) await this.#failure(res, what);
      if (!res.body) throw new RegistryError(`Cannot ${what}: the registry sent no body`);
      let skip = 0;
      if (position > 0) {
        if (res.status === 206) {
          const m = /^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "");
          if (m && Number(m[1]) !== position) {
            await res.body.cancel();
            throw new RegistryError(
              `Cannot ${what}: asked for bytes from ${position}, the registry sent from ${m[1]}`,
            );
          }
        } else skip = position; // Range ignored: skip what we have.
      }
      return bodyReader(res.body, size - position + skip, skip);
    };
    return await resumableBody(open, {
      size,
      offset: position,
      maxResumes: this.#options.maxResumes ?? 5,
      idleMs: this.#options.idleTimeoutMs ?? 60_000,
      what,
      onResume: options.onResume,
    });
  }

  /** Every tag of a repository, following `Link` pagination. */
  async tags(repo: string, options: { pageSize?: number } = {}): Promise<string[]> {
    const what = `list tags of ${this.#name(repo)}`;
    const out: string[] = [];
    let path: string | undefined = `/v2/${repo}/tags/list${
      options.pageSize ? `?n=${options.pageSize}` : ""
    }`;
    for (let page = 0; path && page < 10_000; page++) {
      const res: Response = await this.transport.request({
        method: "GET",
        path,
        scopes: [pullScope(repo)],
        what,
      });
      if (!res.ok) await this.#failure(res, what);
      const body = parseJson(
        await readAllBytes(res.body!, DEFAULT_JSON_LIMIT, `tag list of ${this.#name(repo)}`),
        { what: `tag list of ${this.#name(repo)}` },
      ) as { tags?: unknown };
      if (Array.isArray(body?.tags)) {
        for (const t of body.tags) if (typeof t === "string") out.push(t);
      }
      path = nextPage(res, new URL(path, this.transport.base).href);
    }
    return out;
  }

  /**
   * The descriptors of the manifests that refer to `digest` (their `subject`): the
   * referrers API, else the `sha256-<hex>` fallback tag (which must be an index).
   */
  async referrers(
    repo: string,
    digest: Digest,
    options: { artifactType?: string } = {},
  ): Promise<Descriptor[]> {
    const what = `list referrers of ${this.#name(repo, digest)}`;
    const query = options.artifactType
      ? `?artifactType=${encodeURIComponent(options.artifactType)}`
      : "";
    const first = `/v2/${repo}/referrers/${digest}${query}`;
    const get = (path: string) =>
      this.transport.request({
        method: "GET",
        path,
        headers: { accept: OCI_INDEX },
        scopes: [pullScope(repo)],
        what,
      });
    const res = await get(first);
    let list: Descriptor[];
    let filtered: boolean;
    const isIndexPage = (r: Response) =>
      r.ok && baseMediaType(r.headers.get("content-type")) === OCI_INDEX;
    if (isIndexPage(res)) {
      ({ list, filtered } = await readReferrerPages(res, {
        url: new URL(first, this.transport.base).href,
        what,
        get,
        isIndexPage,
        fail: (r) => this.#failure(r, what),
      }));
    } else if (res.status === 404 || res.ok) {
      await res.body?.cancel();
      list = [...await this.#fallbackReferrers(repo, digest)];
      filtered = false;
    } else {
      return await this.#failure(res, what);
    }
    if (options.artifactType && !filtered) {
      list = list.filter((d) => d.artifactType === options.artifactType);
    }
    return [...list];
  }

  async #fallbackReferrers(repo: string, digest: Digest): Promise<readonly Descriptor[]> {
    const tag = referrersTag(digest);
    let m: FetchedManifest;
    try {
      m = await this.resolve(repo, tag);
    } catch (e) {
      if (e instanceof NotFoundError) return [];
      throw e;
    }
    if (!isIndexMediaType(m.descriptor.mediaType)) {
      throw new InvalidInputError(
        `the referrers fallback tag ${
          this.#name(repo, tag)
        } is a ${m.descriptor.mediaType}, not an index`,
      );
    }
    return parseIndex(m.bytes, {
      what: `referrers fallback tag ${this.#name(repo, tag)}`,
      descriptor: m.descriptor,
    }).manifests;
  }

  /**
   * Mounts a blob from another repository of this registry. Returns `mounted: true`
   * when the registry did; otherwise the upload session it opened instead.
   */
  async mountBlob(
    repo: string,
    digest: Digest,
    from: string,
  ): Promise<{ mounted: boolean; location?: string }> {
    const what = `mount blob ${shortDigest(digest)} from ${from} into ${this.#name(repo)}`;
    const res = await this.transport.request({
      method: "POST",
      path: `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${
        encodeURIComponent(from)
      }`,
      scopes: [pushScope(repo), pullScope(from)],
      what,
    });
    if (res.status === 201 || res.status === 202) await res.body?.cancel();
    if (res.status === 201) return { mounted: true };
    if (res.status === 202) {
      return { mounted: false, location: res.headers.get("location") ?? undefined };
    }
    return await this.#failure(res, what);
  }

  async #startUpload(repo: string, what: string): Promise<string> {
    const res = await this.transport.request({
      method: "POST",
      path: `/v2/${repo}/blobs/uploads/`,
      scopes: [pushScope(repo)],
      what,
    });
    if (res.status !== 202) await this.#failure(res, what);
    await res.body?.cancel();
    const location = res.headers.get("location");
    if (!location) throw new RegistryError(`Cannot ${what}: the registry sent no upload location`);
    return new URL(location, this.transport.base + `/v2/${repo}/blobs/uploads/`).href;
  }

  /**
   * Uploads a blob: one `PUT` with the whole body, or `PATCH` chunks then a closing
   * `PUT` (`chunkSize`). `body` is called again for a retry, so it must produce the same
   * bytes each time. The registry checks the digest.
   */
  async uploadBlob(
    repo: string,
    descriptor: Descriptor,
    body: () => Promise<ReadableStream<Uint8Array> | Uint8Array | Blob>,
    options: UploadOptions = {},
  ): Promise<void> {
    const what = `upload blob ${descriptor.digest} to ${this.#name(repo)}`;
    let location = options.location
      ? new URL(options.location, this.transport.base + `/v2/${repo}/blobs/uploads/`).href
      : await this.#startUpload(repo, what);
    const withDigest = (loc: string) => {
      const u = new URL(loc);
      u.searchParams.set("digest", descriptor.digest);
      return u.href;
    };
    if (options.chunkSize && descriptor.size > options.chunkSize) {
      let sent = 0;
      const source = await body();
      const stream = source instanceof Uint8Array
        ? new Blob([source as BlobPart]).stream()
        : source instanceof Blob
        ? source.stream()
        : source;
      for await (const chunk of fixedChunks(stream, options.chunkSize)) {
        const res = await this.transport.request({
          method: "PATCH",
          path: location,
          headers: {
            "content-type": "application/octet-stream",
            "content-range": `${sent}-${sent + chunk.byteLength - 1}`,
            "content-length": String(chunk.byteLength),
          },
          body: chunk,
          scopes: [pushScope(repo)],
          what,
        });
        if (res.status !== 202) await this.#failure(res, what);
        await res.body?.cancel();
        sent += chunk.byteLength;
        options.onProgress?.(sent);
        const next = res.headers.get("location");
        if (next) location = new URL(next, location).href;
      }
      const res = await this.transport.request({
        method: "PUT",
        path: withDigest(location),
        headers: { "content-length": "0" },
        scopes: [pushScope(repo)],
        what,
      });
      if (res.status !== 201) await this.#failure(res, what);
      await res.body?.cancel();
      return;
    }
    const res = await this.transport.request({
      method: "PUT",
      path: withDigest(location),
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(descriptor.size),
      },
      body: async () => {
        const b = await body();
        if (!options.onProgress || b instanceof Uint8Array || b instanceof Blob) {
          return b as BodyInit;
        }
        let sent = 0;
        return b.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, c) {
              sent += chunk.byteLength;
              options.onProgress!(sent);
              c.enqueue(chunk);
            },
          }),
        );
      },
      scopes: [pushScope(repo)],
      what,
    });
    if (res.status !== 201) await this.#failure(res, what);
    await res.body?.cancel();
  }

  /**
   * Puts a manifest or index under a tag or its digest. Returns the digest the registry
   * reports and whether it answered `OCI-Subject` (it handles the referrers itself).
   *
   * @throws {DigestMismatchError} when the registry answers a `Docker-Content-Digest` other
   * than the digest of the bytes sent (it changed the manifest).
   */
  async putManifest(
    repo: string,
    reference: string,
    manifest: { readonly mediaType: string; readonly bytes: Uint8Array },
  ): Promise<{ digest?: string; subject: boolean }> {
    const what = `put manifest ${this.#name(repo, reference)}`;
    const res = await this.transport.request({
      method: "PUT",
      path: `/v2/${repo}/manifests/${reference}`,
      headers: { "content-type": manifest.mediaType },
      body: manifest.bytes as RequestBody,
      scopes: [pushScope(repo)],
      what,
    });
    if (res.status !== 201 && res.status !== 200) await this.#failure(res, what);
    await res.body?.cancel();
    const header = res.headers.get("docker-content-digest") ?? undefined;
    if (header !== undefined) {
      // The registry names what it stored; anything but the digest of the bytes sent means
      // it rewrote the manifest, and the image pushed is not the one the user has.
      const algorithm = isDigest(header) ? parseDigest(header).algorithm : "sha256";
      const sent = await digestBytes(await this.#rt(), manifest.bytes, { algorithm });
      if (header !== sent) {
        throw new DigestMismatchError(
          `Cannot ${what}: the registry answered Docker-Content-Digest ${header}, but the manifest sent hashes to ${sent} (the registry changed the manifest)`,
          sent,
          header,
        );
      }
    }
    return { digest: header, subject: res.headers.has("oci-subject") };
  }
}

function schema1Error(name: string): InvalidInputError {
  return new InvalidInputError(
    `Cannot fetch manifest ${name}: it is a Docker schema 1 manifest, a deprecated format lading does not read; push the image again with a current tool`,
  );
}
