/**
 * Writing an image's merged filesystem to a directory, safely (Deno only).
 *
 * Two passes. The first reads every layer (metadata only) into the merged view, which
 * resolves whiteouts, opaque directories, symlinked parents (scoped to the image root)
 * and hardlinks in memory and verifies every diff_id — so nothing is written for an
 * image that is malformed, unsafe or corrupt. The second creates the final tree in an
 * empty directory: every parent on disk is a directory this function created (a symlink
 * is only ever a leaf), so no write can follow a link out of the target, and only the
 * bytes of files that survive are written (each layer streamed once more, only as far
 * as needed). If the second pass fails, what it wrote is removed again.
 *
 * Device nodes are skipped and setuid/setgid bits stripped unless asked for and running
 * as root; ownership is applied only as root. Extended attributes, and a symlink's own
 * owner and times, are applied on Linux (libc over FFI, `./libc.ts`); an attribute that
 * cannot be set is reported, not fatal.
 *
 * @example
 * ```ts ignore
 * import { unpackImage } from "./unpack_fs.ts";
 * import { resolveImage } from "../image.ts";
 * import { openFsStore } from "../store/fs.ts";
 * const store = await openFsStore("/var/lib/lading");
 * const image = await resolveImage(store, "docker.io/library/busybox:latest");
 * const report = await unpackImage(store, image, "/tmp/rootfs");
 * console.log(report.files, report.skipped);
 * ```
 * @module
 */
import { shortDigest } from "../digest.ts";
import { AlreadyExistsError, IoError } from "../errors.ts";
import type { ResolvedImage } from "../image.ts";
import type { BlobProvider } from "../store/types.ts";
import { type LayerSummary, mergeImage, type ReadLayersOptions } from "../layers/image_layers.ts";
import { openLayer } from "../layers/layer_reader.ts";
import { type FsNode, linkRoot } from "../layers/merged_fs.ts";
import { openLibc } from "./libc.ts";

/** Options for {@link unpackImage}. */
export interface UnpackOptions extends ReadLayersOptions {
  /** The directory to write the root filesystem into (created when missing; it must be empty). */
  readonly dir: string;
  /** Create device nodes (only honoured when running as root). */
  readonly preserveDevices?: boolean;
  /** Keep setuid/setgid bits (only honoured when running as root). */
  readonly preserveSetuid?: boolean;
  /** Apply uid/gid from the layers (default: when running as root). */
  readonly preserveOwners?: boolean;
  /**
   * Apply the layers' extended attributes (`SCHILY.xattr.*`; default true). Linux only,
   * through libc over FFI; `security.*` and `trusted.*` need root, and file capabilities
   * (`security.capability`) are kept only with `preserveSetuid`, like setuid bits. An
   * attribute that cannot be set is reported in `skipped`, the unpack goes on.
   */
  readonly xattrs?: boolean;
}

/** What {@link unpackImage} did. */
export interface UnpackReport {
  /** Regular files written (hardlinks not counted). */
  readonly files: number;
  /** Directories created. */
  readonly directories: number;
  /** Symlinks created. */
  readonly symlinks: number;
  /** Extra names of hardlinked files. */
  readonly hardlinks: number;
  /** Bytes of file content written. */
  readonly bytes: number;
  /** Paths not created, with the reason (devices without `preserveDevices`, ...). */
  readonly skipped: { path: string; reason: string }[];
  /** Paths whose setuid/setgid bits were removed. */
  readonly strippedSetuid: string[];
  /** Extended attributes set. */
  readonly xattrs: number;
  /** Paths that appeared twice in one layer (the last won). */
  readonly duplicates: { layer: number; path: string }[];
  /** The layers read (diff_ids verified). */
  readonly layers: LayerSummary[];
}

function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new IoError(
      `${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
}

function writeAll(file: Deno.FsFile, chunk: Uint8Array): void {
  let at = 0;
  while (at < chunk.byteLength) at += file.writeSync(chunk.subarray(at));
}

/**
 * Makes `dir` (which must not exist or be empty) ready; returns its absolute path and
 * whether it was created here.
 */
async function prepareTarget(dir: string): Promise<{ base: string; created: boolean }> {
  let created = false;
  try {
    const info = await Deno.stat(dir);
    if (!info.isDirectory) throw new AlreadyExistsError(`${dir} exists and is not a directory`);
    for await (const _ of Deno.readDir(dir)) {
      throw new AlreadyExistsError(`${dir} is not empty; unpack needs an empty or new directory`);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
    created = true;
  }
  return { base: await Deno.realPath(dir), created };
}

/**
 * Undoes a failed unpack: `base` was empty (or new) before, so everything in it is ours.
 * Directories may already have their final, read-only modes: they get u+rwx back first.
 * Links are removed, never followed.
 */
function removeUnpacked(base: string, created: boolean): void {
  const clear = (dir: string) => {
    Deno.chmodSync(dir, 0o700);
    for (const e of Deno.readDirSync(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) clear(p); // a symlink's entry is not a directory
      Deno.removeSync(p);
    }
  };
  clear(base);
  if (created) Deno.removeSync(base);
}

/**
 * Writes the merged filesystem of `image` into `options.dir` (created when missing; it must
 * be empty). See the module documentation for the safety rules.
 *
 * @throws {InvalidInputError} for unsafe or malformed layers (nothing is written then),
 * {DigestMismatchError} for a layer that does not match its diff_id,
 * {AlreadyExistsError} when `dir` is not empty. A failure while writing (a layer that
 * vanished or changed since it was read, a full disk) removes what was written: `dir` is
 * left empty, or removed when this call created it.
 *
 * @example
 * ```ts
 * import { appendLayer, resolveImage, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * import { unpackImage } from "@lading/oci/fs";
 * const dir = await Deno.makeTempDir();
 * await unpackImage(store, await resolveImage(store, "example.com/a:1"), { dir: `${dir}/rootfs` });
 * console.log(await Deno.readTextFile(`${dir}/rootfs/etc/motd`)); // hi
 * ```
 */
export async function unpackImage(
  store: BlobProvider,
  image: ResolvedImage,
  options: UnpackOptions,
): Promise<UnpackReport> {
  const dir = options.dir;
  const root = isRoot();
  const owners = options.preserveOwners ?? root;
  const devices = !!options.preserveDevices && root;
  const setuid = !!options.preserveSetuid && root;
  const { fs, layers } = await mergeImage(store, image, {
    ...options,
    trackChanges: false,
    trackVersions: false,
  });
  const { base, created } = await prepareTarget(dir);
  try {
    return await writeTree(store, image, base, fs, layers, { options, owners, devices, setuid });
  } catch (e) {
    // Nothing half-written stays: the directory is left as it was (or removed when new).
    try {
      removeUnpacked(base, created);
    } catch (cleanup) {
      throw new IoError(
        `${e instanceof Error ? e.message : e}; removing the partly written ${dir} failed too: ${
          cleanup instanceof Error ? cleanup.message : cleanup
        }`,
        { cause: e },
      );
    }
    throw e;
  }
}

/** Pass 2 of {@link unpackImage}: the tree on disk. */
async function writeTree(
  store: BlobProvider,
  image: ResolvedImage,
  base: string,
  fs: Awaited<ReturnType<typeof mergeImage>>["fs"],
  layers: LayerSummary[],
  flags: { options: UnpackOptions; owners: boolean; devices: boolean; setuid: boolean },
): Promise<UnpackReport> {
  const { options, owners, devices, setuid } = flags;
  const at = (path: string) => `${base}/${path}`;

  const skipped: { path: string; reason: string }[] = [];
  const strippedSetuid: string[] = [];
  const dirs: { path: string; node: FsNode }[] = [];
  // inode (first name of a hardlink chain) -> names on disk that share it
  const groups = new Map<FsNode, string[]>();
  const metadata: { path: string; node: FsNode }[] = [];
  const links: { path: string; node: FsNode }[] = [];
  let directories = 0;
  let symlinks = 0;
  let hardlinks = 0;
  let files = 0;
  let bytes = 0;

  const createSpecial = async (inode: FsNode, path: string): Promise<boolean> => {
    if (inode.type === "symlink") {
      Deno.symlinkSync(inode.linkname, at(path));
      symlinks++;
      return true;
    }
    if (inode.type === "fifo") {
      await run("mkfifo", ["-m", (inode.mode & 0o777).toString(8), at(path)]);
      return true;
    }
    if (inode.type === "character-device" || inode.type === "block-device") {
      if (!devices) {
        skipped.push({
          path,
          reason: `${inode.type} ${inode.devmajor}:${inode.devminor} (${
            options.preserveDevices ? "not running as root" : "use --preserve-devices as root"
          })`,
        });
        return false;
      }
      await run("mknod", [
        at(path),
        inode.type === "character-device" ? "c" : "b",
        String(inode.devmajor),
        String(inode.devminor),
      ]);
      return true;
    }
    return false;
  };

  // Pass 2a: directories, symlinks, special files; group the names of each inode.
  for (const { path, node } of fs.walk()) {
    if (node.type === "directory") {
      Deno.mkdirSync(at(path), { mode: 0o700 });
      directories++;
      dirs.push({ path, node });
      continue;
    }
    const inode = linkRoot(node);
    let names = groups.get(inode);
    if (!names) groups.set(inode, names = []);
    names.push(path);
  }
  const needed = new Map<number, Map<number, { names: string[]; inode: FsNode }>>();
  for (const [inode, names] of groups) {
    if (inode.type === "file") {
      const ref = inode.content!;
      let m = needed.get(ref.layer);
      if (!m) needed.set(ref.layer, m = new Map());
      m.set(ref.entry, { names, inode });
      continue;
    }
    if (await createSpecial(inode, names[0])) {
      for (const other of names.slice(1)) {
        Deno.linkSync(at(names[0]), at(other));
        hardlinks++;
      }
      if (inode.type !== "symlink") metadata.push({ path: names[0], node: inode });
      else links.push({ path: names[0], node: inode });
    } else {
      for (const other of names.slice(1)) {
        skipped.push({ path: other, reason: `hardlink to skipped ${names[0]}` });
      }
    }
  }

  // Pass 2b: file bytes, each layer streamed once and only as far as needed.
  for (const [layerIndex, wanted] of [...needed].sort((a, b) => a[0] - b[0])) {
    const d = image.manifest.layers[layerIndex];
    const layer = await openLayer(await store.reader(d.digest), {
      mediaType: d.mediaType,
      what: `layer ${layerIndex} ${shortDigest(d.digest)}`,
      runtime: options.runtime,
      maxLayerBytes: options.maxLayerBytes,
      hash: false,
    });
    let left = wanted.size;
    try {
      for (let e = await layer.next(); e && left > 0; e = await layer.next()) {
        const want = wanted.get(e.index);
        if (!want) continue;
        const { names, inode } = want;
        left--;
        const file = Deno.openSync(at(names[0]), { write: true, createNew: true, mode: 0o600 });
        try {
          for await (const chunk of e.chunks()) {
            writeAll(file, chunk);
            bytes += chunk.byteLength;
          }
        } finally {
          file.close();
        }
        files++;
        for (const other of names.slice(1)) {
          Deno.linkSync(at(names[0]), at(other));
          hardlinks++;
        }
        metadata.push({ path: names[0], node: inode });
      }
    } finally {
      await layer.cancel();
    }
  }

  // Pass 2c: owners, modes, xattrs (after chown, which clears security.capability),
  // times; directories last, deepest first.
  let xattrs = 0;
  const setXattrs = (path: string, p: string, node: FsNode) => {
    if (options.xattrs === false) return;
    const writer = openLibc(); // libc is opened on the first image that needs it
    for (const [name, value] of Object.entries(node.xattrs ?? {})) {
      if (name === "security.capability" && !setuid) {
        // File capabilities grant privilege like setuid bits do, and are kept as rarely.
        skipped.push({
          path,
          reason:
            "file capabilities (security.capability) dropped (--preserve-setuid as root keeps them)",
        });
        continue;
      }
      if (typeof writer === "string") {
        skipped.push({ path, reason: `xattr ${name} not applied: ${writer}` });
        continue;
      }
      try {
        writer.setXattr(p, name, value);
        xattrs++;
      } catch (e) {
        skipped.push({
          path,
          reason: e instanceof Error ? e.message.replace(` on ${p}`, "") : `${e}`,
        });
      }
    }
  };
  const apply = (path: string, node: FsNode) => {
    let mode = node.mode & 0o7777;
    if (!setuid && (mode & 0o6000)) {
      mode &= ~0o6000;
      strippedSetuid.push(path);
    }
    const p = path === "." ? base : at(path);
    if (owners) Deno.chownSync(p, node.uid, node.gid);
    Deno.chmodSync(p, mode);
    if (node.xattrs) setXattrs(path, p, node);
    Deno.utimeSync(p, node.mtime, node.mtime);
  };
  // Symlinks: their own owner and times where libc is reachable (Deno has no lchown or
  // lutimes), and xattrs.
  const libc = links.length ? openLibc() : undefined;
  for (const { path, node } of links) {
    if (typeof libc === "object") {
      if (owners) libc.lchown(at(path), node.uid, node.gid);
      libc.lutimes(at(path), node.mtime, node.mtime);
    }
    if (node.xattrs) setXattrs(path, at(path), node);
  }
  for (const { path, node } of metadata) apply(path, node);
  for (let i = dirs.length - 1; i >= 0; i--) apply(dirs[i].path, dirs[i].node);
  if (fs.root.entry >= 0) apply(".", fs.root);

  return {
    files,
    directories,
    symlinks,
    hardlinks,
    bytes,
    skipped,
    strippedSetuid,
    xattrs,
    duplicates: fs.duplicates,
    layers,
  };
}
