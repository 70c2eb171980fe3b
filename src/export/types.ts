// This module is browser compatible.
/**
 * The export's vocabulary: formats, options, the plan and what it exports.
 * @module
 */
import type { Digest } from "../digest.ts";
import type { Runtime } from "../runtime/types.ts";
import type { Descriptor, Platform } from "../types.ts";
import type { ArchivePart } from "./members.ts";

/** Archive formats. */
export type ExportFormat = "oci" | "docker";

/** Options of {@link planExport}. */
export interface ExportOptions {
  /** `oci` (default): an oci-archive; `docker`: a `docker save` archive. */
  readonly format?: ExportFormat;
  /**
   * Only these platforms' content. An index that loses entries is rewritten to list only
   * the kept ones (and says so, see {@link SUBSET_OF_ANNOTATION}); with `keepIndex` the
   * original index is exported and the archive is partial. For `docker`, the first
   * platform an image has is exported (default: the host's, else the first).
   */
  readonly platforms?: readonly Platform[];
  /** With `platforms`: keep indexes as they are (a partial archive, like `ctr export`). */
  readonly keepIndex?: boolean;
  /** Leave out non-distributable (foreign) layers even when the store has them. */
  readonly skipNonDistributable?: boolean;
  /** Re-hash every blob while streaming; a mismatch fails the stream. */
  readonly verify?: boolean;
  /** Wrap the archive in gzip (true: level 6, or a level 1-9). */
  readonly gzip?: boolean | number;
  /** JSON size cap (default 4 MiB). */
  readonly maxJsonBytes?: number;
  /** Hashing/compression runtime (default: detected). */
  readonly runtime?: Runtime;
  /** Same-kind media type differences and other non-fatal findings. */
  readonly onWarning?: (message: string) => void;
}

/** One image in the archive. */
export interface ExportedImage {
  /** The name as the store records it (the digest for unnamed content). */
  readonly name: string;
  /** What the archive's entry points at (differs from the store's after a rewrite). */
  readonly digest: Digest;
  /** The media type of what the name points at. */
  readonly mediaType: string;
  /** Platforms whose content is in the archive (formatted, sorted). */
  readonly platforms: readonly string[];
  /** The store's index, when the archive holds a rewritten subset of it. */
  readonly rewrittenFrom?: Digest;
  /** docker format: the RepoTags entry (absent when the name has no tag). */
  readonly repoTag?: string;
}

/** A planned export; {@link ExportPlan.stream} produces the bytes. */
export interface ExportPlan {
  /** `oci` or `docker`. */
  readonly format: ExportFormat;
  /** The images written, in order. */
  readonly images: readonly ExportedImage[];
  /** Every blob copied from the store, sorted by digest. */
  readonly blobs: readonly Descriptor[];
  /** Bytes of the tar (before gzip). */
  readonly size: number;
  /** What the user should know: rewritten indexes, left-out blobs, partial archives. */
  readonly notes: readonly string[];
  /** Blobs left out (non-distributable). */
  readonly skipped: readonly Descriptor[];
  /** The archive is wrapped in gzip. */
  readonly gzip: boolean;
  /** Blobs are re-hashed while they are copied. */
  readonly verify: boolean;
  /**
   * The tar (before gzip) piece by piece, for a writer that copies blobs its own way
   * (`writeArchiveFile` in `deno/export_file.ts`). It must check each blob with
   * {@link checkStoredBlob} before and {@link checkCopiedBlob} after copying it.
   */
  parts(): readonly ArchivePart[];
  /**
   * A new stream of the archive. `onProgress` receives the tar bytes produced so far.
   * The stream errors when a blob vanished or changed since planning.
   */
  stream(options?: WriteOptions): ReadableStream<Uint8Array>;
  /**
   * Writes the archive into `sink` and closes it; on failure `sink` is aborted and the
   * promise rejects. Blob bytes are piped straight from the store (the fastest path).
   */
  writeTo(sink: WritableStream<Uint8Array>, options?: WriteOptions): Promise<void>;
}

/** Options of {@link ExportPlan.stream} and {@link ExportPlan.writeTo}. */
export interface WriteOptions {
  /** Tar bytes written so far (before gzip). */
  readonly onProgress?: (bytes: number) => void;
  /**
   * `writeTo` only: the sink is done with a chunk when its write resolved (a file, a
   * socket — not a TransformStream), so read buffers may be reused: about 3× less CPU
   * for large blobs. Ignored with gzip.
   */
  readonly reuseBuffers?: boolean;
}
