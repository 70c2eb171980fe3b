// This module is browser compatible.
/**
 * Digest strings (`sha256:<64 hex>`, `sha512:<128 hex>`): parsing, validation and a
 * verifying transform stream.
 *
 * @example
 * ```ts
 * import { parseDigest } from "@lading/oci";
 * const d = parseDigest("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
 * console.log(d.algorithm, d.encoded.length); // sha256 64
 * ```
 * @module
 */
import { DigestMismatchError, InvalidInputError, SizeMismatchError } from "./errors.ts";
import type { Runtime } from "./runtime/types.ts";

/** A validated digest string such as `sha256:ab12…`. */
export type Digest = `${DigestAlgorithm}:${string}`;

/** Supported digest algorithms. */
export type DigestAlgorithm = "sha256" | "sha512";

/** The parts of a validated digest. */
export interface ParsedDigest {
  /** The algorithm, `sha256` or `sha512`. */
  readonly algorithm: DigestAlgorithm;
  /** Lowercase hex. */
  readonly encoded: string;
  /** The whole digest string. */
  readonly digest: Digest;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const LOWER_HEX = /^[0-9a-f]+$/;

/** Shows at most 80 characters of an untrusted string in a message. */
function show(value: unknown): string {
  const s = typeof value === "string" ? value : String(value);
  return JSON.stringify(s.length > 80 ? s.slice(0, 77) + "..." : s);
}

/**
 * Parses and validates a digest string. Only `sha256` and `sha512` with lowercase hex of
 * the exact length are accepted, so the result is safe to use in a path.
 *
 * @throws {InvalidInputError} for anything else (`sha256:../../x`, uppercase, wrong length, `md5:…`).
 * @example
 * ```ts
 * import { parseDigest } from "@lading/oci";
 * try { parseDigest("sha256:../../etc/passwd"); } catch (e) { console.log((e as Error).name); }
 * ```
 */
export function parseDigest(value: unknown, what = "digest"): ParsedDigest {
  if (typeof value !== "string") {
    throw new InvalidInputError(`invalid ${what} ${show(value)}: not a string`);
  }
  const colon = value.indexOf(":");
  if (colon < 0) {
    throw new InvalidInputError(`invalid ${what} ${show(value)}: expected <algorithm>:<hex>`);
  }
  const algorithm = value.slice(0, colon);
  const encoded = value.slice(colon + 1);
  if (algorithm !== "sha256" && algorithm !== "sha512") {
    throw new InvalidInputError(
      `invalid ${what} ${show(value)}: unsupported algorithm ${
        show(algorithm)
      } (sha256 and sha512 are supported)`,
    );
  }
  const length = HEX_LENGTH[algorithm];
  if (!LOWER_HEX.test(encoded)) {
    throw new InvalidInputError(
      `invalid ${what} ${show(value)}: the encoded part must be lowercase hex`,
    );
  }
  if (encoded.length !== length) {
    throw new InvalidInputError(
      `invalid ${what} ${
        show(value)
      }: ${algorithm} needs ${length} hex characters, got ${encoded.length}`,
    );
  }
  return { algorithm, encoded, digest: value as Digest };
}

/**
 * True when `value` is a valid digest string.
 *
 * @example
 * ```ts
 * import { isDigest } from "@lading/oci";
 * console.log(isDigest(`sha256:${"a".repeat(64)}`), isDigest("sha256:../x")); // true false
 * ```
 */
export function isDigest(value: unknown): value is Digest {
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * Shortens a digest for messages: `sha256:ab12cd34ef56…`.
 *
 * @example
 * ```ts
 * import { shortDigest } from "@lading/oci";
 * console.log(shortDigest(`sha256:${"ab".repeat(32)}`)); // sha256:ababababab
 * ```
 */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(":");
  return colon < 0 ? digest : digest.slice(0, colon + 13);
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** `bytes` random bytes in lowercase hex (default 8): unique parts of temporary names. */
export function randomHex(bytes = 8): string {
  return toHex(crypto.getRandomValues(new Uint8Array(bytes)));
}

/**
 * Hashes a whole byte array (for small documents); sha256 unless `algorithm` says sha512.
 *
 * @example
 * ```ts
 * import { digestBytes, getRuntime } from "@lading/oci";
 * const bytes = new TextEncoder().encode("{}");
 * console.log(await digestBytes(await getRuntime(), bytes)); // sha256:44136fa3…
 * console.log((await digestBytes(await getRuntime(), bytes, { algorithm: "sha512" })).slice(0, 7)); // sha512:
 * ```
 */
export async function digestBytes(
  runtime: Runtime,
  bytes: Uint8Array,
  options: { readonly algorithm?: DigestAlgorithm } = {},
): Promise<Digest> {
  const algorithm = options.algorithm ?? "sha256";
  if (runtime.digest) return `${algorithm}:${await runtime.digest(algorithm, bytes)}` as Digest;
  const hasher = await runtime.createHasher(algorithm);
  hasher.update(bytes);
  return `${algorithm}:${hasher.digest()}` as Digest;
}

/** What a verifying stream expects. */
export interface Expectation {
  /** The digest the bytes must hash to. */
  readonly digest: string;
  /** The exact byte count. */
  readonly size: number;
  /** Used in messages, for example `config of docker.io/library/x:1`. */
  readonly what?: string;
}

/**
 * A pass-through stream that counts and hashes bytes and errors when they do not match
 * `expected`: early (as soon as there are too many bytes) for size, at the end for digest.
 *
 * @example
 * ```ts
 * import { verifyingStream } from "@lading/oci";
 * import { getRuntime } from "@lading/oci";
 * const bytes = new TextEncoder().encode("{}");
 * const check = await verifyingStream(await getRuntime(), {
 *   digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 *   size: 2,
 * });
 * await new Blob([bytes]).stream().pipeThrough(check).pipeTo(new WritableStream());
 * ```
 */
export async function verifyingStream(
  runtime: Runtime,
  expected: Expectation,
): Promise<TransformStream<Uint8Array, Uint8Array>> {
  const { algorithm } = parseDigest(expected.digest);
  const hasher = await runtime.createHasher(algorithm);
  let count = 0;
  return new TransformStream({
    transform(chunk, controller) {
      count += chunk.byteLength;
      checkNotOverSize(expected, count);
      hasher.update(chunk);
      controller.enqueue(chunk);
    },
    flush() {
      checkDigestAndSize(expected, `${algorithm}:${hasher.digest()}`, count);
    },
  });
}

/**
 * Throws {@link SizeMismatchError} as soon as `count` bytes read so far are more than
 * `expected.size` (what a verifier checks on every chunk, so a long input stops early).
 */
export function checkNotOverSize(expected: Expectation, count: number): void {
  if (count <= expected.size) return;
  const label = expected.what ? ` (${expected.what})` : "";
  throw new SizeMismatchError(
    `blob ${
      shortDigest(expected.digest)
    }${label} has more than ${expected.size} bytes, descriptor says ${expected.size}`,
    expected.size,
    count,
  );
}

/** Throws the specific error when `actualDigest`/`actualSize` differ from `expected`. */
export function checkDigestAndSize(
  expected: Expectation,
  actualDigest: string,
  actualSize: number,
): void {
  const label = expected.what ? ` (${expected.what})` : "";
  if (actualSize !== expected.size) {
    throw new SizeMismatchError(
      `blob ${
        shortDigest(expected.digest)
      }${label} has ${actualSize} bytes, descriptor says ${expected.size}`,
      expected.size,
      actualSize,
    );
  }
  if (actualDigest !== expected.digest) {
    throw new DigestMismatchError(
      `blob ${
        shortDigest(expected.digest)
      }${label} hashes to ${actualDigest}, expected ${expected.digest}`,
      expected.digest,
      actualDigest,
    );
  }
}

/** The empty JSON descriptor's digest (`{}`), see the image-spec. */
export const EMPTY_JSON_DIGEST: Digest =
  "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
