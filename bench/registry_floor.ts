/**
 * The registry-pull floor: the least a Deno program can do to pull an image — GET the
 * manifest, then GET the config and layers (`--streams` at a time, largest first), hashing
 * each while writing it to a file, and compare each digest. No store, no checks beyond the
 * digest, no names. `bench/registry.ts` runs it as a fresh process like the tools, in
 * several variants, to show where a pull's time goes:
 *
 * | flag | what changes |
 * |---|---|
 * | `--hash node` (default), `wasm`, `none` | sha256 by `node:crypto` (what the fs store uses), `hash-wasm`, or none |
 * | `--write sync` (default), `async`, `none` | `FsFile.writeSync` (what the store does), `await FsFile.write`, or no file |
 * | `--chunk N` | read each body with a BYOB reader into one reused N-byte buffer (default 1 MiB, as `lading pull`); 0: the stream's own chunks (≤ 64 KiB, a new buffer each) |
 * | `--streams N` | blobs at once (default 4, as `lading pull`) |
 * | `--workers N` | N worker threads fetch, hash and write the blobs (the streams shared out among them; the calling thread only waits): every core hashes |
 * | `--main-too` | with `--workers`: the calling thread takes a share of the streams too (N workers + it) |
 *
 * Prints the bytes fetched, then `ms` in-process on stderr.
 *
 * ```sh
 * deno run -A bench/registry_floor.ts http://127.0.0.1:5000 repo tag outDir [flags]
 * ```
 * @module
 */
import { createHash } from "node:crypto";

const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** How the floor pulls (see the module doc). */
export interface FloorOptions {
  hash?: "node" | "wasm" | "none";
  write?: "sync" | "async" | "none";
  /** BYOB reads into one reused buffer of this many bytes (default 1 MiB; 0: the stream's own chunks). */
  chunk?: number;
  streams?: number;
  /** Worker threads that fetch, hash and write (default 0: all in the calling thread). */
  workers?: number;
  /** With workers: the calling thread takes a share of the streams too. */
  mainToo?: boolean;
}

interface Job {
  id?: number;
  url: string;
  digest: string;
  out: string;
  options: FloorOptions;
}

/** GETs one blob, hashing and writing it as options say; returns its byte count. */
async function fetchOne({ url, digest, out, options }: Job): Promise<number> {
  const r = await fetch(url);
  if (!r.ok || !r.body) throw new Error(`blob ${digest}: ${r.status}`);
  const hashKind = options.hash ?? "node";
  const node = hashKind === "node" ? createHash("sha256") : undefined;
  // (hash-wasm loaded only when asked: a worker thread would pay for it otherwise.)
  const wasm = hashKind === "wasm" ? await (await import("hash-wasm")).createSHA256() : undefined;
  wasm?.init();
  const writeKind = options.write ?? "sync";
  using file = writeKind === "none"
    ? undefined
    : await Deno.open(out, { write: true, create: true, truncate: true });
  let total = 0;
  const take = async (chunk: Uint8Array) => {
    node?.update(chunk);
    wasm?.update(chunk);
    let at = 0;
    if (writeKind === "sync") {
      while (at < chunk.byteLength) at += file!.writeSync(chunk.subarray(at));
    } else if (writeKind === "async") {
      while (at < chunk.byteLength) at += await file!.write(chunk.subarray(at));
    }
    total += chunk.byteLength;
  };
  const chunk = options.chunk ?? 1 << 20;
  if (chunk) {
    const reader = r.body.getReader({ mode: "byob" });
    let buf = new Uint8Array(chunk);
    for (;;) {
      const { value, done } = await reader.read(buf);
      if (done || !value) break;
      await take(value);
      buf = new Uint8Array(value.buffer);
    }
  } else {
    for await (const chunk of r.body) await take(chunk);
  }
  const hex = node?.digest("hex") ?? wasm?.digest("hex");
  if (hex !== undefined && `sha256:${hex}` !== digest) throw new Error(`digest ${digest}`);
  return total;
}

/** Pulls `repo:tag` from `base` into files under `out`; returns the bytes fetched. */
export async function floorPull(
  base: string,
  repo: string,
  tag: string,
  out: string,
  options: FloorOptions = {},
): Promise<number> {
  await Deno.mkdir(out, { recursive: true });
  const streams = options.streams ?? 4;
  const workers = Array.from(
    { length: options.workers ?? 0 },
    () => new Worker(import.meta.url, { type: "module", name: "floor-worker" }),
  );
  const pending = new Map<number, { resolve: (n: number) => void; reject: (e: Error) => void }>();
  for (const w of workers) {
    w.onmessage = (e: MessageEvent<{ id: number; bytes?: number; error?: string }>) => {
      const p = pending.get(e.data.id)!;
      pending.delete(e.data.id);
      if (e.data.error) p.reject(new Error(e.data.error));
      else p.resolve(e.data.bytes!);
    };
  }
  let nextId = 0;
  try {
    const res = await fetch(`${base}/v2/${repo}/manifests/${tag}`, {
      headers: { accept: ACCEPT },
    });
    if (!res.ok) throw new Error(`manifest: ${res.status}`);
    const manifest = await res.json();
    const queue: { digest: string; size: number }[] = [manifest.config, ...manifest.layers]
      .sort((a, b) => b.size - a.size);
    let total = 0;
    // Stream i runs in worker i % (workers, plus the calling thread with --main-too).
    const threads = workers.length + (options.mainToo || !workers.length ? 1 : 0);
    const stream = async (i: number) => {
      const w = workers[i % threads];
      for (let d = queue.shift(); d; d = queue.shift()) {
        const job: Job = {
          id: nextId++,
          url: `${base}/v2/${repo}/blobs/${d.digest}`,
          digest: d.digest,
          out: `${out}/${d.digest.slice(7)}`,
          options: { ...options, workers: 0 },
        };
        // (not `total += await …`: that reads `total` before the wait)
        const bytes = !w ? await fetchOne(job) : await new Promise<number>((resolve, reject) => {
          pending.set(job.id!, { resolve, reject });
          w.postMessage(job);
        });
        total += bytes;
      }
    };
    await Promise.all(Array.from({ length: streams }, (_, i) => stream(i)));
    return total;
  } finally {
    for (const w of workers) w.terminate();
  }
}

/** The flags of the command line as {@link FloorOptions}. */
function parseFlags(args: string[]): FloorOptions {
  const options: FloorOptions = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--workers") options.workers = Number(args[++i]);
    else if (a === "--main-too") options.mainToo = true;
    else if (a === "--hash") options.hash = args[++i] as FloorOptions["hash"];
    else if (a === "--write") options.write = args[++i] as FloorOptions["write"];
    else if (a === "--chunk") options.chunk = Number(args[++i]);
    else if (a === "--streams") options.streams = Number(args[++i]);
    else throw new Error(`unknown flag ${a}`);
  }
  return options;
}

const scope = globalThis as unknown as {
  name?: string;
  onmessage: ((e: MessageEvent<Job>) => void) | null;
  postMessage(m: unknown): void;
};
if (scope.name === "floor-worker") {
  scope.onmessage = async (e) => {
    try {
      scope.postMessage({ id: e.data.id, bytes: await fetchOne(e.data) });
    } catch (err) {
      scope.postMessage({ id: e.data.id, error: String(err) });
    }
  };
} else if (import.meta.main) {
  const [base, repo, tag, out, ...flags] = Deno.args;
  if (!out) {
    console.error("usage: registry_floor.ts <base-url> <repo> <tag> <out-dir> [flags]");
    Deno.exit(2);
  }
  const t0 = performance.now();
  console.log(await floorPull(base, repo, tag, out, parseFlags(flags)));
  console.error(`${(performance.now() - t0).toFixed(0)} ms`);
}
