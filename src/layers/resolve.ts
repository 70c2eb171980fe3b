// This module is browser compatible.
/**
 * Path resolution inside an image's tree, written once for every tree that has one: the
 * merged filesystem being built (`MergedFilesystem`) and the stored listing of a
 * merged image (`merged_listing.ts`). Symlinks are followed within the image: an absolute
 * target restarts at the image root, `..` stops at the root (like securejoin), and more
 * than {@link MAX_SYMLINK_HOPS} links on one path is an error.
 *
 * @example
 * ```ts
 * import { resolvePath } from "./resolve.ts";
 * type N = { name: string; link?: string; children?: Map<string, N> };
 * const etc: N = { name: "etc", children: new Map([["motd", { name: "motd" }]]) };
 * const root: N = { name: "", children: new Map([["etc", etc], ["e", { name: "e", link: "/etc" }]]) };
 * const tree = {
 *   root,
 *   child: (dir: N, name: string) => dir.children?.get(name),
 *   isDirectory: (n: N) => !!n.children,
 *   symlinkTarget: (n: N) => n.link,
 * };
 * const fail = () => { throw new Error("loop"); };
 * console.log(resolvePath(tree, ["e", "motd"], { followLast: true, tooManyLinks: fail })?.name); // motd
 * ```
 * @module
 */
import { InvalidInputError, NotFoundError } from "../errors.ts";
import type { LayerEntryType } from "../tar.ts";
import { normalizeEntryPath, pathComponents, ROOT } from "./path.ts";

/** Symlinks followed on one path before giving up (Linux's limit). */
export const MAX_SYMLINK_HOPS = 40;

/** What {@link resolvePath} needs of a tree whose nodes are `N`. */
export interface PathTree<N> {
  /** The root directory. */
  readonly root: N;
  /** The entry `name` of directory `dir`. */
  child(dir: N, name: string): N | undefined;
  /** True for directories. */
  isDirectory(node: N): boolean;
  /** A symlink's target as stored; `undefined` for anything but a symlink. */
  symlinkTarget(node: N): string | undefined;
}

/** Options of {@link resolvePath}. */
export interface ResolveOptions<N> {
  /** Follow the last component too when it is a symlink. */
  readonly followLast: boolean;
  /**
   * Every component is a directory to reach or make (parents of a member being applied):
   * a missing one is made by `create`, one that is not a directory goes to `notDirectory`.
   */
  readonly create?: (dir: N, name: string) => N;
  /** Throws for a component that must be a directory and is not (with `create` only). */
  readonly notDirectory?: (node: N) => never;
  /** Throws when the path goes through more than {@link MAX_SYMLINK_HOPS} symlinks. */
  readonly tooManyLinks: () => never;
}

/**
 * The node `components` name in `tree`, symlinks followed inside it (see the module
 * documentation); `undefined` when a component is missing or a non-directory is in a
 * parent position. With `create`, the directory the components name, made as needed.
 */
export function resolvePath<N>(
  tree: PathTree<N>,
  components: readonly string[],
  options: ResolveOptions<N>,
): N | undefined {
  const create = options.create;
  const stack: N[] = [tree.root];
  const pending = [...components].reverse();
  let hops = 0;
  while (pending.length > 0) {
    const c = pending.pop()!;
    if (c === "" || c === ".") {
      if (pending.length === 0 && !create) return stack[stack.length - 1];
      continue;
    }
    if (c === "..") {
      if (stack.length > 1) stack.pop();
      if (pending.length === 0 && !create) return stack[stack.length - 1];
      continue;
    }
    const dir = stack[stack.length - 1];
    const isLast = pending.length === 0;
    let child = tree.child(dir, c);
    if (child === undefined) {
      if (!create) return undefined;
      child = create(dir, c);
    }
    const target = tree.symlinkTarget(child);
    if (target !== undefined && (!isLast || options.followLast || create)) {
      if (++hops > MAX_SYMLINK_HOPS) options.tooManyLinks();
      if (target.startsWith("/")) stack.length = 1;
      const parts = target.split("/");
      for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i]);
      continue;
    }
    if (isLast && !create) return child;
    if (!tree.isDirectory(child)) {
      if (!create) return undefined;
      options.notDirectory!(child);
    }
    stack.push(child);
  }
  return stack[stack.length - 1];
}

/**
 * The node at `path` (normalized or not; `..` is refused) in `tree`, symlinks followed
 * for every parent component, and for the last one too when `follow` is true: what
 * `MergedFilesystem.lookup` and the stored listing of a merged image answer.
 *
 * @throws {InvalidInputError} for `..` components and symlink loops.
 */
export function lookupPath<N>(
  tree: PathTree<N>,
  path: string,
  options: { follow?: boolean } = {},
): N | undefined {
  const normalized = normalizeEntryPath(path, "path");
  if (normalized === ROOT) return tree.root;
  return resolvePath(tree, pathComponents(normalized), {
    followLast: options.follow ?? false,
    tooManyLinks: () => {
      throw new InvalidInputError(
        `path ${JSON.stringify(path)}: too many levels of symbolic links`,
      );
    },
  });
}

/**
 * `inode` when it is a regular file (what `path`, symlinks followed, names; for a
 * hardlink, the end of its link chain); else the error `cat` gives for `path`.
 *
 * @throws {NotFoundError} when there is no inode; {InvalidInputError} when it is a
 * directory, or another type without bytes.
 */
export function expectRegularFile<
  T extends { readonly type: LayerEntryType; readonly content?: unknown },
>(path: string, inode: T | undefined): T {
  if (!inode) throw new NotFoundError(`${JSON.stringify(path)}: no such file in the image`);
  if (inode.type === "directory") {
    throw new InvalidInputError(`${JSON.stringify(path)} is a directory`);
  }
  if (!inode.content) {
    throw new InvalidInputError(`${JSON.stringify(path)} is a ${inode.type}, not a regular file`);
  }
  return inode;
}
