/**
 * Deno only: the fs store's layout on disk — checking an existing store directory (its
 * `oci-layout` file, and that `blobs/`, `ingest/` and `leases/` are real directories) and
 * creating a new one (index.json first, then oci-layout, each written atomically).
 * @module
 */
import { randomHex } from "../digest.ts";
import { InvalidInputError } from "../errors.ts";
import { OCI_INDEX } from "../media_types.ts";
import { exists, mapNoSpace, ownerToken, removeQuietly, writeAll } from "./fs_files.ts";
import { isObject } from "./layout.ts";

/**
 * Refuses a store whose `blobs/`, `blobs/<alg>/`, `ingest/` or `leases/` is not a real
 * directory: lading never follows a symlink inside a store (a linked `blobs/sha256` would
 * make imports write, and gc delete, 64-hex-named files elsewhere).
 */
export function checkStoreDirectories(dir: string): void {
  const check = (relative: string) => {
    let st: Deno.FileInfo;
    try {
      st = Deno.lstatSync(`${dir}/${relative}`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
    if (!st.isDirectory) {
      throw new InvalidInputError(
        `Cannot open store ${dir}: ${relative} is ${
          st.isSymlink ? "a symbolic link" : "not a directory"
        } (lading never follows links inside a store; make it a real directory)`,
      );
    }
    return true;
  };
  for (const relative of ["ingest", "leases"]) check(relative);
  if (check("blobs")) {
    for (const e of Deno.readDirSync(`${dir}/blobs`)) check(`blobs/${e.name}`);
  }
}

export function checkLayoutFile(dir: string): void {
  const path = `${dir}/oci-layout`;
  let doc: unknown;
  try {
    doc = JSON.parse(Deno.readTextFileSync(path));
  } catch (e) {
    if (e instanceof SyntaxError) {
      throw new InvalidInputError(`Cannot open store ${dir}: oci-layout is not valid JSON`);
    }
    throw e;
  }
  if (!isObject(doc) || typeof doc.imageLayoutVersion !== "string") {
    throw new InvalidInputError(
      `Cannot open store ${dir}: oci-layout needs a string "imageLayoutVersion"`,
    );
  }
}

/** Writes `bytes` to `path` only when it does not exist (atomically: temp file + link). */
async function createFileAtomically(path: string, bytes: Uint8Array, sync: boolean) {
  const tmp = `${path}.tmp-${await ownerToken()}-${randomHex()}`;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      await writeAll(file, bytes);
      if (sync) await file.syncData();
    } finally {
      file.close();
    }
    try {
      await Deno.link(tmp, path);
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) return;
      if (await exists(path)) return;
      await Deno.rename(tmp, path);
    }
  } catch (e) {
    throw mapNoSpace(e, `create ${path}`);
  } finally {
    await removeQuietly(tmp);
  }
}

export async function initLayout(dir: string, sync: boolean): Promise<void> {
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  const enc = new TextEncoder();
  // index.json first: a directory with oci-layout always has an index.json.
  await createFileAtomically(
    `${dir}/index.json`,
    enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] })),
    sync,
  );
  await createFileAtomically(
    `${dir}/oci-layout`,
    enc.encode(JSON.stringify({ imageLayoutVersion: "1.0.0" })),
    sync,
  );
}
