/**
 * The explorer's folder index over a flat list of tree nodes (children, directory totals,
 * folders that hold changes) and the small formatters the views share.
 * @module
 */
import type { ExploreNode, Mark } from "../src/web/explore.ts";
import { el } from "./dom.ts";

export const MARK_TEXT: Record<Mark, string> = { A: "added", M: "modified", D: "deleted" };

/** The folder of a path (`""` for the root). */
export function parentOf(path: string) {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

/** `ls -l` style mode text (`drwxr-xr-x`, setuid as `s`). */
export function modeText(mode: number, type: string): string {
  const t = type === "directory" ? "d" : type === "symlink" ? "l" : "-";
  let s = "";
  const bits = "rwxrwxrwx";
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? bits[i] : "-";
  const a = s.split("");
  if (mode & 0o4000) a[2] = a[2] === "x" ? "s" : "S";
  if (mode & 0o2000) a[5] = a[5] === "x" ? "s" : "S";
  if (mode & 0o1000) a[8] = a[8] === "x" ? "t" : "T";
  return t + a.join("");
}

/** A folder index over a flat node list: children per folder and folder totals. */
export interface Folders {
  children: Map<string, ExploreNode[]>;
  /** Bytes of regular files under each folder (deleted paths excluded). */
  totals: Map<string, number>;
  /** Folders that hold a changed path (for "hide unchanged"). */
  marked: Map<string, Set<Mark>>;
  byPath: Map<string, ExploreNode>;
}

/** Indexes a tree view by folder. */
export function indexFolders(nodes: readonly ExploreNode[]): Folders {
  const children = new Map<string, ExploreNode[]>();
  const totals = new Map<string, number>();
  const marked = new Map<string, Set<Mark>>();
  const byPath = new Map<string, ExploreNode>();
  const ensureDir = (path: string) => {
    if (path === "" || byPath.has(path)) return;
    const dir: ExploreNode = { path, type: "directory", size: 0, mode: 0o755, uid: 0, gid: 0 };
    byPath.set(path, dir);
    const parent = parentOf(path);
    ensureDir(parent);
    (children.get(parent) ?? children.set(parent, []).get(parent)!).push(dir);
  };
  for (const n of nodes) {
    const existing = byPath.get(n.path);
    if (existing) {
      // A folder made up as a parent, then listed: take the real one.
      const list = children.get(parentOf(n.path))!;
      list[list.indexOf(existing)] = n;
    } else {
      ensureDir(parentOf(n.path));
      (children.get(parentOf(n.path)) ?? children.set(parentOf(n.path), []).get(
        parentOf(n.path),
      )!).push(n);
    }
    byPath.set(n.path, n);
    const bytes = n.type === "file" && n.mark !== "D" ? n.size : 0;
    for (let p = parentOf(n.path);; p = parentOf(p)) {
      if (bytes) totals.set(p, (totals.get(p) ?? 0) + bytes);
      if (n.mark) {
        let s = marked.get(p);
        if (!s) marked.set(p, s = new Set());
        s.add(n.mark);
      }
      if (p === "") break;
    }
  }
  return { children, totals, marked, byPath };
}

/** The bytes a row stands for: a folder total, a file size, what a deletion removed. */
export function sizeOf(f: Folders, n: ExploreNode): number {
  if (n.mark === "D") return n.removed?.bytes ?? n.size;
  return n.type === "directory" ? f.totals.get(n.path) ?? 0 : n.size;
}

/** A table cell with a path as a button (to show it in the tree). */
export function pathCell(path: string, onclick: () => void): HTMLElement {
  return el(
    "td",
    { className: "name-cell" },
    el("button", { type: "button", className: "tree-name", onclick }, `/${path}`),
  );
}
