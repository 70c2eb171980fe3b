// This module is browser compatible.
/**
 * The first phase of a tar import: every member is read once, hashed, checked against
 * its name where the name is a digest, and written to an uncommitted store writer (small
 * JSON documents are also kept in memory). Nothing is visible until the plan is checked
 * and the writers are committed. (A folder is not staged up front: `input.ts` streams its
 * blobs from the opened folder when the commit asks.)
 *
 * @module
 */
import { type Digest, parseDigest, shortDigest } from "../digest.ts";
import { DigestMismatchError, InvalidInputError, LimitExceededError } from "../errors.ts";
import type { Runtime } from "../runtime/types.ts";
import type { BlobIngester, BlobProvider, BlobWriter, Lease } from "../store/types.ts";
import { blobPresence } from "../walk.ts";
import { readTar } from "../tar.ts";
import { concatBytes } from "../streams.ts";
import { digestOfBlobPath, normalizeMemberPath, symlinkTarget } from "./detect.ts";

/** A regular file of the input, hashed. */
export interface Member {
  /** Normalized path inside the input. */
  readonly path: string;
  readonly size: number;
  /** Digest of the bytes. */
  readonly digest: Digest;
  /** The bytes, when small enough to be a JSON document. */
  bytes?: Uint8Array;
  /** First bytes (compression sniffing). */
  readonly head: Uint8Array;
  /** An uncommitted write of the bytes. */
  writer?: BlobWriter;
  /** Hashed but not kept: a member of an unknown role past {@link MAX_UNKNOWN_BYTES}. */
  readonly dropped?: boolean;
}

/**
 * Where image archives keep content: OCI `blobs/<alg>/<hex>`, and the layer and config
 * files of `docker save` (`<hex>/layer.tar`, `<hex>.json`), skopeo/podman (`<hex>.tar`) and
 * go-containerregistry (`<hex>.tar.gz`, `sha256:<hex>`) archives.
 */
const CONTENT_PATH =
  /(^|\/)([0-9a-f]{64}(\/layer\.tar|\.tar|\.tar\.gz|\.tgz|\.tar\.zst|\.json)|sha256:[0-9a-f]{64})$/;

/**
 * Bytes of members at other paths (which only a docker archive's manifest.json could name,
 * and usually nothing does) staged in all; past it they are hashed and dropped, and one the
 * manifest turns out to name is refused with a way out (import the extracted folder).
 */
export const MAX_UNKNOWN_BYTES = 256 * 1024 * 1024;

/** Limits and hooks for staging. */
export interface StagingOptions {
  /** Largest JSON document kept (default 4 MiB). */
  readonly maxJsonBytes: number;
  /** Total bytes of documents kept in memory (default 64 MiB). */
  readonly maxBufferedBytes?: number;
  /** Hash and check only, write nothing. */
  readonly dryRun?: boolean;
  /** Bytes read from the input so far. */
  readonly onProgress?: (bytes: number) => void;
  /** Protects digests from gc before they are checked for presence. */
  readonly lease?: Lease;
  /** Throws when the import was cancelled (checked before every write). */
  readonly cancelled?: () => void;
  /**
   * Stage every blob, also those the store has at the right size (their stored bytes are
   * re-hashed at commit, and replaced when they are corrupt).
   */
  readonly verifyExisting?: boolean;
  /** Overrides {@link MAX_UNKNOWN_BYTES} (tests). */
  readonly maxUnknownBytes?: number;
}

/** Blob writes that may run while the next chunks are read. */
const WRITES_IN_FLIGHT = 2;

/** Staged input content, by path and by digest. */
export interface Staging {
  /** Regular files by normalized path. */
  readonly members: Map<string, Member>;
  /** Symlinks: normalized path → normalized target (resolved against the link's folder). */
  readonly symlinks: Map<string, string>;
  /** A member by digest. */
  byDigest(digest: Digest): Member | undefined;
  /** The bytes of a small member (kept while it was read). */
  bytes(member: Member, maxBytes: number): Promise<Uint8Array>;
  /** Checks that the staged member is the blob `expectedDigest` names. */
  stage(member: Member, expectedDigest: Digest): Promise<void>;
  /** Discards every uncommitted write. */
  abortAll(): Promise<void>;
}

/**
 * Whether a member's first chunk could start a JSON document lading reads (an object or
 * an array: manifests, indexes, configs, index.json, manifest.json), whitespace skipped.
 * Only a hint of what to keep in memory: whether a member IS a document is decided by what
 * the document graph references, and a referenced member that was not kept is read back
 * or refused with a message that says why.
 */
function mayBeJsonDocument(chunk: Uint8Array): boolean {
  for (const b of chunk) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
    return b === 0x7b || b === 0x5b; // { [
  }
  return true; // only whitespace so far: keep deciding as a document
}

/**
 * A blob counts as present only when the store has it at the right size (a truncated or
 * damaged blob left by something else is written again, and the commit repairs it).
 */
async function presentWithSize(store: BlobProvider, digest: Digest, size: number) {
  return (await blobPresence(store, { mediaType: "", digest, size })) === "present";
}

/** Aborts all writers of these members. */
async function abortMembers(members: Iterable<Member>): Promise<void> {
  for (const m of members) {
    if (m.writer) {
      await m.writer.abort().catch(() => {});
      m.writer = undefined;
    }
  }
}

/**
 * Reads a tar stream once: every regular member is hashed and (unless its digest is
 * already in the store, or this is a dry run) written to an uncommitted writer.
 *
 * @throws {InvalidInputError} for unsafe names, duplicate members with different bytes,
 *   a `blobs/…` file whose bytes do not match its name, and malformed tars.
 */
export async function stageTar(
  store: BlobProvider & BlobIngester,
  runtime: Runtime,
  stream: ReadableStream<Uint8Array>,
  what: string,
  options: StagingOptions,
): Promise<Staging> {
  const members = new Map<string, Member>();
  const symlinks = new Map<string, string>();
  const byDigest = new Map<string, Member>();
  const maxBuffered = options.maxBufferedBytes ?? 64 * 1024 * 1024;
  let buffered = 0;
  const maxUnknown = options.maxUnknownBytes ?? MAX_UNKNOWN_BYTES;
  let unknownStaged = 0;
  /** Small members not kept because the documents kept already filled the cap. */
  const overCap = new Set<string>();
  let read = 0;
  interface Unsettled {
    dropped?: boolean;
    path: string;
    named?: Digest;
    size: number;
    digest: Promise<Digest>;
    bytes?: Uint8Array;
    head?: Uint8Array;
    writer?: BlobWriter;
  }
  const unsettled: Unsettled[] = [];
  /** Checks a member read earlier against its name and earlier members, then records it. */
  const settle = async (u: Unsettled): Promise<void> => {
    const digest = await u.digest;
    if (u.named && digest !== u.named) {
      await u.writer?.abort();
      throw new DigestMismatchError(
        `${what}: blob file ${u.path} hashes to ${digest}, not the digest its name says (${u.named})`,
        u.named,
        digest,
      );
    }
    const previous = members.get(u.path);
    if (previous) {
      await u.writer?.abort();
      if (previous.digest !== digest) {
        throw new InvalidInputError(
          `${what}: member ${u.path} appears twice with different contents (${
            shortDigest(previous.digest)
          } and ${shortDigest(digest)})`,
        );
      }
      return;
    }
    const member: Member = {
      path: u.path,
      size: u.size,
      digest,
      bytes: u.bytes,
      head: u.head ?? new Uint8Array(0),
      writer: u.writer,
      ...(u.dropped ? { dropped: true } : {}),
    };
    members.set(u.path, member);
    const first = byDigest.get(digest);
    // The member by digest is one whose bytes are kept, when any is.
    if (!first || (first.dropped && u.writer)) byDigest.set(digest, member);
    else if (u.writer) {
      // Same bytes under another path: one write is enough.
      await u.writer.abort();
      member.writer = undefined;
    }
  };
  try {
    for await (const entry of readTar(stream, { what })) {
      const path = normalizeMemberPath(entry.name, what);
      if (entry.type === "symlink") {
        symlinks.set(path, symlinkTarget(path, entry.linkname));
        continue;
      }
      if (entry.type === "hardlink") {
        symlinks.set(path, normalizeMemberPath(entry.linkname, what));
        continue;
      }
      if (entry.type !== "file") continue;
      const named = digestOfBlobPath(path, what);
      const algorithm = named ? parseDigest(named).algorithm : "sha256";
      if (named) await options.lease?.add([named]);
      const present = named && !options.verifyExisting
        ? await presentWithSize(store, named, entry.size)
        : false;
      // A member at a path where no archive keeps content is staged only under a cap.
      let dropped = false;
      if (!named && !CONTENT_PATH.test(path) && !options.dryRun) {
        dropped = unknownStaged + entry.size > maxUnknown;
        if (!dropped) unknownStaged += entry.size;
      }
      const writer = options.dryRun || present || dropped ? undefined : await store.writer();
      // A writer that hashes sha256 as it goes spares us hashing every byte twice.
      const writerHashes = writer?.sha256 !== undefined && algorithm === "sha256";
      const hasher = writerHashes ? undefined : await runtime.createHasher(algorithm);
      let keep = entry.size <= options.maxJsonBytes;
      const chunks: Uint8Array[] = [];
      let head: Uint8Array | undefined;
      let size = 0;
      // Up to WRITES_IN_FLIGHT writes overlap the next reads (the source's buffer ring is
      // larger than that, see fileChunks()).
      const inFlight: Promise<void>[] = [];
      try {
        for await (const chunk of entry.body) {
          if (!head) {
            head = chunk.slice(0, 8);
            keep &&= mayBeJsonDocument(chunk) || path.endsWith(".json") ||
              path.endsWith("oci-layout");
          }
          hasher?.update(chunk);
          if (writer) {
            options.cancelled?.();
            const w = writer.write(chunk);
            w.catch(() => {}); // awaited below
            inFlight.push(w);
            if (inFlight.length >= WRITES_IN_FLIGHT) await inFlight.shift();
          }
          if (keep) chunks.push(chunk.slice());
          size += chunk.byteLength;
          read += chunk.byteLength;
          options.onProgress?.(read);
        }
        for (const w of inFlight.splice(0)) await w;
      } catch (e) {
        await Promise.allSettled(inFlight);
        await writer?.abort();
        throw e;
      }
      // The digest may take a moment (a writer in a helper worker finishing up): settle
      // this member while the next one is read, at most one behind.
      const digest = hasher
        ? Promise.resolve(`${algorithm}:${hasher.digest()}` as Digest)
        : writer!.sha256!();
      digest.catch(() => {}); // awaited when settled
      let bytes: Uint8Array | undefined;
      if (keep && buffered + size > maxBuffered) {
        // Refused only if the document graph turns out to reference it as a document.
        overCap.add(path);
        keep = false;
      }
      if (keep) {
        buffered += size;
        bytes = concatBytes(chunks, size);
      }
      unsettled.push({ path, named, size, digest, bytes, head, writer, dropped });
      if (unsettled.length > 1) await settle(unsettled.shift()!);
    }
    while (unsettled.length) await settle(unsettled.shift()!);
  } catch (e) {
    for (const u of unsettled) await u.writer?.abort().catch(() => {});
    await abortMembers(members.values());
    throw e;
  }
  return {
    members,
    symlinks,
    byDigest: (d) => byDigest.get(d),
    bytes: (m, max) => {
      if (m.bytes) return Promise.resolve(m.bytes);
      if (m.size > max) {
        return Promise.reject(
          new LimitExceededError(
            `${what}: ${m.path} has ${m.size} bytes, more than the ${max}-byte limit for JSON documents`,
          ),
        );
      }
      if (overCap.has(m.path)) {
        return Promise.reject(
          new LimitExceededError(
            `${what}: ${m.path} is one document too many: the archive's documents exceed ${maxBuffered} bytes in all`,
          ),
        );
      }
      const first = [...m.head].find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
      return Promise.reject(
        new InvalidInputError(
          `${what}: ${m.path} is referenced as a JSON document but is not one (it starts with ${
            first === undefined ? "nothing" : `byte 0x${first.toString(16).padStart(2, "0")}`
          })`,
        ),
      );
    },
    stage: (m, expected) => {
      if (m.dropped && !byDigest.get(m.digest)?.writer) {
        return Promise.reject(
          new LimitExceededError(
            `${what}: ${m.path} (${m.size} bytes) was not kept: members at paths where image archives do not keep content are staged up to ${maxUnknown} bytes in all; extract the archive and import the folder instead`,
          ),
        );
      }
      if (m.digest !== expected) {
        return Promise.reject(
          new DigestMismatchError(
            `${what}: ${m.path} hashes to ${m.digest}, expected ${expected}`,
            expected,
            m.digest,
          ),
        );
      }
      return Promise.resolve();
    },
    abortAll: () => abortMembers(members.values()),
  };
}
