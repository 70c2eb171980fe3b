/**
 * The store's file index of layers, under `<store>/lading-cache/layers/`, written the first
 * time a layer command reads a layer, in a directory the OCI layout ignores (skopeo, umoci
 * and containerd see only blobs/, index.json and oci-layout). Per layer blob:
 * - `<alg>-<hex>.json`: the listing (every member's header, in tar order) with the diff_id
 *   computed when the blob was read, in the page's compact columnar format
 *   (`layers/layer_index_codec.ts`: one array per header field, one `JSON.parse`);
 * - `<alg>-<hex>.gzi` (gzip layers): access points, one about every 4 MB of uncompressed
 *   tar (recorded by `deno/gzip_index.ts`, used by `layers/gzip_access.ts`), so that `cat`
 *   inflates from the nearest point before a member instead of from the start of the blob.
 * Both are rebuilt when missing or unreadable and never trusted for content: bytes always
 * come from the verified blob, and a member read through an access point must parse as a
 * tar member with the expected path and size there.
 * @module
 */
import { randomHex } from "../digest.ts";
import { InvalidInputError } from "../errors.ts";
import type { CachedEntry, CachedLayer, LayerIndexCache } from "../layers/image_layers.ts";
import { normalizeEntryPath } from "../layers/path.ts";
import type { Runtime } from "../runtime/types.ts";
import type { BlobProvider } from "../store/types.ts";
import type { Descriptor } from "../types.ts";
import { type AccessPoint, inflateFrom } from "../layers/gzip_access.ts";

/** The access point recorder (node:zlib), loaded only when a layer is read. */
let gzipIndex: typeof import("../deno/gzip_index.ts") | undefined;
async function loadGzipIndex() {
  return gzipIndex ??= await import("../deno/gzip_index.ts");
}
import { iteratorStream } from "../streams.ts";

/** The directory under the store. */
export const CACHE_DIR = "lading-cache/layers";
const POINTS_MAGIC = "lading-gzi-1\n";

function fileOf(dir: string, digest: string, ext: "json" | "gzi"): string {
  return `${dir}/${CACHE_DIR}/${digest.replace(":", "-")}.${ext}`;
}

/** Access points as stored: `[start, out, windowLength]`, windows after the header. */
interface PointsHeader {
  digest: string;
  size: number;
  /** gzip members in the blob (points are used only when there is one). */
  members: number;
  points: [number, number, number][];
}

async function writePoints(
  path: string,
  layer: Descriptor,
  points: AccessPoint[],
  members: number,
) {
  const header: PointsHeader = {
    digest: layer.digest,
    size: layer.size,
    members,
    points: points.map((p) => [p.start, p.out, p.window.byteLength]),
  };
  const head = new TextEncoder().encode(`${POINTS_MAGIC}${JSON.stringify(header)}\n`);
  const total = head.byteLength + points.reduce((n, p) => n + p.window.byteLength, 0);
  const bytes = new Uint8Array(total);
  bytes.set(head);
  let at = head.byteLength;
  for (const p of points) {
    bytes.set(p.window, at);
    at += p.window.byteLength;
  }
  await Deno.writeFile(path, bytes);
}

/** The access point at or before uncompressed offset `at`, read from the points file. */
async function pointBefore(path: string, layer: Descriptor, at: number) {
  using file = await Deno.open(path);
  const first = new Uint8Array(64 * 1024);
  let n = 0;
  let nl = -1;
  while (nl < 0) {
    if (n === first.byteLength) return undefined;
    const r = await file.read(first.subarray(n));
    if (r === null) return undefined;
    n += r;
    nl = first.subarray(POINTS_MAGIC.length, n).indexOf(10);
  }
  const text = new TextDecoder().decode(first.subarray(0, POINTS_MAGIC.length + nl));
  if (!text.startsWith(POINTS_MAGIC)) return undefined;
  const header = JSON.parse(text.slice(POINTS_MAGIC.length)) as PointsHeader;
  if (header.digest !== layer.digest || header.size !== layer.size || header.members !== 1) {
    return undefined;
  }
  let windowAt = POINTS_MAGIC.length + nl + 1;
  let chosen: { start: number; out: number; length: number; at: number } | undefined;
  for (const [start, out, length] of header.points) {
    if (out > at) break;
    chosen = { start, out, length, at: windowAt };
    windowAt += length;
  }
  if (!chosen) return undefined;
  const window = new Uint8Array(chosen.length);
  await file.seek(chosen.at, Deno.SeekMode.Start);
  for (let got = 0; got < window.byteLength;) {
    const r = await file.read(window.subarray(got));
    if (r === null) return undefined;
    got += r;
  }
  return { start: chosen.start, out: chosen.out, window };
}

/** Bytes `from..` of a stream whose first byte is at offset `at` (`from >= at`). */
async function* skipTo(
  stream: ReadableStream<Uint8Array>,
  at: number,
  from: number,
): AsyncGenerator<Uint8Array> {
  let pos = at;
  for await (const chunk of stream) {
    const end = pos + chunk.byteLength;
    if (end > from) yield pos >= from ? chunk : chunk.subarray(from - pos);
    pos = end;
  }
}

/** A layer member as {@link StoreLayerCache.openMember} finds it. */
export interface MemberAt {
  /** Its normalized path (checked against the header found there). */
  readonly path: string;
  /** Its size (checked too). */
  readonly size: number;
  /** Tar offset of its first header block (extended headers included). */
  readonly start: number;
}

/** Where a cached entry's first header block is. */
export function memberAt(entry: CachedEntry): MemberAt {
  return { path: entry.path, size: entry.size, start: entry.start ?? entry.offset };
}

/** The store's layer index (see the module documentation). */
export interface StoreLayerCache extends LayerIndexCache {
  /**
   * The bytes of `member` of `layer` read from the access point before it, or `undefined`
   * when there is none (not gzip, several gzip members, no point before the member): then
   * read the layer from its start.
   * @throws {InvalidInputError} when the member there is not the one the index names.
   */
  openMember(
    store: BlobProvider,
    layer: Descriptor,
    member: MemberAt,
  ): Promise<ReadableStream<Uint8Array> | undefined>;
}

/** The layer index cache of the store at `dir` (a no-op when the store is read-only). */
export function storeLayerCache(dir: string): StoreLayerCache {
  const loaded = new Map<string, CachedLayer>();
  const recording = new Map<string, { points(): AccessPoint[]; members(): number }>();
  return {
    async get(layer: Descriptor): Promise<CachedLayer | undefined> {
      const known = loaded.get(layer.digest);
      if (known) return known;
      let bytes: Uint8Array | undefined;
      try {
        bytes = await Deno.readFile(fileOf(dir, layer.digest, "json"));
      } catch {
        // missing
      }
      // Unreadable or of another version: a miss (the layer is read again, the file rewritten).
      const index = bytes &&
        (await import("../layers/layer_index_codec.ts")).decodeLayerIndex(bytes, layer);
      if (index) loaded.set(layer.digest, index);
      else await loadGzipIndex(); // the layer will be read: record its access points
      return index;
    },
    indexingRuntime(layer: Descriptor, runtime: Runtime): Runtime {
      return {
        ...runtime,
        gunzip: () => {
          if (!gzipIndex) return runtime.gunzip();
          const decoder = gzipIndex.indexingGunzip();
          recording.set(layer.digest, decoder);
          return decoder;
        },
      };
    },
    async put(layer: Descriptor, index: CachedLayer): Promise<void> {
      loaded.set(layer.digest, index);
      const path = fileOf(dir, layer.digest, "json");
      const tmp = `${path}.${Deno.pid}-${randomHex()}.tmp`;
      const recorded = recording.get(layer.digest);
      recording.delete(layer.digest);
      const gzi = fileOf(dir, layer.digest, "gzi");
      const gziTmp = `${gzi}.${Deno.pid}-${randomHex()}.tmp`;
      try {
        await Deno.mkdir(`${dir}/${CACHE_DIR}`, { recursive: true });
        if (recorded && recorded.points().length > 0) {
          await writePoints(gziTmp, layer, recorded.points(), recorded.members());
          await Deno.rename(gziTmp, gzi);
        }
        const { encodeLayerIndex } = await import("../layers/layer_index_codec.ts");
        await Deno.writeFile(tmp, encodeLayerIndex(layer, index));
        await Deno.rename(tmp, path);
      } catch {
        // A read-only store or a full disk: the index is an optimization only.
        await Deno.remove(tmp).catch(() => {});
        await Deno.remove(gziTmp).catch(() => {});
      }
    },
    async openMember(store, layer, entry) {
      const start = entry.start;
      let point: AccessPoint | undefined;
      try {
        point = await pointBefore(fileOf(dir, layer.digest, "gzi"), layer, start);
      } catch {
        return undefined;
      }
      if (!point) return undefined;
      const compressed = await store.reader(layer.digest, { offset: point.start });
      // (The layer reader and its codec are loaded only when a layer is read or indexed.)
      const { TarReader } = await import("../tar.ts");
      const tar = new TarReader(
        iteratorStream(
          skipTo(inflateFrom(point, compressed, { end: layer.size - 8 }), point.out, start),
        ),
        { what: `layer ${layer.digest}` },
      );
      let header;
      try {
        header = await tar.next();
      } catch (e) {
        await tar.cancel(e).catch(() => {});
        throw new InvalidInputError(
          `the layer index of ${layer.digest} does not match the layer at byte ${start} (${
            e instanceof Error ? e.message : e
          })`,
        );
      }
      const path = header ? normalizeEntryPath(header.name, "member") : undefined;
      if (!header || path !== entry.path || header.size !== entry.size) {
        await tar.cancel().catch(() => {});
        throw new InvalidInputError(
          `the layer index of ${layer.digest} names ${
            JSON.stringify(entry.path)
          } at byte ${start}, but the layer has ${
            path === undefined ? "no member" : JSON.stringify(path)
          } there (an out-of-date layer index?)`,
        );
      }
      return iteratorStream(
        (async function* () {
          while (tar.bodyLeft > 0) {
            const chunk = await tar.readBodyChunk();
            if (chunk.byteLength === 0) break;
            yield chunk;
          }
          await tar.cancel().catch(() => {});
        })(),
        (reason) => tar.cancel(reason),
      );
    },
  };
}

/** Removes the index files of blobs the store no longer has (after gc). */
export async function pruneLayerCache(
  dir: string,
  has: (digest: string) => Promise<boolean>,
  options: { dryRun?: boolean } = {},
): Promise<{ path: string; size: number }[]> {
  const removed: { path: string; size: number }[] = [];
  try {
    for await (const e of Deno.readDir(`${dir}/${CACHE_DIR}`)) {
      const m = /^(sha256|sha512)-([0-9a-f]+)\.(json|gzi)$/.exec(e.name);
      const path = `${dir}/${CACHE_DIR}/${e.name}`;
      if (m && (await has(`${m[1]}:${m[2]}`))) continue;
      const size = await Deno.stat(path).then((s) => s.size, () => 0);
      if (!options.dryRun) await Deno.remove(path).catch(() => {});
      removed.push({ path: `${CACHE_DIR}/${e.name}`, size });
    }
  } catch {
    // no cache yet
  }
  return removed;
}
