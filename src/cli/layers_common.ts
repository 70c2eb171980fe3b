/**
 * What the layer commands (`layers`, `ls`, `cat`, `diff`, `waste`, `unpack`,
 * `images check --diff-ids`) share: resolving the image, warnings on stderr, the layer
 * size cap flag, `ls -l` style formatting.
 * @module
 */
import { type ResolvedImage, resolveImage } from "../image.ts";
import type { ReadLayersOptions } from "../layers/image_layers.ts";
import type { FsNode } from "../layers/merged_fs.ts";
import type { LayerEntryType } from "../layers/layer_reader.ts";
import { parsePlatform } from "../platform.ts";
import type { Store } from "../store/types.ts";
import {
  type CliIO,
  type FlagDef,
  type Parsed,
  PLATFORM_FLAG,
  Progress,
  QUIET_FLAG,
  UsageError,
} from "./common.ts";
import { openStoreForReading, storeDir } from "./store_open.ts";
import { storeLayerCache } from "./layer_cache.ts";
import { TYPE_CHAR } from "../layers/merged_listing.ts";
import type { Digest } from "../digest.ts";

/** Flags every layer command takes. */
export const LAYER_FLAGS: readonly FlagDef[] = [
  PLATFORM_FLAG,
  {
    name: "max-layer-size",
    kind: "string",
    value: "SIZE",
    help: "refuse layers that decompress to more than SIZE (e.g. 512MB, 64GB, 2GiB; default 32GiB)",
  },
  QUIET_FLAG,
];

/** Parses `64G`, `512M`, `1000` into bytes. */
export function parseSize(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?$/i.exec(value.trim());
  if (!m) {
    throw new UsageError(`--${flag}: ${JSON.stringify(value)} is not a size (e.g. 512M, 64G)`);
  }
  // One unit system with the output: k/M/G/T (and kB, MB...) are powers of 1000, the
  // binary KiB/MiB/GiB/TiB (Ki, Mi...) powers of 1024.
  const raw = (m[2] ?? "").toLowerCase();
  const binary = /i/.test(raw);
  const unit = raw.replace(/i?b$/, "").replace(/i$/, "").replace(/^b$/, "");
  const base = binary ? 1024 : 1000;
  const mult = { "": 1, k: base, m: base ** 2, g: base ** 3, t: base ** 4 }[unit];
  if (mult === undefined) {
    throw new UsageError(`--${flag}: unknown unit in ${JSON.stringify(value)}`);
  }
  return Math.floor(Number(m[1]) * mult);
}

/** Read options from flags: size cap and warnings printed to stderr. */
export function readOptions(
  flags: Parsed["values"],
  io: CliIO,
  options: { index?: boolean } = {},
): ReadLayersOptions {
  const max = flags["max-layer-size"] as string | undefined;
  return {
    // Listings come from the store's layer index after the first read (bytes never do).
    ...(options.index ? { layerIndex: storeLayerCache(storeDir(flags, io)) } : {}),
    ...(max ? { maxLayerBytes: parseSize(max, "max-layer-size") } : {}),
    onWarning: (m) => io.err(`lading: warning: ${m}\n`),
  };
}

let fullGc: (() => void) | undefined | null;
let gcLoading: Promise<void> | undefined;

/**
 * Loads the full-GC hook (node:v8 and node:vm cost 50-100 ms in a fresh process: only
 * once a command has read a few MB of blobs, never for one member read from an access
 * point).
 */
function loadGc(): void {
  gcLoading ??= (async () => {
    try {
      const v8 = await import("node:v8");
      const vm = await import("node:vm");
      v8.setFlagsFromString("--expose-gc");
      const gc = vm.runInNewContext("gc");
      fullGc = typeof gc === "function" ? gc as () => void : null;
    } catch {
      fullGc = null;
    }
  })();
}

/**
 * A full garbage collection, when the runtime lets us ask for one. Layer commands
 * decompress hundreds of megabytes in small chunks; V8 lets up to ~64 MiB of dead chunks
 * and a grown young generation pile up before it collects, which alone would put the
 * peak RSS of `unpack` near 200 MiB. One full GC per 16 MB of blob read keeps it flat
 * (about 100-140 MiB whatever the layer size) for a few milliseconds each.
 */
function collect(): void {
  fullGc?.();
}

/** Bytes of blob read between two full collections. */
const GC_EVERY = 16 * 1000 * 1000;
/** Bytes of blob read before the hook is loaded (it is ready before the first collection). */
const GC_LOAD_AFTER = 4 * 1000 * 1000;

/** The same store, but reading blobs triggers a full GC every {@link GC_EVERY} bytes. */
export function withMemoryCap(
  store: Store,
  onBytes?: (n: number) => void,
  onOpen?: (digest: Digest, offset: number) => void,
): Store {
  let since = 0;
  let total = 0;
  const reader = async (digest: Digest, options?: { offset?: number }) => {
    onOpen?.(digest, options?.offset ?? 0);
    const stream = await store.reader(digest, options);
    return stream.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          since += chunk.byteLength;
          total += chunk.byteLength;
          onBytes?.(chunk.byteLength);
          if (since >= GC_EVERY) {
            since = 0;
            collect();
          }
          controller.enqueue(chunk);
          if (total >= GC_LOAD_AFTER && !gcLoading) {
            loadGc();
            return gcLoading;
          }
        },
      }),
    );
  };
  return new Proxy(store, {
    get(target, prop) {
      if (prop === "reader") return reader;
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** Opens the store, resolves the image named by the first positional, runs `fn`. */
export async function withImage<T>(
  flags: Parsed["values"],
  name: string,
  io: CliIO,
  fn: (store: Store, image: ResolvedImage) => Promise<T>,
): Promise<T> {
  const store = await openStoreForReading(flags, io);
  try {
    const platform = flags.platform ? parsePlatform(flags.platform as string) : undefined;
    const image = await resolveImage(store, name, {
      platform,
      onWarning: (m) => io.err(`lading: warning: ${m}\n`),
    });
    const total = image.manifest.layers.reduce((n, l) => n + l.size, 0);
    const progress = new Progress(io, "reading layers", total, {
      quiet: !!flags.quiet || !!flags.json,
    });
    if (!progress.visible) return await fn(withMemoryCap(store), image);
    // A command that reads a layer again (unpack checks every diff_id, then writes; flatten
    // indexes, then copies) grows the total by what the new pass will read.
    const sizes = new Map(image.manifest.layers.map((l) => [l.digest as string, l.size]));
    const opened = new Set<string>();
    const onOpen = (digest: Digest, offset: number) => {
      const size = sizes.get(digest);
      if (size === undefined) return;
      if (opened.has(digest)) progress.grow(Math.max(0, size - offset));
      opened.add(digest);
    };
    return await untilOutput(
      io,
      progress,
      () => fn(withMemoryCap(store, (n) => progress.add(n), onOpen), image),
    );
  } finally {
    await store.close();
  }
}

/**
 * Runs `fn` with a progress line that is erased (and stays off) as soon as the command
 * writes to stdout or stderr, so that the line never mixes with the output.
 */
async function untilOutput<T>(io: CliIO, progress: Progress, fn: () => Promise<T>): Promise<T> {
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    progress.end();
    progress.stop();
  };
  const saved = {
    out: Object.getOwnPropertyDescriptor(io, "out"),
    err: Object.getOwnPropertyDescriptor(io, "err"),
    stdout: Object.getOwnPropertyDescriptor(io, "stdout"),
  };
  const out = io.out.bind(io);
  const err = io.err.bind(io);
  const stdout = io.stdout;
  const writer = new WritableStream<Uint8Array>({
    async write(chunk) {
      stop();
      const w = stdout.getWriter();
      try {
        await w.write(chunk);
      } finally {
        w.releaseLock();
      }
    },
  });
  Object.defineProperty(io, "out", { value: (t: string) => (stop(), out(t)), configurable: true });
  Object.defineProperty(io, "err", { value: (t: string) => (stop(), err(t)), configurable: true });
  Object.defineProperty(io, "stdout", { value: writer, configurable: true });
  try {
    return await fn();
  } finally {
    stop();
    for (const [k, d] of Object.entries(saved)) {
      if (d) Object.defineProperty(io, k, d);
      else delete (io as unknown as Record<string, unknown>)[k];
    }
  }
}

/** Chooses a layer by index (`2`) or digest (`sha256:ab12…` or a unique hex prefix of 12+). */
export function chooseLayer(image: ResolvedImage, value: string): number {
  const layers = image.manifest.layers;
  if (/^\d+$/.test(value)) {
    const i = Number(value);
    if (i >= layers.length) {
      throw new UsageError(
        `--layer ${value}: the image has ${
          layers.length === 1 ? "1 layer (0)" : `${layers.length} layers (0-${layers.length - 1})`
        }`,
      );
    }
    return i;
  }
  const hex = value.replace(/^sha256:/, "");
  if (!/^[0-9a-f]{12,64}$/.test(hex)) {
    throw new UsageError(
      `--layer: ${
        JSON.stringify(value)
      } is neither an index nor a digest (or a prefix of 12+ hex digits)`,
    );
  }
  const hits = layers.map((l, i) => [l.digest, i] as const).filter(([d]) =>
    d.startsWith(`sha256:${hex}`)
  );
  const distinct = new Set(hits.map(([d]) => d));
  if (distinct.size === 0) throw new UsageError(`--layer: no layer digest starts with ${value}`);
  if (distinct.size > 1) throw new UsageError(`--layer: ${value} matches more than one layer`);
  return hits[0][1];
}

/** `drwxr-xr-x` style mode string (`h` marks a hardlink, as `tar -tv` does). */
export function modeString(type: LayerEntryType, mode: number): string {
  const rwx = (bits: number, special: boolean, ch: string) =>
    (bits & 4 ? "r" : "-") + (bits & 2 ? "w" : "-") +
    (special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? "x" : "-");
  return TYPE_CHAR[type] + rwx((mode >> 6) & 7, !!(mode & 0o4000), "s") +
    rwx((mode >> 3) & 7, !!(mode & 0o2000), "s") + rwx(mode & 7, !!(mode & 0o1000), "t");
}

/** `2024-01-02 03:04` in UTC. */
export function formatTime(seconds: number): string {
  const d = new Date(Math.floor(seconds) * 1000);
  return isNaN(d.getTime()) ? "-" : d.toISOString().slice(0, 16).replace("T", " ");
}

/** A long listing line's fields (without the path). */
export interface LongFields {
  type: LayerEntryType;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  size: number;
  mtime: number;
  devmajor: number;
  devminor: number;
}

/** `-rw-r--r-- root/root 1234 2024-01-02 03:04` */
export function longPrefix(e: LongFields): string {
  const owner = `${e.uname || e.uid}/${e.gname || e.gid}`;
  const size = e.type.endsWith("-device") ? `${e.devmajor},${e.devminor}` : String(e.size);
  return `${modeString(e.type, e.mode)} ${owner.padEnd(12)} ${size.padStart(10)} ${
    formatTime(e.mtime)
  }`;
}

/** The ` -> target` / ` link to target` suffix. */
export function linkSuffix(type: LayerEntryType, linkname: string): string {
  return type === "symlink" ? ` -> ${linkname}` : type === "hardlink" ? ` link to ${linkname}` : "";
}

/** A JSON view of a merged node (of the merged filesystem or of its stored listing). */
export function nodeJson(
  path: string,
  n: LongFields & Pick<FsNode, "linkname" | "layer" | "addedBy" | "modifiedBy">,
) {
  return {
    path,
    type: n.type,
    mode: n.mode,
    uid: n.uid,
    gid: n.gid,
    ...(n.uname ? { uname: n.uname } : {}),
    ...(n.gname ? { gname: n.gname } : {}),
    size: n.size,
    mtime: n.mtime,
    ...(n.linkname ? { linkname: n.linkname } : {}),
    ...(n.type.endsWith("-device") ? { devmajor: n.devmajor, devminor: n.devminor } : {}),
    layer: n.layer,
    addedBy: n.addedBy,
    ...(n.modifiedBy.length ? { modifiedBy: n.modifiedBy } : {}),
  };
}

/** Buffers text output into large writes. */
export class OutputBuffer {
  #io: CliIO;
  #parts: string[] = [];
  #size = 0;
  constructor(io: CliIO) {
    this.#io = io;
  }
  /** Adds a line (a newline is appended). */
  line(text: string): void {
    this.#parts.push(text, "\n");
    this.#size += text.length + 1;
    if (this.#size > 1 << 16) this.flush();
  }
  /** Writes what is buffered. */
  flush(): void {
    if (this.#parts.length) this.#io.out(this.#parts.join(""));
    this.#parts = [];
    this.#size = 0;
  }
}
