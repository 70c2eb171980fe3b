/**
 * The page's dedicated worker: it owns the OPFS store (blobs written through sync access
 * handles) and runs the library — import, resolve, layers, export, gc — on it and on
 * archives opened read-only. The page only sends requests (src/web/protocol.ts).
 * @module
 */
import { collectGarbage } from "../src/gc.ts";
import { listImageSummaries, resolveImage } from "../src/image.ts";
import type { ImportOptions } from "../src/import/mod.ts";
import { exportArchive } from "../src/export/mod.ts";
import { getRuntime } from "../src/runtime/mod.ts";
import { openOpfsStore, type OpfsStore, removeOpfsStore } from "../src/store/opfs.ts";
import { directoryFiles, openArchive, tarFiles } from "../src/web/archive_store.ts";
import { imageDetail, platformOption, readFileBytes } from "../src/web/inspect.ts";
import { configSummary } from "../src/web/inspect.ts";
import { ImageAnalysis } from "../src/web/explore.ts";
import { compareImages } from "../src/web/compare.ts";
import { indexImageLayers } from "../src/layers/layer_index.ts";
import { isReadableLayer, type LayerIndexCache } from "../src/layers/image_layers.ts";
import type { CachedLayer } from "../src/layers/image_layers.ts";
import { decodeLayerIndex } from "../src/layers/layer_index_codec.ts";
import type { Descriptor } from "../src/types.ts";
import type { Digest } from "../src/digest.ts";
import { INDEXER_NAME, IndexerPool, serveIndexer } from "./indexer_pool.ts";
import { importIndexed } from "./import_indexed.ts";
import { linkRoot } from "../src/layers/merged_fs.ts";
import {
  DPKG_STATUS_DIR,
  PACKAGE_DATABASES,
  parseApkInstalled,
  parseDpkgStatus,
} from "../src/web/packages.ts";
import type {
  FromWorker,
  ImageRef,
  PackageList,
  Progress,
  Request,
  SourceMessage,
  ToWorker,
} from "../src/web/protocol.ts";
import type { BlobProvider, ImageSource } from "../src/store/types.ts";
import {
  type DirectoryHandleLike,
  directoryHandleSource,
  fileListSource,
  fileSource,
} from "../src/web/sources.ts";
import { indexTar } from "../src/web/tar_index.ts";
import type { DirectorySource, ImportSource } from "../src/import/source.ts";

const STORE_PATH = "lading";
/** Testing aid: milliseconds to wait per MiB of input read (`?throttle=MS`). */
const THROTTLE = Number(new URL(location.href).searchParams.get("throttle") ?? 0);
/** Benchmark aid: imports do not index layers (`?noindex`; the first view reads them). */
const NO_INDEX = new URL(location.href).searchParams.has("noindex");
const SCRATCH_PATH = "lading-scratch";

interface View {
  /** What the view reads: an opened archive or layout, or the scratch store. */
  store: ImageSource;
  label: string;
  format?: string;
  /** Analyses by manifest digest: each image's layers are read once. */
  cache: Map<string, Promise<ImageAnalysis>>;
  /** Layer file indexes by blob digest (for the store and a scratch store: kept in OPFS). */
  indexes: IndexCache;
  scratch?: OpfsStore;
}

/** A layer index cache that also takes indexes the indexing workers encoded. */
type IndexCache = LayerIndexCache & {
  putEncoded(
    layer: Descriptor,
    bytes: Uint8Array,
    options?: { decode?: boolean },
  ): Promise<CachedLayer | undefined>;
};

/** Layer indexes of an opened archive or folder: in memory, for as long as it is open. */
function memoryIndexes(): IndexCache {
  const kept = new Map<string, CachedLayer>();
  return {
    get: (layer) => Promise.resolve(kept.get(layer.digest)),
    put: (layer, index) => {
      kept.set(layer.digest, index);
      return Promise.resolve();
    },
    putEncoded: (layer, bytes) => {
      const index = decodeLayerIndex(bytes, layer);
      if (index) kept.set(layer.digest, index);
      return Promise.resolve(index);
    },
  };
}

const scope = globalThis as unknown as {
  name: string;
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(m: FromWorker, transfer?: Transferable[]): void;
};

/** Blob bytes are written and hashed in a helper worker, in parallel with the importer. */
const writerWorker = () =>
  new Worker(new URL("./opfs_writer.js", import.meta.url), { type: "module" });

/**
 * Layers are decompressed and indexed in these workers, in parallel: while an import
 * stores the blobs, and for layers without an index when an image is first viewed.
 */
const indexers = new IndexerPool(
  Math.min(2, Math.max(1, navigator.hardwareConcurrency ?? 2)),
  () => new Worker(new URL(import.meta.url), { type: "module", name: INDEXER_NAME }),
);

const views = new Map<string, View>();
const running = new Map<number, AbortController>();
let nextView = 1;
let store!: OpfsStore;

function post(m: FromWorker, transfer?: Transferable[]) {
  scope.postMessage(m, transfer);
}

function serialize(e: unknown) {
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: "Error", message: String(e) };
}

function view(id: string): View {
  const v = views.get(id);
  if (!v) throw new TypeError(`no open view ${id}; open the archive again`);
  return v;
}

/** Page-import naming: as the CLI, plus a digest name for entries that have none. */
const NAMES: ImportOptions = { digests: true, skipDigestForNamed: true };

function throttled(id: number, total?: number) {
  let last = 0;
  let bytes = 0;
  return {
    add(n: number, phase?: string) {
      bytes += n;
      const now = performance.now();
      if (now - last > 100) {
        last = now;
        post({ id, progress: { bytes, total, phase } satisfies Progress });
      }
    },
    set(n: number, phase?: string) {
      bytes = 0;
      this.add(n, phase);
    },
  };
}

/** Progress of the layer indexing an import waits for: bytes of layers indexed, over all. */
function indexingProgress(id: number) {
  let progress: ReturnType<typeof throttled> | undefined;
  return (done: number, total: number) => {
    progress ??= throttled(id, total);
    progress.set(done, "indexing layers");
  };
}

/**
 * The analysis of one image: its layers indexed once (progress in compressed bytes over
 * the layers' total, cancellable), kept per view by manifest digest.
 */
async function analysis(ref: ImageRef, signal: AbortSignal, progressId?: number) {
  const v = view(ref.view);
  const image = await resolveImage(v.store, ref.name, { platform: platformOption(ref.platform) });
  const key = image.manifestDescriptor.digest;
  let p = v.cache.get(key);
  if (!p) {
    const total = image.manifest.layers.reduce((n, d) => n + d.size, 0);
    const progress = progressId === undefined ? undefined : throttled(progressId, total);
    // The store verified every blob against its digest; hashing the uncompressed layers
    // again (diff_ids, `lading check --diff-ids`) would double the time to the first view.
    // Each reader counts from 0: report what it adds.
    const counter = () => {
      let last = 0;
      return progress
        ? (b: number) => {
          progress.add(b - last, "reading layers");
          last = b;
        }
        : undefined;
    };
    p = indexLayersInParallel(v, image.manifest.layers, signal, counter())
      .then(() =>
        indexImageLayers(slowProvider(v.store), image, {
          hash: false,
          signal,
          layerIndex: v.indexes,
          onBytes: counter(),
        })
      )
      .then((index) => new ImageAnalysis(image, index));
    p.catch(() => v.cache.delete(key));
    v.cache.set(key, p);
  }
  return await p;
}

/**
 * Makes sure every layer has an index: those without one are read by the indexing
 * workers, in parallel. A layer that fails there is left alone: the reader that follows
 * reads it in this thread and reports what is wrong with it.
 */
async function indexLayersInParallel(
  v: View,
  layers: readonly Descriptor[],
  signal: AbortSignal,
  onBytes?: (total: number) => void,
): Promise<void> {
  let total = 0;
  const count = (n: number) => {
    total += n;
    onBytes?.(total);
  };
  await Promise.all(
    layers.filter(isReadableLayer).map(async (d) => {
      if (await v.indexes.get(d)) return;
      // Counted as read from the store (then slowed down by the THROTTLE testing aid).
      let counted = (await v.store.reader(d.digest)).pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            count(chunk.byteLength);
            controller.enqueue(chunk);
          },
        }),
      );
      if (THROTTLE) counted = counted.pipeThrough(slowStream());
      try {
        await v.indexes.putEncoded(d, await indexers.index(d, counted, { signal }), {
          decode: true,
        });
      } catch {
        signal.throwIfAborted();
      }
    }),
  );
}

/** The package database of an image, when it has one (dpkg status, status.d, apk). */
async function packages(ref: ImageRef, a: ImageAnalysis): Promise<PackageList | undefined> {
  const store = view(ref.view).store;
  const read = async (path: string) => {
    const node = a.full.lookup(path, { follow: true });
    const content = node && linkRoot(node).content;
    if (!content) return undefined;
    const r = await readFileBytes(store, a.image, content, { max: 32 * 1024 * 1024 });
    return new TextDecoder().decode(r.bytes);
  };
  for (const db of PACKAGE_DATABASES) {
    const text = await read(db.path);
    if (text === undefined) continue;
    return {
      source: db.path,
      kind: db.kind,
      packages: db.kind === "dpkg" ? parseDpkgStatus(text) : parseApkInstalled(text),
    };
  }
  const dir = a.full.lookup(DPKG_STATUS_DIR, { follow: true });
  if (dir?.children?.size) {
    const texts: string[] = [];
    for (const name of [...dir.children.keys()].sort().slice(0, 5000)) {
      const t = await read(`${DPKG_STATUS_DIR}/${name}`);
      if (t !== undefined) texts.push(t);
    }
    return {
      source: `${DPKG_STATUS_DIR}/`,
      kind: "dpkg",
      packages: parseDpkgStatus(texts.join("\n\n")),
    };
  }
  return undefined;
}

function directorySource(source: SourceMessage, signal: AbortSignal): DirectorySource {
  if (source.kind === "files") return fileListSource(source.files, { signal, label: source.label });
  if (source.kind === "handle") {
    return directoryHandleSource(source.handle as DirectoryHandleLike, { signal });
  }
  throw new TypeError("not a folder");
}

/**
 * The importer's source. With `progress`, a file's bytes are counted as the importer
 * takes them (in pieces of at most 1 MiB: see `cancellable`), over the file's size.
 */
function importSource(
  source: SourceMessage,
  signal: AbortSignal,
  progress?: ReturnType<typeof throttled>,
): ImportSource {
  if (source.kind === "file") {
    return fileSource(throttled_(source.file), {
      signal,
      label: source.file.name,
      onBytes: progress ? (n) => progress.add(n, "reading") : undefined,
    });
  }
  return directorySource(source, signal);
}

/**
 * The file, read slowly when the THROTTLE testing aid is on: THROTTLE ms per MiB read,
 * through `slice().arrayBuffer()` (how the importer reads a file) and `stream()` alike.
 */
function throttled_(file: File): Blob & { name: string } {
  if (!THROTTLE) return file;
  const slow = (blob: Blob): Blob =>
    ({
      size: blob.size,
      type: blob.type,
      slice: (start?: number, end?: number) => slow(blob.slice(start, end)),
      arrayBuffer: async () => {
        await wait(blob.size);
        return await blob.arrayBuffer();
      },
      stream: () => blob.stream().pipeThrough(slowStream()),
    }) as unknown as Blob;
  return Object.assign(slow(file), { name: file.name });
}

/** THROTTLE ms per MiB (at least once). */
function wait(bytes: number) {
  return new Promise((r) => setTimeout(r, THROTTLE * Math.max(1, bytes / (1024 * 1024))));
}

/** Passes chunks on, THROTTLE ms per MiB. */
function slowStream() {
  return new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      await wait(chunk.byteLength);
      controller.enqueue(chunk);
    },
  });
}

/** The store's blobs read slowly when the THROTTLE testing aid is on (layer reading). */
function slowProvider(store: BlobProvider): BlobProvider {
  if (!THROTTLE) return store;
  const slow = Object.create(store) as BlobProvider;
  slow.reader = async (digest, options) =>
    (await store.reader(digest, options)).pipeThrough(slowStream());
  slow.has = (d) => store.has(d);
  slow.info = (d) => store.info(d);
  return slow;
}

function totalOf(source: SourceMessage): number | undefined {
  if (source.kind === "file") return source.file.size;
  if (source.kind === "files") return source.files.reduce((n, f) => n + f.file.size, 0);
  return undefined;
}

async function isCompressed(file: Blob): Promise<boolean> {
  const h = new Uint8Array(await file.slice(0, 4).arrayBuffer());
  return (h[0] === 0x1f && h[1] === 0x8b) ||
    (h[0] === 0x28 && h[1] === 0xb5 && h[2] === 0x2f && h[3] === 0xfd);
}

async function closeScratch(): Promise<void> {
  for (const [id, v] of views) {
    if (v.scratch) {
      await v.scratch.close();
      views.delete(id);
    }
  }
  await removeOpfsStore(SCRATCH_PATH).catch(() => {});
}

async function handle(id: number, request: Request, signal: AbortSignal): Promise<unknown> {
  switch (request.op) {
    case "summaries": {
      const v = view(request.view);
      return { label: v.label, format: v.format, images: await listImageSummaries(v.store) };
    }
    case "import": {
      const total = totalOf(request.source);
      const progress = throttled(id, total);
      // True progress is what reached the store (written and hashed), not what was read
      // ahead: an uncompressed archive's blobs add up to (almost) its size. A compressed
      // archive has no known uncompressed total: its progress is the compressed bytes the
      // decompressor took (at most 1 MiB ahead), over the archive's size.
      const compressed = request.source.kind === "file" && await isCompressed(request.source.file);
      const stored = throttled(id, total);
      const source = importSource(request.source, signal, compressed ? progress : undefined);
      const result = await importIndexed(store, source, NO_INDEX ? undefined : indexers, {
        ...NAMES,
        onIndexed: indexingProgress(id),
        signal,
        onProgress: source.kind === "directory" && total === undefined
          ? (n) => progress.set(n, "reading")
          : undefined,
        onBytes: compressed || total === undefined ? undefined : (n) => stored.add(n, "storing"),
      });
      views.get("store")!.cache.clear();
      return result;
    }
    case "open": {
      const progress = throttled(id, totalOf(request.source));
      let v: View;
      if (request.source.kind === "file") {
        const file = request.source.file;
        if (await isCompressed(file)) {
          // A compressed archive has no random access: import it into a scratch store.
          await closeScratch();
          const scratch = await openOpfsStore({ path: SCRATCH_PATH, writerWorker });
          try {
            await importIndexed(
              scratch,
              fileSource(file, { signal, onBytes: (n) => progress.add(n, "decompressing") }),
              NO_INDEX ? undefined : indexers,
              { ...NAMES, signal, onIndexed: indexingProgress(id) },
            );
          } catch (e) {
            await scratch.close();
            await removeOpfsStore(SCRATCH_PATH).catch(() => {});
            throw e;
          }
          v = {
            store: scratch,
            label: file.name,
            format: "compressed archive",
            cache: new Map(),
            indexes: scratch.layerIndex,
            scratch,
          };
        } else {
          const index = await indexTar(file, { what: file.name, signal });
          const opened = await openArchive(tarFiles(index, file.name));
          v = {
            store: opened.store,
            label: file.name,
            format: opened.format,
            cache: new Map(),
            indexes: memoryIndexes(),
          };
        }
      } else {
        const source = directorySource(request.source, signal);
        const opened = await openArchive(directoryFiles(source));
        v = {
          store: opened.store,
          label: source.label,
          format: opened.format,
          cache: new Map(),
          indexes: memoryIndexes(),
        };
      }
      const viewId = `open-${nextView++}`;
      views.set(viewId, v);
      return {
        view: viewId,
        label: v.label,
        format: v.format ?? "",
        images: await listImageSummaries(v.store),
        scratch: !!v.scratch,
      };
    }
    case "closeView": {
      const v = views.get(request.view);
      if (v && request.view !== "store") {
        views.delete(request.view);
        if (v.scratch) await closeScratch();
      }
      return undefined;
    }
    case "detail": {
      const v = view(request.view);
      return await imageDetail(v.store, request.name, { platform: request.platform });
    }
    case "analyze":
      return (await analysis(request.image, signal, id)).layers();
    case "layerTree":
      return (await analysis(request.image, signal)).tree(request.layer, request.mode);
    case "efficiency":
      return (await analysis(request.image, signal)).efficiency();
    case "search":
      return (await analysis(request.image, signal)).search(request.query);
    case "provenance":
      return (await analysis(request.image, signal)).provenance(request.path);
    case "resolve":
      return (await analysis(request.image, signal)).resolve(request.path, request.layer);
    case "security": {
      const a = await analysis(request.image, signal);
      return { flagged: a.flagged(), packages: await packages(request.image, a) };
    }
    case "compare": {
      const [a, b] = [
        await analysis(request.a, signal, id),
        await analysis(request.b, signal, id),
      ];
      return compareImages(a, b, {
        a: configSummary(a.image.config),
        b: configSummary(b.image.config),
      });
    }
    case "file": {
      const a = await analysis(request.image, signal);
      return await readFileBytes(view(request.image.view).store, a.image, request.ref, {
        max: request.max,
      });
    }
    case "storage": {
      let blobs = 0;
      let bytes = 0;
      for await (const b of store.list()) {
        blobs++;
        bytes += b.size;
      }
      const gc = await collectGarbage(store, { dryRun: true });
      return {
        blobs,
        bytes,
        unreferenced: gc.removed.length,
        unreferencedBytes: gc.bytes,
        images: (await store.listImages()).length,
      };
    }
    case "export": {
      const v = view(request.view);
      const stream = await exportArchive(v.store, [request.name]);
      const blob = await new Response(stream).blob();
      const fileName = `${request.name.replace(/[^A-Za-z0-9._-]+/g, "_")}.tar`;
      return { blob, fileName };
    }
    case "delete": {
      await store.deleteImages(request.names);
      views.get("store")!.cache.clear();
      return undefined;
    }
    case "gc": {
      const result = await collectGarbage(store);
      // The layer indexes of removed blobs go too (as the CLI's gc does).
      await store.layerIndex.prune((d) => store.has(d as Digest)).catch(() => 0);
      return result;
    }
  }
}

/** The page's worker: requests in, results out; the store opened once. */
async function serveRequests(): Promise<void> {
  scope.onmessage = async (e: MessageEvent) => {
    const m = e.data as ToWorker;
    if ("cancel" in m) {
      running.get(m.id)?.abort(new DOMException("cancelled by the user", "AbortError"));
      return;
    }
    const ac = new AbortController();
    running.set(m.id, ac);
    try {
      const result = await handle(m.id, m.request, ac.signal);
      const transfer = result && typeof result === "object" && "bytes" in result &&
          (result as { bytes: unknown }).bytes instanceof Uint8Array
        ? [(result as { bytes: Uint8Array }).bytes.buffer as ArrayBuffer]
        : undefined;
      post({ id: m.id, result }, transfer);
    } catch (err) {
      post({ id: m.id, error: serialize(err) });
    } finally {
      running.delete(m.id);
    }
  };

  try {
    store = await openOpfsStore({ path: STORE_PATH, writerWorker });
    views.set("store", {
      store,
      label: "this browser's store",
      cache: new Map(),
      indexes: store.layerIndex,
    });
    await removeOpfsStore(SCRATCH_PATH).catch(() => {});
    // Load the codecs now (hash-wasm compiles its module on first use), not in the first import.
    await (await getRuntime()).createHasher("sha256");
    post({ ready: true });
  } catch (e) {
    post({ fatal: serialize(e) });
  }
}

// The same script serves as the layer indexing workers (no second bundle to download).
if (scope.name === INDEXER_NAME) {
  serveIndexer(globalThis as unknown as Parameters<typeof serveIndexer>[0]);
} else await serveRequests();
