/**
 * Builds small, real images in code for tests and the demo: layers from file specs,
 * configs, manifests, indexes, and the three archive shapes (OCI layout files,
 * oci-archive tar, docker-save tar), optionally compressed.
 * @module
 */
import { packTar, type TarEntry } from "modern-tar";
import { zstdCompressSync } from "node:zlib";
import { type Digest, digestBytes } from "../../src/digest.ts";
import * as mt from "../../src/media_types.ts";
import { getRuntime } from "../../src/runtime/mod.ts";
import type { Descriptor, ImageConfig, Platform } from "../../src/types.ts";

/** One member of a layer tar. */
export interface FileSpec {
  path: string;
  content?: string | Uint8Array;
  type?: "file" | "directory" | "symlink" | "link" | "character-device" | "fifo";
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
}

/** A layer to build. */
export interface LayerSpec {
  files: FileSpec[];
  compression?: "none" | "gzip" | "zstd";
  /** Override the media type written in the manifest. */
  mediaType?: string;
  /** Raw tar bytes instead of `files` (for nasty tars). */
  rawTar?: Uint8Array;
}

/** An image to build. */
export interface ImageSpec {
  layers: LayerSpec[];
  platform?: Platform;
  config?: ImageConfig["config"];
  /** Extra history entries; by default one entry per layer. */
  history?: ImageConfig["history"];
  /** Docker media types instead of OCI. */
  docker?: boolean;
  annotations?: Record<string, string>;
}

/** Bytes and the descriptor that names them. */
export interface BuiltBlob {
  descriptor: Descriptor;
  bytes: Uint8Array;
}

/** A built image. */
export interface BuiltImage {
  manifest: BuiltBlob;
  config: BuiltBlob;
  layers: BuiltBlob[];
  /** Uncompressed tars, same order as layers. */
  tars: Uint8Array[];
  diffIds: Digest[];
  platform: Platform;
}

const enc = new TextEncoder();

/** A blob with its sha256 descriptor. */
export async function blob(
  bytes: Uint8Array | string,
  mediaType: string,
  extra: Partial<Descriptor> = {},
): Promise<BuiltBlob> {
  const b = typeof bytes === "string" ? enc.encode(bytes) : bytes;
  return {
    bytes: b,
    descriptor: {
      mediaType,
      digest: await digestBytes(await getRuntime(), b),
      size: b.byteLength,
      ...extra,
    },
  };
}

/** A JSON document blob. */
export function jsonBlob(
  value: unknown,
  mediaType: string,
  extra: Partial<Descriptor> = {},
): Promise<BuiltBlob> {
  return blob(JSON.stringify(value), mediaType, extra);
}

const EPOCH = new Date(0);

/** An uncompressed tar of `files` with fixed times. */
export function tarOf(files: FileSpec[]): Promise<Uint8Array> {
  const entries: TarEntry[] = files.map((f) => {
    const body = typeof f.content === "string" ? enc.encode(f.content) : f.content;
    const type = f.type ?? "file";
    return {
      header: {
        name: f.path,
        size: type === "file" ? body?.byteLength ?? 0 : 0,
        type,
        mode: f.mode ?? (type === "directory" ? 0o755 : 0o644),
        uid: f.uid ?? 0,
        gid: f.gid ?? 0,
        mtime: f.mtime ?? EPOCH,
        linkname: f.linkname,
      },
      body: type === "file" ? body ?? new Uint8Array(0) : undefined,
    };
  });
  return packTar(entries);
}

/** Compresses bytes the way a layer spec asks. */
export async function compress(
  bytes: Uint8Array,
  compression: "none" | "gzip" | "zstd",
): Promise<Uint8Array> {
  if (compression === "none") return bytes;
  if (compression === "zstd") return new Uint8Array(zstdCompressSync(bytes));
  const rt = await getRuntime();
  return new Uint8Array(
    await new Response(new Blob([bytes as BlobPart]).stream().pipeThrough(rt.gzip())).arrayBuffer(),
  );
}

/** Builds layers, config and manifest of one image. */
export async function buildImage(spec: ImageSpec): Promise<BuiltImage> {
  const platform = spec.platform ?? { os: "linux", architecture: "amd64" };
  const layers: BuiltBlob[] = [];
  const tars: Uint8Array[] = [];
  const diffIds: Digest[] = [];
  const rt = await getRuntime();
  for (const l of spec.layers) {
    const tar = l.rawTar ?? await tarOf(l.files);
    const compression = l.compression ?? "gzip";
    const bytes = await compress(tar, compression);
    const mediaType = l.mediaType ??
      (spec.docker
        ? (compression === "gzip" ? mt.DOCKER_LAYER_GZIP : mt.DOCKER_LAYER)
        : compression === "gzip"
        ? mt.OCI_LAYER_GZIP
        : compression === "zstd"
        ? mt.OCI_LAYER_ZSTD
        : mt.OCI_LAYER);
    layers.push(await blob(bytes, mediaType));
    tars.push(tar);
    diffIds.push(await digestBytes(rt, tar));
  }
  const config: ImageConfig = {
    created: "2026-01-01T00:00:00Z",
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: spec.config ?? { Cmd: ["/bin/sh"], Env: ["PATH=/usr/bin:/bin"] },
    rootfs: { type: "layers", diff_ids: diffIds },
    history: spec.history ??
      spec.layers.map((_, i) => ({
        created: "2026-01-01T00:00:00Z",
        created_by: `lading-test layer ${i}`,
      })),
  };
  const configBlob = await jsonBlob(config, spec.docker ? mt.DOCKER_CONFIG : mt.OCI_CONFIG);
  const manifestType = spec.docker ? mt.DOCKER_MANIFEST : mt.OCI_MANIFEST;
  const manifest = await jsonBlob(
    {
      schemaVersion: 2,
      mediaType: manifestType,
      config: configBlob.descriptor,
      layers: layers.map((l) => l.descriptor),
      ...(spec.annotations ? { annotations: spec.annotations } : {}),
    },
    manifestType,
  );
  return { manifest, config: configBlob, layers, tars, diffIds, platform };
}

/** An index over built images, each descriptor with its platform. */
export function buildIndex(
  images: BuiltImage[],
  options: { docker?: boolean; extra?: Descriptor[] } = {},
): Promise<BuiltBlob> {
  const mediaType = options.docker ? mt.DOCKER_MANIFEST_LIST : mt.OCI_INDEX;
  return jsonBlob(
    {
      schemaVersion: 2,
      mediaType,
      manifests: [
        ...images.map((i) => ({ ...i.manifest.descriptor, platform: i.platform })),
        ...(options.extra ?? []),
      ],
    },
    mediaType,
  );
}

/** Every blob of an image (manifest, config, layers). */
export function blobsOf(image: BuiltImage): BuiltBlob[] {
  return [image.manifest, image.config, ...image.layers];
}

/** A top-level entry of an OCI layout's index.json. */
export interface LayoutEntry {
  descriptor: Descriptor;
  /** Value of org.opencontainers.image.ref.name. */
  refName?: string;
  /** Value of io.containerd.image.name. */
  containerdName?: string;
}

/** Files of an OCI image layout: path -> bytes. */
export function layoutFiles(
  entries: LayoutEntry[],
  blobs: BuiltBlob[],
): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  files.set("oci-layout", enc.encode(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
  const manifests = entries.map((e) => {
    const annotations: Record<string, string> = { ...e.descriptor.annotations };
    if (e.refName) annotations["org.opencontainers.image.ref.name"] = e.refName;
    if (e.containerdName) annotations["io.containerd.image.name"] = e.containerdName;
    return Object.keys(annotations).length ? { ...e.descriptor, annotations } : e.descriptor;
  });
  files.set(
    "index.json",
    enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: mt.OCI_INDEX, manifests })),
  );
  for (const b of blobs) {
    const [alg, hex] = b.descriptor.digest.split(":");
    files.set(`blobs/${alg}/${hex}`, b.bytes);
  }
  return files;
}

/** The files of a `docker save` archive for these images. */
export function dockerArchiveFiles(
  images: { image: BuiltImage; repoTags: string[] | null }[],
): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const manifest = [];
  for (const { image, repoTags } of images) {
    const configHex = image.config.descriptor.digest.slice(7);
    files.set(`${configHex}.json`, image.config.bytes);
    const layerPaths: string[] = [];
    for (let i = 0; i < image.tars.length; i++) {
      const p = `${image.diffIds[i].slice(7)}/layer.tar`;
      files.set(p, image.tars[i]);
      layerPaths.push(p);
    }
    manifest.push({ Config: `${configHex}.json`, RepoTags: repoTags, Layers: layerPaths });
  }
  files.set("manifest.json", enc.encode(JSON.stringify(manifest)));
  return Promise.resolve(files);
}

/** A tar of the given files (sorted, directories implied), optionally under a prefix. */
export function tarOfFiles(
  files: Map<string, Uint8Array>,
  options: { prefix?: string } = {},
): Promise<Uint8Array> {
  const prefix = options.prefix ? options.prefix.replace(/\/?$/, "/") : "";
  return tarOf(
    [...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, content]) => ({
      path: prefix + path,
      content,
    })),
  );
}

/** A single-platform image with two gzip layers, named `example.com/demo:1`, as an oci-archive. */
export async function demoImage(): Promise<{ image: BuiltImage; archive: Uint8Array }> {
  const image = await buildImage({
    layers: [
      {
        files: [
          { path: "etc/", type: "directory" },
          { path: "etc/os-release", content: 'NAME="lading demo"\n' },
          { path: "bin/", type: "directory" },
          { path: "bin/hello", content: "#!/bin/sh\necho hello\n", mode: 0o755 },
        ],
      },
      {
        files: [
          { path: "app/", type: "directory" },
          { path: "app/README", content: "built by lading's tests\n" },
          { path: "etc/.wh.os-release", content: "" },
        ],
      },
    ],
    config: {
      Cmd: ["/bin/hello"],
      Entrypoint: ["/bin/sh"],
      Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"],
      WorkingDir: "/app",
      User: "1000:1000",
      ExposedPorts: { "8080/tcp": {} },
      Labels: { "org.opencontainers.image.title": "lading demo" },
    },
    history: [
      { created: "2026-01-01T00:00:00Z", created_by: "ADD rootfs /" },
      { created: "2026-01-01T00:00:00Z", created_by: "ENV LANG=C.UTF-8", empty_layer: true },
      { created: "2026-01-01T00:00:00Z", created_by: "COPY app /app" },
    ],
  });
  const files = layoutFiles(
    [{ descriptor: image.manifest.descriptor, refName: "example.com/demo:1" }],
    blobsOf(image),
  );
  return { image, archive: await tarOfFiles(files) };
}
