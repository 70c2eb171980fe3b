// This module is browser compatible.
/**
 * The parts of the File System Access (OPFS) and Web Locks APIs the OPFS store uses, typed here so the store type-checks without DOM lib versions that have them.
 * @module
 */

// here so the module type-checks with Deno's libs and with the DOM libs alike.

/** A file or directory handle. */
export interface OpfsHandle {
  /** `file` or `directory`. */
  readonly kind: "file" | "directory";
  /** The entry's name. */
  readonly name: string;
}

/** `FileSystemSyncAccessHandle` (dedicated workers only). */
export interface OpfsSyncAccessHandle {
  /** Writes at `at` (default: the current position); returns the bytes written. */
  write(buffer: Uint8Array, options?: { at?: number }): number;
  /** Reads at `at`; returns the bytes read. */
  read(buffer: Uint8Array, options?: { at?: number }): number;
  /** Cuts or extends the file to `size` bytes. */
  truncate(size: number): void;
  /** The file's size. */
  getSize(): number;
  /** Persists what was written. */
  flush(): void;
  /** Releases the handle. */
  close(): void;
}

/** `FileSystemWritableFileStream`, the parts used. */
export interface OpfsWritable {
  /** Appends bytes. */
  write(data: Uint8Array): Promise<void>;
  /** Commits what was written. */
  close(): Promise<void>;
  /** Discards what was written. */
  abort(reason?: unknown): Promise<void>;
}

/** `FileSystemFileHandle`. */
export interface OpfsFileHandle extends OpfsHandle {
  /** Always `file`. */
  readonly kind: "file";
  /** The file's current contents. */
  getFile(): Promise<File>;
  /** A writable stream (main thread). */
  createWritable(options?: { keepExistingData?: boolean }): Promise<OpfsWritable>;
  /** A synchronous access handle (dedicated workers). */
  createSyncAccessHandle?(): Promise<OpfsSyncAccessHandle>;
  /** Moves the file (where supported). */
  move?(destination: OpfsDirectoryHandle, name: string): Promise<void>;
}

/** `FileSystemDirectoryHandle`. */
export interface OpfsDirectoryHandle extends OpfsHandle {
  /** Always `directory`. */
  readonly kind: "directory";
  /** A subdirectory, created on request. */
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<OpfsDirectoryHandle>;
  /** A file, created on request. */
  getFileHandle(name: string, options?: { create?: boolean }): Promise<OpfsFileHandle>;
  /** Removes an entry. */
  removeEntry(name: string, options?: { recursive?: boolean }): Promise<void>;
  /** The entries. */
  entries(): AsyncIterable<[string, OpfsFileHandle | OpfsDirectoryHandle]>;
}

/** `LockManager` (`navigator.locks`). */
export interface WebLocks {
  /** Runs `callback` holding the lock `name`. */
  request<T>(
    name: string,
    options: { mode?: "exclusive" | "shared"; ifAvailable?: boolean; signal?: AbortSignal },
    callback: (lock: unknown) => Promise<T> | T,
  ): Promise<T>;
  /** The locks held and waited for. */
  query(): Promise<{ held?: { name?: string }[]; pending?: { name?: string }[] }>;
}

export interface NavigatorLike {
  storage?: {
    getDirectory?(): Promise<OpfsDirectoryHandle>;
    estimate?(): Promise<{ usage?: number; quota?: number }>;
  };
  locks?: WebLocks;
}

export function nav(): NavigatorLike {
  return (globalThis as { navigator?: NavigatorLike }).navigator ?? {};
}
