/**
 * Where the CLI's store is and how a command opens it: `--store`, then `LADING_STORE`,
 * then the XDG data directory; only writing commands create a store (its last path
 * component only); read-only commands refuse a missing or empty one; the lock wait is
 * said once; and what an interrupted command leaves in the store is removed.
 * @module
 */
import { InvalidInputError, NotFoundError, UsageError } from "../errors.ts";
import { type FsStoreOptions, openFsStore } from "../store/fs.ts";
import type { BlobManager, Store } from "../store/types.ts";
import { type Digest, parseDigest } from "../digest.ts";
import { printable } from "../printable.ts";
import { atInterrupt, type CliIO, lockTimeoutMs, type Parsed } from "./common.ts";

/** The store directory: --store, then LADING_STORE, then $XDG_DATA_HOME/lading or ~/.local/share/lading. */
export function storeDir(flags: Parsed["values"], io: CliIO): string {
  const flag = flags.store as string | undefined;
  if (flag) return flag;
  const env = io.env("LADING_STORE");
  if (env) return env;
  const xdg = io.env("XDG_DATA_HOME");
  if (xdg) return `${xdg}/lading`;
  const home = io.env("HOME");
  if (!home) {
    throw new UsageError("no --store, LADING_STORE, XDG_DATA_HOME or HOME to place the store");
  }
  return `${home}/.local/share/lading`;
}

/** The store directory does not exist, or is not a store (exit 1). */
/** Synchronous: one metadata call costs less than an async thread-pool round trip. */
function statOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

function parentOf(dir: string): string {
  const trimmed = dir.length > 1 ? dir.replace(/\/+$/, "") : dir;
  const slash = trimmed.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : trimmed.slice(0, slash);
}

async function openChecked(
  dir: string,
  create: boolean,
  options: FsStoreOptions = {},
): Promise<Store> {
  try {
    return await openFsStore(dir, create ? options : { ...options, create: false });
  } catch (e) {
    if (e instanceof InvalidInputError && /not an OCI image layout/.test(e.message)) {
      throw new InvalidInputError(
        `${dir} is not a lading store (a directory with other files and no oci-layout); ` +
          `pass --store with a new or empty directory, or the path of an existing store`,
      );
    }
    throw e;
  }
}

/**
 * Opens the store for a command that writes: a missing store is created, but only its
 * last path component (a mistyped parent is an error, not a new tree of directories).
 */
export async function openStore(
  flags: Parsed["values"],
  io: CliIO,
  options: Pick<FsStoreOptions, "writeOffload"> = {},
): Promise<Store> {
  const dir = storeDir(flags, io);
  const existed = !!statOrUndefined(dir);
  if (!existed) {
    const parent = parentOf(dir);
    const p = statOrUndefined(parent);
    if (!p || !p.isDirectory) {
      throw new NotFoundError(
        `Cannot create the store ${dir}: ${parent} ${
          p ? "is not a directory" : "does not exist"
        } (lading creates only the last directory of a store path)`,
      );
    }
  }
  const wasEmpty = existed && isEmptyDir(dir);
  const store = await openChecked(dir, true, { ...lockOptions(flags, io, dir), ...options });
  if (existed && !wasEmpty) return store;
  // A store this command created and left empty (a failed or interrupted first import) is
  // removed when it closes or at Ctrl-C: bad input leaves nothing behind, not even an
  // empty store directory (an empty directory given as the store is left empty).
  const removeIfEmpty = () => {
    if (!isEmptyStore(dir)) return;
    if (!existed) {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // best effort
      }
      return;
    }
    for (const e of Deno.readDirSync(dir)) {
      try {
        Deno.removeSync(`${dir}/${e.name}`, { recursive: true });
      } catch {
        // best effort
      }
    }
  };
  // Registered first, so it runs last: after the command's own cleanup (an import removes
  // its ingest files and lease); a pull keeps its partial download, and so its store.
  const unregister = atInterrupt(removeIfEmpty);
  const close = store.close.bind(store);
  store.close = async () => {
    unregister();
    await close();
    removeIfEmpty();
  };
  return store;
}

function isEmptyDir(dir: string): boolean {
  try {
    for (const _ of Deno.readDirSync(dir)) return false;
    return true;
  } catch {
    return false;
  }
}

/** True when the store at `dir` holds no image name, no blob and nothing else of anyone's. */
function isEmptyStore(dir: string): boolean {
  const known = new Set(["oci-layout", "index.json", "lock", "blobs", "ingest", "leases"]);
  try {
    for (const e of Deno.readDirSync(dir)) {
      if (!known.has(e.name)) return false;
      if (e.isDirectory) {
        for (const f of Deno.readDirSync(`${dir}/${e.name}`)) {
          if (e.name !== "blobs" || !f.isDirectory) return false;
          for (const _ of Deno.readDirSync(`${dir}/blobs/${f.name}`)) return false;
        }
      }
    }
    const index = JSON.parse(Deno.readTextFileSync(`${dir}/index.json`));
    return Array.isArray(index.manifests) && index.manifests.length === 0;
  } catch {
    return false;
  }
}

/** How a writing command waits for the store's lock: says so once on stderr; --lock-timeout. */
function lockOptions(flags: Parsed["values"], io: CliIO, dir: string): FsStoreOptions {
  const timeout = lockTimeoutMs(flags);
  let said = false;
  return {
    lockTimeoutMs: timeout,
    onLockWait: (pid) => {
      if (said) return;
      said = true;
      io.err(
        `lading: waiting for another writer${pid ? ` (pid ${pid})` : ""} to release the lock of ${
          printable(dir)
        }${timeout === undefined ? "" : ` (at most ${timeout / 1000} s)`}\n`,
      );
    },
  };
}

/**
 * Opens the store for a command that only reads: a missing or empty store is an error
 * naming the path, and nothing is created.
 */
export async function openStoreForReading(flags: Parsed["values"], io: CliIO): Promise<Store> {
  return await openChecked(await existingStoreDir(flags, io), false);
}

/** The store directory, which must exist and not be empty (read-only commands). */
export async function existingStoreDir(flags: Parsed["values"], io: CliIO): Promise<string> {
  const dir = storeDir(flags, io);
  const stat = statOrUndefined(dir);
  if (!stat) {
    throw new NotFoundError(
      `no store at ${dir} (nothing was imported there yet, or --store / LADING_STORE is mistyped)`,
    );
  }
  if (stat.isDirectory) {
    let empty = true;
    for await (const _ of Deno.readDir(dir)) {
      empty = false;
      break;
    }
    if (empty) throw new NotFoundError(`no store at ${dir} (the directory is empty)`);
  }
  return dir;
}

/**
 * The blob a user-given digest means: a full digest (`sha256:` + hex), or a bare hex
 * prefix of at least 12 digits that exactly one blob in the store starts with (the
 * same rule as for image names).
 */
export async function findBlob(store: BlobManager, value: string): Promise<Digest> {
  if (/^[0-9a-f]{12,63}$/.test(value)) {
    const hits: Digest[] = [];
    for await (const b of store.list()) {
      if (b.digest.startsWith(`sha256:${value}`)) hits.push(b.digest);
    }
    if (hits.length === 1) return hits[0];
    if (hits.length > 1) {
      throw new InvalidInputError(
        `${value} is the start of ${hits.length} blob digests; give more digits`,
      );
    }
    throw new NotFoundError(`no blob in the store starts with ${value}`);
  }
  if (/^[0-9a-f]{64}$/.test(value)) value = `sha256:${value}`;
  try {
    return parseDigest(value).digest as Digest;
  } catch (e) {
    if (e instanceof InvalidInputError) {
      throw new UsageError(
        `${
          JSON.stringify(value)
        } is not a digest (sha256:<64 hex digits>, or a unique prefix of 12+ hex digits)`,
      );
    }
    throw e;
  }
}

/**
 * Removes the files this process made in a store's `ingest/` and `leases/` (and
 * temporary index files): what an import or export in flight leaves when interrupted.
 */
export function removeOwnStoreFiles(dir: string): void {
  const mine = (name: string) => name.startsWith(`${Deno.pid}.`);
  for (const [sub, prefix] of [["ingest", ""], ["leases", ""], [".", "index.json.tmp-"]]) {
    try {
      for (const e of Deno.readDirSync(`${dir}/${sub}`)) {
        if (e.name.startsWith(prefix) && mine(e.name.slice(prefix.length))) {
          try {
            Deno.removeSync(`${dir}/${sub}/${e.name}`);
          } catch {
            // gone already
          }
        }
      }
    } catch {
      // no such directory
    }
  }
}
