// This module is browser compatible.
/**
 * The plan of a `docker save` archive: one platform's manifest per name, grouped by
 * manifest, with `RepoTags`.
 * @module
 */
import { type Digest, shortDigest } from "../digest.ts";
import { InvalidInputError, NotFoundError } from "../errors.ts";
import { type ResolvedImage, resolveImage } from "../image.ts";
import { layerCompression } from "../media_types.ts";
import { formatPlatform, platformMatches } from "../platform.ts";
import type { ImageSource } from "../store/types.ts";
import type { Descriptor, Platform } from "../types.ts";
import { blobPath, type DockerArchiveImage, dockerManifestJson, dockerRepoTag } from "./docker.ts";
import {
  blobDirectories,
  type Collected,
  type Member,
  missingError,
  presentForExport,
  resolveRecords,
} from "./members.ts";
import type { ExportedImage, ExportOptions } from "./types.ts";

async function resolveForDocker(
  store: ImageSource,
  name: string,
  platforms: readonly Platform[],
  options: ExportOptions,
): Promise<ResolvedImage> {
  const readOptions = { maxJsonBytes: options.maxJsonBytes, onWarning: options.onWarning };
  if (platforms.length === 0) return await resolveImage(store, name, readOptions);
  let first: unknown;
  for (const platform of platforms) {
    try {
      const r = await resolveImage(store, name, { ...readOptions, platform });
      if (platformMatches(platform, r.platform)) return r;
      first ??= new NotFoundError(
        `Cannot export ${r.name}: it is ${formatPlatform(r.platform)}, not ${
          formatPlatform(platform)
        }`,
      );
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      first ??= e;
    }
  }
  throw first;
}

/** Plans the members of a docker archive of `names`. */
export async function planDocker(
  store: ImageSource,
  names: readonly string[],
  options: ExportOptions,
  note: (m: string) => void,
): Promise<Collected> {
  if (options.skipNonDistributable) {
    throw new TypeError(
      "the docker format cannot leave layers out: --skip-non-distributable is for --format oci",
    );
  }
  const platforms = options.platforms ?? [];
  const groups = new Map<Digest, DockerArchiveImage & { repoTags: string[] }>();
  const images: ExportedImage[] = [];
  const blobs = new Map<Digest, Descriptor>();
  const missing: { digest: Digest; mediaType: string; image: string }[] = [];
  for (const { record, named } of await resolveRecords(store, names)) {
    const r = await resolveForDocker(store, record.name, platforms, options);
    const tag = named ? dockerRepoTag(record.name) : undefined;
    if (named && !tag) {
      note(`${record.name} has no tag: the docker archive lists its image without this name`);
    }
    let group = groups.get(r.manifestDescriptor.digest);
    if (!group) {
      group = { config: r.manifest.config, layers: r.manifest.layers, repoTags: [] };
      groups.set(r.manifestDescriptor.digest, group);
      if (r.config.rootfs.diff_ids.length !== r.manifest.layers.length) {
        throw new InvalidInputError(
          `Cannot export ${record.name} as a docker archive: its manifest has ${r.manifest.layers.length} layers but its config ${r.config.rootfs.diff_ids.length} diff_ids`,
        );
      }
      for (const d of [r.manifest.config, ...r.manifest.layers]) {
        if (!(await presentForExport(store, d, record.name))) {
          missing.push({ digest: d.digest, mediaType: d.mediaType, image: record.name });
          continue;
        }
        blobs.set(d.digest, d);
        if (layerCompression(d.mediaType) === "zstd") {
          options.onWarning?.(
            `${record.name}: layer ${
              shortDigest(d.digest)
            } is zstd-compressed; older docker versions cannot load it`,
          );
        }
      }
    }
    if (tag && !group.repoTags.includes(tag)) group.repoTags.push(tag);
    images.push({
      name: record.name,
      digest: r.manifestDescriptor.digest,
      mediaType: r.manifestDescriptor.mediaType,
      platforms: [formatPlatform(r.platform)],
      ...(tag ? { repoTag: tag } : {}),
    });
    if (r.manifestDescriptor.digest !== record.target.digest) {
      note(
        `${record.name}: exported ${formatPlatform(r.platform)} (manifest ${
          shortDigest(r.manifestDescriptor.digest)
        }); a docker archive holds one platform per image`,
      );
    }
  }
  if (missing.length) throw missingError(missing);
  const manifest = dockerManifestJson([...groups.values()]);
  const members: Member[] = [
    ...blobDirectories(blobs.values()),
    { path: "manifest.json", size: manifest.byteLength, bytes: manifest },
  ];
  for (const d of blobs.values()) members.push({ path: blobPath(d), size: d.size, blob: d });
  const sorted = [...blobs.values()].sort((a, b) => (a.digest < b.digest ? -1 : 1));
  return { members, images, blobs: sorted, skipped: [] };
}
