/**
 * Deno only: the fs store's leases (`leases/<owner>-<random>`, one digest a line) and the
 * clean-up of what dead processes left behind (ingest files, leases, temporary index files;
 * a dead owner's resumable partial write is freed, not removed).
 * @module
 */
import { type Digest, isDigest, randomHex } from "../digest.ts";
import type { Lease } from "./types.ts";
import { mapNoSpace, ownerAlive, ownerToken, parseOwner, removeQuietly } from "./fs_files.ts";
import { fileLease, INDEX_TMP_PREFIX } from "./layout.ts";

/** A file {@link removeStaleFilesIn} removed (or, in a dry run, would remove). */
export interface StaleFile {
  /** Path relative to the store. */
  readonly path: string;
  /** Its size in bytes. */
  readonly size: number;
  /** A partial download (`ingest/r-<alg>-<hex>`): the digest it was becoming. */
  readonly partial?: Digest;
}

/** Options of {@link removeStaleFilesIn}. */
export interface StaleFileOptions {
  /** Say what would be removed, remove nothing. */
  readonly dryRun?: boolean;
  /**
   * Also remove partial downloads nobody holds (`ingest/r-<alg>-<hex>`, kept so that a
   * later pull resumes them) last written at least this many ms ago; `0`: all of them. A
   * partial download of a blob the store has is removed whatever its age. Default: keep
   * them (opening a store never removes them).
   */
  readonly partialsOlderThanMs?: number;
  /** The clock (tests). */
  readonly now?: number;
}

/** `r-<alg>-<hex>`: a partial download nobody holds. */
const FREE_PARTIAL_NAME = /^r-(sha256|sha512)-([0-9a-f]+)$/;

/** `<pid>.<start>-r-<alg>-<hex>`: a resumable partial write held by a process. */
const RESUMABLE_NAME = /^(\d+)\.(\d+)-r-((?:sha256|sha512)-[0-9a-f]+)$/;

/**
 * Removes what dead processes left behind: ingest files, leases and temporary index
 * files whose owner is gone (when a store opens). Files of live processes,
 * and names this store did not make, are kept. Returns what it removed, or with
 * `dryRun` what it would remove.
 */
export async function removeStaleFilesIn(
  store: string,
  options: StaleFileOptions = {},
): Promise<StaleFile[]> {
  const removed: StaleFile[] = [];
  const places: [string, (name: string) => string | undefined][] = [
    ["ingest", (n) => n],
    ["leases", (n) => n],
    [".", (n) => (n.startsWith(INDEX_TMP_PREFIX) ? n.slice(INDEX_TMP_PREFIX.length) : undefined)],
  ];
  for (const [sub, ownedPart] of places) {
    const dir = `${store}/${sub}`;
    try {
      // Listed synchronously (see fs.ts): these directories hold a few files.
      for (const entry of Deno.readDirSync(dir)) {
        if (!entry.isFile) continue;
        const resumable = sub === "ingest" ? RESUMABLE_NAME.exec(entry.name) : null;
        if (resumable) {
          // A dead owner's partial write becomes free to resume (not removed).
          if (await ownerAlive(Number(resumable[1]), resumable[2])) continue;
          if (!options.dryRun) {
            await Deno.rename(`${dir}/${entry.name}`, `${dir}/r-${resumable[3]}`).catch(
              () => removeQuietly(`${dir}/${entry.name}`),
            );
          }
          continue;
        }
        const free = sub === "ingest" ? FREE_PARTIAL_NAME.exec(entry.name) : null;
        if (free) {
          const stale = await stalePartial(store, entry.name, free, options);
          if (stale) removed.push(stale);
          continue;
        }
        const part = ownedPart(entry.name);
        const owner = part === undefined ? undefined : parseOwner(part);
        if (!owner || await ownerAlive(owner.pid, owner.start)) continue;
        const path = `${dir}/${entry.name}`;
        const size = await Deno.stat(path).then((st) => st.size, () => 0);
        if (!options.dryRun) await removeQuietly(path);
        removed.push({ path: sub === "." ? entry.name : `${sub}/${entry.name}`, size });
      }
    } catch (e) {
      // A missing directory or a read-only layout made by another tool is fine.
      if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied)) {
        throw e;
      }
    }
  }
  return removed;
}

/** A free partial download gc may remove (removed unless a dry run), else undefined. */
async function stalePartial(
  store: string,
  name: string,
  [, algorithm, encoded]: RegExpExecArray,
  options: StaleFileOptions,
): Promise<StaleFile | undefined> {
  if (options.partialsOlderThanMs === undefined) return undefined;
  const path = `${store}/ingest/${name}`;
  const st = await Deno.lstat(path).catch(() => undefined);
  if (!st?.isFile) return undefined;
  const digest = `${algorithm}:${encoded}` as Digest;
  const complete = await Deno.lstat(`${store}/blobs/${algorithm}/${encoded}`).then(
    (b) => b.isFile,
    () => false,
  );
  const age = (options.now ?? Date.now()) - (st.mtime?.getTime() ?? 0);
  if (!complete && age < options.partialsOlderThanMs) return undefined;
  if (!options.dryRun) await removeQuietly(path);
  return { path: `ingest/${name}`, size: st.size, partial: digest };
}

/**
 * A new lease file `<store>/leases/<owner>-<random>` (the directory exists); `exclusive`
 * runs a function under the store's writer lock (additions take it, so gc sees them).
 */
export async function createLease(
  store: string,
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>,
): Promise<Lease> {
  const id = `${await ownerToken()}-${randomHex()}`;
  const path = `${store}/leases/${id}`;
  try {
    await Deno.writeFile(path, new Uint8Array(), { createNew: true });
  } catch (e) {
    throw mapNoSpace(e, `create lease ${path}`);
  }
  return fileLease(id, {
    exclusive,
    append: async (digests) => {
      try {
        await Deno.writeTextFile(path, digests.map((d) => `${d}\n`).join(""), { append: true });
      } catch (e) {
        throw mapNoSpace(e, `add to lease ${path}`);
      }
    },
    remove: () => removeQuietly(path),
  });
}

/** Digests of leases whose owner process is alive; dead processes' leases are removed. */
export async function leasedDigestsIn(store: string): Promise<Set<Digest>> {
  const all = new Set<Digest>();
  const dir = `${store}/leases`;
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) if (entry.isFile) names.push(entry.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return all;
    throw e;
  }
  for (const name of names) {
    const owner = parseOwner(name);
    if (!owner) continue;
    if (!await ownerAlive(owner.pid, owner.start)) {
      await removeQuietly(`${dir}/${name}`);
      continue;
    }
    let text: string;
    try {
      text = await Deno.readTextFile(`${dir}/${name}`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue; // released meanwhile
      throw e;
    }
    for (const line of text.split("\n")) if (isDigest(line)) all.add(line);
  }
  return all;
}
