// This module is browser compatible.
/**
 * Random access to an uncompressed tar in a `Blob` (a dropped `File`): the headers are read
 * once with `Blob.slice` — member bodies are jumped over, never read — and every member is
 * then readable by slicing. Opening a 1 GB archive costs about as much as reading its
 * headers. Header parsing is lading's strict tar reader ({@link readTar}), run on each
 * header's bytes, so PAX and GNU long names, base-256 sizes, checksums and the refusal of
 * sparse members are exactly the importer's.
 *
 * @example
 * ```ts
 * import { indexTar } from "./tar_index.ts";
 * import { packTar } from "modern-tar";
 * const tar = await packTar([{ header: { name: "a/b.txt", size: 2 }, body: "hi" }]);
 * const index = await indexTar(new Blob([tar]));
 * const member = index.members.get("a/b.txt")!;
 * console.log(await index.blob.slice(member.offset, member.offset + member.size).text()); // hi
 * ```
 * @module
 */
import { InvalidInputError } from "../errors.ts";
import { followLinks, normalizeMemberPath, symlinkTarget } from "../import/detect.ts";
import { type LayerEntryType as TarEntryType, readTar } from "../tar.ts";

/** A regular file inside the archive. */
export interface TarMember {
  /** Normalized path (no `./`, no duplicate slashes). */
  readonly path: string;
  /** Body size in bytes. */
  readonly size: number;
  /** Byte offset of the body in the archive. */
  readonly offset: number;
}

/** The index of an archive. */
export interface TarIndex {
  /** The archive. */
  readonly blob: Blob;
  /** Regular files by normalized path (a later duplicate replaces an earlier one). */
  readonly members: Map<string, TarMember>;
  /** Symlinks and hardlinks: normalized path → normalized target. */
  readonly links: Map<string, string>;
  /** Other member types by path (directories and the like), for listings. */
  readonly others: Map<string, TarEntryType>;
  /** How many header bytes were read. */
  readonly headerBytesRead: number;
}

/** Options of {@link indexTar}. */
export interface IndexTarOptions {
  /** Label for messages (a file name). */
  readonly what?: string;
  /** Stops indexing. */
  readonly signal?: AbortSignal;
  /** Most members accepted (default 1,000,000). */
  readonly maxMembers?: number;
}

const WINDOW = 64 * 1024;

/**
 * A stream of `blob` from `start`, read in windows that are cached between members (small
 * members share one read).
 */
function windowedStream(
  blob: Blob,
  start: number,
  cache: { at: number; bytes: Uint8Array },
  counter: { read: number },
): ReadableStream<Uint8Array> {
  let pos = start;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pos >= blob.size) {
        controller.close();
        return;
      }
      if (pos < cache.at || pos >= cache.at + cache.bytes.length) {
        cache.bytes = new Uint8Array(await blob.slice(pos, pos + WINDOW).arrayBuffer());
        cache.at = pos;
        counter.read += cache.bytes.length;
      }
      const part = cache.bytes.subarray(pos - cache.at);
      // Hand out at most one header's worth at a time so little is read past it.
      const piece = part.subarray(0, 512);
      pos += piece.length;
      controller.enqueue(piece);
    },
  }, { highWaterMark: 0 });
}

/**
 * Indexes an uncompressed tar by reading only its headers.
 *
 * @throws {InvalidInputError} for a malformed or truncated archive, or a compressed one
 *   (gzip and zstd need a streaming pass: import it instead).
 */
export async function indexTar(blob: Blob, options: IndexTarOptions = {}): Promise<TarIndex> {
  const what = options.what ?? "archive";
  const max = options.maxMembers ?? 1_000_000;
  const head = new Uint8Array(await blob.slice(0, 4).arrayBuffer());
  if (head[0] === 0x1f && head[1] === 0x8b) {
    throw new InvalidInputError(`${what} is gzip-compressed: it can be imported, not opened`);
  }
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) {
    throw new InvalidInputError(`${what} is zstd-compressed: it can be imported, not opened`);
  }
  const members = new Map<string, TarMember>();
  const links = new Map<string, string>();
  const others = new Map<string, TarEntryType>();
  const cache = { at: 0, bytes: new Uint8Array(0) };
  const counter = { read: 0 };
  let pos = 0;
  let count = 0;
  while (pos < blob.size) {
    options.signal?.throwIfAborted();
    const entries = readTar(windowedStream(blob, pos, cache, counter), { what })[
      Symbol.asyncIterator
    ]();
    let next: IteratorResult<Awaited<ReturnType<typeof entries.next>>["value"]>;
    try {
      next = await entries.next();
    } catch (e) {
      if (e instanceof InvalidInputError) {
        throw new InvalidInputError(
          e.message.replace(/at byte (\d+)/, (_, n) => `at byte ${pos + Number(n)}`),
          { cause: e },
        );
      }
      throw e;
    }
    if (next.done) break;
    const entry = next.value;
    await entries.return(undefined);
    if (++count > max) throw new InvalidInputError(`${what} has more than ${max} members`);
    const offset = pos + entry.dataOffset;
    if (offset + entry.size > blob.size) {
      throw new InvalidInputError(`${what} is truncated inside member ${entry.name}`);
    }
    const path = normalizeMemberPath(entry.name, what);
    if (entry.type === "file") {
      members.set(path, { path, size: entry.size, offset });
      links.delete(path);
    } else if (entry.type === "symlink") {
      links.set(path, symlinkTarget(path, entry.linkname));
    } else if (entry.type === "hardlink") {
      links.set(path, normalizeMemberPath(entry.linkname, what));
    } else {
      others.set(path, entry.type);
    }
    pos = offset + Math.ceil(entry.size / 512) * 512;
  }
  return { blob, members, links, others, headerBytesRead: counter.read };
}

/**
 * The member a path names, following symlinks and hardlinks inside the archive.
 * @throws {InvalidInputError} for links out of the archive or loops.
 */
export function resolveTarMember(
  index: TarIndex,
  path: string,
  what = "archive",
): TarMember | undefined {
  return followLinks(index, path, what, "link");
}
