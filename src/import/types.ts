// This module is browser compatible.
/**
 * The import's vocabulary: what it writes into ({@link ImportTarget}), its options and
 * its report.
 * @module
 */
import type { Digest } from "../digest.ts";
import type { Runtime } from "../runtime/types.ts";
import type { BlobManager, ImageRecord, ImageSource, ImageTarget, Leases } from "../store/types.ts";
import type { Platform } from "../types.ts";
import type { NameOptions } from "./names.ts";

/**
 * What an import writes into: verified blob writes and names ({@link ImageTarget}), leases
 * against a concurrent gc, and, to leave the store as it was on failure, removal of the
 * blobs it added ({@link BlobManager}) unless a name ({@link ImageSource}) or another
 * lease holds them. Every store is one.
 */
export type ImportTarget = ImageTarget & ImageSource & BlobManager & Leases;

/** Options of {@link importImages}, mirroring `ctr images import`. */
export interface ImportOptions extends NameOptions {
  /**
   * Cancels the import: once it aborts, the next blob write, commit or name update fails
   * with {@link CancelledError} and what the import added is removed (the store is as it
   * was).
   */
  readonly signal?: AbortSignal;
  /** Store only these platforms' content (the index itself is kept). Empty: all. */
  readonly platforms?: readonly Platform[];
  /** Also name the index (index.json, or the one built for a docker archive). */
  readonly indexName?: string;
  /** Check everything, write nothing. */
  readonly dryRun?: boolean;
  /** Record images even when some of their blobs are absent, and report them. */
  readonly allowMissing?: boolean;
  /**
   * For a `docker save` archive (which has no manifests), build Docker schema 2 manifests
   * exactly as containerd 1.6 does (the digests `ctr images import` gives) instead of OCI
   * image manifests (the default, which skopeo's `oci:` transport can read from a store).
   */
  readonly dockerMediaTypes?: boolean;
  /**
   * Re-hash every blob the store already has (present means a regular file of the right
   * size, which is always checked): one that does not hash to its name is replaced by the
   * input's copy (counted in `blobs.repaired`, with a warning); one the input does not
   * include fails the import ({@link DigestMismatchError}) rather than name a broken image.
   */
  readonly verifyExisting?: boolean;
  /** Cap for JSON documents (default 4 MiB). */
  readonly maxJsonBytes?: number;
  /** Bytes of input read so far. */
  readonly onProgress?: (bytes: number) => void;
  /** Non-fatal findings (same-kind media type differences, skipped platforms). */
  readonly onWarning?: (message: string) => void;
  /** Hashing/compression runtime (default: detected). */
  readonly runtime?: Runtime;
  /**
   * An extra check after every blob is committed and before any name is recorded (for
   * example diff_id verification); when it throws, the import is rolled back.
   */
  readonly beforeNaming?: (store: ImportTarget, records: readonly ImageRecord[]) => Promise<void>;
}

/** One name the import created (or would create). */
export interface ImportedImage {
  /** The name recorded. */
  readonly name: string;
  /** The digest of the index or manifest it points at. */
  readonly digest: Digest;
  /** Its media type. */
  readonly mediaType: string;
  /** Its size in bytes. */
  readonly size: number;
}

/** A blob an image needs that the input did not have. */
export interface MissingBlob {
  /** The blob. */
  readonly digest: Digest;
  /** Its media type. */
  readonly mediaType: string;
  /** The image (name, or top-level digest) it belongs to. */
  readonly image: string;
}

/** What an import did. */
export interface ImportResult {
  /** The input's shape. */
  readonly format: "oci-layout" | "oci-archive" | "docker-archive";
  /** Compression of the archive (`none` for directories). */
  readonly compression: "none" | "gzip" | "zstd";
  /** The names recorded (or, with `dryRun`, that would be). */
  readonly images: ImportedImage[];
  /**
   * Every top-level entry of the input (index.json entries, or one per image of a docker
   * archive), named or not, and whether the platform filter kept it.
   */
  readonly entries: ImportedEntry[];
  /**
   * Blobs written, blobs already present, and bytes written; `repaired`: stored blobs that
   * did not hash to their name and were replaced (only with `verifyExisting`).
   */
  readonly blobs: { added: number; present: number; bytes: number; repaired?: number };
  /** Only with `allowMissing`: what was absent. */
  readonly missing: MissingBlob[];
  /** Non-fatal findings, also given to `onWarning`. */
  readonly warnings: string[];
}

/** A top-level entry of the input, see {@link ImportResult.entries}. */
export interface ImportedEntry {
  /** The digest of the entry's index or manifest. */
  readonly digest: Digest;
  /** Its media type. */
  readonly mediaType: string;
  /** Its size in bytes. */
  readonly size: number;
  /** The platform the entry's descriptor states (an index entry), if any. */
  readonly platform?: Platform;
  /** The names this import gave it (empty: none). */
  readonly names: string[];
  /** False when the platform filter left it out. */
  readonly imported: boolean;
}
