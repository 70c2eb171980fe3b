// This module is browser compatible.
/**
 * The `manifest.json` of a `docker save` archive: one entry per image (config + layers),
 * with every name that points at it as a familiar `RepoTags` entry, the way `docker save`
 * and containerd's docker-compatible export write it.
 *
 * @example
 * ```ts
 * import { dockerRepoTag } from "./docker.ts";
 * console.log(dockerRepoTag("docker.io/library/busybox:1.36")); // busybox:1.36
 * console.log(dockerRepoTag("ghcr.io/o/app@sha256:" + "a".repeat(64))); // undefined
 * ```
 * @module
 */
import { parseDigest } from "../digest.ts";
import { familiarName, formatReference, parseReference } from "../reference.ts";
import type { Descriptor } from "../types.ts";

/** One image of a docker archive. */
export interface DockerArchiveImage {
  /** The image config blob. */
  readonly config: Descriptor;
  /** The layer blobs, in order. */
  readonly layers: readonly Descriptor[];
  /** `RepoTags` (familiar names with a tag). */
  readonly repoTags: readonly string[];
}

/**
 * The `RepoTags` form of an image name: the familiar name with its tag
 * (`docker.io/library/busybox:1` → `busybox:1`). A digest next to a tag is dropped.
 * Undefined for names without a tag, or that are not image references at all.
 */
export function dockerRepoTag(name: string): string | undefined {
  try {
    const r = parseReference(name);
    if (r.tag === undefined) return undefined;
    return familiarName(formatReference({ domain: r.domain, path: r.path, tag: r.tag }));
  } catch {
    return undefined;
  }
}

/** The archive path of a blob: `blobs/<alg>/<hex>` (the layout `docker save` uses since 25). */
export function blobPath(descriptor: Descriptor): string {
  const { algorithm, encoded } = parseDigest(descriptor.digest);
  return `blobs/${algorithm}/${encoded}`;
}

/** The bytes of `manifest.json` for these images (compact JSON, docker's field order). */
export function dockerManifestJson(images: readonly DockerArchiveImage[]): Uint8Array {
  const entries = images.map((i) => ({
    Config: blobPath(i.config),
    RepoTags: i.repoTags.length ? i.repoTags : null,
    Layers: i.layers.map(blobPath),
  }));
  return new TextEncoder().encode(JSON.stringify(entries));
}
