// This module is browser compatible.
/**
 * The capabilities lading needs from its host: hashing and (de)compression. Everything
 * runtime-specific sits behind this interface; callers may inject their own.
 *
 * @example
 * ```ts
 * import { getRuntime } from "@lading/oci";
 * const rt = await getRuntime();
 * const h = await rt.createHasher("sha256");
 * h.update(new Uint8Array([1, 2, 3]));
 * console.log(h.digest().length); // 64
 * ```
 * @module
 */

/** An incremental hash. */
export interface Hasher {
  /** Adds bytes. */
  update(chunk: Uint8Array): void;
  /** Lowercase hex of the hash of everything added; call once. */
  digest(): string;
}

/** A decoder: bytes written to `writable` come out decoded from `readable` (`pipeThrough`). */
export interface Decoder {
  /** Where the encoded bytes go. */
  readonly writable: WritableStream<Uint8Array>;
  /** Where the decoded bytes come out. */
  readonly readable: ReadableStream<Uint8Array>;
}

/** Hashing and compression provided by the host runtime. */
export interface Runtime {
  /** A short name for messages and benchmarks: `deno`, `node`, `web`. */
  readonly name: string;
  /** A new incremental hasher. */
  createHasher(algorithm: "sha256" | "sha512"): Promise<Hasher>;
  /**
   * The lowercase hex hash of bytes in memory (documents), where the runtime has a way
   * that is cheaper to start than {@link createHasher} (the built-in runtimes: WebCrypto).
   * `digestBytes()` uses it when present, else a hasher.
   */
  digest?(algorithm: "sha256" | "sha512", bytes: Uint8Array): Promise<string>;
  /**
   * A gzip decompressor that accepts multi-member gzip. Its output is produced only as
   * fast as it is read (memory bounded whatever the ratio); corrupt, truncated or trailing
   * data is an `InvalidInputError`.
   */
  gunzip(): Decoder;
  /** A zstd decompressor (multi-frame), bounded and with errors as {@link gunzip}. */
  zstdDecompress(): Decoder;
  /** A gzip compressor; level 1-9 (default 6). */
  gzip(level?: number): TransformStream<Uint8Array, Uint8Array>;
  /** A zstd compressor (level 1-19, default 3), where the host has one (Deno, Node ≥ 22.15). */
  zstd?(level?: number): TransformStream<Uint8Array, Uint8Array>;
}
