// This module is browser compatible.
/**
 * Media type and annotation constants (OCI and Docker) and helpers that classify them.
 *
 * @example
 * ```ts
 * import { isIndexMediaType, OCI_INDEX } from "@lading/oci";
 * console.log(isIndexMediaType(OCI_INDEX)); // true
 * ```
 * @module
 */

/** OCI image index. */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** OCI image manifest. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** OCI image config. */
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** OCI layer, uncompressed tar. */
export const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
/** OCI layer, gzip. */
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
/** OCI layer, zstd. */
export const OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
/** OCI non-distributable layer (deprecated), uncompressed. */
export const OCI_LAYER_NONDIST = "application/vnd.oci.image.layer.nondistributable.v1.tar";
/** OCI non-distributable layer (deprecated), gzip. */
export const OCI_LAYER_NONDIST_GZIP =
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
/** OCI non-distributable layer (deprecated), zstd. */
export const OCI_LAYER_NONDIST_ZSTD =
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
/** The empty JSON blob `{}`. */
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";
/** oci-layout file. */
export const OCI_LAYOUT_HEADER = "application/vnd.oci.layout.header.v1+json";
/** A bare descriptor. */
export const OCI_DESCRIPTOR = "application/vnd.oci.descriptor.v1+json";

/** Docker schema 2 manifest list. */
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
/** Docker schema 2 manifest. */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** Docker image config. */
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
/** Docker layer, gzip. */
export const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/** Docker layer, uncompressed (rare, used by some tools). */
export const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar";
/** Docker foreign (non-distributable) layer. */
export const DOCKER_LAYER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/** Docker plugin config. */
export const DOCKER_PLUGIN_CONFIG = "application/vnd.docker.plugin.v1+json";

/** In-toto attestation layer used by BuildKit attestation manifests. */
export const IN_TOTO = "application/vnd.in-toto+json";

/** The annotation containerd writes with the full image name (wins over the OCI one). */
export const CONTAINERD_NAME = "io.containerd.image.name";
/** The OCI reference name annotation (meaningful in index.json only). */
export const OCI_REF_NAME = "org.opencontainers.image.ref.name";

/**
 * True for an OCI index or a Docker manifest list.
 *
 * @example
 * ```ts
 * import { isIndexMediaType } from "@lading/oci";
 * console.log(isIndexMediaType("application/vnd.docker.distribution.manifest.list.v2+json")); // true
 * ```
 */
export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}

/**
 * True for an OCI image manifest or a Docker schema 2 manifest.
 *
 * @example
 * ```ts
 * import { isManifestMediaType } from "@lading/oci";
 * console.log(isManifestMediaType("application/vnd.oci.image.manifest.v1+json")); // true
 * ```
 */
export function isManifestMediaType(mediaType: string | undefined): boolean {
  return mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST;
}

/**
 * True for an OCI or Docker image config.
 *
 * @example
 * ```ts
 * import { isConfigMediaType } from "@lading/oci";
 * console.log(isConfigMediaType("application/vnd.oci.image.config.v1+json")); // true
 * ```
 */
export function isConfigMediaType(mediaType: string | undefined): boolean {
  return mediaType === OCI_CONFIG || mediaType === DOCKER_CONFIG;
}

/** Compression of a layer as named by its media type. */
export type Compression = "none" | "gzip" | "zstd";

/**
 * The compression a layer media type names, or `undefined` when it is not a known layer
 * type (an artifact blob). Suffixes `+gzip`, `+zstd`, `.gzip` are recognised.
 *
 * @example
 * ```ts
 * import { layerCompression } from "@lading/oci";
 * console.log(layerCompression("application/vnd.oci.image.layer.v1.tar+gzip")); // gzip
 * ```
 */
export function layerCompression(mediaType: string): Compression | undefined {
  if (mediaType.endsWith("+gzip") || mediaType.endsWith(".tar.gzip")) return "gzip";
  if (mediaType.endsWith("+zstd")) return "zstd";
  if (
    mediaType === OCI_LAYER || mediaType === OCI_LAYER_NONDIST || mediaType === DOCKER_LAYER
  ) return "none";
  return undefined;
}

/**
 * True for layer media types that hold a filesystem changeset (tar, maybe compressed).
 *
 * @example
 * ```ts
 * import { isLayerMediaType } from "@lading/oci";
 * console.log(isLayerMediaType("application/vnd.oci.image.layer.v1.tar+zstd")); // true
 * ```
 */
export function isLayerMediaType(mediaType: string): boolean {
  return mediaType.startsWith("application/vnd.oci.image.layer.") ||
    mediaType.startsWith("application/vnd.docker.image.rootfs.");
}

/**
 * True for non-distributable / foreign layers.
 *
 * @example
 * ```ts
 * import { isNonDistributable } from "@lading/oci";
 * console.log(isNonDistributable("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip")); // true
 * ```
 */
export function isNonDistributable(mediaType: string): boolean {
  return mediaType.includes(".nondistributable.") || mediaType.includes(".foreign.");
}
