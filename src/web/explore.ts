// This module is browser compatible.
/**
 * The image explorer's analysis, as plain structured-clonable values for the page: one
 * layer's changes (added / modified / deleted, the CLI's `diff`), the filesystem up to a
 * layer, dive's efficiency and wasted paths (the CLI's `waste`) with the layers that
 * wrote and removed them, a search across layers, each path's provenance, a security
 * glance (setuid/setgid, world-writable, installed packages) and symlink resolution.
 *
 * Everything is computed from the per-layer indexes ({@link indexImageLayers}), read once
 * per image, and the same {@link MergedFilesystem} the CLI uses.
 *
 * @example
 * ```ts
 * import { globMatcher } from "./explore.ts";
 * const m = globMatcher("usr/**\/*.so");
 * console.log(m("usr/lib/x/libc.so"), m("etc/libc.so")); // true false
 * console.log(globMatcher("passwd")("etc/passwd")); // true (no wildcard: a substring)
 * ```
 * @module
 */
import { NotFoundError } from "../errors.ts";
import type { ResolvedImage } from "../image.ts";
import {
  type ImageLayerIndex,
  type IndexedEntry,
  layerLabels,
  mergeLayerIndexes,
} from "../layers/layer_index.ts";
import {
  type ContentRef,
  type FsNode,
  type LayerChange,
  linkRoot,
  type MergedFilesystem,
  nodePath,
} from "../layers/merged_fs.ts";
import { analyzeWaste } from "../layers/waste.ts";

/** A change mark, as `lading diff` prints it. */
export type Mark = "A" | "M" | "D";

const MARKS: Record<LayerChange["kind"], Mark> = { added: "A", modified: "M", deleted: "D" };

/** One path of a tree view. */
export interface ExploreNode {
  /** Normalized path (no leading `/`). */
  readonly path: string;
  readonly type: string;
  /** Bytes of a file; for a deleted path, the bytes it removed. */
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly linkname?: string;
  /** What the selected layer did to this path; absent when unchanged. */
  readonly mark?: Mark;
  /** The layer that last wrote this path (in the view's filesystem). */
  readonly layer?: number;
  /** Where a regular file's bytes are. */
  readonly content?: ContentRef;
  /** For a deleted path: what it removed (files and bytes in the layers below). */
  readonly removed?: { readonly files: number; readonly bytes: number; readonly type: string };
  /** A hardlink's target path. */
  readonly hardlink?: string;
}

/** What a view shows: one layer's changes, or the filesystem up to (and with) that layer. */
export type TreeMode = "changes" | "upto";

/** One layer in the layer list. */
export interface LayerInfo {
  readonly index: number;
  readonly digest: string;
  readonly diffId?: string;
  readonly mediaType: string;
  /** Bytes of the blob. */
  readonly compressed: number;
  /** Bytes of the uncompressed tar. */
  readonly uncompressed?: number;
  /** Regular files in the layer. */
  readonly files?: number;
  /** Whiteouts and opaque markers. */
  readonly whiteouts?: number;
  /** Added, modified, deleted paths. */
  readonly added: number;
  readonly modified: number;
  readonly deleted: number;
  readonly verified?: boolean;
}

/** A layer or a history entry that made none, in history order. */
export interface HistoryStep {
  /** The layer this entry made; absent for an empty entry. */
  readonly layer?: number;
  readonly createdBy?: string;
  readonly created?: string;
  readonly comment?: string;
  readonly empty: boolean;
}

/** The layer list. */
export interface LayersView {
  readonly layers: readonly LayerInfo[];
  /** History entries in order, empty ones in place; layers without history at the end. */
  readonly steps: readonly HistoryStep[];
}

/** What a layer did to a path. */
export interface ProvenanceEvent {
  readonly layer: number;
  readonly kind: LayerChange["kind"];
  readonly type: string;
  readonly size: number;
  /** Set when the path went away because this ancestor was deleted or replaced. */
  readonly via?: string;
}

/** A wasted path with the layers that wrote and removed it. */
export interface WastedPathView {
  readonly path: string;
  readonly count: number;
  readonly cumulative: number;
  readonly wasted: number;
  readonly events: readonly ProvenanceEvent[];
}

/** dive's efficiency view. */
export interface EfficiencyView {
  readonly efficiency: number;
  readonly totalBytes: number;
  readonly finalBytes: number;
  readonly wastedBytes: number;
  readonly wastedRatio: number;
  readonly paths: readonly WastedPathView[];
  /** How many paths waste bytes (the list may be cut). */
  readonly pathCount: number;
}

/** One search hit: a member of one layer. */
export interface SearchHit {
  readonly path: string;
  readonly layer: number;
  readonly type: string;
  readonly size: number;
  readonly whiteout?: "deleted" | "opaque";
  /** True when the path exists in the final filesystem. */
  readonly present: boolean;
}

/** Search results. */
export interface SearchView {
  readonly hits: readonly SearchHit[];
  /** Hits found (the list may be cut). */
  readonly total: number;
}

/** A path's story. */
export interface ProvenanceView {
  readonly path: string;
  readonly events: readonly ProvenanceEvent[];
  /** The path in the final filesystem, when present. */
  readonly final?: ExploreNode;
}

/** A file worth a look. */
export interface FlaggedPath {
  readonly path: string;
  readonly type: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly layer: number;
  readonly size: number;
  readonly flags: readonly ("setuid" | "setgid" | "world-writable" | "sticky")[];
}

/** Compiles a glob (`*`, `**`, `?`, `[...]`) to a path matcher. Without wildcards: substring. */
export function globMatcher(query: string): (path: string) => boolean {
  const q = query.trim().replace(/^\/+/, "");
  if (!/[*?[]/.test(q)) {
    const needle = q.toLowerCase();
    return (p) => p.toLowerCase().includes(needle);
  }
  let re = "";
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (c === "*") {
      if (q[i + 1] === "*") {
        i++;
        if (q[i + 1] === "/") {
          i++;
          re += "(?:.*/)?";
        } else re += ".*";
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = q.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        re += "[" + q.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\") + "]";
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  // A pattern without `/` matches a base name anywhere, as `find -name` does.
  const anchored = q.includes("/") ? new RegExp(`^${re}$`) : new RegExp(`(?:^|/)${re}$`);
  return (p) => anchored.test(p);
}

function nodeView(path: string, node: FsNode, extra: Partial<ExploreNode> = {}): ExploreNode {
  const inode = linkRoot(node);
  return {
    path,
    type: node.type,
    size: node.type === "file" || node.type === "hardlink" ? node.size : 0,
    mode: node.mode,
    uid: node.uid,
    gid: node.gid,
    ...(node.type === "symlink" ? { linkname: node.linkname } : {}),
    ...(node.type === "hardlink" ? { hardlink: node.linkname } : {}),
    layer: node.layer,
    ...(inode.content ? { content: { ...inode.content } } : {}),
    ...extra,
  };
}

function countFiles(node: FsNode): { files: number; bytes: number } {
  if (node.type === "file") return { files: 1, bytes: node.size };
  let files = 0;
  let bytes = 0;
  if (node.children) {
    for (const c of node.children.values()) {
      const r = countFiles(c);
      files += r.files;
      bytes += r.bytes;
    }
  }
  return { files, bytes };
}

function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
    out.push(path.slice(0, i));
  }
  return out;
}

/**
 * The analysis of one image (one platform's manifest), built from its layer indexes.
 * Views up to a layer are kept in a small cache, so switching back is instant.
 */
export class ImageAnalysis {
  readonly image: ResolvedImage;
  readonly index: ImageLayerIndex;
  #full?: MergedFilesystem;
  #upTo = new Map<number, MergedFilesystem>();
  #changes?: Map<string, ProvenanceEvent[]>;
  #views = new Map<string, ExploreNode[]>();
  #efficiency?: EfficiencyView;

  constructor(image: ResolvedImage, index: ImageLayerIndex) {
    this.image = image;
    this.index = index;
  }

  /** Number of layers. */
  get layerCount(): number {
    return this.index.entries.length;
  }

  /** The merged filesystem of every layer. */
  get full(): MergedFilesystem {
    return this.#full ??= mergeLayerIndexes(this.index.entries, undefined, {
      layerLabel: layerLabels(this.image),
    });
  }

  /** The filesystem of layers `0..layer` (the last four asked for are kept). */
  upTo(layer: number): MergedFilesystem {
    if (layer >= this.layerCount - 1) return this.full;
    let fs = this.#upTo.get(layer);
    if (fs) {
      this.#upTo.delete(layer);
      this.#upTo.set(layer, fs);
      return fs;
    }
    fs = mergeLayerIndexes(this.index.entries, layer, { layerLabel: layerLabels(this.image) });
    this.#upTo.set(layer, fs);
    if (this.#upTo.size > 4) this.#upTo.delete(this.#upTo.keys().next().value!);
    return fs;
  }

  /** Every change of every layer, by path. */
  get changes(): Map<string, ProvenanceEvent[]> {
    if (this.#changes) return this.#changes;
    const map = new Map<string, ProvenanceEvent[]>();
    for (const list of this.full.changes) {
      for (const c of list ?? []) {
        let events = map.get(c.path);
        if (!events) map.set(c.path, events = []);
        events.push({ layer: c.layer, kind: c.kind, type: c.type, size: c.size });
      }
    }
    return this.#changes = map;
  }

  /** The layer list with sizes, counts and the history in order. */
  layers(): LayersView {
    const history = this.image.config.history ?? [];
    const layers: LayerInfo[] = this.index.summaries.map((s) => {
      const changes = this.full.changes[s.index] ?? [];
      return {
        index: s.index,
        digest: s.descriptor.digest,
        ...(s.diffId ? { diffId: s.diffId } : {}),
        mediaType: s.descriptor.mediaType,
        compressed: s.descriptor.size,
        ...(s.uncompressedSize !== undefined ? { uncompressed: s.uncompressedSize } : {}),
        ...(s.files !== undefined ? { files: s.files } : {}),
        ...(s.whiteouts !== undefined ? { whiteouts: s.whiteouts } : {}),
        added: changes.filter((c) => c.kind === "added").length,
        modified: changes.filter((c) => c.kind === "modified").length,
        deleted: changes.filter((c) => c.kind === "deleted").length,
        ...(s.verified !== undefined ? { verified: s.verified } : {}),
      };
    });
    const steps: HistoryStep[] = [];
    let next = 0;
    for (const h of history) {
      const empty = !!h.empty_layer || next >= layers.length;
      steps.push({
        ...(empty ? {} : { layer: next++ }),
        createdBy: h.created_by,
        created: h.created,
        comment: h.comment,
        empty: !!h.empty_layer,
      });
    }
    for (; next < layers.length; next++) steps.push({ layer: next, empty: false });
    return { layers, steps };
  }

  /**
   * The tree of layer `layer`: its changes only, or the whole filesystem up to it with
   * the layer's changes marked. Deleted paths say what they removed.
   */
  tree(layer: number, mode: TreeMode): ExploreNode[] {
    if (layer < 0 || layer >= this.layerCount) {
      throw new NotFoundError(`image ${this.image.name} has no layer ${layer}`);
    }
    const key = `${layer}:${mode}`;
    const cached = this.#views.get(key);
    if (cached) return cached;
    const fs = this.upTo(layer);
    const changes = fs.changes[layer] ?? [];
    const marks = new Map<string, Mark>();
    for (const c of changes) marks.set(c.path, MARKS[c.kind]);
    const out: ExploreNode[] = [];
    const deleted = this.#deletedAt(layer, changes);
    if (mode === "changes") {
      for (const c of changes) {
        if (c.kind === "deleted") continue;
        const node = fs.lookup(c.path);
        if (node) out.push(nodeView(c.path, node, { mark: MARKS[c.kind] }));
      }
    } else {
      for (const { path, node } of fs.walk()) {
        const mark = marks.get(path);
        out.push(nodeView(path, node, mark && mark !== "D" ? { mark } : {}));
      }
    }
    out.push(...deleted);
    if (this.#views.size > 16) this.#views.delete(this.#views.keys().next().value!);
    this.#views.set(key, out);
    return out;
  }

  #deletedAt(layer: number, changes: readonly LayerChange[]): ExploreNode[] {
    const gone = changes.filter((c) => c.kind === "deleted");
    if (!gone.length) return [];
    const before = layer > 0 ? this.upTo(layer - 1) : undefined;
    return gone.map((c) => {
      const node = before?.lookup(c.path);
      const counted = node ? countFiles(node) : { files: 0, bytes: c.size };
      return {
        path: c.path,
        type: c.type,
        size: counted.bytes,
        mode: node?.mode ?? 0,
        uid: node?.uid ?? 0,
        gid: node?.gid ?? 0,
        mark: "D" as const,
        layer,
        ...(node ? { layer: node.layer } : {}),
        removed: { files: counted.files, bytes: counted.bytes, type: c.type },
      };
    });
  }

  /** What happened to `path` in each layer, including deletions of a parent. */
  events(path: string): ProvenanceEvent[] {
    const own = this.changes.get(path) ?? [];
    const inherited: ProvenanceEvent[] = [];
    for (const a of ancestors(path)) {
      for (const e of this.changes.get(a) ?? []) {
        if (e.kind === "deleted" || (e.kind === "modified" && e.type !== "directory")) {
          inherited.push({ ...e, kind: "deleted", via: a });
        }
      }
    }
    // Only parent deletions after the path existed matter.
    const first = own[0]?.layer ?? Infinity;
    return [...own, ...inherited.filter((e) => e.layer > first)].sort((a, b) => a.layer - b.layer);
  }

  /** dive's efficiency and the wasted paths (at most `limit`), each with its layers. */
  efficiency(limit = 200): EfficiencyView {
    if (
      this.#efficiency &&
      this.#efficiency.paths.length >= Math.min(limit, this.#efficiency.pathCount)
    ) {
      return this.#efficiency;
    }
    const r = analyzeWaste(this.full);
    return this.#efficiency = {
      efficiency: r.efficiency,
      totalBytes: r.totalBytes,
      finalBytes: r.finalBytes,
      wastedBytes: r.wastedBytes,
      wastedRatio: r.wastedRatio,
      pathCount: r.paths.length,
      paths: r.paths.slice(0, limit).map((p) => ({ ...p, events: this.events(p.path) })),
    };
  }

  /** Members of every layer whose path matches `query` (a glob or a substring). */
  search(query: string, limit = 500): SearchView {
    const match = globMatcher(query);
    const hits: SearchHit[] = [];
    let total = 0;
    this.index.entries.forEach((entries: readonly IndexedEntry[], layer) => {
      for (const e of entries) {
        if (e.whiteout?.kind === "meta") continue;
        const path = e.whiteout ? e.whiteout.path : e.path;
        if (path === "." || !match(path)) continue;
        total++;
        if (hits.length >= limit) continue;
        hits.push({
          path,
          layer,
          type: e.type,
          size: e.size,
          ...(e.whiteout ? { whiteout: e.whiteout.kind === "opaque" ? "opaque" : "deleted" } : {}),
          present: !!this.full.lookup(path),
        });
      }
    });
    return { hits, total };
  }

  /** Which layers added, changed or removed `path`, and what it is at the end. */
  provenance(path: string): ProvenanceView {
    const p = path.replace(/^\/+/, "").replace(/\/+$/, "");
    const node = this.full.lookup(p);
    return {
      path: p,
      events: this.events(p),
      ...(node ? { final: nodeView(p, node) } : {}),
    };
  }

  /** setuid / setgid files and world-writable paths of the final filesystem. */
  flagged(): FlaggedPath[] {
    const out: FlaggedPath[] = [];
    for (const { path, node } of this.full.walk()) {
      if (node.type === "symlink") continue;
      const flags: FlaggedPath["flags"][number][] = [];
      const inode = linkRoot(node);
      const isFile = inode.type === "file";
      if (isFile && node.mode & 0o4000) flags.push("setuid");
      if (isFile && node.mode & 0o2000) flags.push("setgid");
      if (node.mode & 0o002) {
        flags.push("world-writable");
        if (node.type === "directory" && node.mode & 0o1000) flags.push("sticky");
      }
      if (!flags.length) continue;
      out.push({
        path,
        type: node.type,
        mode: node.mode,
        uid: node.uid,
        gid: node.gid,
        layer: node.layer,
        size: isFile ? node.size : 0,
        flags,
      });
    }
    return out;
  }

  /**
   * Where `path` leads in the filesystem up to `layer` (default: all), symlinks followed
   * within the image.
   *
   * @throws {NotFoundError} for a dangling link or a missing path.
   */
  resolve(path: string, layer = this.layerCount - 1): ExploreNode {
    const fs = this.upTo(layer);
    const node = fs.lookup(path, { follow: true });
    if (!node) {
      throw new NotFoundError(`/${path} leads nowhere in this image (a dangling link)`);
    }
    return nodeView(nodePath(node), node);
  }
}
