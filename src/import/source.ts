// This module is browser compatible.
/**
 * What an import reads from: a byte stream (a tar, maybe gzip or zstd compressed, from a
 * file, stdin or a browser `File`) or a random-access directory (an OCI layout folder on
 * disk or picked in a browser).
 *
 * @example
 * ```ts
 * import type { ImportSource } from "./source.ts";
 * const source: ImportSource = {
 *   kind: "stream",
 *   label: "empty",
 *   stream: new Blob([]).stream(),
 * };
 * console.log(source.kind); // stream
 * ```
 * @module
 */

/** A tar archive (plain, gzip or zstd) read in one streaming pass. */
export interface StreamSource {
  /** Always `stream`. */
  readonly kind: "stream";
  /** For messages: a path, `stdin`, a file name. */
  readonly label: string;
  /** The bytes. */
  readonly stream: ReadableStream<Uint8Array>;
  /** Total bytes when known (progress). */
  readonly size?: number;
}

/** A directory read by random access; paths are relative and use `/`. */
export interface DirectorySource {
  /** Always `directory`. */
  readonly kind: "directory";
  /** For messages. */
  readonly label: string;
  /** Size of a regular file, or undefined when it does not exist. */
  stat(path: string): Promise<{ size: number } | undefined>;
  /** The bytes of a regular file. */
  open(path: string): Promise<ReadableStream<Uint8Array>>;
}

/** Anything an import can read. */
export type ImportSource = StreamSource | DirectorySource;
