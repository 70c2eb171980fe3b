// This module is browser compatible.
/**
 * The store's `index.json`: one descriptor per image name, annotated with
 * `org.opencontainers.image.ref.name` and `io.containerd.image.name` (the full name).
 * Pure functions shared by the filesystem and OPFS stores: parse, list records, put and
 * delete names (entries without a name and unknown top-level fields are kept), serialize.
 *
 * @example
 * ```ts
 * import { emptyLayoutIndex, putRecords, recordsOf } from "./layout_index.ts";
 * const doc = putRecords(emptyLayoutIndex(), [{
 *   name: "example.com/a:1",
 *   target: {
 *     mediaType: "application/vnd.oci.image.manifest.v1+json",
 *     digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 *     size: 2,
 *   },
 * }]);
 * console.log([...recordsOf(doc, "index.json").keys()]); // [ "example.com/a:1" ]
 * ```
 * @module
 */
import { parseDigest } from "../digest.ts";
import { InvalidInputError, NotFoundError } from "../errors.ts";
import { CONTAINERD_NAME, OCI_INDEX, OCI_REF_NAME } from "../media_types.ts";
import type { Descriptor } from "../types.ts";
import type { ImageNames, ImageRecord } from "./types.ts";

/** index.json as read: the raw document, `manifests` checked to be an array. */
export type LayoutIndex = Readonly<Record<string, unknown>> & { readonly manifests: unknown[] };

/** Largest index.json read (64 MiB). */
export const INDEX_LIMIT = 64 * 1024 * 1024;

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An index with no entries. */
export function emptyLayoutIndex(): LayoutIndex {
  return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
}

/** Parses index.json bytes (`where` names the file in messages). */
export function parseLayoutIndex(bytes: Uint8Array, where: string): LayoutIndex {
  if (bytes.byteLength > INDEX_LIMIT) {
    throw new InvalidInputError(
      `Cannot read ${where}: ${bytes.byteLength} bytes, more than the ${INDEX_LIMIT}-byte limit`,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new InvalidInputError(`Cannot read ${where}: not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(doc) || !Array.isArray(doc.manifests)) {
    throw new InvalidInputError(`Cannot read ${where}: "manifests" must be an array`);
  }
  return doc as LayoutIndex;
}

/** The bytes of an index with these entries (other top-level fields kept). */
export function serializeLayoutIndex(doc: LayoutIndex): Uint8Array {
  const { schemaVersion: _s, mediaType, manifests, ...rest } = doc;
  return new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: typeof mediaType === "string" ? mediaType : OCI_INDEX,
    ...rest,
    manifests,
  }));
}

/** The name of an entry: `io.containerd.image.name` wins over the ref.name annotation. */
export function entryNameOf(entry: unknown): string | undefined {
  if (!isObject(entry) || !isObject(entry.annotations)) return undefined;
  const containerd = entry.annotations[CONTAINERD_NAME];
  if (typeof containerd === "string" && containerd !== "") return containerd;
  const ref = entry.annotations[OCI_REF_NAME];
  if (typeof ref === "string" && ref !== "") return ref;
  return undefined;
}

function recordOf(name: string, entry: JsonObject, where: string): ImageRecord {
  const field = `${where}, image ${JSON.stringify(name)}`;
  if (typeof entry.mediaType !== "string" || entry.mediaType === "") {
    throw new InvalidInputError(`Cannot read ${field}: "mediaType" must be a non-empty string`);
  }
  parseDigest(entry.digest, `digest in ${field}`);
  if (typeof entry.size !== "number" || !Number.isSafeInteger(entry.size) || entry.size < 0) {
    throw new InvalidInputError(`Cannot read ${field}: "size" must be a non-negative integer`);
  }
  const { annotations, ...rest } = entry;
  const kept: Record<string, string> = {};
  for (const [k, v] of Object.entries(isObject(annotations) ? annotations : {})) {
    if (k !== OCI_REF_NAME && k !== CONTAINERD_NAME) kept[k] = v as string;
  }
  const target =
    (Object.keys(kept).length > 0 ? { ...rest, annotations: kept } : rest) as unknown as Descriptor;
  return { name, target };
}

/** Every named entry as a record (the first entry of a name wins). */
export function recordsOf(doc: LayoutIndex, where: string): Map<string, ImageRecord> {
  const records = new Map<string, ImageRecord>();
  doc.manifests.forEach((entry, i) => {
    const name = entryNameOf(entry);
    if (name === undefined || records.has(name)) return;
    records.set(name, recordOf(name, entry as JsonObject, `${where} manifests[${i}]`));
  });
  return records;
}

/**
 * The entries without a name (an image another tool copied in without a tag), one per
 * digest, in file order, leaving out digests a named entry has too.
 */
export function unnamedEntriesOf(doc: LayoutIndex, where: string): Descriptor[] {
  const named = new Set<string>();
  for (const entry of doc.manifests) {
    if (entryNameOf(entry) !== undefined && isObject(entry)) named.add(String(entry.digest));
  }
  const out: Descriptor[] = [];
  doc.manifests.forEach((entry, i) => {
    if (entryNameOf(entry) !== undefined || !isObject(entry)) return;
    if (named.has(String(entry.digest)) || out.some((d) => d.digest === entry.digest)) return;
    out.push(recordOf("(no name)", entry, `${where} manifests[${i}]`).target);
  });
  return out;
}

function descriptorFor(record: ImageRecord): JsonObject {
  return {
    ...record.target,
    annotations: {
      ...record.target.annotations,
      [OCI_REF_NAME]: record.name,
      [CONTAINERD_NAME]: record.name,
    },
  };
}

/** Checks a record given by a caller. @throws {TypeError} */
export function validateRecord(record: ImageRecord): void {
  if (!isObject(record)) throw new TypeError("image record must be an object");
  if (typeof record.name !== "string" || record.name === "") {
    throw new TypeError(
      `image name must be a non-empty string, got ${JSON.stringify(record.name)}`,
    );
  }
  const t = record.target as unknown;
  if (!isObject(t)) throw new TypeError(`target of image ${record.name} must be a descriptor`);
  if (typeof t.mediaType !== "string" || t.mediaType === "") {
    throw new TypeError(`target of image ${record.name} needs a mediaType`);
  }
  parseDigest(t.digest, `target digest of image ${record.name}`);
  if (typeof t.size !== "number" || !Number.isSafeInteger(t.size) || t.size < 0) {
    throw new TypeError(`target size of image ${record.name} must be a non-negative integer`);
  }
}

/** The index with these names inserted or replaced in place (duplicates of a name dropped). */
export function putRecords(doc: LayoutIndex, records: readonly ImageRecord[]): LayoutIndex {
  for (const r of records) validateRecord(r);
  const wanted = new Map<string, ImageRecord>();
  for (const r of records) wanted.set(r.name, r);
  const out: unknown[] = [];
  const placed = new Set<string>();
  for (const entry of doc.manifests) {
    const name = entryNameOf(entry);
    const record = name === undefined ? undefined : wanted.get(name);
    if (!record) out.push(entry);
    else if (!placed.has(record.name)) {
      out.push(descriptorFor(record));
      placed.add(record.name);
    }
  }
  for (const [name, record] of wanted) if (!placed.has(name)) out.push(descriptorFor(record));
  return { ...doc, manifests: out };
}

/**
 * The index without these names.
 * @throws {NotFoundError} when one is absent (`where` names the store).
 */
export function deleteRecords(
  doc: LayoutIndex,
  names: readonly string[],
  where: string,
): LayoutIndex {
  const doomed = new Set(names);
  const present = new Set(doc.manifests.map(entryNameOf));
  for (const name of doomed) {
    if (!present.has(name)) throw new NotFoundError(`image ${name} not found in store ${where}`);
  }
  return {
    ...doc,
    manifests: doc.manifests.filter((entry) => {
      const name = entryNameOf(entry);
      return name === undefined || !doomed.has(name);
    }),
  };
}

/** A layout's index.json as a store reaches it, for {@link layoutImageNames}. */
export interface IndexFile {
  /** The store's location, for messages (`<where>/index.json`). */
  readonly where: string;
  /** Reads index.json (an empty index when there is none). */
  read(): Promise<LayoutIndex>;
  /** Replaces index.json atomically. */
  write(doc: LayoutIndex): Promise<void>;
  /** Runs `fn` under the store's writer lock. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

/** The names of a layout's index.json, and its entries without a name. */
export interface LayoutNames extends ImageNames {
  /** Entries without a name (see {@link unnamedEntriesOf}). */
  unnamedEntries(): Promise<Descriptor[]>;
}

/**
 * The image names of an OCI layout, kept in its index.json — one implementation for the
 * fs and OPFS stores. Entries without a name are skipped (and kept on rewrite);
 * `io.containerd.image.name` wins over `org.opencontainers.image.ref.name`; every change
 * is one atomic rewrite under the writer lock.
 */
export function layoutImageNames(file: IndexFile): LayoutNames {
  const records = async () => recordsOf(await file.read(), `${file.where}/index.json`);
  return {
    async unnamedEntries() {
      return unnamedEntriesOf(await file.read(), `${file.where}/index.json`);
    },
    async getImage(name) {
      const record = (await records()).get(name);
      if (!record) throw new NotFoundError(`image ${name} not found in store ${file.where}`);
      return record;
    },
    async listImages() {
      return [...(await records()).values()].sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0
      );
    },
    async putImages(list) {
      for (const r of list) validateRecord(r);
      // Naming an image again as it is (a re-pull, a re-import) rewrites nothing, and needs
      // no writer lock: if index.json already says so, a change another writer makes after
      // this read is ordered after this call. A read that fails goes the locked way.
      const unchanged = (before: LayoutIndex) =>
        JSON.stringify(putRecords(before, list)) === JSON.stringify(before);
      const seen = await file.read().catch(() => undefined);
      if (seen && unchanged(seen)) return;
      await file.exclusive(async () => {
        const before = await file.read();
        if (!unchanged(before)) await file.write(putRecords(before, list));
      });
    },
    async deleteImages(names) {
      await file.exclusive(async () => {
        await file.write(deleteRecords(await file.read(), names, file.where));
      });
    },
  };
}
