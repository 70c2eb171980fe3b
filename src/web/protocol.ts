// This module is browser compatible.
/**
 * The messages between the web page and its worker, which owns the OPFS store (see
 * `src/store/opfs.ts` for why the store lives in a worker), and a small client for the
 * page side. Each request carries an id; the worker answers with `result` or `error`, and
 * may send `progress` first. `cancel` aborts a running request (an import leaves nothing
 * behind).
 *
 * @example
 * ```ts
 * import { WorkerClient } from "./protocol.ts";
 * // A fake worker that answers every request with its op name.
 * const fake = {
 *   onmessage: null as ((e: MessageEvent) => void) | null,
 *   postMessage(m: { id: number; request: { op: string } }) {
 *     queueMicrotask(() => this.onmessage?.({ data: { id: m.id, result: m.request.op } } as MessageEvent));
 *   },
 * };
 * const client = new WorkerClient(fake);
 * console.log(await client.call({ op: "gc" })); // gc
 * ```
 * @module
 */
import { WorkerError } from "../errors.ts";
import type { ImageSummary } from "../image.ts";
import type { ImportResult } from "../import/mod.ts";
import type { GcResult } from "../gc.ts";
import type { FileBytes, ImageDetail } from "./inspect.ts";
import type {
  EfficiencyView,
  ExploreNode,
  FlaggedPath,
  LayersView,
  ProvenanceView,
  SearchView,
  TreeMode,
} from "./explore.ts";
import type { Comparison } from "./compare.ts";
import type { InstalledPackage } from "./packages.ts";
import type { RelativeFile } from "./sources.ts";

/** What the user gave: a file, a folder's files, or a folder handle. */
export type SourceMessage =
  | { readonly kind: "file"; readonly file: File }
  | { readonly kind: "files"; readonly label: string; readonly files: readonly RelativeFile[] }
  | { readonly kind: "handle"; readonly handle: unknown };

/** `store` is the OPFS store; other views are opened archives or folders. */
export type ViewId = string;

/** One image of one view, on one platform (default: as `resolveImage` picks). */
export interface ImageRef {
  readonly view: ViewId;
  readonly name: string;
  readonly platform?: string;
}

/** The packages an image's database lists. */
export interface PackageList {
  /** The database file read (`var/lib/dpkg/status`, …). */
  readonly source: string;
  readonly kind: "dpkg" | "apk";
  readonly packages: readonly InstalledPackage[];
}

/** What the store holds and what gc would free. */
export interface StorageInfo {
  readonly blobs: number;
  readonly bytes: number;
  /** Blobs no image needs (what gc would remove). */
  readonly unreferenced: number;
  readonly unreferencedBytes: number;
  readonly images: number;
}

/** Requests and their results. */
export type Request =
  | { readonly op: "summaries"; readonly view: ViewId }
  | { readonly op: "import"; readonly source: SourceMessage }
  | { readonly op: "open"; readonly source: SourceMessage }
  | { readonly op: "closeView"; readonly view: ViewId }
  | {
    readonly op: "detail";
    readonly view: ViewId;
    readonly name: string;
    readonly platform?: string;
  }
  | { readonly op: "analyze"; readonly image: ImageRef }
  | {
    readonly op: "layerTree";
    readonly image: ImageRef;
    readonly layer: number;
    readonly mode: TreeMode;
  }
  | { readonly op: "efficiency"; readonly image: ImageRef }
  | { readonly op: "search"; readonly image: ImageRef; readonly query: string }
  | { readonly op: "provenance"; readonly image: ImageRef; readonly path: string }
  | { readonly op: "security"; readonly image: ImageRef }
  | {
    readonly op: "resolve";
    readonly image: ImageRef;
    readonly path: string;
    readonly layer?: number;
  }
  | { readonly op: "compare"; readonly a: ImageRef; readonly b: ImageRef }
  | {
    readonly op: "file";
    readonly image: ImageRef;
    readonly ref: { readonly layer: number; readonly entry: number };
    readonly max?: number;
  }
  | { readonly op: "storage" }
  | { readonly op: "export"; readonly view: ViewId; readonly name: string }
  | { readonly op: "delete"; readonly names: readonly string[] }
  | { readonly op: "gc" };

/** The result type of each request. */
export interface Results {
  summaries: { label: string; format?: string; images: ImageSummary[] };
  import: ImportResult;
  open: {
    view: ViewId;
    label: string;
    format: string;
    images: ImageSummary[];
    scratch: boolean;
  };
  closeView: void;
  detail: ImageDetail;
  analyze: LayersView;
  layerTree: ExploreNode[];
  efficiency: EfficiencyView;
  search: SearchView;
  provenance: ProvenanceView;
  security: { flagged: FlaggedPath[]; packages?: PackageList };
  resolve: ExploreNode;
  compare: Comparison;
  file: FileBytes;
  storage: StorageInfo;
  export: { blob: Blob; fileName: string };
  delete: void;
  gc: GcResult;
}

/** Progress of a long request. */
export interface Progress {
  /** Bytes read so far. */
  readonly bytes: number;
  /** Total bytes when known. */
  readonly total?: number;
  /** What is happening. */
  readonly phase?: string;
}

/** Page → worker. */
export type ToWorker =
  | { readonly id: number; readonly request: Request }
  | { readonly id: number; readonly cancel: true };

/** A serialized error (class name and message survive). */
export interface ErrorMessage {
  readonly name: string;
  readonly message: string;
}

/** Worker → page. */
export type FromWorker =
  | { readonly id: number; readonly result: unknown }
  | { readonly id: number; readonly error: ErrorMessage }
  | { readonly id: number; readonly progress: Progress }
  | { readonly ready: true }
  | { readonly fatal: ErrorMessage };

/** The parts of a `Worker` the client uses. */
export interface WorkerLike {
  postMessage(message: unknown): void;
  onmessage: ((e: MessageEvent) => void) | null;
}

/** A request in flight. */
export interface Call<T> extends Promise<T> {
  /** Asks the worker to stop it; the promise then rejects. */
  cancel(): void;
}

/** The page side of the protocol. */
export class WorkerClient {
  #worker: WorkerLike;
  #next = 1;
  #pending = new Map<number, {
    resolve: (v: unknown) => void;
    reject: (e: unknown) => void;
    onProgress?: (p: Progress) => void;
  }>();
  /** Called when the worker reports a fatal error (it could not start). */
  onFatal?: (error: WorkerError) => void;
  /** Resolves when the worker said it is ready. */
  readonly ready: Promise<void>;

  constructor(worker: WorkerLike) {
    this.#worker = worker;
    let ready!: () => void;
    this.ready = new Promise((r) => (ready = r));
    worker.onmessage = (e: MessageEvent) => {
      const m = e.data as FromWorker;
      if ("ready" in m) return ready();
      if ("fatal" in m) return this.onFatal?.(new WorkerError(m.fatal));
      const p = this.#pending.get(m.id);
      if (!p) return;
      if ("progress" in m) return p.onProgress?.(m.progress);
      this.#pending.delete(m.id);
      if ("error" in m) p.reject(new WorkerError(m.error));
      else p.resolve(m.result);
    };
  }

  /** Sends a request. */
  call<R extends Request>(
    request: R,
    options: { onProgress?: (p: Progress) => void; transfer?: Transferable[] } = {},
  ): Call<Results[R["op"]]> {
    const id = this.#next++;
    const promise = new Promise<Results[R["op"]]>((resolve, reject) => {
      this.#pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        onProgress: options.onProgress,
      });
    }) as Call<Results[R["op"]]>;
    promise.cancel = () => this.#worker.postMessage({ id, cancel: true } satisfies ToWorker);
    this.#worker.postMessage({ id, request } satisfies ToWorker);
    return promise;
  }
}
