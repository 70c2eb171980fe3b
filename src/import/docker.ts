// This module is browser compatible.
/**
 * `docker save` archives: each manifest.json entry becomes a manifest lading builds (a
 * docker save archive has none), by default an OCI image manifest (OCI config and layer
 * media types), so the store stays an OCI layout every reader understands: `skopeo
 * inspect oci:<store>:<name>` finds it (skopeo's `oci:` transport only finds index.json
 * entries of OCI manifest or index type).
 *
 * With `mediaTypes: "docker"` the manifest is the Docker schema 2 manifest containerd 1.6
 * builds, byte for byte (compact JSON, uncompressed layers kept as
 * `application/vnd.docker.image.rootfs.diff.tar`), so the digests equal `ctr images
 * import`'s; plus the index containerd would write for `--index-name`. One deliberate
 * difference: containerd 1.6 labels every compressed layer
 * `application/vnd.docker.image.rootfs.diff.tar.gzip`, zstd ones included (its
 * `resolveLayers` only tells compressed from uncompressed), which makes pullers gunzip a
 * zstd blob. lading labels a zstd layer `application/vnd.oci.image.layer.v1.tar+zstd`, so
 * for a docker archive with zstd layers the manifest digest differs from ctr's. Plain and
 * gzip layers give ctr's digests.
 *
 * @example
 * ```ts ignore
 * import { synthesizeDockerImages } from "./docker.ts";
 * // files: the archive's files by path (a staged tar, or an opened folder)
 * const { entries, extras } = await synthesizeDockerImages(runtime, files, "", manifestJson, {
 *   what: "image.tar",
 *   maxJsonBytes: 4 << 20,
 * });
 * ```
 * @module
 */
import { type Digest, digestBytes, shortDigest } from "../digest.ts";
import { InvalidInputError } from "../errors.ts";
import * as mt from "../media_types.ts";
import { normalizePlatform } from "../platform.ts";
import type { Runtime } from "../runtime/types.ts";
import { normalizeReference } from "../reference.ts";
import { parseConfig, parseDockerArchiveManifest } from "../schema.ts";
import type { Descriptor, ImageConfig, Platform } from "../types.ts";
import { ociRefName } from "./names.ts";
import { detectCompression } from "../compression.ts";
import { configPlatform } from "../walk.ts";

/** A file of a docker archive, hashed (or, for an uncompressed layer, named by its diff_id). */
export interface DockerFile {
  /** Its path in the archive. */
  readonly path: string;
  /** Its size in bytes. */
  readonly size: number;
  /** The digest of its bytes. */
  readonly digest: Digest;
  /** Its first bytes (compression sniffing). */
  readonly head: Uint8Array;
}

/** What docker synthesis reads of an archive: its files by path, and a config's bytes. */
export interface DockerFiles {
  /** The regular file at `path`, links inside the archive followed, or undefined. */
  file(path: string): DockerFile | undefined;
  /** The bytes of a small file (a config), at most `maxBytes`. */
  bytes(file: DockerFile, maxBytes: number): Promise<Uint8Array>;
}

/** The result of reading a docker archive's manifest.json. */
export interface DockerImages {
  /** Index entries (one per RepoTag, or one unnamed), as containerd's synthesized index. */
  readonly entries: Descriptor[];
  /** Synthesized blobs (manifests, and the index) by digest. */
  readonly extras: Map<Digest, Uint8Array>;
  /** The synthesized index (named only with --index-name). */
  readonly index: Descriptor;
}

function platformJson(config: ImageConfig): Platform {
  const p = normalizePlatform(configPlatform(config));
  // Go's ocispec.Platform field order.
  return {
    architecture: p.architecture,
    os: p.os,
    ...(config["os.version"] ? { "os.version": config["os.version"] } : {}),
    ...(p.variant ? { variant: p.variant } : {}),
  };
}

/** Normalizes a manifest.json path (relative to the archive root); refuses escapes. */
export function archivePath(root: string, p: string, what: string): string {
  if (p.startsWith("/")) {
    throw new InvalidInputError(`${what}: manifest.json path ${JSON.stringify(p)} is absolute`);
  }
  const parts: string[] = [];
  for (const s of p.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") {
      if (!parts.length) {
        throw new InvalidInputError(
          `${what}: manifest.json path ${JSON.stringify(p)} points outside the archive`,
        );
      }
      parts.pop();
    } else parts.push(s);
  }
  return root + parts.join("/");
}

/**
 * Builds manifests and the index from manifest.json. Every config and layer file must be
 * in the archive; an uncompressed layer must hash to its diff_id.
 */
export async function synthesizeDockerImages(
  runtime: Runtime,
  files: DockerFiles,
  root: string,
  manifestJson: Uint8Array,
  options: {
    what: string;
    maxJsonBytes: number;
    /** `oci` (default): OCI manifests; `docker`: containerd's Docker schema 2 manifests. */
    mediaTypes?: "oci" | "docker";
  },
): Promise<DockerImages> {
  const docker = options.mediaTypes === "docker";
  const what = options.what;
  const list = parseDockerArchiveManifest(manifestJson, { what: `${what}: manifest.json` });
  const extras = new Map<Digest, Uint8Array>();
  const entries: Descriptor[] = [];
  const enc = new TextEncoder();
  const missing: string[] = [];
  for (const [i, item] of list.entries()) {
    const configPath = archivePath(root, item.Config, what);
    const configMember = files.file(configPath);
    const layerMembers = item.Layers.map((l) => {
      const p = archivePath(root, l, what);
      const m = files.file(p);
      if (!m) missing.push(p);
      return m;
    });
    if (!configMember) missing.push(configPath);
    if (missing.length) continue;
    const configBytes = await files.bytes(configMember!, options.maxJsonBytes);
    const config = parseConfig(configBytes, { what: `${what}: config ${item.Config}` });
    const layers = layerMembers.map((m, li) => {
      const compression = detectCompression(m!.head);
      const diffId = config.rootfs.diff_ids[li];
      if (compression === "none" && diffId && m!.digest !== diffId) {
        throw new InvalidInputError(
          `${what}: layer ${item.Layers[li]} of image ${i + 1} hashes to ${
            m!.digest
          }, but its config's rootfs.diff_ids[${li}] is ${diffId}`,
        );
      }
      const mediaType = compression === "zstd"
        ? mt.OCI_LAYER_ZSTD
        : compression === "gzip"
        ? (docker ? mt.DOCKER_LAYER_GZIP : mt.OCI_LAYER_GZIP)
        : (docker ? mt.DOCKER_LAYER : mt.OCI_LAYER);
      return { mediaType, digest: m!.digest, size: m!.size };
    });
    if (layers.length !== config.rootfs.diff_ids.length) {
      throw new InvalidInputError(
        `${what}: image ${
          i + 1
        } lists ${layers.length} layers but its config has ${config.rootfs.diff_ids.length} diff_ids`,
      );
    }
    // Field order as containerd's Go struct: schemaVersion, mediaType, config, layers.
    const manifestType = docker ? mt.DOCKER_MANIFEST : mt.OCI_MANIFEST;
    const manifest = {
      schemaVersion: 2,
      mediaType: manifestType,
      config: {
        mediaType: docker ? mt.DOCKER_CONFIG : mt.OCI_CONFIG,
        digest: configMember!.digest,
        size: configMember!.size,
      },
      layers,
    };
    const bytes = enc.encode(JSON.stringify(manifest));
    const digest = await digestBytes(runtime, bytes);
    extras.set(digest, bytes);
    const base = { mediaType: manifestType, digest, size: bytes.byteLength };
    const platform = platformJson(config);
    const tags = item.RepoTags ?? [];
    if (tags.length === 0) entries.push({ ...base, platform });
    for (const tag of tags) {
      let name: string;
      try {
        name = normalizeReference(tag);
      } catch (e) {
        throw new InvalidInputError(
          `${what}: RepoTags entry ${JSON.stringify(tag)} of image ${
            i + 1
          } is not a valid reference: ${(e as Error).message}`,
        );
      }
      entries.push({
        ...base,
        annotations: { [mt.CONTAINERD_NAME]: name, [mt.OCI_REF_NAME]: ociRefName(name) },
        platform,
      });
    }
  }
  if (missing.length) {
    throw new InvalidInputError(
      `${what}: manifest.json names files that are not in the archive: ${missing.join(", ")}`,
    );
  }
  const indexBytes = enc.encode(JSON.stringify({ schemaVersion: 2, manifests: entries }));
  const indexDigest = await digestBytes(runtime, indexBytes);
  extras.set(indexDigest, indexBytes);
  return {
    entries,
    extras,
    index: { mediaType: mt.OCI_INDEX, digest: indexDigest, size: indexBytes.byteLength },
  };
}

export { shortDigest };
