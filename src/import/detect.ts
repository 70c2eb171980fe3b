// This module is browser compatible.
/**
 * Opening an input safely: which folder of it is the layout or docker-save root, member
 * paths normalized (absolute names, `..` and NUL refused), blob paths turned into checked
 * digests, and links followed only inside the input. The streaming importer, the docker
 * synthesis and the page's random-access view all use these.
 *
 * @example
 * ```ts
 * import { layoutRoot, normalizeMemberPath } from "./detect.ts";
 * console.log(normalizeMemberPath("./blobs/sha256/ab")); // blobs/sha256/ab
 * console.log(layoutRoot(["x/oci-layout", "x/index.json"])); // x/
 * ```
 * @module
 */
import { type Digest, parseDigest } from "../digest.ts";
import { InvalidInputError } from "../errors.ts";

const BLOB_PATH = /^(?:.*\/)?blobs\/([^/]+)\/([^/]+)$/;

/**
 * Normalizes a tar member name: drops `./` and duplicate slashes. Absolute names, `..`
 * components and NUL are refused.
 */
export function normalizeMemberPath(name: string, what = "archive"): string {
  if (name.includes("\0")) throw new InvalidInputError(`${what}: member name contains NUL`);
  if (name.startsWith("/")) {
    throw new InvalidInputError(`${what}: absolute member name ${JSON.stringify(name)} refused`);
  }
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) {
    throw new InvalidInputError(
      `${what}: member name ${JSON.stringify(name)} points outside the archive ('..')`,
    );
  }
  return parts.join("/");
}

/** The digest a `blobs/<alg>/<hex>` path names, validated; undefined for other paths. */
export function digestOfBlobPath(path: string, what = "archive"): Digest | undefined {
  const m = BLOB_PATH.exec(path);
  if (!m) return undefined;
  try {
    return parseDigest(`${m[1]}:${m[2]}`).digest;
  } catch (e) {
    throw new InvalidInputError(
      `${what}: blob file ${JSON.stringify(path)} is not named by a valid digest: ${
        (e as Error).message
      }`,
    );
  }
}

/**
 * Where a symlink at `linkPath` points, as a normalized member path resolved against the
 * link's folder; `"\0outside"` when it leaves the input (absolute, or `..` above the root).
 */
export function symlinkTarget(linkPath: string, target: string): string {
  if (target.startsWith("/")) return "\0outside";
  const parts = linkPath.split("/").slice(0, -1);
  for (const p of target.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") {
      if (parts.length === 0) return "\0outside";
      parts.pop();
    } else parts.push(p);
  }
  return parts.join("/");
}

/**
 * The folder holding `oci-layout` or `manifest.json` nearest the top (`""` for the root,
 * `"dir/"` for a folder), or undefined when the input has neither.
 */
export function layoutRoot(paths: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const p of paths) {
    const m = /^(.*\/)?(oci-layout|manifest\.json)$/.exec(p);
    if (!m) continue;
    const root = m[1] ?? "";
    if (best === undefined || root.length < best.length) best = root;
  }
  return best;
}

/**
 * The member a path names, following links (targets normalized, see {@link symlinkTarget})
 * inside the input only. `noun` names the links in messages ("symlink", "link").
 *
 * @throws {InvalidInputError} for a link out of the input or a loop.
 */
export function followLinks<M>(
  input: { readonly members: ReadonlyMap<string, M>; readonly links: ReadonlyMap<string, string> },
  path: string,
  what = "archive",
  noun = "link",
): M | undefined {
  const seen = new Set<string>();
  let p = path;
  while (!input.members.has(p)) {
    const target = input.links.get(p);
    if (target === undefined) return undefined;
    if (target.startsWith("\0")) {
      throw new InvalidInputError(`${what}: ${path} is a ${noun} pointing outside the archive`);
    }
    if (seen.has(p)) throw new InvalidInputError(`${what}: ${path} is a ${noun} loop`);
    seen.add(p);
    p = target;
  }
  return input.members.get(p);
}
