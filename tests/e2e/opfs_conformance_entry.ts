// This module is browser compatible.
/**
 * Browser side of tests/e2e/opfs_store_test.ts: runs the store conformance suite (and a
 * few OPFS-specific cases) against {@link OpfsStore}, in a dedicated worker (sync access
 * handles) when loaded as a worker, on the page (createWritable) otherwise. Results are
 * posted back / stored on `globalThis.__conformance`.
 * @module
 */
import { storeConformance } from "../store/suite.ts";
import {
  openOpfsStore,
  type OpfsDirectoryHandle,
  type OpfsFileHandle,
  opfsRoot,
  removeOpfsStore,
} from "../../src/store/opfs.ts";
import { writeBlob } from "../../src/store/blob.ts";
import { digestBytes } from "../../src/digest.ts";
import { getRuntime } from "../../src/runtime/mod.ts";
import { QuotaExceededError } from "../../src/errors.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";

/** One case's outcome. */
export interface CaseResult {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
}

type Case = { name: string; fn: () => Promise<void> };

const inWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !==
  "undefined";
/** `?helper` in the worker's URL: blobs are written by a helper worker (serveOpfsWriter). */
const withHelper = inWorker && new URL(location.href).searchParams.has("helper");
const mode = inWorker ? (withHelper ? "worker + writer helper" : "worker") : "window";
const writerWorker = withHelper
  ? () => new Worker(new URL("./opfs_writer_entry.js", import.meta.url), { type: "module" })
  : undefined;

async function listNames(dir: OpfsDirectoryHandle): Promise<string[]> {
  const out: string[] = [];
  for await (const [name] of dir.entries()) out.push(name);
  return out.sort();
}

async function dirAt(path: string): Promise<OpfsDirectoryHandle> {
  let d = await opfsRoot();
  for (const p of path.split("/")) d = await d.getDirectoryHandle(p);
  return d;
}

function collect(): Case[] {
  const cases: Case[] = [];
  let n = 0;
  const prefix = `conformance-${mode}-${Date.now()}`;
  storeConformance(`OpfsStore (${mode})`, async () => {
    const path = `${prefix}/${n++}`;
    const store = await openOpfsStore({ path, writerWorker });
    return { store, cleanup: () => removeOpfsStore(path) };
  }, { test: (name, fn) => cases.push({ name, fn }) });

  const enc = new TextEncoder();
  const extra = (title: string, fn: (path: string) => Promise<void>) => {
    const path = `${prefix}/extra-${n++}`;
    cases.push({
      name: `OpfsStore (${mode}): ${title}`,
      fn: async () => {
        try {
          await fn(path);
        } finally {
          await removeOpfsStore(path).catch(() => {});
        }
      },
    });
  };

  extra("the folder is an OCI image layout with both name annotations", async (path) => {
    const store = await openOpfsStore({ path, writerWorker });
    assertEquals(store.usesSyncAccessHandles, inWorker);
    const bytes = enc.encode('{"hello":"layout"}');
    const digest = await digestBytes(await getRuntime(), bytes);
    await writeBlob(store, bytes, { digest, size: bytes.length });
    await store.putImages([{
      name: "example.com/demo:1",
      target: {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest,
        size: bytes.length,
      },
    }]);
    const dir = await dirAt(path);
    const names = await listNames(dir);
    assert(names.includes("oci-layout") && names.includes("index.json") && names.includes("blobs"));
    assert(!names.some((n) => n.startsWith("index.json.tmp-")), "no temporary index left");
    const layout = JSON.parse(
      await (await (await dir.getFileHandle("oci-layout")).getFile()).text(),
    );
    assertEquals(layout, { imageLayoutVersion: "1.0.0" });
    const index = JSON.parse(
      await (await (await dir.getFileHandle("index.json")).getFile()).text(),
    );
    assertEquals(index.schemaVersion, 2);
    assertEquals(index.manifests[0].annotations, {
      "org.opencontainers.image.ref.name": "example.com/demo:1",
      "io.containerd.image.name": "example.com/demo:1",
    });
    const blob =
      await (await (await (await dir.getDirectoryHandle("blobs")).getDirectoryHandle("sha256"))
        .getFileHandle(digest.slice(7))).getFile();
    assertEquals(new Uint8Array(await blob.arrayBuffer()), bytes);
    assertEquals(await listNames(await dir.getDirectoryHandle("ingest")), []);
    await store.close();
  });

  extra(
    "ingest files of a store that is no longer open are removed on open; live ones kept",
    async (path) => {
      const a = await openOpfsStore({ path });
      const live = await a.writer();
      await live.write(enc.encode("in flight"));
      const ingest = await (await dirAt(path)).getDirectoryHandle("ingest");
      const stale = await ingest.getFileHandle("00000000deadbeef-0123", { create: true });
      const w = await stale.createWritable();
      await w.write(enc.encode("left by a closed tab"));
      await w.close();
      await ingest.getFileHandle("not-ours.txt", { create: true });
      const b = await openOpfsStore({ path });
      const left = (await listNames(ingest)).filter((n) => !n.endsWith(".crswap"));
      assert(!left.includes("00000000deadbeef-0123"), "stale ingest removed");
      assert(left.includes("not-ours.txt"), "foreign file kept");
      assertEquals(left.length, 2, `live ingest kept: ${left}`);
      await live.abort();
      assertEquals((await listNames(ingest)).filter((n) => !n.endsWith(".crswap")), [
        "not-ours.txt",
      ]);
      await a.close();
      await b.close();
    },
  );

  extra(
    "a lease is seen by another store on the same folder until its owner closes",
    async (path) => {
      const a = await openOpfsStore({ path });
      const b = await openOpfsStore({ path });
      const d = `sha256:${"ab".repeat(32)}` as const;
      const lease = await a.lease();
      await lease.add([d]);
      assert((await b.leasedDigests()).has(d), "b sees a's lease");
      await a.close(); // like a closed tab: the owner lock goes away, the file stays
      assertEquals((await b.leasedDigests()).size, 0);
      assertEquals(await listNames(await (await dirAt(path)).getDirectoryHandle("leases")), []);
      await b.close();
    },
  );

  extra("two writers racing to commit one digest: exactly one reports added", async (path) => {
    const a = await openOpfsStore({ path, writerWorker });
    const bytes = enc.encode("same bytes".repeat(1000));
    const digest = await digestBytes(await getRuntime(), bytes);
    const ws = await Promise.all([a.writer(), a.writer(), a.writer()]);
    for (const w of ws) await w.write(bytes);
    const results = await Promise.all(ws.map((w) => w.commit({ digest, size: bytes.length })));
    assertEquals(results.filter((r) => r.added).length, 1);
    assertEquals(await listNames(await (await dirAt(path)).getDirectoryHandle("ingest")), []);
    await a.close();
  });

  extra("close() aborts open writers and removes their ingest files", async (path) => {
    const a = await openOpfsStore({ path, writerWorker });
    const w = await a.writer();
    await w.write(enc.encode("abc"));
    await a.close();
    assertEquals(await listNames(await (await dirAt(path)).getDirectoryHandle("ingest")), []);
    await assertRejects(() => a.writer(), TypeError);
  });

  extra(
    "blobs larger than the WebCrypto gathering limit (64 MiB) commit under their digest",
    async (path) => {
      const store = await openOpfsStore({ path, writerWorker });
      // A small blob first, so that with the helper one big blob is hashed on each side.
      for (const size of [1024, 64 * 1024 * 1024 + 123, 64 * 1024 * 1024 + 7]) {
        const bytes = new Uint8Array(size);
        for (let i = 0; i < size; i += 4096) bytes[i] = (i / 4096 + size) & 0xff;
        const digest = await digestBytes(await getRuntime(), bytes);
        const w = await store.writer();
        for (let at = 0; at < size; at += 1024 * 1024) {
          await w.write(bytes.subarray(at, at + 1024 * 1024));
        }
        assertEquals(await w.commit({ digest, size }), { added: true });
        assertEquals(await store.info(digest), { digest, size });
      }
      assertEquals(await listNames(await (await dirAt(path)).getDirectoryHandle("ingest")), []);
      await store.close();
    },
  );

  extra("a helper worker that does not load fails the write instead of hanging", async (path) => {
    const store = await openOpfsStore({
      path,
      writerWorker: () =>
        new Worker(new URL("./no-such-writer.js", import.meta.url), { type: "module" }),
    });
    const w = await store.writer();
    const bytes = new Uint8Array(1024 * 1024);
    await assertRejects(async () => {
      for (let i = 0; i < 64; i++) await w.write(bytes);
      await w.commit({ digest: `sha256:${"0".repeat(64)}`, size: 64 * bytes.length });
    });
    await w.abort();
    assertEquals(await listNames(await (await dirAt(path)).getDirectoryHandle("ingest")), []);
    await store.close();
  });

  return cases;
}

const REAL = Symbol("real handle");
type Wrapped = { [REAL]?: unknown };

/**
 * OPFS handles whose sync access handles throw the browser's `QuotaExceededError` once
 * `budget.left` bytes were written. (Chromium's DevTools quota override, used for the
 * page, does not reach sync access handles in workers.)
 */
function quotaLimitedDir(real: OpfsDirectoryHandle, budget: { left: number }): OpfsDirectoryHandle {
  const wrapFile = (f: OpfsFileHandle): OpfsFileHandle => ({
    kind: "file",
    name: f.name,
    [REAL]: f,
    getFile: () => f.getFile(),
    createWritable: (o) => f.createWritable(o),
    createSyncAccessHandle: async () => {
      const h = await f.createSyncAccessHandle!();
      return {
        write(buffer, options) {
          budget.left -= buffer.byteLength;
          if (budget.left < 0) {
            throw new DOMException("Quota exceeded (simulated).", "QuotaExceededError");
          }
          return h.write(buffer, options);
        },
        read: (b, o) => h.read(b, o),
        truncate: (n) => h.truncate(n),
        getSize: () => h.getSize(),
        flush: () => h.flush(),
        close: () => h.close(),
      };
    },
    move: (dest, name) => f.move!(((dest as Wrapped)[REAL] ?? dest) as OpfsDirectoryHandle, name),
  } as OpfsFileHandle & Wrapped);
  const wrapDir = (d: OpfsDirectoryHandle): OpfsDirectoryHandle => ({
    kind: "directory",
    name: d.name,
    [REAL]: d,
    getDirectoryHandle: async (n, o) => wrapDir(await d.getDirectoryHandle(n, o)),
    getFileHandle: async (n, o) => wrapFile(await d.getFileHandle(n, o)),
    removeEntry: (n, o) => d.removeEntry(n, o),
    async *entries() {
      for await (const [n, h] of d.entries()) {
        yield [n, h.kind === "file" ? wrapFile(h) : wrapDir(h)];
      }
    },
  } as OpfsDirectoryHandle & Wrapped);
  return wrapDir(real);
}

/** Runs the cases one after the other. */
export async function runAll(onResult: (r: CaseResult) => void): Promise<void> {
  for (const c of collect()) {
    const t0 = performance.now();
    try {
      await c.fn();
      onResult({ name: c.name, ok: true, ms: performance.now() - t0 });
    } catch (e) {
      const err = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e);
      onResult({ name: c.name, ok: false, error: err, ms: performance.now() - t0 });
    }
  }
}

/**
 * Fills the store until the (test-lowered) quota is hit; checks the error and that nothing
 * partial is left. Returns a description of what happened. With `helper`, blobs are
 * written by a helper worker whose quota runs out after `simulateAfter` bytes.
 */
export async function quotaCase(
  path: string,
  bytes: number,
  simulateAfter?: number,
  helper = false,
): Promise<string> {
  const root = simulateAfter === undefined || helper
    ? undefined
    : quotaLimitedDir(await opfsRoot(), { left: simulateAfter });
  const writerWorker = helper
    ? () =>
      new Worker(new URL(`./opfs_writer_entry.js?quota=${simulateAfter}`, import.meta.url), {
        type: "module",
      })
    : undefined;
  const store = await openOpfsStore({ path, root, writerWorker });
  try {
    const chunk = crypto.getRandomValues(new Uint8Array(65536));
    const w = await store.writer();
    let written = 0;
    let error: unknown;
    try {
      while (written < bytes) {
        await w.write(chunk);
        written += chunk.length;
      }
      await w.commit({ digest: `sha256:${"0".repeat(64)}`, size: written });
    } catch (e) {
      error = e;
      await w.abort();
    }
    if (!(error instanceof QuotaExceededError)) {
      throw new Error(`expected QuotaExceededError after ${written} bytes, got ${error}`);
    }
    const ingest = await listNames(await (await dirAt(path)).getDirectoryHandle("ingest"));
    if (ingest.length) throw new Error(`ingest not cleaned: ${ingest}`);
    let blobs = 0;
    for await (const _ of store.list()) blobs++;
    if (blobs) throw new Error(`${blobs} blobs visible after the failed write`);
    return `${error.name}: ${error.message}`;
  } finally {
    await store.close();
    await removeOpfsStore(path);
  }
}

if (inWorker) {
  const scope = globalThis as unknown as {
    onmessage: ((e: MessageEvent) => void) | null;
    postMessage(m: unknown): void;
  };
  scope.onmessage = async (e: MessageEvent) => {
    if (e.data?.run === "conformance") {
      await runAll((r) => scope.postMessage({ result: r }));
      scope.postMessage({ done: true });
    } else if (e.data?.run === "quota") {
      try {
        scope.postMessage({
          quota: await quotaCase(e.data.path, e.data.bytes, e.data.simulateAfter, e.data.helper),
        });
      } catch (err) {
        scope.postMessage({ quotaError: String(err) });
      }
    }
  };
} else {
  const g = globalThis as unknown as Record<string, unknown>;
  const results: CaseResult[] = [];
  g.__conformance = { done: false, results };
  const worker = new Worker(new URL("./opfs_conformance_entry.js", import.meta.url), {
    type: "module",
  });
  const workerResults: CaseResult[] = [];
  g.__runWorker = (helper = false) =>
    new Promise<CaseResult[]>((resolve) => {
      const w = helper
        ? new Worker(new URL("./opfs_conformance_entry.js?helper", import.meta.url), {
          type: "module",
        })
        : worker;
      const results: CaseResult[] = helper ? [] : workerResults;
      w.onmessage = (e) => {
        if (e.data.result) results.push(e.data.result);
        if (e.data.done) resolve(results);
      };
      w.postMessage({ run: "conformance" });
    });
  g.__runWindow = async () => {
    await runAll((r) => results.push(r));
    return results;
  };
  g.__runQuota = (
    where: "worker" | "helper" | "window",
    path: string,
    bytes: number,
    simulateAfter?: number,
  ) =>
    where === "window"
      ? quotaCase(path, bytes, simulateAfter)
      : new Promise<string>((resolve, reject) => {
        const fresh = new Worker(new URL("./opfs_conformance_entry.js", import.meta.url), {
          type: "module",
        });
        fresh.onmessage = (e) => {
          fresh.terminate();
          if (e.data.quota) resolve(e.data.quota);
          if (e.data.quotaError) reject(new Error(e.data.quotaError));
        };
        fresh.postMessage({
          run: "quota",
          path,
          bytes,
          simulateAfter,
          helper: where === "helper",
        });
      });
  g.__ready = true;
}
