// This module is browser compatible.
/**
 * Turns untrusted bytes into the typed documents of `types.ts`, with valibot.
 *
 * Every parse function checks, in order: the size cap, UTF-8, JSON syntax, duplicate
 * object keys (at any depth), the document *kind* (a manifest descriptor over an index
 * body is CVE-2021-41190), and finally the shape of every field. Each failure is an
 * {@linkcode InvalidInputError} (or {@linkcode LimitExceededError} for the size cap)
 * whose message names the document and the JSON path of the bad field:
 * `Cannot parse manifest sha256:ab12…: layers[1].digest: invalid digest "sha256:XYZ": …`.
 *
 * By default (`profile: "lading"`) the rules are the ones lading needs to be safe and to
 * read what real tools write: digests must be `sha256`/`sha512` (safe to use in paths),
 * `"manifests": null` (docker 25) is an empty index, a manifest may have no layers
 * (`FROM scratch`), Docker's `"Env": null` and missing `rootfs.diff_ids` are accepted.
 * `profile: "image-spec"` follows image-spec's JSON schemas and Go validator instead
 * (any digest algorithm the grammar allows, non-empty `layers`, ...); it is meant for
 * validation only, since the digests it lets through may not be usable.
 *
 * @example
 * ```ts
 * import { parseManifest } from "@lading/oci/schema";
 * const bytes = new TextEncoder().encode(JSON.stringify({
 *   schemaVersion: 2,
 *   mediaType: "application/vnd.oci.image.manifest.v1+json",
 *   config: {
 *     mediaType: "application/vnd.oci.empty.v1+json",
 *     digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 *     size: 2,
 *   },
 *   layers: [],
 * }));
 * console.log(parseManifest(bytes).config.size); // 2
 * ```
 * @module
 */
import * as v from "valibot";
import { parseDigest, shortDigest } from "./digest.ts";
import { InvalidInputError } from "./errors.ts";
import { isIndexMediaType, isManifestMediaType } from "./media_types.ts";
import { fail, formatPath, parseJson, show } from "./json.ts";
import type {
  Descriptor,
  DockerArchiveEntry,
  ImageConfig,
  ImageIndex,
  ImageLayout,
  ImageManifest,
} from "./types.ts";

export { DEFAULT_JSON_LIMIT, MAX_JSON_DEPTH, parseJson } from "./json.ts";

/** Which rule set to apply. */
export type SchemaProfile = "lading" | "image-spec";

/** Options of every parse function. */
export interface ParseOptions {
  /** Refuse documents larger than this many bytes (default {@linkcode DEFAULT_JSON_LIMIT}). */
  maxJsonBytes?: number;
  /** Names the document in messages, e.g. `manifest sha256:ab12… of docker.io/library/x:1`. */
  what?: string;
  /**
   * `"lading"` (default): safe and practical rules (see the module doc).
   * `"image-spec"`: image-spec's schema and Go validator, for conformance checks only.
   */
  profile?: SchemaProfile;
}

/** Options of {@linkcode parseIndex} and {@linkcode parseManifest}. */
export interface DocumentOptions extends ParseOptions {
  /** The descriptor the bytes were found through; enables kind and `data` checks. */
  descriptor?: Descriptor;
  /** Receives warnings about accepted oddities (a same-kind media type mismatch). */
  onWarning?: (message: string) => void;
}

/** The two kinds of document a descriptor can point at that have children. */
export type DocumentKind = "index" | "manifest";

// ---------------------------------------------------------------------------
// Field rules

const MEDIA_TYPE =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const REGISTERED_HEX: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const PADDED_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/** The message of a digest problem, or undefined when the digest is fine for the profile. */
function digestProblem(value: string, profile: SchemaProfile): string | undefined {
  if (profile === "lading") {
    try {
      parseDigest(value);
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (!DIGEST_GRAMMAR.test(value)) {
    return `invalid digest ${show(value)}: expected <algorithm>:<encoded>`;
  }
  const colon = value.indexOf(":");
  const length = REGISTERED_HEX[value.slice(0, colon)];
  const encoded = value.slice(colon + 1);
  if (length !== undefined && (encoded.length !== length || !/^[0-9a-f]+$/.test(encoded))) {
    return `invalid digest ${show(value)}: needs ${length} lowercase hex characters`;
  }
  return undefined;
}

function isRfc3339(value: string): boolean {
  const m = RFC3339.exec(value);
  if (m === null) return false;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map(Number);
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  if (hour > 23 || minute > 59 || second > 60) return false;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false;
  return true;
}

function isAbsoluteUri(value: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

function decodeBase64(data: string): Uint8Array {
  const binary = atob(data);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

// ---------------------------------------------------------------------------
// Schemas (built once per profile)

function mediaTypeSchema() {
  return v.pipe(
    v.string(),
    v.regex(MEDIA_TYPE, (issue) => `invalid media type ${show(issue.input)}`),
  );
}

function digestSchema(profile: SchemaProfile) {
  return v.pipe(
    v.string(),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const problem = digestProblem(dataset.value, profile);
      if (problem !== undefined) addIssue({ message: problem });
    }),
  );
}

function sizeSchema() {
  return v.pipe(
    v.number(),
    v.check(
      (n) => Number.isSafeInteger(n) && n >= 0,
      (issue) => `must be a non-negative integer, got ${issue.input}`,
    ),
  );
}

const stringArray = () => v.array(v.string());

/** A JSON object (not an array, not null) checked by `schema`. */
function jsonObject<S extends v.GenericSchema>(schema: S) {
  return v.pipe(
    v.custom<unknown>(
      (input) => typeof input === "object" && input !== null && !Array.isArray(input),
      (issue) =>
        `expected an object, got ${Array.isArray(issue.input) ? "an array" : issue.received}`,
    ),
    schema,
  );
}

const stringMap = () => jsonObject(v.record(v.string(), v.string()));

function platformSchema() {
  return v.looseObject({
    architecture: v.string(),
    os: v.string(),
    "os.version": v.optional(v.string()),
    "os.features": v.optional(stringArray()),
    variant: v.optional(v.string()),
    features: v.optional(stringArray()),
  });
}

function descriptorSchema(profile: SchemaProfile) {
  return v.pipe(
    v.looseObject({
      mediaType: mediaTypeSchema(),
      digest: digestSchema(profile),
      size: sizeSchema(),
      urls: v.optional(
        v.array(
          v.pipe(
            v.string(),
            v.check(isAbsoluteUri, (issue) => `invalid URL ${show(issue.input)}`),
          ),
        ),
      ),
      annotations: v.optional(stringMap()),
      data: v.optional(
        v.pipe(
          v.string(),
          v.regex(PADDED_BASE64, "must be padded standard base64"),
        ),
      ),
      platform: v.optional(platformSchema()),
      artifactType: v.optional(mediaTypeSchema()),
    }),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed || profile !== "lading" || dataset.value.data === undefined) return;
      const length = decodeBase64(dataset.value.data).byteLength;
      if (length !== dataset.value.size) {
        addIssue({
          message: `data holds ${length} bytes but size is ${dataset.value.size}`,
          path: [{
            type: "object",
            origin: "value",
            input: dataset.value,
            key: "data",
            value: dataset.value.data,
          }],
        });
      }
    }),
  );
}

function schemaVersionSchema() {
  return v.pipe(
    v.number(),
    v.check((n) => n === 2, (issue) => `must be 2, got ${issue.input}`),
  );
}

function indexSchema(profile: SchemaProfile) {
  const descriptor = descriptorSchema(profile);
  const manifests = v.array(descriptor);
  return v.looseObject({
    schemaVersion: schemaVersionSchema(),
    mediaType: v.optional(mediaTypeSchema()),
    artifactType: v.optional(mediaTypeSchema()),
    manifests: profile === "lading" ? v.nullable(manifests) : manifests,
    subject: v.optional(descriptor),
    annotations: v.optional(stringMap()),
  });
}

function manifestSchema(profile: SchemaProfile) {
  const descriptor = descriptorSchema(profile);
  return v.looseObject({
    schemaVersion: schemaVersionSchema(),
    mediaType: v.optional(mediaTypeSchema()),
    artifactType: v.optional(mediaTypeSchema()),
    config: descriptor,
    layers: profile === "lading"
      ? v.array(descriptor)
      : v.pipe(v.array(descriptor), v.minLength(1, "must have at least one layer")),
    subject: v.optional(descriptor),
    annotations: v.optional(stringMap()),
  });
}

function dateTimeSchema() {
  return v.pipe(
    v.string(),
    v.check(isRfc3339, (issue) => `not an RFC 3339 date-time: ${show(issue.input)}`),
  );
}

function configSchema(profile: SchemaProfile) {
  const envEntry = v.pipe(
    v.string(),
    v.regex(
      profile === "lading" ? /^[^=]+=/ : /^[^=]+=.*$/,
      (issue) => `not a NAME=value entry: ${show(issue.input)}`,
    ),
  );
  const env = v.array(envEntry);
  const objectMap = jsonObject(v.record(v.string(), jsonObject(v.looseObject({}))));
  const diffIds = v.array(digestSchema(profile));
  return v.looseObject({
    created: v.optional(dateTimeSchema()),
    author: v.optional(v.string()),
    architecture: v.string(),
    os: v.string(),
    "os.version": v.optional(v.string()),
    "os.features": v.optional(stringArray()),
    variant: v.optional(v.string()),
    config: v.optional(v.looseObject({
      User: v.optional(v.string()),
      ExposedPorts: v.optional(objectMap),
      Env: v.optional(profile === "lading" ? v.nullable(env) : env),
      Entrypoint: v.optional(v.nullable(stringArray())),
      Cmd: v.optional(v.nullable(stringArray())),
      Volumes: v.optional(v.nullable(objectMap)),
      WorkingDir: v.optional(v.string()),
      Labels: v.optional(v.nullable(stringMap())),
      StopSignal: v.optional(v.string()),
      ArgsEscaped: v.optional(v.boolean()),
      Shell: v.optional(v.nullable(stringArray())),
      OnBuild: v.optional(v.nullable(stringArray())),
    })),
    rootfs: v.looseObject({
      type: v.picklist(["layers"], (issue) => `type must be "layers", got ${issue.received}`),
      diff_ids: profile === "lading" ? v.optional(v.nullable(diffIds)) : diffIds,
    }),
    history: v.optional(v.array(v.looseObject({
      created: v.optional(dateTimeSchema()),
      author: v.optional(v.string()),
      created_by: v.optional(v.string()),
      comment: v.optional(v.string()),
      empty_layer: v.optional(v.boolean()),
    }))),
  });
}

function layoutSchema(profile: SchemaProfile) {
  return v.looseObject({
    imageLayoutVersion: profile === "lading"
      ? v.string()
      : v.picklist(["1.0.0"], (issue) => `must be "1.0.0", got ${issue.received}`),
  });
}

function dockerArchiveSchema(profile: SchemaProfile) {
  return v.array(v.looseObject({
    Config: v.pipe(v.string(), v.minLength(1, "must not be empty")),
    RepoTags: v.optional(v.nullable(stringArray()), null),
    Layers: stringArray(),
    LayerSources: v.optional(jsonObject(v.record(v.string(), descriptorSchema(profile)))),
    Parent: v.optional(v.string()),
  }));
}

const BUILDERS = {
  descriptor: descriptorSchema,
  index: indexSchema,
  manifest: manifestSchema,
  config: configSchema,
  layout: layoutSchema,
  dockerArchive: dockerArchiveSchema,
};

type Schemas = { [K in keyof typeof BUILDERS]: ReturnType<(typeof BUILDERS)[K]> };
const schemaCache = new Map<string, Schemas[keyof Schemas]>();

/** One schema, built on its first use (a command that reads a manifest builds no other). */
function schemaOf<K extends keyof Schemas>(kind: K, profile: SchemaProfile = "lading"): Schemas[K] {
  const key = `${profile} ${kind}`;
  let s = schemaCache.get(key) as Schemas[K] | undefined;
  if (s === undefined) {
    s = BUILDERS[kind](profile) as Schemas[K];
    schemaCache.set(key, s);
  }
  return s;
}

/** Runs a schema and turns the first issue into an InvalidInputError naming the path. */
function validate<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
  what: string,
): v.InferOutput<S> {
  const result = v.safeParse(schema, value, { abortEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = formatPath(
    (issue.path ?? []).map((item) => item.key as string | number),
  );
  let message: string;
  if (issue.kind === "schema" && issue.received === "undefined") {
    message = "is required";
  } else if (issue.kind === "schema" && issue.type !== "custom") {
    message = `expected ${issue.expected}, got ${
      issue.received.length > 80 ? issue.received.slice(0, 77) + "..." : issue.received
    }`;
  } else {
    message = issue.message;
  }
  fail(what, path, message);
}

function requireObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(
      what,
      "",
      `expected a JSON object, got ${Array.isArray(value) ? "an array" : show(value)}`,
    );
  }
  return value as Record<string, unknown>;
}

function describeWhat(kind: string, options: DocumentOptions): string {
  if (options.what !== undefined) return options.what;
  return options.descriptor ? `${kind} ${shortDigest(options.descriptor.digest)}…` : kind;
}

// ---------------------------------------------------------------------------
// Public parse functions

/**
 * Validates a descriptor value (already parsed JSON).
 *
 * @throws {InvalidInputError} naming the bad field.
 * @example
 * ```ts
 * import { parseDescriptor } from "@lading/oci/schema";
 * const d = parseDescriptor({
 *   mediaType: "application/vnd.oci.empty.v1+json",
 *   digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 *   size: 2,
 *   data: "e30=",
 * });
 * console.log(d.mediaType); // application/vnd.oci.empty.v1+json
 * ```
 */
export function parseDescriptor(
  value: unknown,
  what = "descriptor",
  options: { profile?: SchemaProfile } = {},
): Descriptor {
  requireObject(value, what);
  return validate(schemaOf("descriptor", options.profile), value, what) as unknown as Descriptor;
}

/**
 * Checks that a descriptor's embedded `data`, when present, equals `bytes`.
 *
 * @throws {InvalidInputError} when `data` is not base64 or differs from `bytes`.
 * @example
 * ```ts
 * import { checkDescriptorData } from "@lading/oci/schema";
 * checkDescriptorData({
 *   mediaType: "application/vnd.oci.empty.v1+json",
 *   digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 *   size: 2,
 *   data: "e30=",
 * }, new TextEncoder().encode("{}"));
 * ```
 */
export function checkDescriptorData(descriptor: Descriptor, bytes: Uint8Array): void {
  if (descriptor.data === undefined) return;
  const label = `descriptor ${shortDigest(descriptor.digest)}…`;
  if (!PADDED_BASE64.test(descriptor.data)) {
    throw new InvalidInputError(`Cannot check ${label}: data is not padded standard base64`);
  }
  const decoded = decodeBase64(descriptor.data);
  let same = decoded.byteLength === bytes.byteLength;
  for (let i = 0; same && i < decoded.byteLength; i++) same = decoded[i] === bytes[i];
  if (!same) {
    throw new InvalidInputError(
      `Cannot accept blob of ${label}: its embedded data (${decoded.byteLength} bytes) differs from the blob (${bytes.byteLength} bytes)`,
    );
  }
}

/**
 * Classifies a parsed document: `manifests` means an index, `config` or `layers` a
 * manifest; otherwise its `mediaType` decides. `undefined` when it is neither.
 *
 * @example
 * ```ts
 * import { detectDocumentKind } from "@lading/oci/schema";
 * console.log(detectDocumentKind({ manifests: [] })); // index
 * console.log(detectDocumentKind({ layers: [] })); // manifest
 * console.log(detectDocumentKind({ architecture: "amd64" })); // undefined
 * ```
 */
export function detectDocumentKind(value: unknown): DocumentKind | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  if ("manifests" in o) return "index";
  if ("config" in o || "layers" in o) return "manifest";
  const mediaType = typeof o.mediaType === "string" ? o.mediaType : undefined;
  if (isIndexMediaType(mediaType)) return "index";
  if (isManifestMediaType(mediaType)) return "manifest";
  return undefined;
}

/**
 * The media type checks of a document that is parsed as `kind`: the body's own
 * `mediaType` must not be the other kind; a descriptor of the other kind over it is the
 * media type confusion of CVE-2021-41190 and refused; a descriptor of an unknown type, or
 * of the same kind with another media type, is reported to `onWarning`.
 */
function checkDocumentKind(
  kind: "index" | "manifest",
  body: Record<string, unknown>,
  what: string,
  options: DocumentOptions,
): void {
  const [isKind, isOther] = kind === "index"
    ? [isIndexMediaType, isManifestMediaType]
    : [isManifestMediaType, isIndexMediaType];
  const [self, other] = kind === "index" ? ["an index", "a manifest"] : ["a manifest", "an index"];
  const bodyType = typeof body.mediaType === "string" ? body.mediaType : undefined;
  if (isOther(bodyType)) {
    fail(what, "mediaType", `the body says it is ${other} (${bodyType}), not ${self}`);
  }
  const { descriptor, onWarning } = options;
  if (descriptor === undefined) return;
  if (isOther(descriptor.mediaType)) {
    fail(
      what,
      "",
      `the descriptor says ${descriptor.mediaType} (${other}) but the body is ${self}; refusing the media type confusion (CVE-2021-41190)`,
    );
  }
  if (!isKind(descriptor.mediaType)) {
    onWarning?.(`${what}: descriptor media type ${descriptor.mediaType} is not ${self} type`);
  } else if (isKind(bodyType) && bodyType !== descriptor.mediaType) {
    onWarning?.(`${what}: descriptor says ${descriptor.mediaType} but the body says ${bodyType}`);
  }
}

/**
 * Parses an OCI image index or Docker manifest list. `"manifests": null` is read as an
 * empty list. A body that is a manifest, or a manifest descriptor over an index body, is
 * refused (CVE-2021-41190); a same-kind media type difference is reported to `onWarning`.
 *
 * @throws {InvalidInputError} naming the bad field.
 * @throws {LimitExceededError} when the bytes exceed `maxJsonBytes`.
 * @example
 * ```ts
 * import { parseIndex } from "@lading/oci/schema";
 * const bytes = new TextEncoder().encode(
 *   '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":null}',
 * );
 * console.log(parseIndex(bytes).manifests.length); // 0
 * ```
 */
export function parseIndex(bytes: Uint8Array, options: DocumentOptions = {}): ImageIndex {
  const what = describeWhat("index", options);
  if (options.descriptor !== undefined) checkDescriptorData(options.descriptor, bytes);
  const body = requireObject(parseJson(bytes, { ...options, what }), what);
  if ("layers" in body || "config" in body) {
    fail(
      what,
      "",
      `the body is a manifest (it has ${"layers" in body ? '"layers"' : '"config"'}), not an index`,
    );
  }
  checkDocumentKind("index", body, what, options);
  const index = validate(schemaOf("index", options.profile), body, what);
  return { ...index, manifests: index.manifests ?? [] } as unknown as ImageIndex;
}

/**
 * Parses an OCI image manifest or Docker schema 2 manifest. Unknown config / layer media
 * types and `artifactType` are accepted. A body that is an index, or an index descriptor
 * over a manifest body, is refused (CVE-2021-41190); a same-kind media type difference
 * (OCI manifest descriptor over a Docker v2 body) is reported to `onWarning`.
 *
 * @throws {InvalidInputError} naming the bad field.
 * @throws {LimitExceededError} when the bytes exceed `maxJsonBytes`.
 * @example
 * ```ts
 * import { parseManifest } from "@lading/oci/schema";
 * const warnings: string[] = [];
 * const bytes = new TextEncoder().encode(JSON.stringify({
 *   schemaVersion: 2,
 *   mediaType: "application/vnd.docker.distribution.manifest.v2+json",
 *   config: {
 *     mediaType: "application/vnd.docker.container.image.v1+json",
 *     digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 *     size: 2,
 *   },
 *   layers: [],
 * }));
 * parseManifest(bytes, {
 *   descriptor: {
 *     mediaType: "application/vnd.oci.image.manifest.v1+json",
 *     digest: "sha256:1d37c2ba6e9d6e2ba4ba34a68c2ae8b1da9e2ac7a6eaad5f0a3b6fa0b7ed4b2f",
 *     size: bytes.byteLength,
 *   },
 *   onWarning: (m) => warnings.push(m),
 * });
 * console.log(warnings.length); // 1
 * ```
 */
export function parseManifest(bytes: Uint8Array, options: DocumentOptions = {}): ImageManifest {
  const what = describeWhat("manifest", options);
  if (options.descriptor !== undefined) checkDescriptorData(options.descriptor, bytes);
  const body = requireObject(parseJson(bytes, { ...options, what }), what);
  if ("manifests" in body) {
    fail(what, "", `the body is an index (it has "manifests"), not a manifest`);
  }
  checkDocumentKind("manifest", body, what, options);
  return validate(schemaOf("manifest", options.profile), body, what) as unknown as ImageManifest;
}

/**
 * Parses an image config (OCI or Docker; Docker's extra fields are kept). `architecture`,
 * `os` and `rootfs` are required, `created` must be RFC 3339, each `Env` entry `NAME=value`.
 *
 * @throws {InvalidInputError} naming the bad field.
 * @throws {LimitExceededError} when the bytes exceed `maxJsonBytes`.
 * @example
 * ```ts
 * import { parseConfig } from "@lading/oci/schema";
 * const config = parseConfig(new TextEncoder().encode(JSON.stringify({
 *   architecture: "arm64",
 *   os: "linux",
 *   config: { Env: ["PATH=/usr/bin"] },
 *   rootfs: { type: "layers", diff_ids: [] },
 * })));
 * console.log(config.architecture); // arm64
 * ```
 */
export function parseConfig(bytes: Uint8Array, options: ParseOptions = {}): ImageConfig {
  const what = options.what ?? "config";
  const body = requireObject(parseJson(bytes, { ...options, what }), what);
  const config = validate(schemaOf("config", options.profile), body, what);
  // Normalize Docker's nulls (lading profile only lets them through).
  const rootfs = { ...config.rootfs, diff_ids: config.rootfs.diff_ids ?? [] };
  if (config.config?.Env === null) {
    const { Env: _, ...rest } = config.config;
    return { ...config, config: rest, rootfs } as unknown as ImageConfig;
  }
  return { ...config, rootfs } as unknown as ImageConfig;
}

/**
 * Parses the `manifest.json` of a `docker save` archive.
 *
 * @throws {InvalidInputError} for `null` ("no valid manifest.json") or a bad entry.
 * @example
 * ```ts
 * import { parseDockerArchiveManifest } from "@lading/oci/schema";
 * const entries = parseDockerArchiveManifest(new TextEncoder().encode(
 *   '[{"Config":"abc.json","RepoTags":["busybox:latest"],"Layers":["l/layer.tar"]}]',
 * ));
 * console.log(entries[0].RepoTags); // [ "busybox:latest" ]
 * ```
 */
export function parseDockerArchiveManifest(
  bytes: Uint8Array,
  options: ParseOptions = {},
): DockerArchiveEntry[] {
  const what = options.what ?? "manifest.json";
  const value = parseJson(bytes, { ...options, what });
  if (!Array.isArray(value)) {
    fail(what, "", `no valid manifest.json: expected an array, got ${show(JSON.stringify(value))}`);
  }
  return validate(schemaOf("dockerArchive", options.profile), value, what) as DockerArchiveEntry[];
}

/**
 * Parses an `oci-layout` file.
 *
 * @throws {InvalidInputError} when `imageLayoutVersion` is missing or not a string.
 * @example
 * ```ts
 * import { parseImageLayout } from "@lading/oci/schema";
 * const layout = parseImageLayout(new TextEncoder().encode('{"imageLayoutVersion":"1.0.0"}'));
 * console.log(layout.imageLayoutVersion); // 1.0.0
 * ```
 */
export function parseImageLayout(bytes: Uint8Array, options: ParseOptions = {}): ImageLayout {
  const what = options.what ?? "oci-layout";
  const body = requireObject(parseJson(bytes, { ...options, what }), what);
  return validate(schemaOf("layout", options.profile), body, what) as ImageLayout;
}
