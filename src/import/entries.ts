// This module is browser compatible.
/**
 * An input's top-level entries, read the same way whatever the input is (a staged tar, a
 * folder, a `File` read in place): `oci-layout` checked, `index.json`'s entries, or the
 * manifests and index a `docker save` archive's `manifest.json` stands for.
 *
 * @example
 * ```ts
 * import { readEntries } from "./entries.ts";
 * import { getRuntime } from "../runtime/mod.ts";
 * const files = new Map([
 *   ["oci-layout", '{"imageLayoutVersion":"1.0.0"}'],
 *   ["index.json", '{"schemaVersion":2,"manifests":[]}'],
 * ]);
 * const listed = await readEntries({
 *   label: "demo",
 *   has: (p) => Promise.resolve(files.has(p)),
 *   bytes: (p) => Promise.resolve(new TextEncoder().encode(files.get(p))),
 * }, "", {
 *   action: "open",
 *   archive: false,
 *   runtime: await getRuntime(),
 *   maxJsonBytes: 4 << 20,
 *   docker: () => Promise.reject(new Error("not a docker archive")),
 * });
 * console.log(listed.format, listed.entries.length); // oci-layout 0
 * ```
 * @module
 */
import { type Digest, digestBytes } from "../digest.ts";
import { InvalidInputError } from "../errors.ts";
import { OCI_INDEX } from "../media_types.ts";
import type { Runtime } from "../runtime/types.ts";
import { parseImageLayout, parseIndex } from "../schema.ts";
import type { Descriptor } from "../types.ts";
import type { DockerImages } from "./docker.ts";

/** The files of an input, by path, as far as reading its entries needs them. */
export interface InputFiles {
  /** For messages: a path, a file name. */
  readonly label: string;
  /** True when the input has a regular file at `path`. */
  has(path: string): Promise<boolean>;
  /** A small file whole (a document), at most `maxBytes`. */
  bytes(path: string, maxBytes: number): Promise<Uint8Array>;
}

/** The input's top-level entries: index.json's, or those synthesized from manifest.json. */
export interface InputEntries {
  /** The input's shape. */
  readonly format: "oci-layout" | "oci-archive" | "docker-archive";
  /** The top-level descriptors (index.json's `manifests`, or one per docker RepoTag). */
  readonly entries: readonly Descriptor[];
  /** Documents that are not blobs of the input (index.json, synthesized manifests and index). */
  readonly extras: Map<Digest, Uint8Array>;
  /** The input's own index (index.json, or the one built for a docker archive). */
  readonly index?: Descriptor;
}

/** Options of {@link readEntries}. */
export interface ReadEntriesOptions {
  /** The verb of messages: `Cannot import x: …`, `Cannot open x: …`. */
  readonly action: string;
  /** The input is an archive (an `oci-archive`), not a folder (an `oci-layout`). */
  readonly archive: boolean;
  /** Hashing runtime. */
  readonly runtime: Runtime;
  /** Cap for JSON documents. */
  readonly maxJsonBytes: number;
  /** Non-fatal findings (same-kind media type differences). */
  readonly onWarning?: (message: string) => void;
  /** Builds a docker archive's manifests from its manifest.json (see `synthesizeDockerImages`). */
  docker(manifestJson: Uint8Array): Promise<DockerImages>;
}

/**
 * Reads the entries of the layout or docker archive in folder `root` (`""` or `"dir/"`) of
 * `files`: an OCI layout when `oci-layout` is there (its `index.json` required), a docker
 * archive when `manifest.json` is there and the layout's index is empty or absent.
 *
 * @throws {InvalidInputError} for neither, an unsupported `imageLayoutVersion`, a missing
 *   `index.json`, or malformed documents.
 */
export async function readEntries(
  files: InputFiles,
  root: string,
  options: ReadEntriesOptions,
): Promise<InputEntries> {
  const what = files.label;
  const max = options.maxJsonBytes;
  const hasManifest = await files.has(`${root}manifest.json`);
  if (await files.has(`${root}oci-layout`)) {
    const layout = parseImageLayout(await files.bytes(`${root}oci-layout`, max), {
      what: `${what}: oci-layout`,
    });
    if (layout.imageLayoutVersion !== "1.0.0") {
      throw new InvalidInputError(
        `Cannot ${options.action} ${what}: unsupported imageLayoutVersion ${
          JSON.stringify(layout.imageLayoutVersion)
        } (1.0.0 is supported)`,
      );
    }
    if (!(await files.has(`${root}index.json`))) {
      throw new InvalidInputError(`Cannot ${options.action} ${what}: index.json is missing`);
    }
    const indexBytes = await files.bytes(`${root}index.json`, max);
    const index = parseIndex(indexBytes, {
      what: `${what}: index.json`,
      onWarning: options.onWarning,
    });
    if (index.manifests.length > 0 || !hasManifest) {
      const descriptor = {
        mediaType: OCI_INDEX,
        digest: await digestBytes(options.runtime, indexBytes),
        size: indexBytes.byteLength,
      };
      return {
        format: options.archive ? "oci-archive" : "oci-layout",
        entries: [...index.manifests],
        extras: new Map([[descriptor.digest, indexBytes]]),
        index: descriptor,
      };
    }
  }
  if (!hasManifest) {
    throw new InvalidInputError(
      `Cannot ${options.action} ${what}: not an OCI image layout (no oci-layout file)`,
    );
  }
  const docker = await options.docker(await files.bytes(`${root}manifest.json`, max));
  return {
    format: "docker-archive",
    entries: docker.entries,
    extras: docker.extras,
    index: docker.index,
  };
}
