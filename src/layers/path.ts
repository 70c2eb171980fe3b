// This module is browser compatible.
/**
 * Member names of layer tars: normalization (no leading `./` or `/`, no `.` or empty
 * components, no `..` at all) and OCI whiteouts (`.wh.<name>`, `.wh..wh..opq`).
 *
 * @example
 * ```ts
 * import { normalizeEntryPath, parseWhiteout } from "@lading/oci/layers";
 * console.log(normalizeEntryPath("./usr//bin/")); // usr/bin
 * console.log(normalizeEntryPath("/")); // .
 * console.log(parseWhiteout("etc/.wh.passwd")); // { kind: "whiteout", path: "etc/passwd" }
 * ```
 * @module
 */
import { InvalidInputError } from "../errors.ts";

/** The path of the root directory after normalization. */
export const ROOT = ".";

/** Whiteout file name prefix. */
export const WHITEOUT_PREFIX = ".wh.";
/** Opaque directory marker name. */
export const OPAQUE_MARKER = ".wh..wh..opq";
/** Prefix of aufs bookkeeping entries, which carry no meaning in an image and are skipped. */
export const WHITEOUT_META_PREFIX = ".wh..wh.";

/** Anything {@link normalizeEntryPath} must look at: `.`/`..` components, `//`, a leading or trailing `/`, NUL. */
const NEEDS_NORMALIZING = /(?:^|\/)\.{1,2}(?:\/|$)|\/\/|^\/|\/$|\0/;

/**
 * Normalizes a tar member name to a relative path: `./a//b/` → `a/b`, `/a` → `a`, `./`
 * → `.`. Any `..` component is refused, even one that would stay inside the root
 * (`a/../b`), because with symlinks it does not mean what it says.
 *
 * @throws {InvalidInputError} for `..` components, NUL bytes and empty names.
 *
 * @example
 * ```ts
 * import { normalizeEntryPath } from "@lading/oci/layers";
 * console.log(normalizeEntryPath("./etc//motd")); // etc/motd
 * ```
 */
export function normalizeEntryPath(name: string, what = "member"): string {
  // Fast path (most members, and every path read back from a layer index): an optional
  // `./` prefix and trailing `/` around a path that is normal already.
  let plain = name.startsWith("./") ? name.slice(2) : name;
  if (plain.endsWith("/")) plain = plain.slice(0, -1);
  if (plain !== "" && !NEEDS_NORMALIZING.test(plain)) return plain;
  if (name.includes("\0")) {
    throw new InvalidInputError(`${what} ${JSON.stringify(name)} contains a NUL byte`);
  }
  const parts: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      throw new InvalidInputError(
        `${what} ${JSON.stringify(name)} has a '..' component (it would escape the root)`,
      );
    }
    parts.push(part);
  }
  if (parts.length === 0) {
    if (name === "") throw new InvalidInputError(`${what} has an empty name`);
    return ROOT;
  }
  return parts.join("/");
}

/**
 * The components of a normalized path (`[]` for the root).
 *
 * @example
 * ```ts
 * import { pathComponents } from "@lading/oci/layers";
 * console.log(pathComponents("usr/local/bin")); // [ "usr", "local", "bin" ]
 * ```
 */
export function pathComponents(path: string): string[] {
  return path === ROOT || path === "" ? [] : path.split("/");
}

/**
 * Joins a directory path and a name.
 *
 * @example
 * ```ts
 * import { joinPath } from "@lading/oci/layers";
 * console.log(joinPath("etc", "motd")); // etc/motd
 * ```
 */
export function joinPath(dir: string, name: string): string {
  return dir === ROOT || dir === "" ? name : `${dir}/${name}`;
}

/**
 * The parent directory of a normalized path (`.` for top-level names).
 *
 * @example
 * ```ts
 * import { parentPath } from "@lading/oci/layers";
 * console.log(parentPath("etc/motd")); // etc
 * ```
 */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? ROOT : path.slice(0, slash);
}

/**
 * The last component of a normalized path.
 *
 * @example
 * ```ts
 * import { baseName } from "@lading/oci/layers";
 * console.log(baseName("etc/motd")); // motd
 * ```
 */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** What a whiteout entry means. */
export type Whiteout =
  /** `dir/.wh.name`: `dir/name` is deleted from lower layers. */
  | { readonly kind: "whiteout"; readonly path: string }
  /** `dir/.wh..wh..opq`: the lower layers' contents of `dir` are hidden. */
  | { readonly kind: "opaque"; readonly path: string }
  /** `.wh..wh.plnk` and other aufs bookkeeping: ignored. */
  | { readonly kind: "meta"; readonly path: string };

/**
 * Classifies a normalized path as a whiteout, or returns `undefined` for an ordinary
 * member.
 *
 * @throws {InvalidInputError} for whiteouts without a usable target: a bare `.wh.`,
 * `.wh..` and `.wh...` (they would delete the directory itself or its parent).
 *
 * @example
 * ```ts
 * import { parseWhiteout } from "@lading/oci/layers";
 * console.log(parseWhiteout("etc/.wh.motd")); // { kind: "whiteout", path: "etc/motd" }
 * ```
 */
export function parseWhiteout(path: string): Whiteout | undefined {
  const base = baseName(path);
  if (!base.startsWith(WHITEOUT_PREFIX)) {
    // aufs keeps hardlink bodies under /.wh..wh.plnk/: not part of the image (as Docker)
    return path.startsWith(WHITEOUT_META_PREFIX) ? { kind: "meta", path } : undefined;
  }
  const dir = parentPath(path);
  if (base === OPAQUE_MARKER) return { kind: "opaque", path: dir };
  if (base.startsWith(WHITEOUT_META_PREFIX)) return { kind: "meta", path };
  const target = base.slice(WHITEOUT_PREFIX.length);
  if (target === "" || target === "." || target === "..") {
    throw new InvalidInputError(
      `whiteout ${JSON.stringify(path)} names no file (${
        target === "" ? "bare .wh." : `it would delete '${target}'`
      })`,
    );
  }
  return { kind: "whiteout", path: joinPath(dir, target) };
}
