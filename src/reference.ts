// This module is browser compatible.
/**
 * Image references (`busybox`, `ghcr.io/org/app:1.2`, `localhost:5000/x@sha256:…`) with
 * the normalization of docker/distribution's `ParseNormalizedNamed`: a name without a
 * registry host lives on `docker.io`, and a one-component Docker Hub name is under
 * `library/`.
 *
 * @example
 * ```ts
 * import { familiarName, normalizeReference } from "@lading/oci";
 * console.log(normalizeReference("busybox")); // docker.io/library/busybox:latest
 * console.log(familiarName("docker.io/library/busybox:latest")); // busybox:latest
 * ```
 * @module
 */
import { type Digest, parseDigest } from "./digest.ts";
import { InvalidInputError } from "./errors.ts";

/** A parsed, normalized image reference. */
export interface Reference {
  /** Registry host, with port when given: `docker.io`, `localhost:5000`. */
  readonly domain: string;
  /** Repository path: `library/busybox`. */
  readonly path: string;
  /** Tag, when given. */
  readonly tag?: string;
  /** Digest, when given. */
  readonly digest?: Digest;
}

const DEFAULT_DOMAIN = "docker.io";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
const NAME_TOTAL_LENGTH_MAX = 255;

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HEX_ID = /^[a-f0-9]{64}$/;

function invalid(s: string, reason: string): never {
  const shown = JSON.stringify(s.length > 80 ? s.slice(0, 77) + "..." : s);
  throw new InvalidInputError(`invalid reference ${shown}: ${reason}`);
}

/**
 * Parses and normalizes an image reference.
 *
 * @throws {InvalidInputError} with the reason (uppercase repository, bad tag, bad digest, ...).
 * @example
 * ```ts
 * import { parseReference } from "@lading/oci";
 * console.log(parseReference("busybox:1.36")); // { domain: "docker.io", path: "library/busybox", tag: "1.36" }
 * console.log(parseReference("localhost:5000/team/app").domain); // localhost:5000
 * ```
 */
export function parseReference(s: string): Reference {
  if (typeof s !== "string" || s === "") invalid(String(s), "empty reference");
  if (HEX_ID.test(s)) {
    invalid(s, "a 64-character hexadecimal string is an image id, not a repository name");
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s);
  if (scheme) {
    invalid(
      s,
      `a reference has no scheme: drop "${scheme[0]}"${
        /^https?$/i.test(scheme[1]) ? " (use --plain-http for a registry without TLS)" : ""
      }`,
    );
  }
  let rest = s;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    try {
      digest = parseDigest(rest.slice(at + 1)).digest;
    } catch (e) {
      invalid(s, (e as Error).message);
    }
    rest = rest.slice(0, at);
  }

  let domain: string;
  let remainder: string;
  const slash = rest.indexOf("/");
  const first = slash < 0 ? "" : rest.slice(0, slash);
  if (
    slash < 0 ||
    (!/[.:]/.test(first) && first !== "localhost" && first.toLowerCase() === first)
  ) {
    domain = DEFAULT_DOMAIN;
    remainder = rest;
  } else {
    domain = first;
    remainder = rest.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (!DOMAIN.test(domain)) invalid(s, `invalid registry host ${JSON.stringify(domain)}`);

  let path = remainder;
  let tag: string | undefined;
  const colon = remainder.lastIndexOf(":");
  if (colon >= 0) {
    path = remainder.slice(0, colon);
    tag = remainder.slice(colon + 1);
    if (!TAG.test(tag)) invalid(s, `invalid tag ${JSON.stringify(tag)}`);
  }
  if (path === "") invalid(s, "missing repository name");
  if (path !== path.toLowerCase()) invalid(s, "the repository name must be lowercase");
  for (const component of path.split("/")) {
    if (!PATH_COMPONENT.test(component)) {
      invalid(s, `invalid repository path component ${JSON.stringify(component)}`);
    }
  }
  if (domain === DEFAULT_DOMAIN && !path.includes("/")) path = `library/${path}`;
  if (domain.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) {
    invalid(s, `the repository name is longer than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const ref: { domain: string; path: string; tag?: string; digest?: Digest } = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/**
 * Formats a reference as `domain/path[:tag][@digest]`.
 *
 * @example
 * ```ts
 * import { formatReference } from "@lading/oci";
 * console.log(formatReference({ domain: "docker.io", path: "library/busybox", tag: "latest" })); // docker.io/library/busybox:latest
 * ```
 */
export function formatReference(r: Reference): string {
  return `${r.domain}/${r.path}${r.tag !== undefined ? `:${r.tag}` : ""}${
    r.digest !== undefined ? `@${r.digest}` : ""
  }`;
}

/**
 * The full normalized reference string; adds `:<defaultTag>` (default `latest`) when
 * neither a tag nor a digest is given.
 *
 * @throws {InvalidInputError} when the reference is invalid.
 * @example
 * ```ts
 * import { normalizeReference } from "@lading/oci";
 * console.log(normalizeReference("index.docker.io/nginx")); // docker.io/library/nginx:latest
 * console.log(normalizeReference("ghcr.io/o/app", { defaultTag: "main" })); // ghcr.io/o/app:main
 * ```
 */
export function normalizeReference(s: string, options: { defaultTag?: string } = {}): string {
  const ref = parseReference(s);
  if (ref.tag === undefined && ref.digest === undefined) {
    const tag = options.defaultTag ?? "latest";
    if (!TAG.test(tag)) throw new TypeError(`invalid default tag ${JSON.stringify(tag)}`);
    return formatReference({ ...ref, tag });
  }
  return formatReference(ref);
}

/**
 * Like {@linkcode normalizeReference} but returns `undefined` for an invalid reference.
 *
 * @example
 * ```ts
 * import { tryNormalizeReference } from "@lading/oci";
 * console.log(tryNormalizeReference("Busybox")); // undefined
 * console.log(tryNormalizeReference("busybox")); // docker.io/library/busybox:latest
 * ```
 */
export function tryNormalizeReference(s: string): string | undefined {
  try {
    return normalizeReference(s);
  } catch {
    return undefined;
  }
}

/**
 * The short form for display: `docker.io/library/busybox:latest` → `busybox:latest`,
 * `docker.io/org/app` → `org/app`. Other registries keep their host. A string that is
 * not a valid reference is returned unchanged.
 *
 * @example
 * ```ts
 * import { familiarName } from "@lading/oci";
 * console.log(familiarName("docker.io/library/busybox:latest")); // busybox:latest
 * console.log(familiarName("ghcr.io/o/app:1")); // ghcr.io/o/app:1
 * ```
 */
export function familiarName(s: string): string {
  let ref: Reference;
  try {
    ref = parseReference(s);
  } catch {
    return s;
  }
  const full = formatReference(ref);
  if (ref.domain !== DEFAULT_DOMAIN) return full;
  let short = full.slice(DEFAULT_DOMAIN.length + 1);
  const rest = ref.path.slice("library/".length);
  if (ref.path.startsWith("library/") && !rest.includes("/")) {
    short = short.slice("library/".length);
  }
  return short;
}
