// This module is browser compatible.
/**
 * The merged filesystem of an image as a stored listing: one line per path, in the order
 * `ls -R` prints them, so that a later `ls` or `cat` of the same image answers from it
 * without replaying every layer's members. A path is found by binary search, symlinks are
 * followed inside the image by the same resolution the merge uses (`resolve.ts`), and a
 * file's line names the layer member holding its bytes (layer, member number, path, size
 * and the tar offset of its first header block), so that `cat` goes straight to it.
 *
 * The listing is derived data, never a source of bytes: it names the layers and diff_ids
 * it was made from (anything else is a miss), ends with a checksum of everything before it
 * (a truncated or damaged listing is a miss), and the member it names must still parse as
 * that member where it says (the reader checks path and size).
 *
 * Format (UTF-8 text): a magic line, a JSON header line (source, count, warnings), one line
 * per node (tab-separated fields, see {@link ListedNode}; a field holding a tab, a newline
 * or starting with `"` is a JSON string), then `#` and the checksum.
 *
 * @example
 * ```ts
 * import { MergedFilesystem } from "./merged_fs.ts";
 * import { encodeMergedListing, MergedListing } from "./merged_listing.ts";
 * const fs = new MergedFilesystem();
 * const base = { mode: 0o644, uid: 0, gid: 0, uname: "", gname: "", mtime: 0, linkname: "",
 *   devmajor: 0, devminor: 0, offset: 0, size: 0 };
 * fs.apply(0, { ...base, index: 0, name: "etc/motd", path: "etc/motd", type: "file", size: 3 });
 * fs.apply(0, { ...base, index: 1, name: "motd", path: "motd", type: "symlink", linkname: "etc/motd" });
 * fs.endLayer(0);
 * const source = { layers: [], diffIds: [] };
 * const bytes = encodeMergedListing(fs, {
 *   source,
 *   member: (ref) => ({ path: "etc/motd", size: 3, start: 512 * ref.entry }),
 * });
 * const listing = MergedListing.decode(bytes, source)!;
 * const file = listing.lookup("/motd", { follow: true })!;
 * console.log(listing.path(file), listing.node(file).content?.size); // etc/motd 3
 * ```
 * @module
 */
import type { LayerEntryType } from "../tar.ts";
import type { Descriptor } from "../types.ts";
import type { ContentRef, FsNode, MergedFilesystem } from "./merged_fs.ts";
import { joinPath, ROOT } from "./path.ts";
import { lookupPath, type PathTree } from "./resolve.ts";

/** Bump the number when the format or the merge's semantics change: older listings are misses. */
const MAGIC = "lading-merged-listing 1";

/** What a listing was made from: the image's layers and the config's diff_ids, as given. */
export interface ListingSource {
  /** The manifest's layers (media type, digest, size). */
  readonly layers: readonly Pick<Descriptor, "mediaType" | "digest" | "size">[];
  /** `rootfs.diff_ids` of the config (they were checked when the listing was made). */
  readonly diffIds: readonly string[];
}

/** The layer member holding a file's bytes. */
export interface ListedMember extends ContentRef {
  /** The member's normalized path in its layer (not always the merged path). */
  readonly path: string;
  /** Its size. */
  readonly size: number;
  /** Tar offset of its first header block (extended headers included). */
  readonly start: number;
}

/** One path of a listing: what `ls -l` and `ls --json` show, and where the bytes are. */
export interface ListedNode {
  /** The merged path (`.` for the root). */
  readonly path: string;
  /** The member type (a hardlink keeps `hardlink`). */
  readonly type: LayerEntryType;
  /** Permission bits with setuid/setgid/sticky. */
  readonly mode: number;
  /** Owner id. */
  readonly uid: number;
  /** Group id. */
  readonly gid: number;
  /** Owner name. */
  readonly uname: string;
  /** Group name. */
  readonly gname: string;
  /** Bytes of a file (a hardlink reports its target's). */
  readonly size: number;
  /** Seconds since the epoch. */
  readonly mtime: number;
  /** Symlink target as stored; for hardlinks, the path linked to. */
  readonly linkname: string;
  /** Device major number. */
  readonly devmajor: number;
  /** Device minor number. */
  readonly devminor: number;
  /** The layer that last wrote the path. */
  readonly layer: number;
  /** The layer that added it. */
  readonly addedBy: number;
  /** Later layers that changed it. */
  readonly modifiedBy: readonly number[];
  /** For files and hardlinks to files: the member with the bytes. */
  readonly content?: ListedMember;
  /** The type of the inode: a hardlink's target's (its link chain's end), else `type`. */
  readonly inodeType: LayerEntryType;
}

/** The letter `ls -l` shows for each type (`h` for hardlinks, as `tar -tv`). */
export const TYPE_CHAR: Readonly<Record<LayerEntryType, string>> = {
  file: "-",
  directory: "d",
  symlink: "l",
  hardlink: "h",
  "character-device": "c",
  "block-device": "b",
  fifo: "p",
};
const CHAR_TYPE = new Map(Object.entries(TYPE_CHAR).map(([t, c]) => [c, t as LayerEntryType]));

const QUOTE = /[\t\n\r]|^"/;
const field = (s: string) => QUOTE.test(s) ? JSON.stringify(s) : s;
const unfield = (s: string) => s.startsWith('"') ? JSON.parse(s) as string : s;

/**
 * A 64-bit checksum of bytes (two multiplicative 32-bit lanes): catches truncated and
 * damaged files, not forgeries (the listing is never a source of bytes).
 */
export function listingChecksum(bytes: Uint8Array): string {
  let a = 0x811c9dc5 | 0;
  let b = 0x9e3779b1 | 0;
  const words = bytes.byteLength >>> 2;
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const w = new Int32Array(aligned.buffer, aligned.byteOffset, words);
  // Four words a round (a fresh process runs this loop before it is optimized).
  const rounds = words & ~3;
  let i = 0;
  for (; i < rounds; i += 4) {
    a = Math.imul(Math.imul(a ^ w[i], 0x01000193) ^ w[i + 1], 0x01000193);
    b = Math.imul(Math.imul(b ^ w[i + 2], 0x85ebca6b) ^ w[i + 3], 0x85ebca6b);
  }
  for (; i < words; i++) a = Math.imul(a ^ w[i], 0x01000193);
  for (let j = words * 4; j < bytes.byteLength; j++) a = Math.imul(a ^ bytes[j], 0x01000193);
  a = Math.imul(a ^ b ^ bytes.byteLength, 0x01000193);
  b = Math.imul(b ^ (a >>> 15), 0x85ebca6b);
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/** The source as one canonical string (key order fixed). */
export function sourceKey(source: ListingSource): string {
  return JSON.stringify({
    layers: source.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    diffIds: [...source.diffIds],
  });
}

/**
 * What a listing says it was made from (its header), without reading the rest; `undefined`
 * for bytes that do not start like a listing of this version.
 */
export function listingSourceOf(bytes: Uint8Array): ListingSource | undefined {
  try {
    const magicEnd = bytes.indexOf(10);
    const headerEnd = bytes.indexOf(10, magicEnd + 1);
    if (magicEnd < 0 || headerEnd < 0) return undefined;
    const decoder = new TextDecoder();
    if (decoder.decode(bytes.subarray(0, magicEnd)) !== MAGIC) return undefined;
    const source = JSON.parse(decoder.decode(bytes.subarray(magicEnd + 1, headerEnd)))?.source;
    if (!Array.isArray(source?.layers) || !Array.isArray(source?.diffIds)) return undefined;
    return source as ListingSource;
  } catch {
    return undefined;
  }
}

/** Options of {@link encodeMergedListing}. */
export interface EncodeListingOptions {
  /** What the merged filesystem was made from. */
  readonly source: ListingSource;
  /** Warnings the merge gave, kept to be given again by each use of the listing. */
  readonly warnings?: readonly string[];
  /** The member a content reference names (from the layer's listing). */
  member(ref: ContentRef): { path: string; size: number; start: number };
}

/** The merged filesystem `fs` as a listing (see the module documentation). */
export function encodeMergedListing(
  fs: MergedFilesystem,
  options: EncodeListingOptions,
): Uint8Array {
  const lines: string[] = [];
  const line = (node: FsNode, path: string, end: number) => {
    // The end of a hardlink's chain (as linkRoot, without loading the merge for a read).
    let inode = node;
    for (let hops = 0; inode.target && hops < 1000; hops++) inode = inode.target;
    const ref = node.content;
    const member = ref && options.member(ref);
    const f = [
      field(path),
      TYPE_CHAR[node.type],
      node.mode.toString(8),
      String(node.uid),
      String(node.gid),
      field(node.uname),
      field(node.gname),
      String(node.size),
      String(node.mtime),
      field(node.linkname),
      node.devmajor || node.devminor ? `${node.devmajor},${node.devminor}` : "",
      String(node.layer),
      String(node.addedBy),
      node.modifiedBy.join(","),
      node.type === "directory" ? String(end) : "",
      ref && member ? `${ref.layer},${ref.entry},${member.start},${member.size}` : "",
      member && member.path !== path ? field(member.path) : "",
      node.type === "hardlink" ? TYPE_CHAR[inode.type] : "",
    ];
    while (f[f.length - 1] === "") f.pop();
    return f.join("\t");
  };
  const visit = (node: FsNode, path: string) => {
    const at = lines.length;
    lines.push("");
    if (node.children) {
      for (const c of fs.children(node)) visit(c, joinPath(path, c.name));
    }
    lines[at] = line(node, path, lines.length);
  };
  visit(fs.root, ROOT);
  const header = {
    source: JSON.parse(sourceKey(options.source)),
    count: lines.length,
    warnings: options.warnings ?? [],
  };
  const body = new TextEncoder().encode(
    `${MAGIC}\n${JSON.stringify(header)}\n${lines.join("\n")}\n`,
  );
  const trailer = new TextEncoder().encode(`#${listingChecksum(body)}\n`);
  const bytes = new Uint8Array(body.byteLength + trailer.byteLength);
  bytes.set(body);
  bytes.set(trailer, body.byteLength);
  return bytes;
}

/** A stored listing of a merged image, read lazily: a node's fields are parsed when asked. */
export class MergedListing {
  /** Warnings the merge gave when the listing was made. */
  readonly warnings: readonly string[];
  #lines: string[];
  #tree: PathTree<number>;

  private constructor(lines: string[], warnings: readonly string[]) {
    this.#lines = lines;
    this.warnings = warnings;
    this.#tree = {
      root: 0,
      child: (dir, name) => this.#find(dir, name),
      isDirectory: (i) => this.isDirectory(i),
      symlinkTarget: (i) => this.#typeChar(i) === "l" ? this.node(i).linkname : undefined,
    };
  }

  /**
   * The listing in `bytes`, or `undefined` when they are not a whole listing made from
   * `source` (another version, other layers or diff_ids, truncated, damaged).
   */
  static decode(bytes: Uint8Array, source: ListingSource): MergedListing | undefined {
    try {
      const n = bytes.byteLength;
      if (n < 2 || bytes[n - 1] !== 10) return undefined;
      const trailerAt = bytes.lastIndexOf(10, n - 2) + 1;
      if (trailerAt === 0 || bytes[trailerAt] !== 0x23) return undefined;
      const body = bytes.subarray(0, trailerAt);
      const sum = new TextDecoder().decode(bytes.subarray(trailerAt + 1, n - 1));
      if (sum !== listingChecksum(body)) return undefined;
      const text = new TextDecoder().decode(body);
      const magicEnd = text.indexOf("\n");
      if (text.slice(0, magicEnd) !== MAGIC) return undefined;
      const headerEnd = text.indexOf("\n", magicEnd + 1);
      const header = JSON.parse(text.slice(magicEnd + 1, headerEnd));
      if (JSON.stringify(header?.source) !== sourceKey(source)) return undefined;
      const lines = text.slice(headerEnd + 1, text.length - 1).split("\n");
      if (header.count !== lines.length || !Array.isArray(header.warnings)) return undefined;
      const listing = new MergedListing(lines, header.warnings.map(String));
      if (listing.path(0) !== ROOT || !listing.isDirectory(0) || listing.end(0) !== lines.length) {
        return undefined;
      }
      return listing;
    } catch {
      return undefined;
    }
  }

  /** Nodes, the root (node 0) included. */
  get count(): number {
    return this.#lines.length;
  }

  #typeChar(i: number): string {
    const line = this.#lines[i];
    return line[this.#pathEnd(line) + 1];
  }

  #pathEnd(line: string): number {
    if (!line.startsWith('"')) return line.indexOf("\t");
    // A JSON string: its end is the first quote not escaped.
    for (let i = 1; i < line.length; i++) {
      if (line[i] === "\\") i++;
      else if (line[i] === '"') return i + 1;
    }
    return line.length;
  }

  /** The merged path of node `i` (`.` for the root). */
  path(i: number): string {
    const line = this.#lines[i];
    return unfield(line.slice(0, this.#pathEnd(line)));
  }

  /** True when node `i` is a directory. */
  isDirectory(i: number): boolean {
    return this.#typeChar(i) === "d";
  }

  /** The node after the subtree of node `i` (its descendants are `i + 1` up to it). */
  end(i: number): number {
    if (!this.isDirectory(i)) return i + 1;
    const end = Number(this.#lines[i].split("\t")[14]);
    if (!(end > i && end <= this.#lines.length)) {
      throw new TypeError(`merged listing: node ${i} has a bad subtree end`);
    }
    return end;
  }

  /** Every field of node `i`. */
  node(i: number): ListedNode {
    const f = this.#lines[i].split("\t");
    const num = (s: string | undefined) => (s ? Number(s) : 0);
    const type = CHAR_TYPE.get(f[1]);
    if (!type) throw new TypeError(`merged listing: node ${i} has no type`);
    const [devmajor, devminor] = (f[10] ?? "").split(",").map(num);
    const c = f[15] ? f[15].split(",").map(Number) : undefined;
    const path = unfield(f[0]);
    return {
      path,
      type,
      mode: parseInt(f[2], 8),
      uid: num(f[3]),
      gid: num(f[4]),
      uname: unfield(f[5] ?? ""),
      gname: unfield(f[6] ?? ""),
      size: num(f[7]),
      mtime: num(f[8]),
      linkname: unfield(f[9] ?? ""),
      devmajor: devmajor ?? 0,
      devminor: devminor ?? 0,
      layer: num(f[11]),
      addedBy: num(f[12]),
      modifiedBy: f[13] ? f[13].split(",").map(Number) : [],
      ...(c
        ? {
          content: {
            layer: c[0],
            entry: c[1],
            start: c[2],
            size: c[3],
            path: f[16] ? unfield(f[16]) : path,
          },
        }
        : {}),
      inodeType: (f[17] && CHAR_TYPE.get(f[17])) || type,
    };
  }

  /** The entries of directory `i`, in name order. */
  children(i: number): number[] {
    const out: number[] = [];
    const end = this.end(i);
    for (let j = i + 1; j < end; j = this.end(j)) out.push(j);
    return out;
  }

  /** The entry `name` of directory `dir`: a binary search among its descendants. */
  #find(dir: number, name: string): number | undefined {
    const want = joinPath(this.path(dir), name).split("/");
    let lo = dir + 1;
    let hi = this.end(dir);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const order = compareComponents(this.path(mid).split("/"), want);
      if (order === 0) return mid;
      if (order < 0) lo = mid + 1;
      else hi = mid;
    }
    return undefined;
  }

  /**
   * The node at `path` (symlinks followed inside the image for every parent component,
   * and for the last one too with `follow`), as {@link MergedFilesystem.lookup} finds it.
   *
   * @throws {InvalidInputError} for `..` components and symlink loops.
   */
  lookup(path: string, options: { follow?: boolean } = {}): number | undefined {
    return lookupPath(this.#tree, path, options);
  }
}

/** Walk order (`ls -R`): component by component, names in code unit order. */
function compareComponents(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}
