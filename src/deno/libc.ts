/**
 * Deno only, Linux: what `unpack` needs from libc that Deno has no API for, over FFI —
 * extended attributes (`lsetxattr`/`lgetxattr`: the layers' `SCHILY.xattr.*` records) and
 * a symlink's own owner and times (`lchown`, `utimensat` with `AT_SYMLINK_NOFOLLOW`).
 * Nothing here follows a symlink.
 *
 * @example
 * ```ts ignore
 * import { openLibc } from "./libc.ts";
 * const libc = openLibc();
 * if (typeof libc === "string") console.log("not here:", libc);
 * else libc.setXattr("/tmp/file", "user.note", new TextEncoder().encode("hi"));
 * ```
 * @module
 */
import { IoError } from "../errors.ts";

/** The libc calls, each throwing an {@link IoError} that names the errno. */
export interface Libc {
  /** Sets xattr `name` on `path` (not following a symlink). */
  setXattr(path: string, name: string, value: Uint8Array): void;
  /** The value of xattr `name` on `path`, or undefined when it has none. */
  getXattr(path: string, name: string): Uint8Array | undefined;
  /** Owner of `path` itself (a symlink is not followed). */
  lchown(path: string, uid: number, gid: number): void;
  /** Access and modification time of `path` itself, seconds since the epoch. */
  lutimes(path: string, atime: number, mtime: number): void;
}

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM (operation not permitted)",
  2: "ENOENT",
  7: "E2BIG (value too large)",
  13: "EACCES",
  22: "EINVAL",
  28: "ENOSPC",
  34: "ERANGE",
  61: "ENODATA",
  95: "ENOTSUP (not supported by this file system)",
  122: "EDQUOT",
};

const LIBC = {
  lsetxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
  lgetxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
  lchown: { parameters: ["buffer", "u32", "u32"], result: "i32" },
  utimensat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;

let opened: Libc | string | undefined;

/**
 * The libc calls of this system, or why there are none (not Linux, no FFI permission,
 * no libc). Opened once.
 */
export function openLibc(): Libc | string {
  if (opened !== undefined) return opened;
  if (Deno.build.os !== "linux") return opened = `not supported on ${Deno.build.os}`;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return opened = "needs --allow-ffi";
  }
  let lib: Deno.DynamicLibrary<typeof LIBC>;
  try {
    lib = Deno.dlopen("libc.so.6", LIBC);
  } catch (e) {
    return opened = `libc not loadable: ${e instanceof Error ? e.message : e}`;
  }
  const enc = new TextEncoder();
  const cString = (s: string) => enc.encode(`${s}\0`);
  const errno = () => {
    const p = lib.symbols.__errno_location();
    const n = p ? new Deno.UnsafePointerView(p).getInt32() : 0;
    return ERRNO_NAMES[n] ?? `errno ${n}`;
  };
  const check = (r: number, what: string) => {
    if (r !== 0) throw new IoError(`${what}: ${errno()}`);
  };
  return opened = {
    setXattr(path, name, value) {
      const r = lib.symbols.lsetxattr(
        cString(path),
        cString(name),
        value,
        BigInt(value.byteLength),
        0,
      );
      check(r, `setting xattr ${name} on ${path}`);
    },
    getXattr(path, name) {
      const p = cString(path);
      const n = cString(name);
      for (let size = 256;; size *= 4) {
        const buffer = new Uint8Array(size);
        const r = Number(lib.symbols.lgetxattr(p, n, buffer, BigInt(size)));
        if (r >= 0) return buffer.slice(0, r);
        const e = errno();
        if (e.startsWith("ENODATA")) return undefined;
        if (!e.startsWith("ERANGE") || size > 1 << 20) {
          throw new IoError(`reading xattr ${name} of ${path}: ${e}`);
        }
      }
    },
    lchown(path, uid, gid) {
      check(lib.symbols.lchown(cString(path), uid, gid), `changing the owner of ${path}`);
    },
    lutimes(path, atime, mtime) {
      // struct timespec[2] on 64-bit Linux: { tv_sec: i64, tv_nsec: i64 } × 2
      const times = new BigInt64Array(4);
      const set = (i: number, t: number) => {
        const sec = Math.floor(t);
        times[i] = BigInt(sec);
        times[i + 1] = BigInt(Math.round((t - sec) * 1e9));
      };
      set(0, atime);
      set(2, mtime);
      const r = lib.symbols.utimensat(
        AT_FDCWD,
        cString(path),
        new Uint8Array(times.buffer),
        AT_SYMLINK_NOFOLLOW,
      );
      check(r, `setting the times of ${path}`);
    },
  };
}
