// This module is browser compatible.
/**
 * One way to open an input by random access: an OCI layout folder or an archive read in
 * place (files read by path, see {@link RandomAccessFiles}) becomes an
 * {@link ArchiveSource}, an {@link ImageSource} whose every blob read from offset 0 is
 * verified against its digest as it streams. The page's read-only view (`openArchive`)
 * and the importer's folder input both open inputs here; the entries are read by
 * {@link readEntries}, docker archives get the importer's synthesized manifests.
 *
 * For a docker archive, an uncompressed layer's digest is taken from its config's diff_id
 * (that is what it must hash to) instead of being hashed up front; compressed layers
 * (rare) are hashed while opening.
 *
 * @example
 * ```ts
 * import { openFiles } from "./open.ts";
 * import { getRuntime } from "../runtime/mod.ts";
 * const files = new Map([
 *   ["oci-layout", '{"imageLayoutVersion":"1.0.0"}'],
 *   ["index.json", '{"schemaVersion":2,"manifests":[]}'],
 * ]);
 * const opened = await openFiles({
 *   label: "demo",
 *   kind: "directory",
 *   stat: (p) => Promise.resolve(files.has(p) ? { size: files.get(p)!.length } : undefined),
 *   open: (p) => Promise.resolve(new Blob([files.get(p)!]).stream()),
 * }, { runtime: await getRuntime() });
 * console.log(opened.format, opened.entries.length); // oci-layout 0
 * ```
 * @module
 */
import {
  type Digest,
  digestBytes,
  type Expectation,
  parseDigest,
  verifyingStream,
} from "../digest.ts";
import { InvalidInputError, NotFoundError } from "../errors.ts";
import { detectCompression } from "../compression.ts";
import type { Runtime } from "../runtime/types.ts";
import { DEFAULT_JSON_LIMIT, parseConfig, parseDockerArchiveManifest } from "../schema.ts";
import { readAllBytes } from "../store/blob.ts";
import type { BlobInfo, BlobManager, ImageRecord, ImageSource } from "../store/types.ts";
import { layoutRoot } from "./detect.ts";
import {
  archivePath,
  type DockerFile,
  type DockerImages,
  synthesizeDockerImages,
} from "./docker.ts";
import { type InputEntries, readEntries } from "./entries.ts";
import { importNames, type NameOptions } from "./names.ts";
import type { DirectorySource } from "./source.ts";

/** Files read by path, with random access. */
export interface RandomAccessFiles {
  /** For messages. */
  readonly label: string;
  /** Whether this is an archive (`oci-archive`/`docker-archive`) or a folder. */
  readonly kind: "archive" | "directory";
  /** Every regular file path, when the source can list them (archives). */
  paths?(): Iterable<string>;
  /** Size of a regular file (links followed), or undefined. */
  stat(path: string): Promise<{ size: number } | undefined>;
  /** The bytes of a regular file from `offset`. @throws {NotFoundError} */
  open(path: string, offset?: number): Promise<ReadableStream<Uint8Array>>;
}

/** {@link RandomAccessFiles} over the importer's {@link DirectorySource} (a folder). */
export function directoryFiles(source: DirectorySource): RandomAccessFiles {
  return {
    label: source.label,
    kind: "directory",
    stat: (path) => source.stat(path),
    open: async (path, offset = 0) => {
      const stream = await source.open(path);
      return offset > 0 ? stream.pipeThrough(skipBytes(offset)) : stream;
    },
  };
}

function skipBytes(n: number): TransformStream<Uint8Array, Uint8Array> {
  let left = n;
  return new TransformStream({
    transform(chunk, controller) {
      if (left >= chunk.byteLength) {
        left -= chunk.byteLength;
        return;
      }
      controller.enqueue(left ? chunk.subarray(left) : chunk);
      left = 0;
    },
  });
}

/**
 * An opened archive or layout: an {@link ImageSource} (what `resolveImage`, `exportArchive`,
 * `checkImages` and the page's inspection read) that can also list its blobs.
 */
export type ArchiveSource = ImageSource & Pick<BlobManager, "list">;

/** A small file of `files` whole, at most `max` bytes. */
async function readFile(files: RandomAccessFiles, path: string, max: number): Promise<Uint8Array> {
  return await readAllBytes(await files.open(path), max, `${files.label}: ${path}`);
}

/** Options of {@link openFiles}. */
export interface OpenFilesOptions {
  /** Hashing runtime. */
  readonly runtime: Runtime;
  /** JSON cap (default 4 MiB). */
  readonly maxJsonBytes?: number;
  /** The verb of messages (`Cannot open x: …`, the default, or `Cannot import x: …`). */
  readonly action?: string;
  /** Non-fatal findings. */
  readonly onWarning?: (message: string) => void;
  /** Name the entries by these rules (the importer's); without it the source has no names. */
  readonly names?: NameOptions;
  /** Docker archives: containerd's Docker schema 2 manifests instead of OCI ones (default). */
  readonly dockerMediaTypes?: boolean;
}

/** An input opened by {@link openFiles}: its entries, and its blobs as an image source. */
export interface OpenedFiles extends InputEntries {
  /** The input's blobs (and, for a docker archive, its synthesized documents), read in place. */
  readonly source: ArchiveStore;
  /** The names of the entries, by `names` (empty without it). */
  readonly images: ImageRecord[];
}

/**
 * Opens an archive's or a folder's files: finds the layout root (`oci-layout` or
 * `manifest.json` nearest the top, for inputs that can list their files), reads the
 * entries and returns the blobs as an {@link ArchiveSource}. Names are the caller's.
 *
 * @throws {InvalidInputError} when it is not an image archive or layout, or its documents
 *   are malformed.
 */
export async function openFiles(
  files: RandomAccessFiles,
  options: OpenFilesOptions,
): Promise<OpenedFiles> {
  const { runtime } = options;
  const max = options.maxJsonBytes ?? DEFAULT_JSON_LIMIT;
  const action = options.action ?? "open";
  const root = files.paths ? layoutRoot(files.paths()) : "";
  if (root === undefined) {
    throw new InvalidInputError(
      `Cannot ${action} ${files.label}: not an image archive (no oci-layout or manifest.json in it)`,
    );
  }
  let blobs = new Map<Digest, { path: string; size: number }>();
  const listed = await readEntries(
    {
      label: files.label,
      has: async (path) => (await files.stat(path)) !== undefined,
      bytes: (path, maxBytes) => readFile(files, path, maxBytes),
    },
    root,
    {
      action,
      archive: files.kind === "archive",
      runtime,
      maxJsonBytes: max,
      onWarning: options.onWarning,
      docker: async (manifestJson) => {
        const opened = await openDocker(files, root, manifestJson, runtime, {
          max,
          mediaTypes: options.dockerMediaTypes ? "docker" : "oci",
        });
        blobs = opened.blobs;
        return opened.docker;
      },
    },
  );
  const docker = listed.format === "docker-archive";
  const images = options.names ? importNames(listed.entries, options.names) : [];
  const source = new ArchiveStore({
    files,
    root: docker ? undefined : root,
    blobs,
    // A layout's index.json is not one of its blobs; a docker archive's documents are.
    extras: docker ? listed.extras : new Map(),
    images,
    runtime,
  });
  return { ...listed, source, images };
}

/**
 * A docker archive's synthesized manifests (the importer's code) and where its blobs are:
 * configs hashed, uncompressed layers named by their config's diff_id (verified when
 * read), compressed layers hashed now.
 */
async function openDocker(
  files: RandomAccessFiles,
  root: string,
  manifestJson: Uint8Array,
  runtime: Runtime,
  options: { max: number; mediaTypes: "oci" | "docker" },
): Promise<{ docker: DockerImages; blobs: Map<Digest, { path: string; size: number }> }> {
  const { max } = options;
  const what = files.label;
  const list = parseDockerArchiveManifest(manifestJson, { what: `${what}: manifest.json` });
  const found = new Map<string, DockerFile & { bytes?: Uint8Array }>();
  const blobs = new Map<Digest, { path: string; size: number }>();
  const add = (f: DockerFile & { bytes?: Uint8Array }) => {
    found.set(f.path, f);
    if (!blobs.has(f.digest)) blobs.set(f.digest, { path: f.path, size: f.size });
  };
  for (const item of list) {
    const configPath = archivePath(root, item.Config, what);
    if (!(await files.stat(configPath))) continue; // the synthesis names what is missing
    const bytes = await readFile(files, configPath, max);
    const configDigest = await digestBytes(runtime, bytes);
    add({ path: configPath, size: bytes.byteLength, digest: configDigest, bytes, head: bytes });
    const config = parseConfig(bytes, { what: `${what}: config ${item.Config}` });
    for (const [i, layer] of item.Layers.entries()) {
      const path = archivePath(root, layer, what);
      const lst = await files.stat(path);
      if (!lst || found.has(path)) continue;
      const reader = (await files.open(path)).getReader();
      const first = await reader.read();
      await reader.cancel().catch(() => {});
      const head = first.value?.slice(0, 8) ?? new Uint8Array(0);
      let digest = config.rootfs.diff_ids[i] as Digest | undefined;
      if (detectCompression(head) !== "none" || !digest) {
        const hasher = await runtime.createHasher("sha256");
        for await (const c of await files.open(path)) hasher.update(c);
        digest = `sha256:${hasher.digest()}` as Digest;
      }
      add({ path, size: lst.size, digest, head });
    }
  }
  const docker = await synthesizeDockerImages(
    runtime,
    {
      file: (path) => found.get(path),
      bytes: (f) => Promise.resolve(found.get(f.path)?.bytes ?? new Uint8Array(0)),
    },
    root,
    manifestJson,
    { what, maxJsonBytes: max, mediaTypes: options.mediaTypes },
  );
  return { docker, blobs };
}

/**
 * The image source {@link openFiles} returns: blobs and names of the input, read in
 * place (nothing to write, lease or close), plus the list of its blobs.
 */
export class ArchiveStore implements ArchiveSource {
  #files: RandomAccessFiles;
  #root?: string;
  #blobs: Map<Digest, { path: string; size: number }>;
  #extras: Map<Digest, Uint8Array>;
  #images: Map<string, ImageRecord>;
  #runtime: Runtime;

  constructor(init: {
    files: RandomAccessFiles;
    root?: string;
    blobs: Map<Digest, { path: string; size: number }>;
    extras: Map<Digest, Uint8Array>;
    images: ImageRecord[];
    runtime: Runtime;
  }) {
    this.#files = init.files;
    this.#root = init.root;
    this.#blobs = init.blobs;
    this.#extras = init.extras;
    this.#images = new Map(init.images.map((r) => [r.name, r]));
    this.#runtime = init.runtime;
  }

  async #locate(digest: Digest): Promise<{ path?: string; size: number } | undefined> {
    const { algorithm, encoded } = parseDigest(digest);
    const extra = this.#extras.get(digest);
    if (extra) return { size: extra.byteLength };
    const known = this.#blobs.get(digest);
    if (known) return known;
    if (this.#root === undefined) return undefined;
    const path = `${this.#root}blobs/${algorithm}/${encoded}`;
    const st = await this.#files.stat(path);
    return st ? { path, size: st.size } : undefined;
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.#locate(digest)) !== undefined;
  }

  async info(digest: Digest): Promise<BlobInfo> {
    const at = await this.#locate(digest);
    if (!at) throw new NotFoundError(`blob ${digest} is not in ${this.#files.label}`);
    return { digest, size: at.size };
  }

  async reader(
    digest: Digest,
    options: { offset?: number } = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const offset = options.offset ?? 0;
    const extra = this.#extras.get(digest);
    if (extra) return new Blob([extra.slice(offset)]).stream() as ReadableStream<Uint8Array>;
    if (offset > 0) {
      const at = await this.#locate(digest);
      if (!at) throw new NotFoundError(`blob ${digest} is not in ${this.#files.label}`);
      return await this.#files.open(at.path!, offset);
    }
    // Verified as it streams: a lying archive fails the read that meets the lie.
    const { stream, expected } = await this.unverifiedReader(digest);
    return stream.pipeThrough(await verifyingStream(this.#runtime, expected));
  }

  /**
   * A blob's bytes as the input holds them, NOT verified, and what they must be: the
   * digest, the size and the file that holds them (for messages, as {@link reader}'s).
   * For a caller that hashes the bytes anyway — the importer, whose store writer hashes
   * what it writes — and checks them against `expected` itself (`checkNotOverSize` on the
   * way, `checkDigestAndSize` at the end) before anything becomes visible: one hash
   * instead of two.
   *
   * @throws {NotFoundError} when the input has no such blob
   */
  async unverifiedReader(
    digest: Digest,
  ): Promise<{ stream: ReadableStream<Uint8Array>; expected: Required<Expectation> }> {
    const at = await this.#locate(digest);
    if (!at) throw new NotFoundError(`blob ${digest} is not in ${this.#files.label}`);
    const extra = this.#extras.get(digest);
    const what = extra ? `${this.#files.label}: synthesized` : `${this.#files.label}: ${at.path}`;
    const stream = extra
      ? new Blob([extra.slice()]).stream() as ReadableStream<Uint8Array>
      : await this.#files.open(at.path!);
    return { stream, expected: { digest, size: at.size, what } };
  }

  async *list(): AsyncIterable<BlobInfo> {
    for (const [digest, b] of this.#extras) yield { digest, size: b.byteLength };
    for (const [digest, b] of this.#blobs) yield { digest, size: b.size };
    if (this.#root === undefined || !this.#files.paths) return;
    const prefix = `${this.#root}blobs/`;
    for (const p of this.#files.paths()) {
      if (!p.startsWith(prefix)) continue;
      const [alg, hex] = p.slice(prefix.length).split("/");
      const digest = `${alg}:${hex}` as Digest;
      try {
        parseDigest(digest);
      } catch {
        continue;
      }
      const st = await this.#files.stat(p);
      if (st) yield { digest, size: st.size };
    }
  }

  getImage(name: string): Promise<ImageRecord> {
    const r = this.#images.get(name);
    if (!r) {
      return Promise.reject(new NotFoundError(`image ${name} not found in ${this.#files.label}`));
    }
    return Promise.resolve(r);
  }

  listImages(): Promise<ImageRecord[]> {
    return Promise.resolve(
      [...this.#images.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    );
  }
}
