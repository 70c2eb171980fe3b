// This module is browser compatible.
/**
 * Browser side of the codec rows of bench/web.ts: throughput of the web runtime's gunzip
 * (native DecompressionStream with lading's member handling), fflate's Gunzip, fzstd,
 * hash-wasm sha256, and gzip writing (CompressionStream vs fflate), on inputs the bench
 * serves. Exposes `globalThis.__codecBench(urls)`.
 * @module
 */
import {
  fflateGunzip,
  fflateGzip,
  fzstdDecompress,
  nativeGunzip,
  webRuntime,
} from "../../src/runtime/web.ts";

async function drain(stream: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of stream) n += c.byteLength;
  return n;
}

async function time(fn: () => Promise<number>): Promise<{ seconds: number; bytes: number }> {
  const t0 = performance.now();
  const bytes = await fn();
  return { seconds: (performance.now() - t0) / 1000, bytes };
}

/** MB/s of each codec over the served files (output bytes for decoders). */
async function codecBench(urls: { gzip: string; gzipMulti: string; zstd: string; raw: string }) {
  const blob = async (u: string) => await (await fetch(u)).blob();
  const [gz, gzMulti, zst, raw] = await Promise.all([
    blob(urls.gzip),
    blob(urls.gzipMulti),
    blob(urls.zstd),
    blob(urls.raw),
  ]);
  const out: Record<string, number> = {};
  const rate = (r: { seconds: number; bytes: number }) => r.bytes / 1e6 / r.seconds;
  const best = async (fn: () => Promise<number>) => {
    let top = 0;
    for (let i = 0; i < 3; i++) top = Math.max(top, rate(await time(fn)));
    return top;
  };
  out["gunzip native (lading)"] = await best(() =>
    drain((gz.stream() as ReadableStream<Uint8Array>).pipeThrough(nativeGunzip()))
  );
  out["gunzip raw DecompressionStream"] = await best(() =>
    drain(
      (gz.stream() as ReadableStream<Uint8Array>).pipeThrough(
        new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
      ),
    )
  );
  out["gunzip fflate"] = await best(() =>
    drain((gz.stream() as ReadableStream<Uint8Array>).pipeThrough(fflateGunzip()))
  );
  out["gunzip native multi-member (lading)"] = await best(() =>
    drain((gzMulti.stream() as ReadableStream<Uint8Array>).pipeThrough(nativeGunzip()))
  );
  out["gunzip fflate multi-member"] = await best(() =>
    drain((gzMulti.stream() as ReadableStream<Uint8Array>).pipeThrough(fflateGunzip()))
  );
  out["zstd fzstd"] = await best(() =>
    drain((zst.stream() as ReadableStream<Uint8Array>).pipeThrough(fzstdDecompress()))
  );
  out["sha256 hash-wasm"] = await best(async () => {
    const h = await webRuntime.createHasher("sha256");
    let n = 0;
    for await (const c of raw.stream() as ReadableStream<Uint8Array>) {
      h.update(c);
      n += c.byteLength;
    }
    h.digest();
    return n;
  });
  out["gzip CompressionStream (input MB/s)"] = await best(async () => {
    await drain(
      (raw.stream() as ReadableStream<Uint8Array>).pipeThrough(
        new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
      ),
    );
    return raw.size;
  });
  out["gzip fflate level 6 (input MB/s)"] = await best(async () => {
    await drain((raw.stream() as ReadableStream<Uint8Array>).pipeThrough(fflateGzip(6)));
    return raw.size;
  });
  return out;
}

(globalThis as unknown as Record<string, unknown>).__codecBench = codecBench;
(globalThis as unknown as Record<string, unknown>).__ready = true;
