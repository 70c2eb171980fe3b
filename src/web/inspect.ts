// This module is browser compatible.
/**
 * Plain, structured-clonable views of an image for the web page, built only from the
 * library's functions (`resolveImage`, `readImageLayers`, `mergeImage`, `openLayerEntry`):
 * the detail view (documents, config summary, history with layer sizes, platforms) and a
 * file's bytes. The explorer's analysis is in `explore.ts`.
 *
 * @example
 * ```ts
 * import { configSummary } from "./inspect.ts";
 * const s = configSummary({
 *   architecture: "amd64",
 *   os: "linux",
 *   rootfs: { type: "layers", diff_ids: [] },
 *   config: { Cmd: ["sh"], ExposedPorts: { "80/tcp": {} } },
 * });
 * console.log(s.cmd, s.ports); // ["sh"] ["80/tcp"]
 * ```
 * @module
 */
import type { Digest } from "../digest.ts";
import { findImage, type ResolvedImage, resolveImage } from "../image.ts";
import { isIndexMediaType } from "../media_types.ts";
import { formatPlatform, isAttestation, parsePlatform } from "../platform.ts";
import { DEFAULT_DOCUMENT_LIMIT, readBlobBytes } from "../store/blob.ts";
import type { BlobProvider, ImageSource } from "../store/types.ts";
import type { Descriptor, ImageConfig, Platform } from "../types.ts";
import { layerHistory } from "../layers/image_layers.ts";
import { openLayerEntry } from "../layers/read_file.ts";
import { parseIndex } from "../schema.ts";

/** What the page shows of a config. */
export interface ConfigSummary {
  readonly cmd?: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly env: readonly string[];
  readonly workingDir?: string;
  readonly user?: string;
  readonly ports: readonly string[];
  readonly volumes: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly stopSignal?: string;
  readonly created?: string;
  readonly author?: string;
}

/** The config summary: Cmd, Entrypoint, Env, WorkingDir, User, ports, volumes, labels. */
export function configSummary(config: ImageConfig): ConfigSummary {
  const c = config.config ?? {};
  return {
    cmd: c.Cmd ?? undefined,
    entrypoint: c.Entrypoint ?? undefined,
    env: c.Env ?? [],
    workingDir: c.WorkingDir || undefined,
    user: c.User || undefined,
    ports: Object.keys(c.ExposedPorts ?? {}).sort(),
    volumes: Object.keys(c.Volumes ?? {}).sort(),
    labels: { ...(c.Labels ?? {}) },
    stopSignal: c.StopSignal || undefined,
    created: config.created,
    author: config.author,
  };
}

/** One history line, with the layer it made (if any). */
export interface HistoryRow {
  readonly created?: string;
  readonly createdBy?: string;
  readonly comment?: string;
  readonly emptyLayer: boolean;
  /** The manifest layer this entry produced. */
  readonly layer?: number;
  /** That layer's blob size. */
  readonly size?: number;
}

/** A layer in the detail view. */
export interface LayerRow {
  readonly index: number;
  readonly digest: Digest;
  readonly mediaType: string;
  readonly size: number;
  readonly diffId?: Digest;
  readonly createdBy?: string;
}

/** A platform the image offers. */
export interface PlatformChoice {
  /** `linux/arm64/v8` */
  readonly label: string;
  readonly digest: Digest;
}

/** Everything the detail view shows. */
export interface ImageDetail {
  readonly name: string;
  readonly digest: Digest;
  readonly mediaType: string;
  /** The chosen platform (formatted). */
  readonly platform: string;
  /** Platforms of the index (attestations left out); empty for a single manifest. */
  readonly platforms: readonly PlatformChoice[];
  readonly manifestDigest: Digest;
  /** Pretty-printed documents. */
  readonly indexJson?: string;
  readonly manifestJson: string;
  readonly configJson: string;
  readonly config: ConfigSummary;
  readonly history: readonly HistoryRow[];
  readonly layers: readonly LayerRow[];
  /** Sum of the layer blob sizes. */
  readonly layersSize: number;
}

async function prettyJson(store: BlobProvider, d: Descriptor): Promise<string> {
  const bytes = await readBlobBytes(store, d.digest, { maxJsonBytes: DEFAULT_DOCUMENT_LIMIT });
  const text = new TextDecoder().decode(bytes);
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** Parses `linux/arm64/v8`; undefined for an empty string. */
export function platformOption(label: string | undefined): Platform | undefined {
  return label ? parsePlatform(label) : undefined;
}

/** The detail view of one image, on one platform (default: as `resolveImage` picks). */
export async function imageDetail(
  store: ImageSource,
  name: string,
  options: { platform?: string } = {},
): Promise<ImageDetail> {
  const image = await resolveImage(store, name, { platform: platformOption(options.platform) });
  const record = await findImage(store, name);
  const platforms: PlatformChoice[] = [];
  let indexJson: string | undefined;
  if (isIndexMediaType(record.target.mediaType) && await store.has(record.target.digest)) {
    indexJson = await prettyJson(store, record.target);
    const index = parseIndex(await readBlobBytes(store, record.target.digest));
    for (const m of index.manifests) {
      if (m.platform && !isAttestation(m)) {
        platforms.push({ label: formatPlatform(m.platform), digest: m.digest });
      }
    }
  }
  const history = layerHistory(image.config, image.manifest.layers.length);
  const layers: LayerRow[] = image.manifest.layers.map((d, i) => ({
    index: i,
    digest: d.digest,
    mediaType: d.mediaType,
    size: d.size,
    diffId: image.config.rootfs?.diff_ids?.[i],
    createdBy: history[i]?.created_by,
  }));
  const rows: HistoryRow[] = [];
  let layer = 0;
  for (const h of image.config.history ?? []) {
    const empty = !!h.empty_layer;
    const l = empty || layer >= layers.length ? undefined : layer++;
    rows.push({
      created: h.created,
      createdBy: h.created_by,
      comment: h.comment,
      emptyLayer: empty,
      layer: l,
      size: l === undefined ? undefined : layers[l].size,
    });
  }
  return {
    name: image.name,
    digest: record.target.digest,
    mediaType: record.target.mediaType,
    // The index entry's label (it has the variant, `linux/arm64/v8`; the config may not).
    platform: platforms.find((p) => p.digest === image.manifestDescriptor.digest)?.label ??
      formatPlatform(image.platform),
    platforms,
    manifestDigest: image.manifestDescriptor.digest,
    indexJson,
    manifestJson: await prettyJson(store, image.manifestDescriptor),
    configJson: await prettyJson(store, image.manifest.config),
    config: configSummary(image.config),
    history: rows,
    layers,
    layersSize: layers.reduce((n, l) => n + l.size, 0),
  };
}

/** A file's bytes (at most `max`), and whether they look like text. */
export interface FileBytes {
  readonly bytes: Uint8Array;
  /** True when the file is longer than `max`. */
  readonly truncated: boolean;
  readonly text: boolean;
}

/** Reads entry `ref` of a resolved image's layer `ref.layer`, at most `max` bytes. */
export async function readFileBytes(
  store: BlobProvider,
  image: ResolvedImage,
  ref: { layer: number; entry: number },
  options: { max?: number } = {},
): Promise<FileBytes> {
  const stream = await openLayerEntry(store, image, ref);
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  const chunks: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (total + value.byteLength > max) {
      chunks.push(value.subarray(0, max - total));
      total = max;
      truncated = true;
      await reader.cancel().catch(() => {});
      break;
    }
    chunks.push(value);
    total += value.byteLength;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return { bytes, truncated, text: looksLikeText(bytes) };
}

/** True for bytes without NUL that decode as UTF-8 (a cut last character is allowed). */
export function looksLikeText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 8192);
  if (sample.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(sample, { stream: true });
    return true;
  } catch {
    return false;
  }
}
