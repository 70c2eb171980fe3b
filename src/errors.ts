// This module is browser compatible.
/**
 * The few error classes callers catch. Messages say what failed and why.
 *
 * @example
 * ```ts
 * import { NotFoundError } from "@lading/oci";
 * try {
 *   throw new NotFoundError("image docker.io/library/x:latest not found");
 * } catch (e) {
 *   if (!(e instanceof NotFoundError)) throw e;
 * }
 * ```
 * @module
 */

/**
 * Base class of every lading error.
 *
 * @example
 * ```ts
 * import { LadingError } from "@lading/oci";
 * console.log(new LadingError("x") instanceof Error); // true
 * ```
 */
export class LadingError extends Error {
  /** An error with a message (and, optionally, its cause). */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Another writer held the store's lock longer than the caller was willing to wait. */
export class LockTimeoutError extends LadingError {}

/**
 * A blob, image, platform or name does not exist.
 *
 * @example
 * ```ts
 * import { LadingError, NotFoundError } from "@lading/oci";
 * const e = new NotFoundError("image x not found");
 * console.log(e instanceof LadingError, e.name); // true NotFoundError
 * ```
 */
export class NotFoundError extends LadingError {}

/**
 * Something to be created exists already (an export target file, a name with `--no-overwrite`).
 *
 * @example
 * ```ts
 * import { LadingError, AlreadyExistsError } from "@lading/oci";
 * const e = new AlreadyExistsError("x exists");
 * console.log(e instanceof LadingError, e.name); // true AlreadyExistsError
 * ```
 */
export class AlreadyExistsError extends LadingError {}

/**
 * Bytes do not hash to the digest they were announced with.
 *
 * @example
 * ```ts
 * import { DigestMismatchError } from "@lading/oci";
 * const e = new DigestMismatchError("blob differs", `sha256:${"a".repeat(64)}`, `sha256:${"b".repeat(64)}`);
 * console.log(e.expected.slice(0, 9)); // sha256:aa
 * ```
 */
export class DigestMismatchError extends LadingError {
  /** The digest the descriptor or file name promised. */
  readonly expected: string;
  /** The digest of the bytes actually read. */
  readonly actual: string;
  /** An error naming the digest expected and the one found. */
  constructor(
    message: string,
    expected: string,
    actual: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * A blob has a different length than its descriptor says.
 *
 * @example
 * ```ts
 * import { SizeMismatchError } from "@lading/oci";
 * console.log(new SizeMismatchError("blob has 3 bytes", 2, 3).actual); // 3
 * ```
 */
export class SizeMismatchError extends LadingError {
  /** The size the descriptor promised. */
  readonly expected: number;
  /** The number of bytes actually read (may be a lower bound when reading stopped early). */
  readonly actual: number;
  /** An error naming the size expected and the one found. */
  constructor(
    message: string,
    expected: number,
    actual: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * Untrusted input (JSON, tar, digest string, reference) is malformed or unsafe.
 *
 * @example
 * ```ts
 * import { LadingError, InvalidInputError } from "@lading/oci";
 * const e = new InvalidInputError("bad tar");
 * console.log(e instanceof LadingError, e.name); // true InvalidInputError
 * ```
 */
export class InvalidInputError extends LadingError {}

/**
 * Content an image needs is not present; `missing` lists every missing digest.
 *
 * @example
 * ```ts
 * import { MissingContentError } from "@lading/oci";
 * console.log(new MissingContentError("1 blob missing", []).missing.length); // 0
 * ```
 */
export class MissingContentError extends LadingError {
  /** Each missing blob with what it belongs to. */
  readonly missing: readonly { digest: string; mediaType?: string; image?: string }[];
  /** An error listing the blobs that are missing. */
  constructor(
    message: string,
    missing: readonly { digest: string; mediaType?: string; image?: string }[],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.missing = missing;
  }
}

/**
 * An operation stopped because a configured limit was reached (size cap, depth, output cap).
 *
 * @example
 * ```ts
 * import { LadingError, LimitExceededError } from "@lading/oci";
 * const e = new LimitExceededError("too big");
 * console.log(e instanceof LadingError, e.name); // true LimitExceededError
 * ```
 */
export class LimitExceededError extends LadingError {}

/**
 * The store cannot take more bytes (disk full, browser quota).
 *
 * @example
 * ```ts
 * import { LadingError, QuotaExceededError } from "@lading/oci";
 * const e = new QuotaExceededError("full");
 * console.log(e instanceof LadingError, e.name); // true QuotaExceededError
 * ```
 */
export class QuotaExceededError extends LadingError {}

/**
 * A file, storage or system operation failed for a reason outside the input: a short
 * read, a failing helper worker or command, a system call's errno.
 *
 * @example
 * ```ts
 * import { LadingError, IoError } from "@lading/oci";
 * const e = new IoError("disk");
 * console.log(e instanceof LadingError, e.name); // true IoError
 * ```
 */
export class IoError extends LadingError {}

/**
 * The operation was cancelled (an `AbortSignal` aborted, or the user pressed cancel).
 *
 * @example
 * ```ts
 * import { LadingError, CancelledError } from "@lading/oci";
 * const e = new CancelledError("stopped");
 * console.log(e instanceof LadingError, e.name); // true CancelledError
 * ```
 */
export class CancelledError extends LadingError {}

/** A bad command line (the CLI exits with code 2). */
export class UsageError extends LadingError {}

/**
 * An error that happened in a worker, passed over `postMessage` as its class name and
 * message: `name` is the original class name (`NotFoundError`, `QuotaExceededError`, ...).
 */
export class WorkerError extends LadingError {
  constructor(error: { readonly name: string; readonly message: string }, options?: ErrorOptions) {
    super(error.message, options);
    this.name = error.name;
  }
}

/**
 * A registry answered with an error or refused credentials.
 *
 * @example
 * ```ts
 * import { RegistryError } from "@lading/oci";
 * console.log(new RegistryError("unauthorized", 401).status); // 401
 * ```
 */
export class RegistryError extends LadingError {
  /** HTTP status, when there was a response. */
  readonly status?: number;
  /** An error from a registry, with the HTTP status when there was one. */
  constructor(message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}
