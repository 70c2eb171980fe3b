// This module is browser compatible.
/**
 * A registry in memory that speaks the distribution API (OCI distribution spec 1.1): for
 * tests and examples of code that pulls and pushes, as go-containerregistry's
 * `pkg/registry` is. Pass {@link MemoryRegistry.fetch} to a `RegistryClient`, or serve
 * {@link MemoryRegistry.handle} over HTTP (`Deno.serve`) for other tools (skopeo, crane).
 *
 * It checks what a real registry checks: blob digests on upload, manifest digests, that a
 * manifest's blobs and an index's manifests were pushed to the repository first, and
 * (with `users`) Basic credentials. Not implemented: deletion, the catalog, token auth.
 * Everything is kept in memory: keep the images small.
 *
 * @example
 * ```ts
 * import { appendLayer, emptyImage, MemoryStore, pullImage, pushImage, RegistryClient, writeImage } from "@lading/oci";
 * import { MemoryRegistry } from "@lading/oci/testing";
 * const registry = new MemoryRegistry();
 * const client = new RegistryClient("registry.test", { fetch: registry.fetch });
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "hi", content: "hi" }] }), { name: "app:1" });
 * await pushImage(store, "app:1", { to: "registry.test/team/app:1", client });
 * const pulled = await pullImage(new MemoryStore(), "registry.test/team/app:1", { client });
 * console.log(pulled.name, await client.tags("team/app")); // registry.test/team/app:1 [ "1" ]
 * ```
 * @module
 */
import { type Digest, digestBytes, isDigest } from "../digest.ts";
import { isIndexMediaType } from "../media_types.ts";
import { getRuntime } from "../runtime/mod.ts";
import { detectDocumentKind } from "../schema.ts";
import type { Descriptor } from "../types.ts";

/** Options of a {@link MemoryRegistry}. */
export interface MemoryRegistryOptions {
  /** Require Basic auth with one of these user names and passwords (default: no auth). */
  readonly users?: Readonly<Record<string, string>>;
  /** Page size of tag lists without `?n=` (default: all tags on one page). */
  readonly tagPageSize?: number;
}

interface Repository {
  readonly blobs: Set<string>;
  readonly manifests: Set<string>;
  readonly tags: Map<string, string>;
  /** subject digest → referrer descriptors */
  readonly referrers: Map<string, Descriptor[]>;
}

interface StoredManifest {
  readonly mediaType: string;
  readonly bytes: Uint8Array;
}

// The distribution spec's repository name grammar.
const NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const ROUTE =
  /^\/v2\/(.+?)\/(manifests\/[^/]+|blobs\/uploads\/[^/]*|blobs\/[^/]+|tags\/list|referrers\/[^/]+)$/;

function errorResponse(status: number, code: string, message: string): Response {
  return new Response(JSON.stringify({ errors: [{ code, message }] }), {
    status,
    headers: { "content-type": "application/json" },
  });
}

async function bodyBytes(request: Request): Promise<Uint8Array> {
  return new Uint8Array(await request.arrayBuffer());
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

/**
 * A distribution registry in memory; see the module documentation.
 *
 * @example
 * ```ts
 * import { appendLayer, emptyImage, MemoryStore, pushImage, RegistryClient, writeImage } from "@lading/oci";
 * import { MemoryRegistry } from "@lading/oci/testing";
 * const registry = new MemoryRegistry();
 * // Over HTTP for other tools: skopeo copy --src-tls-verify=false docker://127.0.0.1:PORT/team/app:1 ...
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, registry.handle);
 * const host = `127.0.0.1:${server.addr.port}`;
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "a", content: "a" }] }), { name: "a:1" });
 * await pushImage(store, "a:1", { to: `${host}/team/app:1`, client: new RegistryClient(host, { plainHttp: true }) });
 * const res = await fetch(`http://${host}/v2/team/app/tags/list`);
 * console.log(await res.json()); // { name: "team/app", tags: [ "1" ] }
 * await server.shutdown();
 * ```
 */
export class MemoryRegistry {
  #blobs = new Map<string, Uint8Array>();
  #manifests = new Map<string, StoredManifest>();
  #repos = new Map<string, Repository>();
  #uploads = new Map<string, { repo: string; bytes: Uint8Array }>();
  #options: MemoryRegistryOptions;
  /** Every request handled, as `METHOD /path?query` (for tests that count round trips). */
  readonly requests: string[] = [];

  /**
   * An empty registry.
   *
   * @example
   * ```ts
   * import { RegistryClient } from "@lading/oci";
   * import { MemoryRegistry } from "@lading/oci/testing";
   * const registry = new MemoryRegistry({ users: { me: "secret" } });
   * const client = new RegistryClient("registry.test", {
   *   fetch: registry.fetch,
   *   credentials: () => Promise.resolve({ username: "me", password: "secret" }),
   * });
   * await client.ping();
   * console.log(registry.requests); // [ "GET /v2/", "GET /v2/" ] (the first one is answered 401)
   * ```
   */
  constructor(options: MemoryRegistryOptions = {}) {
    this.#options = options;
  }

  /** A `fetch` that answers every URL from this registry (whatever its host). */
  readonly fetch: typeof fetch = (input, init) =>
    this.handle(input instanceof Request && !init ? input : new Request(input, init));

  /** Answers one request (pass it to `Deno.serve` to run the registry over HTTP). */
  readonly handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    this.requests.push(`${request.method} ${url.pathname}${url.search}`);
    const users = this.#options.users;
    if (users && !this.#authorized(request, users)) {
      await request.body?.cancel();
      const res = errorResponse(401, "UNAUTHORIZED", "authentication required");
      res.headers.set("www-authenticate", 'Basic realm="lading memory registry"');
      return res;
    }
    try {
      return await this.#route(request, url);
    } catch (e) {
      return errorResponse(500, "UNKNOWN", e instanceof Error ? e.message : String(e));
    }
  };

  #authorized(request: Request, users: Readonly<Record<string, string>>): boolean {
    const header = request.headers.get("authorization") ?? "";
    if (!header.startsWith("Basic ")) return false;
    let decoded: string;
    try {
      decoded = new TextDecoder().decode(
        Uint8Array.from(atob(header.slice(6)), (c) => c.charCodeAt(0)),
      );
    } catch {
      return false;
    }
    const colon = decoded.indexOf(":");
    const user = decoded.slice(0, colon);
    return colon > 0 && Object.hasOwn(users, user) && users[user] === decoded.slice(colon + 1);
  }

  #repo(name: string): Repository {
    let r = this.#repos.get(name);
    if (!r) {
      r = { blobs: new Set(), manifests: new Set(), tags: new Map(), referrers: new Map() };
      this.#repos.set(name, r);
    }
    return r;
  }

  async #route(request: Request, url: URL): Promise<Response> {
    const method = request.method;
    const v2 = { "docker-distribution-api-version": "registry/2.0" };
    if (url.pathname === "/v2/" || url.pathname === "/v2") {
      return new Response(method === "HEAD" ? null : "{}", {
        headers: { ...v2, "content-type": "application/json" },
      });
    }
    const m = ROUTE.exec(url.pathname);
    if (!m) return errorResponse(404, "NOT_FOUND", `no route ${url.pathname}`);
    const [, name, rest] = m;
    if (!NAME.test(name)) return errorResponse(400, "NAME_INVALID", `invalid name ${name}`);
    const [kind, arg] = [
      rest.slice(0, rest.lastIndexOf("/")),
      rest.slice(rest.lastIndexOf("/") + 1),
    ];
    if (kind === "manifests") {
      if (method === "GET" || method === "HEAD") return this.#getManifest(name, arg, method);
      if (method === "PUT") return await this.#putManifest(request, name, arg);
    } else if (kind === "blobs/uploads") {
      if (method === "POST") return await this.#startUpload(request, url, name);
      if (method === "PATCH") return await this.#patchUpload(request, name, arg);
      if (method === "PUT") return await this.#finishUpload(request, url, name, arg);
    } else if (kind === "blobs") {
      if (method === "GET" || method === "HEAD") return this.#getBlob(request, name, arg, method);
    } else if (kind === "tags") {
      if (method === "GET") return this.#tags(url, name);
    } else if (kind === "referrers") {
      if (method === "GET") return this.#referrers(url, name, arg);
    }
    await request.body?.cancel();
    return errorResponse(405, "UNSUPPORTED", `${method} ${url.pathname} is not supported`);
  }

  #getManifest(name: string, reference: string, method: string): Response {
    const repo = this.#repos.get(name);
    const digest = isDigest(reference) ? reference : repo?.tags.get(reference);
    const stored = digest && repo?.manifests.has(digest) ? this.#manifests.get(digest) : undefined;
    if (!stored) {
      return errorResponse(404, "MANIFEST_UNKNOWN", `manifest ${name}:${reference} unknown`);
    }
    return new Response(method === "HEAD" ? null : stored.bytes as BodyInit, {
      headers: {
        "content-type": stored.mediaType,
        "content-length": String(stored.bytes.byteLength),
        "docker-content-digest": digest!,
      },
    });
  }

  async #putManifest(request: Request, name: string, reference: string): Promise<Response> {
    const bytes = await bodyBytes(request);
    const digest = await digestBytes(await getRuntime(), bytes);
    if (isDigest(reference) ? reference !== digest : !TAG.test(reference)) {
      return errorResponse(400, "DIGEST_INVALID", `${reference} does not match ${digest}`);
    }
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return errorResponse(400, "MANIFEST_INVALID", "the manifest is not JSON");
    }
    const kind = detectDocumentKind(doc);
    const mediaType = request.headers.get("content-type")?.split(";")[0].trim() ||
      (typeof doc.mediaType === "string" ? doc.mediaType : "");
    if (!kind || !mediaType || (isIndexMediaType(mediaType) !== (kind === "index"))) {
      return errorResponse(400, "MANIFEST_INVALID", `not a manifest or index of ${mediaType}`);
    }
    const repo = this.#repo(name);
    const needed: { digest?: unknown; index: boolean }[] = kind === "index"
      ? ((doc.manifests ?? []) as { digest?: unknown }[]).map((d) => ({ ...d, index: true }))
      : [doc.config, ...((doc.layers ?? []) as unknown[])].map((d) => ({
        ...(d as { digest?: unknown }),
        index: false,
      }));
    for (const d of needed) {
      const known = d.index ? repo.manifests : repo.blobs;
      if (typeof d.digest !== "string" || !known.has(d.digest)) {
        return errorResponse(
          400,
          d.index ? "MANIFEST_UNKNOWN" : "MANIFEST_BLOB_UNKNOWN",
          `${String(d.digest)} is not in ${name}`,
        );
      }
    }
    this.#manifests.set(digest, { mediaType, bytes });
    repo.manifests.add(digest);
    if (!isDigest(reference)) repo.tags.set(reference, digest);
    const headers: Record<string, string> = {
      location: `/v2/${name}/manifests/${digest}`,
      "docker-content-digest": digest,
    };
    const subject = doc.subject as { digest?: unknown } | undefined;
    if (subject && typeof subject.digest === "string") {
      const list = repo.referrers.get(subject.digest) ?? [];
      const config = doc.config as { mediaType?: string } | undefined;
      const artifactType = typeof doc.artifactType === "string"
        ? doc.artifactType
        : config?.mediaType;
      if (!list.some((d) => d.digest === digest)) {
        list.push({
          mediaType,
          digest: digest as Digest,
          size: bytes.byteLength,
          ...(artifactType ? { artifactType } : {}),
          ...(doc.annotations ? { annotations: doc.annotations as Record<string, string> } : {}),
        });
      }
      repo.referrers.set(subject.digest, list);
      headers["oci-subject"] = subject.digest;
    }
    return new Response(null, { status: 201, headers });
  }

  #getBlob(request: Request, name: string, digest: string, method: string): Response {
    const bytes = this.#repos.get(name)?.blobs.has(digest) ? this.#blobs.get(digest) : undefined;
    if (!bytes) return errorResponse(404, "BLOB_UNKNOWN", `blob ${digest} unknown to ${name}`);
    const headers = {
      "content-type": "application/octet-stream",
      "docker-content-digest": digest,
    };
    const range = /^bytes=(\d+)-$/.exec(request.headers.get("range") ?? "");
    if (range && method === "GET" && Number(range[1]) < bytes.byteLength) {
      const from = Number(range[1]);
      return new Response(bytes.subarray(from) as BodyInit, {
        status: 206,
        headers: {
          ...headers,
          "content-length": String(bytes.byteLength - from),
          "content-range": `bytes ${from}-${bytes.byteLength - 1}/${bytes.byteLength}`,
        },
      });
    }
    return new Response(method === "HEAD" ? null : bytes as BodyInit, {
      headers: { ...headers, "content-length": String(bytes.byteLength) },
    });
  }

  async #startUpload(request: Request, url: URL, name: string): Promise<Response> {
    const mount = url.searchParams.get("mount");
    const from = url.searchParams.get("from");
    if (mount && from && this.#repos.get(from)?.blobs.has(mount)) {
      await request.body?.cancel();
      this.#repo(name).blobs.add(mount);
      return new Response(null, {
        status: 201,
        headers: { location: `/v2/${name}/blobs/${mount}`, "docker-content-digest": mount },
      });
    }
    const digest = url.searchParams.get("digest");
    if (digest && !mount) return await this.#commit(name, await bodyBytes(request), digest);
    await request.body?.cancel();
    const id = crypto.randomUUID();
    this.#uploads.set(id, { repo: name, bytes: new Uint8Array(0) });
    return new Response(null, {
      status: 202,
      headers: {
        location: `/v2/${name}/blobs/uploads/${id}`,
        range: "0-0",
        "docker-upload-uuid": id,
      },
    });
  }

  async #patchUpload(request: Request, name: string, id: string): Promise<Response> {
    const upload = this.#uploads.get(id);
    if (!upload || upload.repo !== name) {
      await request.body?.cancel();
      return errorResponse(404, "BLOB_UPLOAD_UNKNOWN", `upload ${id} unknown`);
    }
    const chunk = await bodyBytes(request);
    const range = /^(\d+)-(\d+)$/.exec(request.headers.get("content-range") ?? "");
    if (range && Number(range[1]) !== upload.bytes.byteLength) {
      return errorResponse(416, "BLOB_UPLOAD_INVALID", `chunk starts at ${range[1]}`);
    }
    upload.bytes = concat(upload.bytes, chunk);
    return new Response(null, {
      status: 202,
      headers: {
        location: `/v2/${name}/blobs/uploads/${id}`,
        range: `0-${Math.max(upload.bytes.byteLength - 1, 0)}`,
        "docker-upload-uuid": id,
      },
    });
  }

  async #finishUpload(request: Request, url: URL, name: string, id: string): Promise<Response> {
    const upload = this.#uploads.get(id);
    if (!upload || upload.repo !== name) {
      await request.body?.cancel();
      return errorResponse(404, "BLOB_UPLOAD_UNKNOWN", `upload ${id} unknown`);
    }
    this.#uploads.delete(id);
    const bytes = concat(upload.bytes, await bodyBytes(request));
    return await this.#commit(name, bytes, url.searchParams.get("digest") ?? "");
  }

  async #commit(name: string, bytes: Uint8Array, digest: string): Promise<Response> {
    if (!isDigest(digest) || !digest.startsWith("sha256:")) {
      return errorResponse(400, "DIGEST_INVALID", `unsupported digest ${digest}`);
    }
    const actual = await digestBytes(await getRuntime(), bytes);
    if (actual !== digest) {
      return errorResponse(400, "DIGEST_INVALID", `the upload hashes to ${actual}, not ${digest}`);
    }
    this.#blobs.set(digest, bytes);
    this.#repo(name).blobs.add(digest);
    return new Response(null, {
      status: 201,
      headers: { location: `/v2/${name}/blobs/${digest}`, "docker-content-digest": digest },
    });
  }

  #tags(url: URL, name: string): Response {
    const repo = this.#repos.get(name);
    if (!repo) return errorResponse(404, "NAME_UNKNOWN", `repository ${name} unknown`);
    const all = [...repo.tags.keys()].sort();
    const last = url.searchParams.get("last");
    const start = last === null ? 0 : all.findIndex((t) => t > last);
    const rest = start < 0 ? [] : all.slice(start);
    const n = Number(url.searchParams.get("n") ?? this.#options.tagPageSize ?? rest.length);
    const page = rest.slice(0, n);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (page.length < rest.length) {
      headers.link = `</v2/${name}/tags/list?n=${n}&last=${
        encodeURIComponent(page[page.length - 1])
      }>; rel="next"`;
    }
    return new Response(JSON.stringify({ name, tags: page }), { headers });
  }

  #referrers(url: URL, name: string, digest: string): Response {
    if (!isDigest(digest)) return errorResponse(400, "DIGEST_INVALID", `${digest} is no digest`);
    const type = url.searchParams.get("artifactType");
    const all = this.#repos.get(name)?.referrers.get(digest) ?? [];
    const manifests = type === null ? all : all.filter((d) => d.artifactType === type);
    const headers: Record<string, string> = {
      "content-type": "application/vnd.oci.image.index.v1+json",
    };
    if (type !== null) headers["oci-filters-applied"] = "artifactType";
    return new Response(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests,
      }),
      { headers },
    );
  }
}
