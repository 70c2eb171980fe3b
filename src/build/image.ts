// This module is browser compatible.
/**
 * Build and change images, as go-containerregistry's `mutate` does, on any store: start
 * from scratch ({@link emptyImage}) or from a stored image ({@link loadImage}), append
 * layers ({@link appendLayer}), set config fields ({@link setConfig}), history and
 * annotations, rebase onto another base ({@link rebaseImage}), then write config and
 * manifest and name the result ({@link writeImage}); several platforms become one index
 * with {@link writeIndex}. A draft is a plain immutable value: every step returns a new
 * one. Every blob is verified as it is stored; diff_ids are computed from the bytes;
 * the same steps give the same digests (fixed times, sorted JSON output as written here).
 *
 * @example
 * ```ts
 * import { appendLayer, emptyImage, MemoryStore, setConfig, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * let image = emptyImage({ platform: { os: "linux", architecture: "amd64" } });
 * image = await appendLayer(store, image, { files: [{ path: "app/hello", content: "hi" }] });
 * image = setConfig(image, { Cmd: ["/app/hello"], Env: { LANG: "C.UTF-8" } });
 * const written = await writeImage(store, image, { name: "example.com/hello:1" });
 * console.log(written.descriptor.digest.startsWith("sha256:")); // true
 * ```
 * @module
 */
import { digestBytes } from "../digest.ts";
import { InvalidInputError } from "../errors.ts";
import { resolveImage } from "../image.ts";
import * as mt from "../media_types.ts";
import { normalizeReference } from "../reference.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Runtime } from "../runtime/types.ts";
import { writeBlob } from "../store/blob.ts";
import type { BlobIngester, BlobProvider, ImageSource, ImageTarget } from "../store/types.ts";
import type {
  ContainerConfig,
  Descriptor,
  History,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  Platform,
} from "../types.ts";
import { type LayerInput, type LayerOptions, writeLayer } from "./layer.ts";

/** An image being built: config, layers and annotations; write it with {@link writeImage}. */
export interface ImageDraft {
  /** The config as it will be written (its `rootfs.diff_ids` follow `layers`). */
  readonly config: ImageConfig;
  /** Layer descriptors, base first. */
  readonly layers: readonly Descriptor[];
  /** Manifest annotations. */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Docker media types (manifest, config, layers) instead of OCI. */
  readonly docker?: boolean;
}

/** Options for {@link emptyImage}. */
export interface EmptyImageOptions {
  /** The image's platform (default linux/amd64). */
  readonly platform?: Platform;
  /** Docker media types instead of OCI. */
  readonly docker?: boolean;
  /** The config's `created` time (RFC 3339); default none, so digests do not depend on the clock. */
  readonly created?: string;
}

/**
 * An image with no layers and an empty config (go-containerregistry's `empty.Image`).
 *
 * @example
 * ```ts
 * import { emptyImage } from "@lading/oci";
 * const image = emptyImage({ platform: { os: "linux", architecture: "arm64" } });
 * console.log(image.config.architecture, image.layers.length); // arm64 0
 * ```
 */
export function emptyImage(options: EmptyImageOptions = {}): ImageDraft {
  const p = options.platform ?? { os: "linux", architecture: "amd64" };
  return {
    config: {
      ...(options.created ? { created: options.created } : {}),
      architecture: p.architecture,
      os: p.os,
      ...(p.variant ? { variant: p.variant } : {}),
      ...(p["os.version"] ? { "os.version": p["os.version"] } : {}),
      config: {},
      rootfs: { type: "layers", diff_ids: [] },
      history: [],
    },
    layers: [],
    ...(options.docker ? { docker: true } : {}),
  };
}

/**
 * A stored image (one platform of it) as a draft to change.
 *
 * @example
 * ```ts
 * import { emptyImage, loadImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, emptyImage(), { name: "example.com/base:1" });
 * const base = await loadImage(store, "example.com/base:1");
 * console.log(base.layers.length); // 0
 * ```
 */
export async function loadImage(
  store: ImageSource,
  name: string,
  options: { readonly platform?: Platform } = {},
): Promise<ImageDraft> {
  const image = await resolveImage(store, name, options);
  const docker = image.manifest.mediaType === mt.DOCKER_MANIFEST;
  return {
    config: image.config,
    layers: image.manifest.layers,
    ...(image.manifest.annotations ? { annotations: image.manifest.annotations } : {}),
    ...(docker ? { docker } : {}),
  };
}

/** History recorded with a layer. */
export interface HistoryOptions {
  /** The command or step that made the layer (`created_by`). */
  readonly createdBy?: string;
  /** A comment. */
  readonly comment?: string;
  /** When (RFC 3339); default none, for reproducible digests. */
  readonly created?: string;
  /** The author. */
  readonly author?: string;
}

function historyEntry(h: HistoryOptions, emptyLayer: boolean): History {
  return {
    ...(h.created ? { created: h.created } : {}),
    ...(h.createdBy ? { created_by: h.createdBy } : {}),
    ...(h.author ? { author: h.author } : {}),
    ...(h.comment ? { comment: h.comment } : {}),
    ...(emptyLayer ? { empty_layer: true } : {}),
  };
}

/**
 * Writes a layer into the store and appends it to the image, with its diff_id and a
 * history entry (go-containerregistry's `mutate.AppendLayers`). `layer` is what the layer
 * is made of (`files` or `tar`) together with how it is written (`compression`, `mtime`…)
 * and its `history`.
 *
 * @example
 * ```ts
 * import { appendLayer, emptyImage, MemoryStore } from "@lading/oci";
 * const store = new MemoryStore();
 * const image = await appendLayer(store, emptyImage(), {
 *   files: [{ path: "etc/motd", content: "hello\n" }, { path: "bin", type: "directory" }],
 *   history: { createdBy: "COPY motd /etc/motd" },
 * });
 * console.log(image.config.rootfs.diff_ids.length, image.config.history?.[0].created_by);
 * // 1 COPY motd /etc/motd
 * ```
 */
export async function appendLayer(
  store: BlobIngester,
  image: ImageDraft,
  layer: LayerInput & LayerOptions & { readonly history?: HistoryOptions },
): Promise<ImageDraft> {
  const written = await writeLayer(store, { docker: image.docker, ...layer });
  return {
    ...image,
    layers: [...image.layers, written.descriptor],
    config: {
      ...image.config,
      rootfs: { type: "layers", diff_ids: [...image.config.rootfs.diff_ids, written.diffId] },
      history: [...(image.config.history ?? []), historyEntry(layer.history ?? {}, false)],
    },
  };
}

/** Config fields to set; Env and Labels merge into what is there, the rest replace. */
export interface ConfigChanges {
  /** Variables to set (`{K: "V"}` or `["K=V"]`); a variable already there is replaced in place. */
  readonly Env?: Readonly<Record<string, string>> | readonly string[];
  /** Default arguments (`null` removes them). */
  readonly Cmd?: readonly string[] | null;
  /** Entrypoint (`null` removes it). */
  readonly Entrypoint?: readonly string[] | null;
  /** Working directory. */
  readonly WorkingDir?: string;
  /** Labels to set (merged). */
  readonly Labels?: Readonly<Record<string, string>>;
  /** User (`name`, `uid`, `uid:gid`). */
  readonly User?: string;
  /** Ports to expose (`8080/tcp`, `53/udp`, `80` means `80/tcp`), added to what is there. */
  readonly ExposedPorts?: readonly string[];
  /** Stop signal. */
  readonly StopSignal?: string;
  /** Volumes to add. */
  readonly Volumes?: readonly string[];
}

function envPairs(env: ConfigChanges["Env"]): [string, string][] {
  if (!env) return [];
  if (Array.isArray(env)) {
    return (env as readonly string[]).map((e) => {
      const eq = e.indexOf("=");
      if (eq <= 0) throw new TypeError(`environment entry ${JSON.stringify(e)} is not K=V`);
      return [e.slice(0, eq), e.slice(eq + 1)];
    });
  }
  return Object.entries(env as Record<string, string>);
}

/**
 * Sets config fields (go-containerregistry's `mutate.Config`): Env, Labels, ExposedPorts
 * and Volumes merge, the others replace. Touches no blob; {@link writeImage} writes the
 * new config.
 *
 * @example
 * ```ts
 * import { emptyImage, setConfig } from "@lading/oci";
 * const image = setConfig(emptyImage(), {
 *   Env: { PATH: "/usr/bin:/bin" }, Entrypoint: ["/bin/sh", "-c"], Cmd: ["echo hi"],
 *   WorkingDir: "/srv", User: "1000:1000", ExposedPorts: ["8080"], Labels: { team: "a" },
 * });
 * console.log(image.config.config?.Env, Object.keys(image.config.config?.ExposedPorts ?? {}));
 * // [ "PATH=/usr/bin:/bin" ] [ "8080/tcp" ]
 * ```
 */
export function setConfig(image: ImageDraft, changes: ConfigChanges): ImageDraft {
  const old: ContainerConfig = image.config.config ?? {};
  const next: Record<string, unknown> = { ...old };
  if (changes.Env) {
    const env = [...(old.Env ?? [])];
    for (const [k, v] of envPairs(changes.Env)) {
      const at = env.findIndex((e) => e.startsWith(`${k}=`) || e === k);
      if (at >= 0) env[at] = `${k}=${v}`;
      else env.push(`${k}=${v}`);
    }
    next.Env = env;
  }
  if (changes.Cmd !== undefined) next.Cmd = changes.Cmd;
  if (changes.Entrypoint !== undefined) next.Entrypoint = changes.Entrypoint;
  if (changes.WorkingDir !== undefined) next.WorkingDir = changes.WorkingDir;
  if (changes.User !== undefined) next.User = changes.User;
  if (changes.StopSignal !== undefined) next.StopSignal = changes.StopSignal;
  if (changes.Labels) next.Labels = { ...(old.Labels ?? {}), ...changes.Labels };
  if (changes.ExposedPorts) {
    const ports: Record<string, unknown> = { ...(old.ExposedPorts ?? {}) };
    for (const p of changes.ExposedPorts) {
      if (!/^\d{1,5}(-\d{1,5})?(\/(tcp|udp|sctp))?$/.test(p)) {
        throw new TypeError(`port ${JSON.stringify(p)} is not PORT[/tcp|/udp|/sctp]`);
      }
      ports[p.includes("/") ? p : `${p}/tcp`] = {};
    }
    next.ExposedPorts = ports;
  }
  if (changes.Volumes) {
    const volumes: Record<string, unknown> = { ...(old.Volumes ?? {}) };
    for (const v of changes.Volumes) volumes[v] = {};
    next.Volumes = volumes;
  }
  return { ...image, config: { ...image.config, config: next as ContainerConfig } };
}

/**
 * Adds a history entry that made no layer (`empty_layer: true`), like Dockerfile's `ENV`.
 *
 * @example
 * ```ts
 * import { addHistory, emptyImage } from "@lading/oci";
 * const image = addHistory(emptyImage(), { createdBy: "ENV LANG=C.UTF-8" });
 * console.log(image.config.history); // [ { created_by: "ENV LANG=C.UTF-8", empty_layer: true } ]
 * ```
 */
export function addHistory(image: ImageDraft, entry: HistoryOptions): ImageDraft {
  return {
    ...image,
    config: {
      ...image.config,
      history: [...(image.config.history ?? []), historyEntry(entry, true)],
    },
  };
}

/**
 * Sets manifest annotations (merged into what is there; an empty string removes one).
 *
 * @example
 * ```ts
 * import { emptyImage, setAnnotations } from "@lading/oci";
 * const image = setAnnotations(emptyImage(), { "org.opencontainers.image.source": "https://example.com/x" });
 * console.log(Object.keys(image.annotations ?? {})); // [ "org.opencontainers.image.source" ]
 * ```
 */
export function setAnnotations(
  image: ImageDraft,
  annotations: Readonly<Record<string, string>>,
): ImageDraft {
  const merged: Record<string, string> = { ...(image.annotations ?? {}) };
  for (const [k, v] of Object.entries(annotations)) {
    if (v === "") delete merged[k];
    else merged[k] = v;
  }
  const { annotations: _, ...rest } = image;
  return Object.keys(merged).length ? { ...rest, annotations: merged } : rest;
}

/** The layers of `image` that are not in `base` (checked: `base` must be its prefix). */
function layersAbove(image: ImageDraft, base: ImageDraft): number {
  const ids = image.config.rootfs.diff_ids;
  const baseIds = base.config.rootfs.diff_ids;
  if (baseIds.length > ids.length || baseIds.some((d, i) => ids[i] !== d)) {
    throw new InvalidInputError(
      "cannot rebase: the old base's layers are not the bottom layers of the image",
    );
  }
  return baseIds.length;
}

/** History entries that belong to the first `layers` layers (empty ones between included). */
function historyOfLayers(history: readonly History[], layers: number): number {
  let seen = 0;
  for (let i = 0; i < history.length; i++) {
    if (seen === layers) return i;
    if (!history[i].empty_layer) seen++;
  }
  return history.length;
}

/**
 * Puts the image's own layers onto a new base (go-containerregistry's `mutate.Rebase`,
 * `crane rebase`): the layers of `oldBase` at the bottom of `image` are replaced by the
 * layers of `newBase`, history likewise; the image's own config fields stay, and the
 * platform becomes the new base's.
 *
 * @throws {InvalidInputError} when `oldBase` is not the bottom of `image`.
 * @example
 * ```ts
 * import { appendLayer, emptyImage, MemoryStore, rebaseImage } from "@lading/oci";
 * const store = new MemoryStore();
 * const oldBase = await appendLayer(store, emptyImage(), { files: [{ path: "v", content: "1" }] });
 * const newBase = await appendLayer(store, emptyImage(), { files: [{ path: "v", content: "2" }] });
 * const app = await appendLayer(store, oldBase, { files: [{ path: "app", content: "x" }] });
 * const rebased = rebaseImage(app, { oldBase, newBase });
 * console.log(rebased.layers[0].digest === newBase.layers[0].digest); // true
 * ```
 */
export function rebaseImage(
  image: ImageDraft,
  bases: { readonly oldBase: ImageDraft; readonly newBase: ImageDraft },
): ImageDraft {
  const { oldBase, newBase } = bases;
  const own = layersAbove(image, oldBase);
  const history = image.config.history ?? [];
  const ownHistory = history.slice(historyOfLayers(history, own));
  return {
    ...image,
    layers: [...newBase.layers, ...image.layers.slice(own)],
    config: {
      ...image.config,
      architecture: newBase.config.architecture,
      os: newBase.config.os,
      ...(newBase.config.variant ? { variant: newBase.config.variant } : {}),
      rootfs: {
        type: "layers",
        diff_ids: [...newBase.config.rootfs.diff_ids, ...image.config.rootfs.diff_ids.slice(own)],
      },
      history: [...(newBase.config.history ?? []), ...ownHistory],
    },
  };
}

/** Options for {@link writeImage} and {@link writeIndex}. */
export interface WriteImageOptions {
  /** Names to give the result (normalized: `alpine` is `docker.io/library/alpine:latest`). */
  readonly name?: string | readonly string[];
  /** Hashing (default {@link getRuntime}). */
  readonly runtime?: Runtime;
}

/** What {@link writeImage} and {@link writeIndex} stored. */
export interface WrittenImage {
  /** The manifest's (or index's) descriptor, with the platform for a manifest. */
  readonly descriptor: Descriptor;
  /** The names given. */
  readonly names: readonly string[];
}

const enc = new TextEncoder();

async function putJson(
  store: BlobIngester,
  runtime: Runtime,
  value: unknown,
  mediaType: string,
): Promise<Descriptor> {
  const bytes = enc.encode(JSON.stringify(value));
  const digest = await digestBytes(runtime, bytes);
  await writeBlob(store, bytes, { digest, size: bytes.byteLength, what: mediaType });
  return { mediaType, digest, size: bytes.byteLength };
}

async function nameIt(
  store: ImageTarget,
  target: Descriptor,
  name: WriteImageOptions["name"],
): Promise<string[]> {
  const names = (name === undefined ? [] : typeof name === "string" ? [name] : [...name]).map(
    (n) => normalizeReference(n),
  );
  if (names.length) await store.putImages(names.map((n) => ({ name: n, target })));
  return names;
}

async function checkPresent(store: BlobProvider, layers: readonly Descriptor[]): Promise<void> {
  for (const l of layers) {
    if (!(await store.has(l.digest))) {
      throw new InvalidInputError(`cannot write image: layer ${l.digest} is not in the store`);
    }
  }
}

/**
 * Writes the draft's config and manifest into the store (every layer must be there) and
 * names it. The descriptor carries the platform, ready for {@link writeIndex}.
 *
 * @example
 * ```ts
 * import { emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * const { descriptor, names } = await writeImage(store, emptyImage(), { name: "scratch:1" });
 * console.log(names, descriptor.platform); // [ "docker.io/library/scratch:1" ] { os: "linux", architecture: "amd64" }
 * ```
 */
export async function writeImage(
  store: ImageTarget,
  image: ImageDraft,
  options: WriteImageOptions = {},
): Promise<WrittenImage> {
  const runtime = options.runtime ?? await getRuntime();
  if (image.layers.length !== image.config.rootfs.diff_ids.length) {
    throw new InvalidInputError(
      `cannot write image: ${image.layers.length} layers but ${image.config.rootfs.diff_ids.length} diff_ids`,
    );
  }
  await checkPresent(store, image.layers);
  const config = await putJson(
    store,
    runtime,
    image.config,
    image.docker ? mt.DOCKER_CONFIG : mt.OCI_CONFIG,
  );
  const mediaType = image.docker ? mt.DOCKER_MANIFEST : mt.OCI_MANIFEST;
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType,
    config,
    layers: image.layers,
    ...(image.annotations ? { annotations: image.annotations } : {}),
  };
  const written = await putJson(store, runtime, manifest, mediaType);
  const c = image.config;
  const descriptor: Descriptor = {
    ...written,
    platform: {
      architecture: c.architecture,
      os: c.os,
      ...(c.variant ? { variant: c.variant } : {}),
      ...(c["os.version"] ? { "os.version": c["os.version"] } : {}),
    },
  };
  return { descriptor, names: await nameIt(store, descriptor, options.name) };
}

/**
 * Writes a multi-platform index over images written with {@link writeImage} (each
 * descriptor keeps its platform) and names it.
 *
 * @example
 * ```ts
 * import { emptyImage, MemoryStore, writeImage, writeIndex } from "@lading/oci";
 * const store = new MemoryStore();
 * const amd = await writeImage(store, emptyImage());
 * const arm = await writeImage(store, emptyImage({ platform: { os: "linux", architecture: "arm64" } }));
 * const index = await writeIndex(store, [amd.descriptor, arm.descriptor], { name: "example.com/multi:1" });
 * console.log(index.descriptor.mediaType); // application/vnd.oci.image.index.v1+json
 * ```
 */
export async function writeIndex(
  store: ImageTarget,
  manifests: readonly Descriptor[],
  options: WriteImageOptions & {
    readonly annotations?: Readonly<Record<string, string>>;
    readonly docker?: boolean;
  } = {},
): Promise<WrittenImage> {
  const runtime = options.runtime ?? await getRuntime();
  await checkPresent(store, manifests);
  const mediaType = options.docker ? mt.DOCKER_MANIFEST_LIST : mt.OCI_INDEX;
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType,
    manifests,
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const descriptor = await putJson(store, runtime, index, mediaType);
  return { descriptor, names: await nameIt(store, descriptor, options.name) };
}
