// This module is browser compatible.
/**
 * The importer's two ways in, behind one interface ({@link OpenedInput}): a tar stream is
 * read once and staged (every member hashed and written uncommitted as it passes); a
 * folder is opened by random access as an {@link ArchiveSource} (`open.ts`, the page's
 * opener too) and its blobs are streamed, verified, into uncommitted writes when the
 * commit asks. Either way the entries are read by `entries.ts`, nothing is visible before
 * the commit, and a blob's bytes are hashed once: where the store writer hashes sha256 as
 * it writes (every store here), its hash is the check.
 *
 * @example
 * ```ts
 * import { openInput } from "./input.ts";
 * import { MemoryStore } from "../store/memory.ts";
 * import { getRuntime } from "../runtime/mod.ts";
 * import { packTar } from "modern-tar";
 * const tar = await packTar([
 *   { header: { name: "oci-layout", size: 30 }, body: '{"imageLayoutVersion":"1.0.0"}' },
 *   { header: { name: "index.json", size: 34 }, body: '{"schemaVersion":2,"manifests":[]}' },
 * ]);
 * const input = await openInput(new MemoryStore(), {
 *   kind: "stream",
 *   label: "empty.tar",
 *   stream: new Blob([tar]).stream(),
 * }, { runtime: await getRuntime(), maxJsonBytes: 4 << 20 });
 * console.log(input.format, input.entries.length); // oci-archive 0
 * await input.abortAll();
 * ```
 * @module
 */
import { checkDigestAndSize, checkNotOverSize, type Digest, parseDigest } from "../digest.ts";
import { InvalidInputError, NotFoundError } from "../errors.ts";
import { decompress } from "../compression.ts";
import type { Runtime } from "../runtime/types.ts";
import { readBlobBytes, writeBlob } from "../store/blob.ts";
import type { BlobIngester, BlobProvider, BlobWriter, Lease } from "../store/types.ts";
import type { Descriptor } from "../types.ts";
import { followLinks, layoutRoot } from "./detect.ts";
import { synthesizeDockerImages } from "./docker.ts";
import { type InputEntries, readEntries } from "./entries.ts";
import { type ArchiveStore, directoryFiles, openFiles } from "./open.ts";
import type { PlanInput } from "./plan.ts";
import type { DirectorySource, ImportSource } from "./source.ts";
import { type Member, stageTar } from "./staging.ts";

/** An input opened for import: its entries, its blobs for the plan, and their commit. */
export interface OpenedInput extends InputEntries, PlanInput {
  /** Compression of the archive (`none` for folders). */
  readonly compression: "none" | "gzip" | "zstd";
  /**
   * Makes sure `d`'s bytes are in a verified, uncommitted write (a dry run only reads and
   * verifies them). Call for blobs of the input the store does not have.
   */
  stage(d: Descriptor): Promise<void>;
  /** Commits `d`'s staged write; undefined when nothing was staged for it. */
  commit(d: Descriptor): Promise<{ added: boolean } | undefined>;
  /** Discards every uncommitted write. */
  abortAll(): Promise<void>;
}

/** How {@link openInput} reads and stages. */
export interface OpenInputOptions {
  /** Hashing and decompression runtime. */
  readonly runtime: Runtime;
  /** Cap for JSON documents. */
  readonly maxJsonBytes: number;
  /** Hash and check only, write nothing. */
  readonly dryRun?: boolean;
  /** Bytes read from the input so far. */
  readonly onProgress?: (bytes: number) => void;
  /** Non-fatal findings. */
  readonly onWarning?: (message: string) => void;
  /** Protects digests from gc before they are checked for presence (tar staging). */
  readonly lease?: Lease;
  /** Throws when the import was cancelled (checked before every write). */
  readonly cancelled?: () => void;
  /** Called as soon as there are uncommitted writes to discard on failure. */
  readonly onStaged?: (abortAll: () => Promise<void>) => void;
  /** Stage a tar's blobs also when the store has them (re-hashed and maybe replaced at commit). */
  readonly verifyExisting?: boolean;
  /** Docker archives: containerd's Docker schema 2 manifests instead of OCI ones. */
  readonly dockerMediaTypes?: boolean;
}

/**
 * Opens `source` for import into `store`: a stream is decompressed and staged, a folder
 * opened by random access. Either must hold an OCI layout or a docker-save
 * `manifest.json` (a stream: at the top or in one folder).
 *
 * @throws {InvalidInputError} when it is neither, or its documents are malformed.
 */
export async function openInput(
  store: BlobProvider & BlobIngester,
  source: ImportSource,
  options: OpenInputOptions,
): Promise<OpenedInput> {
  return source.kind === "stream"
    ? await openTar(store, source.stream, source.label, options)
    : await openFolder(store, source, options);
}

/** A tar, read once: every member hashed and staged as it passes. */
async function openTar(
  store: BlobProvider & BlobIngester,
  stream: ReadableStream<Uint8Array>,
  what: string,
  options: OpenInputOptions,
): Promise<OpenedInput> {
  const { runtime, maxJsonBytes } = options;
  const d = await decompress(runtime, stream);
  const staging = await stageTar(store, runtime, d.stream, what, options);
  options.onStaged?.(() => staging.abortAll());
  const root = layoutRoot(staging.members.keys());
  if (root === undefined) {
    throw new InvalidInputError(
      `Cannot import ${what}: not an image archive (no oci-layout or manifest.json in it)`,
    );
  }
  const member = (path: string) => staging.members.get(path);
  const listed = await readEntries(
    {
      label: what,
      has: (path) => Promise.resolve(member(path) !== undefined),
      bytes: (path, max) => staging.bytes(member(path)!, max),
    },
    root,
    {
      action: "import",
      archive: true,
      runtime,
      maxJsonBytes,
      onWarning: options.onWarning,
      docker: (manifestJson) =>
        synthesizeDockerImages(
          runtime,
          {
            file: (path) =>
              followLinks(
                { members: staging.members, links: staging.symlinks },
                path,
                what,
                "symlink",
              ),
            bytes: (file, max) => staging.bytes(file as Member, max),
          },
          root,
          manifestJson,
          { what, maxJsonBytes, mediaTypes: options.dockerMediaTypes ? "docker" : "oci" },
        ),
    },
  );
  const find = (digest: Digest): Member | undefined => {
    if (listed.format === "docker-archive") return staging.byDigest(digest);
    const { algorithm, encoded } = parseDigest(digest);
    return member(`${root}blobs/${algorithm}/${encoded}`);
  };
  return {
    ...listed,
    compression: d.compression,
    size: (digest) => Promise.resolve(listed.extras.get(digest)?.byteLength ?? find(digest)?.size),
    bytes: (desc, max) => {
      const extra = listed.extras.get(desc.digest);
      return extra ? Promise.resolve(extra) : staging.bytes(find(desc.digest)!, max);
    },
    stage: async (desc) => {
      const m = listed.extras.has(desc.digest) ? undefined : find(desc.digest);
      if (m) await staging.stage(m, desc.digest);
    },
    commit: async (desc) => {
      const extra = listed.extras.get(desc.digest);
      if (extra) return await writeBlob(store, extra, expectation(desc));
      const m = find(desc.digest);
      if (!m?.writer) return undefined;
      const result = await m.writer.commit(expectation(desc));
      m.writer = undefined;
      return result;
    },
    abortAll: () => staging.abortAll(),
  };
}

/**
 * A folder, opened by random access as an {@link ArchiveSource}: documents are read (and
 * verified) when the plan asks, other blobs streamed into uncommitted writes when the
 * commit asks, each checked before the commit by the writer's own sha256 (size on the way,
 * digest at the end; a verifying read where the writer does not hash, or for sha512).
 */
async function openFolder(
  store: BlobProvider & BlobIngester,
  folder: DirectorySource,
  options: OpenInputOptions,
): Promise<OpenedInput> {
  const opened = await openFiles(directoryFiles(folder), {
    runtime: options.runtime,
    maxJsonBytes: options.maxJsonBytes,
    action: "import",
    onWarning: options.onWarning,
    dockerMediaTypes: options.dockerMediaTypes,
  });
  const source: ArchiveStore = opened.source;
  const writers = new Map<Digest, BlobWriter | undefined>();
  const documents = new Map<Digest, Uint8Array>();
  const abortAll = async () => {
    for (const w of writers.values()) await w?.abort().catch(() => {});
    writers.clear();
  };
  options.onStaged?.(abortAll);
  let read = 0;
  return {
    ...opened,
    compression: "none",
    size: async (digest) => {
      const extra = opened.extras.get(digest);
      if (extra) return extra.byteLength;
      try {
        return (await source.info(digest)).size;
      } catch (e) {
        if (e instanceof NotFoundError) return undefined;
        throw e;
      }
    },
    bytes: async (desc, max) => {
      const known = opened.extras.get(desc.digest) ?? documents.get(desc.digest);
      if (known) return known;
      const bytes = await readBlobBytes(source, desc.digest, { maxJsonBytes: max });
      documents.set(desc.digest, bytes);
      return bytes;
    },
    stage: async (desc) => {
      if (writers.has(desc.digest) || opened.extras.has(desc.digest)) return;
      const document = documents.get(desc.digest);
      if (document && options.dryRun) return; // read and verified already
      const writer = options.dryRun ? undefined : await store.writer();
      writers.set(desc.digest, writer);
      options.cancelled?.();
      if (document) return await writer!.write(document);
      const count = (n: number) => {
        read += n;
        options.onProgress?.(read);
      };
      if (writer?.sha256 && parseDigest(desc.digest).algorithm === "sha256") {
        // One hash: the writer's. The bytes stay uncommitted until they are checked here
        // (size on the way, digest at the end), with the message a verifying read gives.
        const { stream, expected } = await source.unverifiedReader(desc.digest);
        let size = 0;
        for await (const chunk of stream) {
          options.cancelled?.();
          size += chunk.byteLength;
          checkNotOverSize(expected, size);
          await writer.write(chunk);
          count(chunk.byteLength);
        }
        return checkDigestAndSize(expected, await writer.sha256(), size);
      }
      // Verified as it streams (the source's reader); the writer checks it again on commit.
      for await (const chunk of await source.reader(desc.digest)) {
        options.cancelled?.();
        await writer?.write(chunk);
        count(chunk.byteLength);
      }
    },
    commit: async (desc) => {
      const extra = opened.extras.get(desc.digest);
      if (extra) return await writeBlob(store, extra, expectation(desc));
      const writer = writers.get(desc.digest);
      if (!writer) return undefined;
      writers.delete(desc.digest);
      return await writer.commit(expectation(desc));
    },
    abortAll,
  };
}

/** What a commit checks: the descriptor's digest and size, named by its media type. */
function expectation(d: Descriptor) {
  return { digest: d.digest, size: d.size, what: d.mediaType };
}
