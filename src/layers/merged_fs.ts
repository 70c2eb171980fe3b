// This module is browser compatible.
/**
 * The merged filesystem of an image: layers applied in order, with OCI whiteouts and
 * opaque directories, in memory (metadata only; file bytes stay in the layer blobs and
 * are found again through each node's {@link ContentRef}).
 *
 * Semantics, chosen to match what containerd and umoci produce on disk:
 * - parent directories are resolved *within the image*: a symlink in a parent position
 *   is followed, absolute targets and `..` are scoped to the root (like securejoin), so
 *   `a -> /etc` then `a/passwd` writes `etc/passwd`; missing parents are created (0755);
 * - a directory entry over a directory updates its metadata and keeps its children;
 *   anything else replaces what was there (a directory replaced by a file loses its
 *   subtree);
 * - whiteouts and opaque markers hide lower layers only, whatever their position in the
 *   tar (the image-spec rule): they are applied when the layer ends, and spare whatever
 *   the same layer wrote;
 * - hardlinks name a path that must already exist (in this or a lower layer) and is not
 *   a directory; the link shares the target's bytes;
 * - the same path twice in one layer: the last wins and the duplicate is reported;
 * - the root must stay a directory.
 *
 * @example
 * ```ts
 * import { MergedFilesystem } from "@lading/oci/layers";
 * const fs = new MergedFilesystem();
 * const base = { mode: 0o644, uid: 0, gid: 0, uname: "", gname: "", mtime: 0, linkname: "",
 *   devmajor: 0, devminor: 0, offset: 0, size: 0 };
 * fs.apply(0, { ...base, index: 0, name: "etc/motd", path: "etc/motd", type: "file", size: 3 });
 * fs.endLayer(0);
 * fs.apply(1, { ...base, index: 0, name: "etc/.wh.motd", path: "etc/.wh.motd", type: "file",
 *   whiteout: { kind: "whiteout", path: "etc/motd" } });
 * fs.endLayer(1);
 * console.log(fs.lookup("etc/motd"), fs.changes[1]); // undefined [ { layer: 1, path: "etc/motd", kind: "deleted", ... } ]
 * ```
 * @module
 */
import { InvalidInputError } from "../errors.ts";
import { normalizeEntryPath, pathComponents, ROOT } from "./path.ts";
import { lookupPath, type PathTree, resolvePath } from "./resolve.ts";
import type { LayerEntryType, TarHeader } from "../tar.ts";
import type { Whiteout } from "./path.ts";

/** Where the bytes of a file are: entry `entry` of layer `layer`. */
export interface ContentRef {
  /** Layer index, base first. */
  readonly layer: number;
  /** Entry index within the layer. */
  readonly entry: number;
}

/** A path of the merged filesystem. */
export interface FsNode {
  /** The last path component (`""` for the root). */
  readonly name: string;
  /** The directory holding this node (`undefined` for the root and for removed nodes). */
  parent: FsNode | undefined;
  /** The member type; a hardlink keeps `hardlink` (see {@link FsNode.target}). */
  type: LayerEntryType;
  /** Permission bits with setuid/setgid/sticky. */
  mode: number;
  /** Owner id. */
  uid: number;
  /** Group id. */
  gid: number;
  /** Owner name from the tar header (often empty). */
  uname: string;
  /** Group name from the tar header (often empty). */
  gname: string;
  /** Bytes of a file (a hardlink reports its target's size). */
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Symlink target as stored; for hardlinks, the normalized path linked to. */
  linkname: string;
  /** Device major number (character and block devices). */
  devmajor: number;
  /** Device minor number (character and block devices). */
  devminor: number;
  /** Extended attributes, when the layer had any. */
  xattrs?: Readonly<Record<string, Uint8Array>>;
  /** The layer that last wrote this path. */
  layer: number;
  /** Entry index of that write in the layer; -1 for directories created as parents. */
  entry: number;
  /** The layer that first added this path (since it last did not exist). */
  addedBy: number;
  /** Later layers that changed it, in order. */
  modifiedBy: readonly number[];
  /** For files and hardlinks to files: where the bytes are. */
  content?: ContentRef;
  /** For hardlinks: the node linked to (it may have been replaced since). */
  target?: FsNode;
  /** The last layer that wrote this node or anything under it. */
  touched: number;
  /** Entries of a directory. */
  children?: Map<string, FsNode>;
}

/** One change a layer made, for `diff`. */
export interface LayerChange {
  /** Layer index. */
  readonly layer: number;
  /** Path in the merged filesystem. */
  readonly path: string;
  /** `added` (did not exist), `modified` (replaced or updated), `deleted`. */
  readonly kind: "added" | "modified" | "deleted";
  /** Type after the change (before it, for deletions). */
  readonly type: LayerEntryType;
  /** Bytes: of the file, or for deletions the bytes of every file removed under the path. */
  readonly size: number;
}

/** A deleted path, for provenance. */
export interface DeletedPath {
  /** The layer that deleted it. */
  readonly deletedBy: number;
  /** The layer that had added it. */
  readonly addedBy: number;
  /** Its type before deletion. */
  readonly type: LayerEntryType;
  /** Its size before deletion. */
  readonly size: number;
}

/** Per-path figures for the dive-style waste analysis. */
export interface PathVersions {
  /** Bytes of every version of this path in every layer (whiteouts count what they delete). */
  cumulative: number;
  /** The smallest such version. */
  minimum: number;
  /** How many layers' entries touched the path. */
  count: number;
  /** Bytes of versions that are not visible in the final filesystem. */
  wasted: number;
}

/** What {@link MergedFilesystem.apply} needs of an entry. */
export type MergeEntry = TarHeader & {
  readonly index: number;
  readonly path: string;
  readonly whiteout?: Whiteout;
};

/** Options for {@link MergedFilesystem}. */
export interface MergedFilesystemOptions {
  /** Receives duplicates and other oddities. */
  readonly onWarning?: (message: string) => void;
  /** Label of layer `i` in messages (default `layer i`). */
  readonly layerLabel?: (layer: number) => string;
  /** Record {@link MergedFilesystem.changes} (default true; `diff` needs them). */
  readonly trackChanges?: boolean;
  /** Record {@link MergedFilesystem.versions} (default true; the waste analysis needs them). */
  readonly trackVersions?: boolean;
}

const NONE: readonly number[] = Object.freeze([]);

/** The merged filesystem as a tree to resolve paths in (the root is set per instance). */
const FS_TREE: Omit<PathTree<FsNode>, "root"> = {
  child: (dir, name) => dir.children?.get(name),
  isDirectory: (node) => node.type === "directory",
  symlinkTarget: (node) => node.type === "symlink" ? node.linkname : undefined,
};

/**
 * The path of a node (`.` for the root).
 *
 * @example
 * ```ts
 * import { appendLayer, mergeImage, resolveImage, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * const { fs } = await mergeImage(store, await resolveImage(store, "example.com/a:1"));
 * import { nodePath } from "@lading/oci/layers";
 * console.log(nodePath(fs.lookup("etc/motd")!)); // etc/motd
 * ```
 */
export function nodePath(node: FsNode): string {
  const parts: string[] = [];
  for (let n: FsNode | undefined = node; n && n.parent; n = n.parent) parts.push(n.name);
  return parts.length === 0 ? ROOT : parts.reverse().join("/");
}

/**
 * Bytes of every regular file in a subtree.
 *
 * @example
 * ```ts
 * import { appendLayer, mergeImage, resolveImage, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * const { fs } = await mergeImage(store, await resolveImage(store, "example.com/a:1"));
 * import { subtreeBytes } from "@lading/oci/layers";
 * console.log(subtreeBytes(fs.root)); // 2
 * ```
 */
export function subtreeBytes(node: FsNode): number {
  if (node.type === "file") return node.size;
  let total = 0;
  if (node.children) { for (const c of node.children.values()) total += subtreeBytes(c); }
  return total;
}

/**
 * The node a hardlink chain ends at (the inode's first name).
 *
 * @example
 * ```ts
 * import { appendLayer, mergeImage, resolveImage, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * const { fs } = await mergeImage(store, await resolveImage(store, "example.com/a:1"));
 * import { linkRoot } from "@lading/oci/layers";
 * console.log(linkRoot(fs.lookup("etc/motd")!).size); // 2
 * ```
 */
export function linkRoot(node: FsNode): FsNode {
  let n = node;
  for (let i = 0; n.target && i < 1000; i++) n = n.target;
  return n;
}

/**
 * The merged filesystem being built layer by layer. See the module documentation.
 *
 * @example
 * ```ts
 * import { MergedFilesystem, openLayer } from "@lading/oci/layers";
 * import { packTar } from "modern-tar";
 * const layers = [
 *   await packTar([{ header: { name: "etc/motd", size: 3 }, body: "hi\n" }]),
 *   await packTar([{ header: { name: "etc/.wh.motd", size: 0 } }, { header: { name: "etc/hostname", size: 2 }, body: "x\n" }]),
 * ];
 * const fs = new MergedFilesystem();
 * for (const [i, bytes] of layers.entries()) {
 *   for await (const entry of await openLayer(new Blob([bytes]).stream())) fs.apply(i, entry);
 *   fs.endLayer(i);
 * }
 * console.log(fs.children(fs.lookup("etc")!).map((n) => n.name)); // [ "hostname" ]
 * console.log(fs.changes[1].map((c) => `${c.kind} ${c.path}`)); // [ "added etc/hostname", "deleted etc/motd" ]
 * ```
 */
export class MergedFilesystem {
  /** The root directory. */
  readonly root: FsNode;
  /** Changes per layer index. */
  readonly changes: LayerChange[][] = [];
  /** Paths deleted and not re-added, with who deleted them. */
  readonly deleted: Map<string, DeletedPath> = new Map();
  /** Paths written twice in one layer (the last write won). */
  readonly duplicates: { layer: number; path: string }[] = [];
  /** Per-path version figures for the waste analysis. */
  readonly versions: Map<string, PathVersions> = new Map();
  /** Number of layers applied. */
  layers = 0;
  #onWarning?: (message: string) => void;
  #label: (layer: number) => string;
  #pendingWhiteouts: { parent: FsNode; name: string; path: string }[] = [];
  #pendingOpaque: FsNode[] = [];
  #open = -1;
  #trackChanges: boolean;
  #trackVersions: boolean;
  #names = new Map<string, string>();
  #tree: PathTree<FsNode>;
  /** Bytes of every regular file entry of every layer applied. */
  fileBytes = 0;

  /** An empty filesystem (just the root directory). */
  constructor(options: MergedFilesystemOptions = {}) {
    this.#onWarning = options.onWarning;
    this.#label = options.layerLabel ?? ((i) => `layer ${i}`);
    this.#trackChanges = options.trackChanges ?? true;
    this.#trackVersions = options.trackVersions ?? true;
    this.root = this.#newNode("", -1, -1, { type: "directory", mode: 0o755 });
    this.#tree = { ...FS_TREE, root: this.root };
  }

  #newNode(
    name: string,
    layer: number,
    entry: number,
    init: Partial<FsNode> & { type: LayerEntryType },
  ): FsNode {
    return {
      name,
      parent: undefined,
      mode: 0o755,
      uid: 0,
      gid: 0,
      uname: "",
      gname: "",
      size: 0,
      mtime: 0,
      linkname: "",
      devmajor: 0,
      devminor: 0,
      layer,
      entry,
      addedBy: layer,
      modifiedBy: NONE,
      touched: layer,
      ...(init.type === "directory" ? { children: new Map() } : {}),
      ...init,
    };
  }

  #change(
    layer: number,
    path: string,
    kind: LayerChange["kind"],
    type: LayerEntryType,
    size: number,
  ) {
    if (!this.#trackChanges) return;
    (this.changes[layer] ??= []).push({ layer, path, kind, type, size });
  }

  #version(path: string, size: number): void {
    if (!this.#trackVersions) return;
    let v = this.versions.get(path);
    if (!v) {
      v = { cumulative: 0, minimum: size, count: 0, wasted: 0 };
      this.versions.set(path, v);
    }
    v.cumulative += size;
    if (size < v.minimum) v.minimum = size;
    v.count++;
  }

  #waste(path: string, bytes: number) {
    if (bytes <= 0 || !this.#trackVersions) return;
    let v = this.versions.get(path);
    if (!v) {
      v = { cumulative: bytes, minimum: bytes, count: 1, wasted: 0 };
      this.versions.set(path, v);
    }
    v.wasted += bytes;
  }

  #touch(node: FsNode, layer: number) {
    node.touched = layer;
    for (let n = node.parent; n && n.touched !== layer; n = n.parent) n.touched = layer;
  }

  #fail(layer: number, message: string): never {
    throw new InvalidInputError(`${this.#label(layer)}: ${message}`);
  }

  /**
   * Resolves `components` within the image. With `create`, every component is a
   * directory to reach or create (symlinks followed, missing ones made). Without it,
   * returns the node the last component names (followed when `followLast`), or
   * `undefined` when something is missing.
   */
  #resolve(
    components: readonly string[],
    options: { create: boolean; followLast: boolean; layer: number; what: () => string },
  ): FsNode | undefined {
    const layer = options.layer;
    return resolvePath(this.#tree, components, {
      followLast: options.followLast,
      create: options.create
        ? (dir, c) => {
          const child = this.#newNode(c, layer, -1, { type: "directory", mode: 0o755 });
          child.parent = dir;
          dir.children!.set(c, child);
          const p = nodePath(child);
          this.deleted.delete(p);
          this.#change(layer, p, "added", "directory", 0);
          this.#touch(child, layer);
          return child;
        }
        : undefined,
      notDirectory: (child) =>
        this.#fail(
          layer,
          `${options.what()}: ${
            JSON.stringify(nodePath(child))
          } is a ${child.type}, not a directory`,
        ),
      tooManyLinks: () => this.#fail(layer, `${options.what()}: too many levels of symbolic links`),
    });
  }

  /**
   * The node at `path` (normalized or not; `..` is refused), following symlinks within
   * the image for every component, and for the last one too when `follow` is true.
   */
  lookup(path: string, options: { follow?: boolean } = {}): FsNode | undefined {
    return lookupPath(this.#tree, path, options);
  }

  /** Removes a node (and its subtree), recording deletions and waste. */
  #remove(node: FsNode, layer: number, replaced: boolean) {
    const path = nodePath(node);
    node.parent?.children?.delete(node.name);
    const visit = (n: FsNode, p: string, top: boolean) => {
      if (n.type === "file") this.#waste(p, n.size);
      if (!(top && replaced)) {
        this.deleted.set(p, {
          deletedBy: layer,
          addedBy: n.addedBy,
          type: n.type,
          size: n.type === "directory" ? subtreeBytes(n) : n.size,
        });
      }
      if (n.children) {
        for (const c of n.children.values()) {
          visit(c, `${p === ROOT ? "" : p + "/"}${c.name}`, false);
        }
      }
    };
    visit(node, path, true);
    node.parent = undefined;
  }

  /** Applies one entry of layer `layer` (entries in tar order; layers in order). */
  apply(layer: number, entry: MergeEntry): void {
    if (layer < this.layers - 1) {
      throw new TypeError(
        `layers must be applied in order (got ${layer} after ${this.layers - 1})`,
      );
    }
    if (layer > this.#open && this.#open >= 0) this.endLayer(this.#open);
    this.#open = layer;
    this.layers = layer + 1;
    this.changes[layer] ??= [];
    // Messages only: built when something fails, not for every member.
    const what = () => `member ${JSON.stringify(entry.name)}`;
    const wh = entry.whiteout;
    if (wh) {
      if (wh.kind === "meta") return;
      const comps = pathComponents(wh.path);
      if (wh.kind === "opaque") {
        const dir = this.#resolve(comps, { create: true, followLast: true, layer, what });
        if (dir) {
          this.#touch(dir, layer);
          this.#pendingOpaque.push(dir);
        }
        return;
      }
      const parent = this.#resolve(comps.slice(0, -1), {
        create: false,
        followLast: true,
        layer,
        what,
      });
      if (parent && parent.type === "directory") {
        this.#pendingWhiteouts.push({ parent, name: comps[comps.length - 1], path: wh.path });
      }
      return;
    }
    if (entry.path === ROOT) {
      if (entry.type !== "directory") {
        this.#fail(layer, `${what()} makes the root a ${entry.type}; it must stay a directory`);
      }
      this.#setMeta(this.root, entry, layer);
      return;
    }
    const comps = pathComponents(entry.path);
    const name = comps[comps.length - 1];
    const parent = this.#resolve(comps.slice(0, -1), {
      create: true,
      followLast: true,
      layer,
      what,
    })!;
    const existing = parent.children!.get(name);
    // The merged path (symlinked parents resolved) is needed only for the records kept.
    const path = existing
      ? nodePath(existing)
      : this.#trackChanges || this.#trackVersions || this.deleted.size > 0
      ? parentPathJoin(parent, name)
      : "";
    if (existing && existing.layer === layer && existing.entry >= 0) {
      this.duplicates.push({ layer, path });
      this.#onWarning?.(
        `${this.#label(layer)}: ${JSON.stringify(path)} appears twice; the last one wins`,
      );
    }
    if (existing && existing.type === "directory" && entry.type === "directory") {
      this.#setMeta(existing, entry, layer);
      if (existing.addedBy !== layer && existing.modifiedBy.at(-1) !== layer) {
        existing.modifiedBy = [...existing.modifiedBy, layer];
        this.#change(layer, path, "modified", "directory", 0);
      }
      this.#touch(existing, layer);
      return;
    }
    if (existing && existing.touched === layer && this.#trackChanges) {
      // written before in this layer: keep one change record per path
      const list = this.changes[layer];
      for (let i = list.length - 1; i >= 0; i--) {
        if (list[i].path === path) {
          list.splice(i, 1);
          break;
        }
      }
    }
    const node = this.#newNode(name, layer, entry.index, { type: entry.type });
    this.#setMeta(node, entry, layer);
    if (entry.type === "hardlink") {
      const targetPath = normalizeEntryPath(
        entry.linkname,
        `${this.#label(layer)}: hardlink target of ${what()}`,
      );
      if (targetPath === ROOT) this.#fail(layer, `${what()} is a hardlink to the root`);
      const target = this.#resolve(pathComponents(targetPath), {
        create: false,
        followLast: false,
        layer,
        what,
      });
      if (!target) {
        this.#fail(
          layer,
          `${what()} is a hardlink to ${
            JSON.stringify(entry.linkname)
          }, which does not exist (yet)`,
        );
      }
      if (target.type === "directory") {
        this.#fail(
          layer,
          `${what()} is a hardlink to the directory ${JSON.stringify(entry.linkname)}`,
        );
      }
      if (target === existing) {
        // linking a name to itself changes nothing
        this.#touch(existing, layer);
        return;
      }
      const inode = linkRoot(target);
      node.target = target;
      node.linkname = nodePath(target);
      node.mode = inode.mode;
      node.uid = inode.uid;
      node.gid = inode.gid;
      node.uname = inode.uname;
      node.gname = inode.gname;
      node.mtime = inode.mtime;
      node.size = inode.type === "file" ? inode.size : 0;
      if (inode.content) node.content = inode.content;
    } else if (entry.type === "file") {
      node.content = { layer, entry: entry.index };
      this.fileBytes += entry.size;
    }
    this.#version(path, entry.type === "file" ? entry.size : 0);
    if (existing) {
      node.addedBy = existing.addedBy;
      node.modifiedBy = existing.addedBy === layer
        ? existing.modifiedBy
        : [...existing.modifiedBy.filter((l) => l !== layer), layer];
      this.#remove(existing, layer, true);
      this.#change(
        layer,
        path,
        existing.addedBy === layer ? "added" : "modified",
        node.type,
        node.size,
      );
    } else {
      this.deleted.delete(path);
      this.#change(layer, path, "added", node.type, node.size);
    }
    node.parent = parent;
    parent.children!.set(name, node);
    this.#touch(node, layer);
  }

  #setMeta(node: FsNode, e: MergeEntry, layer: number) {
    node.mode = e.mode;
    node.uid = e.uid;
    node.gid = e.gid;
    node.uname = this.#intern(e.uname);
    node.gname = this.#intern(e.gname);
    node.mtime = e.mtime;
    node.size = e.type === "file" ? e.size : 0;
    node.linkname = e.type === "symlink" ? e.linkname : "";
    node.devmajor = e.devmajor;
    node.devminor = e.devminor;
    if (e.xattrs) node.xattrs = e.xattrs;
    else if (node.xattrs) delete node.xattrs; // (a delete makes V8 slow down the object)
    node.layer = layer;
    node.entry = e.index;
  }

  /** One string per distinct owner name (thousands of nodes say "root"). */
  #intern(s: string): string {
    const known = this.#names.get(s);
    if (known !== undefined) return known;
    if (this.#names.size < 4096) this.#names.set(s, s);
    return s;
  }

  #attached(node: FsNode): boolean {
    let n = node;
    while (n.parent) {
      if (n.parent.children?.get(n.name) !== n) return false;
      n = n.parent;
    }
    return n === this.root;
  }

  /** Hides what lower layers put at `node`, sparing what layer `layer` wrote. */
  #hideLower(node: FsNode, layer: number) {
    if (node.touched < layer) {
      const path = nodePath(node);
      const bytes = subtreeBytes(node);
      this.#remove(node, layer, false);
      this.#change(layer, path, "deleted", node.type, bytes);
      return;
    }
    if (node.children) { for (const c of [...node.children.values()]) this.#hideLower(c, layer); }
  }

  /** Applies the whiteouts and opaque markers of layer `layer`; call after its last entry. */
  endLayer(layer: number): void {
    this.layers = Math.max(this.layers, layer + 1);
    this.changes[layer] ??= [];
    for (const dir of this.#pendingOpaque) {
      if (!this.#attached(dir) || dir.type !== "directory") continue;
      for (const c of [...dir.children!.values()]) this.#hideLower(c, layer);
    }
    for (const { parent, name, path } of this.#pendingWhiteouts) {
      if (!this.#attached(parent)) continue;
      const node = parent.children!.get(name);
      if (!node) continue;
      const realPath = nodePath(node);
      this.#version(realPath, subtreeBytes(node));
      // A path the same layer writes survives its whiteout (the image-spec rule).
      void path;
      this.#hideLower(node, layer);
    }
    this.#pendingOpaque = [];
    this.#pendingWhiteouts = [];
    if (this.#open === layer) this.#open = -1;
  }

  /** The entries of a directory, sorted by name. */
  children(dir: FsNode): FsNode[] {
    if (!dir.children) return [];
    return [...dir.children.values()].sort((a, b) => compareNames(a.name, b.name));
  }

  /** Every node under `start` (default the root, which is not yielded), depth first, sorted. */
  *walk(start: FsNode = this.root): Generator<{ path: string; node: FsNode }> {
    const base = start === this.root ? "" : nodePath(start) + "/";
    const visit = function* (
      self: MergedFilesystem,
      dir: FsNode,
      prefix: string,
    ): Generator<{ path: string; node: FsNode }> {
      for (const c of self.children(dir)) {
        const p = prefix + c.name;
        yield { path: p, node: c };
        if (c.children) yield* visit(self, c, p + "/");
      }
    };
    yield* visit(this, start, base);
  }
}

function parentPathJoin(parent: FsNode, name: string): string {
  const p = nodePath(parent);
  return p === ROOT ? name : `${p}/${name}`;
}

/**
 * Byte-wise order of names (what `ls` with LC_ALL=C shows).
 *
 * @example
 * ```ts
 * import { compareNames } from "@lading/oci/layers";
 * console.log(["b", "B", "a"].sort(compareNames)); // [ "B", "a", "b" ]
 * ```
 */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
