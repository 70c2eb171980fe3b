/**
 * `@lading/oci/fs` — Deno only: the filesystem store (an OCI image layout on disk, the one
 * the CLI uses) and what works on it outside the browser: multi-core blob hashing for
 * `verifyContent`, exports written straight into a file, safe unpacking of an image's
 * root filesystem, and registry credentials from the docker and containers config files.
 *
 * @example
 * ```ts
 * import { verifyContent } from "@lading/oci";
 * import { fsHashing, openFsStore } from "@lading/oci/fs";
 * const dir = await Deno.makeTempDir();
 * const store = await openFsStore(dir);
 * const hashing = fsHashing(store);
 * try {
 *   console.log((await verifyContent(store, { hashing })).problems.length); // 0
 * } finally {
 *   hashing.close();
 *   await store.close();
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 * @module
 */
export {
  FsStore,
  type FsStoreOptions,
  openFsStore,
  type StaleFile,
  type StaleFileOptions,
} from "./store/fs.ts";
export { LayoutNameRoles } from "./store/layout.ts";
export type { FsWriteOffload, OffloadedWrite } from "./store/fs_writer.ts";
export type { LayoutNames } from "./store/layout_index.ts";
export { fsHashing, type FsHashingOptions } from "./deno/fs_hashing.ts";
export { fsWriteWorkers, type FsWriteWorkersOptions } from "./deno/fs_write_workers.ts";
export {
  type AtomicWriteOptions,
  exportArchiveFile,
  type ExportFileOptions,
  writeArchiveFile,
  type WriteArchiveFileOptions,
  writeFileAtomically,
} from "./deno/export_file.ts";
export { unpackImage, type UnpackOptions, type UnpackReport } from "./deno/unpack_fs.ts";
export { directoryFiles, type DirectoryFilesOptions } from "./deno/layer_dir.ts";
export {
  checkLayout,
  importFile,
  type LayoutEntryCheck,
  openArchivePath,
} from "./deno/open_path.ts";
export {
  type CredentialEnv,
  credentialHelper,
  type CredentialOptions,
  lookupCredentials,
  removeLogin,
  saveLogin,
} from "./deno/registry_credentials.ts";
