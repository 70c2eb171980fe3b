/**
 * The README's "implement the store roles over node:fs" made real: a {@link Store} in a
 * directory that is an OCI image layout, written with `node:fs/promises` and only the
 * public API of `@lading/oci` (`mod.ts`) — no Deno API, so it runs under Node. It follows the fs
 * store's rules: a blob is written under `ingest/` and hashed while it streams, and renamed
 * into `blobs/<alg>/<hex>` only when its size and digest match; index.json is replaced
 * atomically (temporary file, fsync, rename) and names are recorded as containerd does.
 *
 * What it leaves out, and why lading ships no Node filesystem store: `node:fs` has no
 * `flock`, so writers and leases are only serialized inside one process (the Deno store
 * locks `<store>/lock` across processes, and keeps leases in files); do not point it at a
 * directory the lading CLI uses at the same time. Resumable writes start again at 0.
 *
 * `tests/node/node_test.ts` runs the store conformance suite (`tests/store/suite.ts`)
 * against it under Node; `tests/node/node_fs_store_test.ts` runs it under Deno too.
 * @module
 */
import { createReadStream } from "node:fs";
import { lstat, mkdir, open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { Readable } from "node:stream";
import {
  type BlobInfo,
  type BlobWriter,
  CONTAINERD_NAME,
  type Digest,
  DigestMismatchError,
  type Expectation,
  getRuntime,
  type Hasher,
  type ImageRecord,
  type Lease,
  NotFoundError,
  OCI_INDEX,
  OCI_REF_NAME,
  parseDigest,
  SizeMismatchError,
  type Store,
} from "../../mod.ts"; // `@lading/oci` (a relative path so that esbuild bundles it for Node)

type Entry = Record<string, unknown> & { annotations?: Record<string, string> };

function isNotFound(e: unknown): boolean {
  return (e as { code?: string })?.code === "ENOENT";
}

/** Opens (and creates when missing) a store in `dir`. */
export async function openNodeFsStore(dir: string): Promise<NodeFsStore> {
  for (const sub of ["blobs/sha256", "blobs/sha512", "ingest"]) {
    await mkdir(`${dir}/${sub}`, { recursive: true });
  }
  try {
    await writeFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}', { flag: "wx" });
  } catch (e) {
    if ((e as { code?: string }).code !== "EEXIST") throw e;
  }
  for (const stale of await readdir(`${dir}/ingest`)) await rm(`${dir}/ingest/${stale}`);
  return new NodeFsStore(dir);
}

/** See the module documentation. */
export class NodeFsStore implements Store {
  readonly dir: string;
  #queue: Promise<unknown> = Promise.resolve();
  #leases = new Map<string, Set<Digest>>();

  constructor(dir: string) {
    this.dir = dir;
  }

  #path(digest: Digest): string {
    const { algorithm, encoded } = parseDigest(digest); // refuses `sha256:../x` and friends
    return `${this.dir}/blobs/${algorithm}/${encoded}`;
  }

  async has(digest: Digest): Promise<boolean> {
    try {
      return (await lstat(this.#path(digest))).isFile();
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async info(digest: Digest): Promise<BlobInfo> {
    const path = this.#path(digest);
    try {
      const s = await lstat(path);
      if (s.isFile()) return { digest, size: s.size };
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    throw new NotFoundError(`blob ${digest} not found in ${this.dir}`);
  }

  async reader(digest: Digest, options: { offset?: number } = {}) {
    await this.info(digest);
    const stream = createReadStream(this.#path(digest), { start: options.offset ?? 0 });
    return Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>;
  }

  async writer(): Promise<BlobWriter> {
    const path = `${this.dir}/ingest/${crypto.randomUUID()}`;
    const file = await open(path, "wx");
    const runtime = await getRuntime();
    const hashers = new Map<string, Hasher>();
    for (const algorithm of ["sha256", "sha512"] as const) {
      hashers.set(algorithm, await runtime.createHasher(algorithm));
    }
    let written = 0;
    let state: "open" | "committed" | "aborted" = "open";
    const usable = () => {
      if (state !== "open") throw new TypeError(`this blob writer is ${state}`);
    };
    const discard = async () => {
      await file.close().catch(() => {});
      await rm(path, { force: true });
    };
    return {
      write: async (chunk) => {
        usable();
        await file.write(chunk);
        for (const h of hashers.values()) h.update(chunk);
        written += chunk.byteLength;
      },
      commit: async (expected: Expectation) => {
        usable();
        const { algorithm } = parseDigest(expected.digest);
        const target = this.#path(expected.digest as Digest);
        if (written !== expected.size) {
          throw new SizeMismatchError(
            `Cannot commit blob ${expected.digest}: ${written} bytes written, descriptor says ${expected.size}`,
            expected.size,
            written,
          );
        }
        const actual = `${algorithm}:${hashers.get(algorithm)!.digest()}`;
        if (actual !== expected.digest) {
          throw new DigestMismatchError(
            `Cannot commit blob ${expected.digest}: the bytes hash to ${actual}`,
            expected.digest,
            actual,
          );
        }
        await file.sync();
        await file.close();
        state = "committed";
        if (await this.has(expected.digest as Digest)) {
          await rm(path);
          return { added: false };
        }
        await rename(path, target); // visible only now, whole and verified
        return { added: true };
      },
      abort: async () => {
        if (state !== "open") return;
        state = "aborted";
        await discard();
      },
    };
  }

  async delete(digest: Digest): Promise<void> {
    await this.info(digest);
    await rm(this.#path(digest));
  }

  async *list(): AsyncIterable<BlobInfo> {
    const found: BlobInfo[] = [];
    for (const algorithm of ["sha256", "sha512"]) {
      for (const name of await readdir(`${this.dir}/blobs/${algorithm}`)) {
        const digest = `${algorithm}:${name}` as Digest;
        try {
          found.push(await this.info(digest));
        } catch {
          // not a blob file name: ignored, as the OCI layout says
        }
      }
    }
    yield* found.sort((a, b) => (a.digest < b.digest ? -1 : 1));
  }

  // ----- names: index.json, one entry per name -----

  async #index(): Promise<{ manifests: Entry[] } & Record<string, unknown>> {
    try {
      return JSON.parse(await readFile(`${this.dir}/index.json`, "utf8"));
    } catch (e) {
      if (isNotFound(e)) return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
      throw e;
    }
  }

  async #writeIndex(index: Record<string, unknown>): Promise<void> {
    const tmp = `${this.dir}/index.json.tmp-${crypto.randomUUID()}`;
    const file = await open(tmp, "wx");
    await file.writeFile(JSON.stringify(index));
    await file.sync();
    await file.close();
    await rename(tmp, `${this.dir}/index.json`);
  }

  static #nameOf(entry: Entry): string | undefined {
    return entry.annotations?.[CONTAINERD_NAME] ?? entry.annotations?.[OCI_REF_NAME];
  }

  static #recordOf(name: string, entry: Entry): ImageRecord {
    const { [OCI_REF_NAME]: _r, [CONTAINERD_NAME]: _c, ...kept } = entry.annotations ?? {};
    const { annotations: _a, ...target } = entry;
    return {
      name,
      target: (Object.keys(kept).length ? { ...target, annotations: kept } : target) as never,
    };
  }

  async getImage(name: string): Promise<ImageRecord> {
    const entry = (await this.#index()).manifests.find((e) => NodeFsStore.#nameOf(e) === name);
    if (!entry) throw new NotFoundError(`image ${name} not found in store ${this.dir}`);
    return NodeFsStore.#recordOf(name, entry);
  }

  async listImages(): Promise<ImageRecord[]> {
    const out: ImageRecord[] = [];
    for (const entry of (await this.#index()).manifests) {
      const name = NodeFsStore.#nameOf(entry);
      if (name !== undefined) out.push(NodeFsStore.#recordOf(name, entry));
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  putImages(records: readonly ImageRecord[]): Promise<void> {
    return this.exclusive(async () => {
      const index = await this.#index();
      const names = new Set(records.map((r) => r.name));
      const manifests = index.manifests.filter((e) => !names.has(NodeFsStore.#nameOf(e) ?? ""));
      for (const r of records) {
        manifests.push({
          ...r.target,
          annotations: {
            ...r.target.annotations,
            [OCI_REF_NAME]: r.name,
            [CONTAINERD_NAME]: r.name,
          },
        });
      }
      await this.#writeIndex({ ...index, manifests });
    });
  }

  deleteImages(names: readonly string[]): Promise<void> {
    return this.exclusive(async () => {
      const index = await this.#index();
      const present = new Set(index.manifests.map((e) => NodeFsStore.#nameOf(e)));
      const missing = names.filter((n) => !present.has(n));
      if (missing.length) {
        throw new NotFoundError(`image ${missing.join(", ")} not found in store ${this.dir}`);
      }
      const gone = new Set(names);
      const manifests = index.manifests.filter((e) => !gone.has(NodeFsStore.#nameOf(e) ?? ""));
      await this.#writeIndex({ ...index, manifests });
    });
  }

  // ----- leases and the writer lock (this process only) -----

  lease(): Promise<Lease> {
    const id = crypto.randomUUID();
    const digests = new Set<Digest>();
    this.#leases.set(id, digests);
    return Promise.resolve({
      id,
      add: (more) =>
        this.exclusive(() => Promise.resolve(void more.forEach((d) => digests.add(d)))),
      release: () => Promise.resolve(void this.#leases.delete(id)),
    });
  }

  leasedDigests(): Promise<Set<Digest>> {
    const all = new Set<Digest>();
    for (const set of this.#leases.values()) for (const d of set) all.add(d);
    return Promise.resolve(all);
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  close(): Promise<void> {
    return this.#queue.then(() => {});
  }
}
