/**
 * An audit of an on-disk store that trusts nothing of lading's: every file under `blobs/`
 * re-hashed with `node:crypto` against its name and compared with the size it must have,
 * `index.json` parsed, and every name's graph (index → manifests → config and layers)
 * walked with plain `JSON.parse`, each blob present, a regular file, of the descriptor's
 * size and hashing to its digest.
 * @module
 */
import { createHash } from "node:crypto";

/** One finding. */
export interface AuditFinding {
  /** The blob path (`blobs/sha256/<hex>`) or the name. */
  readonly what: string;
  /** Why. */
  readonly why: string;
}

/** What {@link auditStore} found. */
export interface StoreAudit {
  /** Files under `blobs/<alg>/`. */
  readonly blobs: number;
  /** Blobs whose bytes do not hash to their name. */
  readonly corrupt: readonly AuditFinding[];
  /**
   * Visible partial blobs: anything in `blobs/` that is not a complete blob — a size other
   * than the blob's known size, a name that is not a digest, not a regular file.
   */
  readonly partial: readonly AuditFinding[];
  /** Names in index.json. */
  readonly names: readonly string[];
  /** Names whose graph is incomplete or does not verify (or an unreadable index.json). */
  readonly broken: readonly AuditFinding[];
  /** Files in `ingest/` and `leases/` (in-flight or left by a dead process). */
  readonly leftovers: number;
  /** Of those, the files in `ingest/` (partly written or uncommitted blobs). */
  readonly ingest: number;
}

const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);
const MANIFEST_TYPES = new Set([
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
]);

interface Desc {
  mediaType?: string;
  digest: string;
  size: number;
}

const BUFFER = new Uint8Array(1024 * 1024);

/** sha256 (or sha512) hex of a file, read synchronously in 1 MiB pieces. */
function hashFile(path: string, alg: string): { hex: string; size: number } {
  const file = Deno.openSync(path);
  try {
    const h = createHash(alg);
    let size = 0;
    for (;;) {
      const n = file.readSync(BUFFER);
      if (n === null) break;
      h.update(BUFFER.subarray(0, n));
      size += n;
    }
    return { hex: h.digest("hex"), size };
  } finally {
    file.close();
  }
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  try {
    for await (const _ of Deno.readDir(dir)) n++;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return n;
}

/**
 * Audits the store in `dir`. `sizes` gives the size each known digest must have (blobs
 * of other digests are only hashed).
 */
export async function auditStore(
  dir: string,
  sizes: ReadonlyMap<string, number> = new Map(),
): Promise<StoreAudit> {
  const corrupt: AuditFinding[] = [];
  const partial: AuditFinding[] = [];
  const broken: AuditFinding[] = [];
  /** digest -> size of every blob that hashes to its name. */
  const good = new Map<string, number>();
  let blobs = 0;
  for await (const alg of Deno.readDir(`${dir}/blobs`)) {
    const algDir = `${dir}/blobs/${alg.name}`;
    if (!alg.isDirectory || !/^sha(256|512)$/.test(alg.name)) {
      partial.push({ what: `blobs/${alg.name}`, why: "not a digest algorithm directory" });
      continue;
    }
    for await (const e of Deno.readDir(algDir)) {
      blobs++;
      const what = `blobs/${alg.name}/${e.name}`;
      const hexLength = alg.name === "sha256" ? 64 : 128;
      if (!e.isFile) {
        partial.push({ what, why: "not a regular file" });
        continue;
      }
      if (!new RegExp(`^[0-9a-f]{${hexLength}}$`).test(e.name)) {
        partial.push({ what, why: "a name that is not a digest (a temporary file?)" });
        continue;
      }
      const digest = `${alg.name}:${e.name}`;
      const { hex, size } = hashFile(`${algDir}/${e.name}`, alg.name);
      const expected = sizes.get(digest);
      if (expected !== undefined && expected !== size) {
        partial.push({ what, why: `${size} bytes, the blob has ${expected}` });
      }
      if (hex !== e.name) corrupt.push({ what, why: `hashes to ${alg.name}:${hex}` });
      else good.set(digest, size);
    }
  }

  let entries: (Desc & { annotations?: Record<string, string> })[] = [];
  try {
    const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
    if (!Array.isArray(index.manifests)) throw new Error("no manifests array");
    entries = index.manifests;
  } catch (e) {
    broken.push({ what: "index.json", why: `unreadable: ${(e as Error).message}` });
  }

  const checked = new Map<string, string | null>();
  const checkGraph = async (d: Desc, depth: number): Promise<string | null> => {
    const key = `${d.digest}/${d.size}/${d.mediaType}`;
    if (checked.has(key)) return checked.get(key)!;
    let why: string | null = null;
    const size = good.get(d.digest);
    if (size === undefined) why = `${d.digest} is missing or corrupt`;
    else if (size !== d.size) why = `${d.digest} has ${size} bytes, its descriptor says ${d.size}`;
    else if (depth > 8) why = "nested too deep";
    else if (INDEX_TYPES.has(d.mediaType ?? "") || MANIFEST_TYPES.has(d.mediaType ?? "")) {
      const [alg, hex] = d.digest.split(":");
      let doc: { manifests?: Desc[]; config?: Desc; layers?: Desc[] };
      try {
        doc = JSON.parse(await Deno.readTextFile(`${dir}/blobs/${alg}/${hex}`));
      } catch (e) {
        doc = {};
        why = `${d.digest} is not JSON: ${(e as Error).message}`;
      }
      const children = INDEX_TYPES.has(d.mediaType!)
        ? doc.manifests ?? []
        : [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])];
      if (!why && MANIFEST_TYPES.has(d.mediaType!) && !doc.config) {
        why = `${d.digest} has no config`;
      }
      for (const child of children) {
        if (why) break;
        why = await checkGraph(child, depth + 1);
      }
    }
    checked.set(key, why);
    return why;
  };

  const names: string[] = [];
  for (const entry of entries) {
    const name = entry.annotations?.["io.containerd.image.name"] ??
      entry.annotations?.["org.opencontainers.image.ref.name"] ?? entry.digest;
    names.push(name);
    const why = await checkGraph(entry, 0);
    if (why) broken.push({ what: name, why });
  }
  const ingest = await countFiles(`${dir}/ingest`);
  const leftovers = ingest + (await countFiles(`${dir}/leases`));
  return { blobs, corrupt, partial, names: names.sort(), broken, leftovers, ingest };
}
