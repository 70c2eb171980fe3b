// This module is browser compatible.
/**
 * Readonly interfaces that mirror the OCI image-spec (and Docker schema 2) documents.
 * Validation of untrusted bytes into these types lives in `schema.ts`.
 *
 * @example
 * ```ts
 * import type { Descriptor } from "./types.ts";
 * const d: Descriptor = {
 *   mediaType: "application/vnd.oci.empty.v1+json",
 *   digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 *   size: 2,
 * };
 * console.log(d.size);
 * ```
 * @module
 */
import type { Digest } from "./digest.ts";

/** String-to-string annotations. */
export type Annotations = Readonly<Record<string, string>>;

/** The platform an image runs on. */
export interface Platform {
  /** CPU architecture, GOARCH values: `amd64`, `arm64`, `arm`, `386`, `ppc64le`, `s390x`, ... */
  readonly architecture: string;
  /** Operating system, GOOS values: `linux`, `windows`, ... */
  readonly os: string;
  /** OS version, mostly for Windows. */
  readonly "os.version"?: string;
  /** Required OS features, mostly for Windows. */
  readonly "os.features"?: readonly string[];
  /** CPU variant: `v7`, `v8`, ... */
  readonly variant?: string;
  /** Reserved; CPU features. */
  readonly features?: readonly string[];
}

/** A content descriptor: what a blob is, how big, and its digest. */
export interface Descriptor {
  /** Media type of the referenced content. */
  readonly mediaType: string;
  /** Digest of the referenced content. */
  readonly digest: Digest;
  /** Size in bytes of the referenced content. */
  readonly size: number;
  /** URLs the content may be downloaded from (foreign layers). */
  readonly urls?: readonly string[];
  /** Arbitrary metadata. */
  readonly annotations?: Annotations;
  /** Base64 embedded content; must equal the blob when present. */
  readonly data?: string;
  /** Platform, for manifests listed in an index. */
  readonly platform?: Platform;
  /** The type of an artifact when the descriptor references an artifact manifest. */
  readonly artifactType?: string;
}

/** OCI image index or Docker manifest list. */
export interface ImageIndex {
  /** Always 2. */
  readonly schemaVersion: 2;
  /** OCI index or Docker manifest list media type (optional in OCI). */
  readonly mediaType?: string;
  /** Type of an artifact index. */
  readonly artifactType?: string;
  /** The manifests (or nested indexes). */
  readonly manifests: readonly Descriptor[];
  /** A referenced manifest (referrers API). */
  readonly subject?: Descriptor;
  /** Arbitrary metadata. */
  readonly annotations?: Annotations;
}

/** OCI image manifest or Docker schema 2 manifest. */
export interface ImageManifest {
  /** Always 2. */
  readonly schemaVersion: 2;
  /** OCI manifest or Docker manifest media type (optional in OCI). */
  readonly mediaType?: string;
  /** Type of an artifact. */
  readonly artifactType?: string;
  /** The config blob. */
  readonly config: Descriptor;
  /** The layers, base first. */
  readonly layers: readonly Descriptor[];
  /** A referenced manifest (referrers API). */
  readonly subject?: Descriptor;
  /** Arbitrary metadata. */
  readonly annotations?: Annotations;
}

/** The runtime part of an image config (`config` field). */
export interface ContainerConfig {
  /** `user`, `uid`, `user:group`, ... */
  readonly User?: string;
  /** Ports as keys: `"80/tcp": {}`. */
  readonly ExposedPorts?: Readonly<Record<string, unknown>>;
  /** `NAME=value` entries. */
  readonly Env?: readonly string[];
  /** Default entrypoint. */
  readonly Entrypoint?: readonly string[] | null;
  /** Default arguments. */
  readonly Cmd?: readonly string[] | null;
  /** Volume paths as keys. */
  readonly Volumes?: Readonly<Record<string, unknown>>;
  /** Working directory. */
  readonly WorkingDir?: string;
  /** Labels. */
  readonly Labels?: Readonly<Record<string, string>> | null;
  /** Signal to stop the container. */
  readonly StopSignal?: string;
  /** Docker extension: health check. */
  readonly Healthcheck?: unknown;
  /** Docker extension: shell for shell-form commands. */
  readonly Shell?: readonly string[];
  /** Docker extension: ONBUILD triggers. */
  readonly OnBuild?: readonly string[] | null;
}

/** One history entry of an image config. */
export interface History {
  /** When the layer was created (RFC 3339). */
  readonly created?: string;
  /** The command that created the layer. */
  readonly created_by?: string;
  /** The author. */
  readonly author?: string;
  /** A comment. */
  readonly comment?: string;
  /** True when this entry produced no layer. */
  readonly empty_layer?: boolean;
}

/** The root filesystem of an image config. */
export interface RootFS {
  /** Always `layers`. */
  readonly type: string;
  /** sha256 of each uncompressed layer tar, base first. */
  readonly diff_ids: readonly Digest[];
}

/** OCI image config (also the Docker image config, which is a superset). */
export interface ImageConfig {
  /** Creation time (RFC 3339). */
  readonly created?: string;
  /** Author. */
  readonly author?: string;
  /** CPU architecture. */
  readonly architecture: string;
  /** Operating system. */
  readonly os: string;
  /** OS version. */
  readonly "os.version"?: string;
  /** OS features. */
  readonly "os.features"?: readonly string[];
  /** CPU variant. */
  readonly variant?: string;
  /** Runtime defaults. */
  readonly config?: ContainerConfig;
  /** Layer diff ids. */
  readonly rootfs: RootFS;
  /** History, base first; may include empty layers. */
  readonly history?: readonly History[];
}

/** One entry of a `docker save` manifest.json. */
export interface DockerArchiveEntry {
  /** Path of the config JSON inside the archive. */
  readonly Config: string;
  /** Tags such as `busybox:latest`; may be null. */
  readonly RepoTags: readonly string[] | null;
  /** Paths of the layer tars, base first. */
  readonly Layers: readonly string[];
  /** Optional descriptors for layers keyed by diff id (v1.2). */
  readonly LayerSources?: Readonly<Record<string, Descriptor>>;
  /** Parent image id (legacy). */
  readonly Parent?: string;
}

/** The oci-layout file. */
export interface ImageLayout {
  /** `1.0.0`. */
  readonly imageLayoutVersion: string;
}
