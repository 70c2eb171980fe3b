/**
 * Deno only, Linux: extended attributes through libc (`lsetxattr`/`lgetxattr` over FFI;
 * Deno has no xattr API). Used by `unpack` to apply the `SCHILY.xattr.*` records of the
 * layers — a `security.capability` on `ping` or `newuidmap` is part of what the image is.
 * Never follows a symlink.
 *
 * @example
 * ```ts ignore
 * import { openXattrs } from "./xattr.ts";
 * const x = openXattrs();
 * if (typeof x === "string") console.log("no xattrs here:", x);
 * else x.set("/tmp/file", "user.note", new TextEncoder().encode("hi"));
 * ```
 * @module
 */

/** Sets and reads extended attributes. */
export interface Xattrs {
  /** Sets `name` on `path` (not following a symlink). @throws {Error} with the errno's name */
  set(path: string, name: string, value: Uint8Array): void;
  /** The value of `name` on `path`, or undefined when it has none. */
  get(path: string, name: string): Uint8Array | undefined;
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
  __errno_location: { parameters: [], result: "pointer" },
} as const;

let opened: Xattrs | string | undefined;

/**
 * The xattr functions of this system, or why there are none (not Linux, no FFI
 * permission, no libc). Opened once.
 */
export function openXattrs(): Xattrs | string {
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
  return opened = {
    set(path, name, value) {
      const r = lib.symbols.lsetxattr(
        cString(path),
        cString(name),
        value,
        BigInt(value.byteLength),
        0,
      );
      if (r !== 0) throw new Error(`setting xattr ${name} on ${path}: ${errno()}`);
    },
    get(path, name) {
      const p = cString(path);
      const n = cString(name);
      for (let size = 256;; size *= 4) {
        const buffer = new Uint8Array(size);
        const r = Number(lib.symbols.lgetxattr(p, n, buffer, BigInt(size)));
        if (r >= 0) return buffer.slice(0, r);
        const e = errno();
        if (e.startsWith("ENODATA")) return undefined;
        if (!e.startsWith("ERANGE") || size > 1 << 20) {
          throw new Error(`reading xattr ${name} of ${path}: ${e}`);
        }
      }
    },
  };
}
