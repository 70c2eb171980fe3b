// This module is browser compatible.
/**
 * A layer's file index as compact bytes, and the one function that builds the index from a
 * layer blob. The page keeps one such file per layer blob next to its store (OPFS
 * `lading/lading-cache/layers/`), written when the import stores the blob, so that the
 * first view of an image needs no layer to be decompressed again.
 *
 * The format is columnar JSON (one array per header field; owner names, link targets,
 * device numbers and xattrs only where they are set): about a third of the size of one
 * object per member, and parsed in one `JSON.parse`. An index is never trusted for
 * content: it names the blob digest and size it was made from, each member's path is
 * normalized again when it is read back, and anything that does not fit is a miss (the
 * layer is read again). Bytes always come from the verified blob.
 *
 * @example
 * ```ts
 * import { decodeLayerIndex, encodeLayerIndex, indexLayer } from "./layer_index_codec.ts";
 * import { packTar } from "modern-tar";
 * const tar = await packTar([{ header: { name: "./etc/motd", size: 3 }, body: "hi\n" }]);
 * const layer = { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: `sha256:${"a".repeat(64)}` as const, size: tar.byteLength };
 * const index = await indexLayer(new Blob([tar]).stream(), { mediaType: layer.mediaType });
 * const back = decodeLayerIndex(encodeLayerIndex(layer, index), layer);
 * console.log(back?.files, back?.entries[0].path); // 1 etc/motd
 * ```
 * @module
 */
import type { LayerEntryType } from "../tar.ts";
import type { Descriptor } from "../types.ts";
import type { CachedEntry, CachedLayer } from "./image_layers.ts";
import { openLayer, type OpenLayerOptions } from "./layer_reader.ts";
import { normalizeEntryPath, parseWhiteout } from "./path.ts";

/** Bumped when the format changes: other versions are misses (and rewritten). */
const VERSION = 3;

/**
 * Reads a layer blob once (no hashing unless asked) and keeps every member's header: the
 * index {@link encodeLayerIndex} stores. Bodies are skipped, never buffered.
 */
export async function indexLayer(
  blob: ReadableStream<Uint8Array>,
  options: OpenLayerOptions & { signal?: AbortSignal } = {},
): Promise<CachedLayer> {
  const layer = await openLayer(blob, { hash: false, ...options });
  const entries: CachedEntry[] = [];
  let files = 0;
  let whiteouts = 0;
  try {
    for await (const entry of layer) {
      options.signal?.throwIfAborted();
      if (entry.whiteout) whiteouts++;
      else if (entry.type === "file") files++;
      const { body: _b, chunks: _c, ...header } = entry;
      entries.push(header);
    }
  } catch (e) {
    await layer.cancel(e);
    throw e;
  }
  return { stats: await layer.finish(), files, whiteouts, entries };
}

/** Bytes as base64 (binary xattr values in JSON). */
export function bytesToBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** The bytes of a base64 string (see {@link bytesToBase64}). */
export function base64ToBytes(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** The columns of one index file. */
interface Columns {
  v: number;
  digest: string;
  size: number;
  stats: CachedLayer["stats"];
  files: number;
  whiteouts: number;
  name: string[];
  type: string[];
  /** Regular files' sizes; 0 elsewhere. */
  bytes: number[];
  mode: number[];
  uid: number[];
  gid: number[];
  mtime: number[];
  offset: number[];
  /** Owner names: a table, and each member's position in it. */
  owners: string[];
  uname: number[];
  gname: number[];
  /** Sparse: member position → value. */
  link: Record<number, string>;
  dev: Record<number, [number, number]>;
  xattrs: Record<number, Record<string, string>>;
  /** Sparse: the first header block of members with extended headers (`TarHeader.start`). */
  start: Record<number, number>;
}

/** The index as bytes (see the module doc for the format). */
export function encodeLayerIndex(layer: Descriptor, index: CachedLayer): Uint8Array {
  const owners = new Map<string, number>();
  const owner = (s: string) => {
    let at = owners.get(s);
    if (at === undefined) owners.set(s, at = owners.size);
    return at;
  };
  const c: Columns = {
    v: VERSION,
    digest: layer.digest,
    size: layer.size,
    stats: index.stats,
    files: index.files,
    whiteouts: index.whiteouts,
    name: [],
    type: [],
    bytes: [],
    mode: [],
    uid: [],
    gid: [],
    mtime: [],
    offset: [],
    owners: [],
    uname: [],
    gname: [],
    link: {},
    dev: {},
    xattrs: {},
    start: {},
  };
  index.entries.forEach((e, i) => {
    c.name.push(e.name);
    c.type.push(e.type);
    c.bytes.push(e.size);
    c.mode.push(e.mode);
    c.uid.push(e.uid);
    c.gid.push(e.gid);
    c.mtime.push(e.mtime);
    c.offset.push(e.offset);
    c.uname.push(owner(e.uname));
    c.gname.push(owner(e.gname));
    if (e.linkname) c.link[i] = e.linkname;
    if (e.devmajor || e.devminor) c.dev[i] = [e.devmajor, e.devminor];
    if (e.start !== undefined) c.start[i] = e.start;
    if (e.xattrs) {
      c.xattrs[i] = Object.fromEntries(
        Object.entries(e.xattrs).map(([k, v]) => [k, bytesToBase64(v)]),
      );
    }
  });
  c.owners = [...owners.keys()];
  return new TextEncoder().encode(JSON.stringify(c));
}

const sized = (a: unknown, n: number): boolean => Array.isArray(a) && a.length === n;

/**
 * The index of `layer` from bytes {@link encodeLayerIndex} wrote, or `undefined` when they
 * are of another version, another blob, or do not parse.
 */
export function decodeLayerIndex(bytes: Uint8Array, layer: Descriptor): CachedLayer | undefined {
  try {
    const c = JSON.parse(new TextDecoder().decode(bytes)) as Columns;
    if (c?.v !== VERSION || c.digest !== layer.digest || c.size !== layer.size) return undefined;
    const n = c.name?.length;
    if (
      !Array.isArray(c.name) || !sized(c.type, n) || !sized(c.bytes, n) ||
      !sized(c.mode, n) || !sized(c.uid, n) || !sized(c.gid, n) || !sized(c.mtime, n) ||
      !sized(c.offset, n) || !sized(c.uname, n) || !sized(c.gname, n) ||
      !Array.isArray(c.owners) || c.stats?.entries !== n || !c.link || !c.dev || !c.xattrs ||
      !c.start
    ) return undefined;
    const entries: CachedEntry[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const name = c.name[i];
      const path = normalizeEntryPath(name, "indexed member");
      const whiteout = parseWhiteout(path);
      const dev = c.dev[i];
      const xattrs = c.xattrs[i];
      entries[i] = {
        name,
        type: c.type[i] as LayerEntryType,
        size: c.bytes[i],
        mode: c.mode[i],
        uid: c.uid[i],
        gid: c.gid[i],
        uname: c.owners[c.uname[i]] ?? "",
        gname: c.owners[c.gname[i]] ?? "",
        mtime: c.mtime[i],
        linkname: c.link[i] ?? "",
        devmajor: dev?.[0] ?? 0,
        devminor: dev?.[1] ?? 0,
        ...(xattrs
          ? {
            xattrs: Object.fromEntries(
              Object.entries(xattrs).map(([k, v]) => [k, base64ToBytes(v)]),
            ),
          }
          : {}),
        offset: c.offset[i],
        ...(c.start[i] !== undefined ? { start: c.start[i] } : {}),
        index: i,
        path,
        ...(whiteout ? { whiteout } : {}),
      };
    }
    return { stats: c.stats, files: c.files, whiteouts: c.whiteouts, entries };
  } catch {
    return undefined;
  }
}
