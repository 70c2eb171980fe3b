import { assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { InvalidInputError, LimitExceededError } from "../src/errors.ts";
import {
  checkDescriptorData,
  DEFAULT_JSON_LIMIT,
  detectDocumentKind,
  parseConfig,
  parseDescriptor,
  parseDockerArchiveManifest,
  parseImageLayout,
  parseIndex,
  parseJson,
  parseManifest,
} from "../src/schema.ts";
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
} from "../src/media_types.ts";
import type { Descriptor } from "../src/types.ts";

const enc = (value: unknown) =>
  new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

const A = "sha256:" + "a".repeat(64);
const B = "sha256:" + "b".repeat(64);
const EMPTY = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

const desc = (mediaType: string, digest = A, size = 10, extra: object = {}) => ({
  mediaType,
  digest,
  size,
  ...extra,
});

const manifest = (extra: object = {}) => ({
  schemaVersion: 2,
  mediaType: OCI_MANIFEST,
  config: desc(OCI_CONFIG, A, 100),
  layers: [desc(OCI_LAYER_GZIP, B, 200)],
  ...extra,
});

const index = (extra: object = {}) => ({
  schemaVersion: 2,
  mediaType: OCI_INDEX,
  manifests: [
    desc(OCI_MANIFEST, A, 300, { platform: { architecture: "amd64", os: "linux" } }),
  ],
  ...extra,
});

const config = (extra: object = {}) => ({
  architecture: "amd64",
  os: "linux",
  rootfs: { type: "layers", diff_ids: [B] },
  ...extra,
});

// --- parseJson -----------------------------------------------------------------

Deno.test("parseJson() parses a valid document", () => {
  assertEquals(parseJson(enc('{"a":[1,{"b":null}],"c":"\\u00e9"}')), {
    a: [1, { b: null }],
    c: "é",
  });
});

Deno.test("parseJson() refuses a document over the default 4 MiB cap", () => {
  assertEquals(DEFAULT_JSON_LIMIT, 4 * 1024 * 1024);
  const big = new Uint8Array(DEFAULT_JSON_LIMIT + 1).fill(0x20);
  assertThrows(() => parseJson(big), LimitExceededError, "limit");
});

Deno.test("parseJson() refuses a document over a custom cap and names it", () => {
  const e = assertThrows(
    () => parseJson(enc('{"a":1}'), { maxJsonBytes: 3, what: "manifest sha256:ab12… of x" }),
    LimitExceededError,
  );
  assertMatch(e.message, /^Cannot parse manifest sha256:ab12… of x: 7 bytes/);
});

Deno.test("parseJson() refuses invalid UTF-8", () => {
  const bytes = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
  assertThrows(() => parseJson(bytes), InvalidInputError, "UTF-8");
});

Deno.test("parseJson() refuses a byte order mark", () => {
  const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...enc("{}")]);
  assertThrows(() => parseJson(bytes), InvalidInputError, "invalid JSON");
});

Deno.test("parseJson() refuses invalid JSON", () => {
  assertThrows(() => parseJson(enc("{")), InvalidInputError, "invalid JSON");
  assertThrows(() => parseJson(enc("invalid JSON")), InvalidInputError, "invalid JSON");
});

Deno.test("parseJson() refuses a duplicate key at the top level", () => {
  assertThrows(() => parseJson(enc('{"a":1,"b":2,"a":3}')), InvalidInputError, 'duplicate key "a"');
});

Deno.test("parseJson() refuses a duplicate key nested in arrays and objects and names its path", () => {
  const text = '{"layers":[{"size":1},{"digest":"x","size":1,"size":2}]}';
  const e = assertThrows(() => parseJson(enc(text), { what: "manifest" }), InvalidInputError);
  assertEquals(e.message, 'Cannot parse manifest: duplicate key "size" at layers[1].size');
});

Deno.test("parseJson() refuses duplicate keys spelled with different escapes", () => {
  assertThrows(
    () => parseJson(enc('{"x":{"ab":1,"\\u0061b":2}}')),
    InvalidInputError,
    'duplicate key "ab" at x.ab',
  );
});

Deno.test("parseJson() accepts the same key in sibling objects and keys that look like values", () => {
  assertEquals(parseJson(enc('[{"a":1},{"a":2},{"b":"a","c":{"a":"b"}}]')), [
    { a: 1 },
    { a: 2 },
    { b: "a", c: { a: "b" } },
  ]);
  assertEquals(parseJson(enc('{"k\\"":"\\"k","k":1}')), { 'k"': '"k', k: 1 });
});

Deno.test("parseJson() reads a large document with 100,000 keys and escaped strings whole", () => {
  const items = Array.from({ length: 50_000 }, (_, i) => ({ ["k" + i]: i, s: 'x\\y"z' }));
  const value = { items, map: Object.fromEntries(items.map((_, i) => ["m" + i, i])) };
  assertEquals(parseJson(enc(value)), value);
});

// --- parseDescriptor ---------------------------------------------------------------

Deno.test("parseDescriptor() accepts a full descriptor", () => {
  const value = desc(OCI_MANIFEST, A, 2, {
    urls: ["https://example.com/blob"],
    annotations: { "org.example": "v" },
    data: "e30=",
    platform: { architecture: "arm", os: "linux", variant: "v7", "os.features": ["x"] },
    artifactType: "application/vnd.example+type",
  });
  assertEquals(parseDescriptor(value), value as unknown as Descriptor);
});

Deno.test("parseDescriptor() accepts unknown media types", () => {
  assertEquals(
    parseDescriptor(desc("application/x-custom.thing+json")).mediaType,
    "application/x-custom.thing+json",
  );
});

Deno.test("parseDescriptor() refuses media types that are not type/subtype", () => {
  for (const mediaType of ["invalid", "", ".a/b", "a/.b", "a/b/c", "a".repeat(128) + "/b"]) {
    assertThrows(() => parseDescriptor(desc(mediaType)), InvalidInputError, "mediaType");
  }
});

Deno.test("parseDescriptor() refuses a missing mediaType, digest or size", () => {
  assertThrows(
    () => parseDescriptor({ digest: A, size: 1 }),
    InvalidInputError,
    "mediaType: is required",
  );
  assertThrows(
    () => parseDescriptor({ mediaType: OCI_CONFIG, size: 1 }),
    InvalidInputError,
    "digest: is required",
  );
  assertThrows(
    () => parseDescriptor({ mediaType: OCI_CONFIG, digest: A }),
    InvalidInputError,
    "size: is required",
  );
});

Deno.test("parseDescriptor() refuses bad digests before any path is built", () => {
  for (
    const digest of [
      "sha256:../../x",
      "sha256:" + "A".repeat(64),
      "sha256:" + "a".repeat(63),
      "sha512:" + "a".repeat(64),
      "md5:d41d8cd98f00b204e9800998ecf8427e",
      "sha256+b64:c86f7763873b6c0aae22d963bab59b4f5debbed6685761b5951584f6efb0633b",
      "a".repeat(64),
      42,
    ]
  ) {
    assertThrows(
      () => parseDescriptor(desc(OCI_CONFIG, digest as string)),
      InvalidInputError,
      "digest",
    );
  }
  assertEquals(parseDescriptor(desc(OCI_CONFIG, "sha512:" + "c".repeat(128))).size, 10);
});

Deno.test("parseDescriptor() names the document and the field of a bad digest", () => {
  const e = assertThrows(
    () => parseDescriptor(desc(OCI_CONFIG, "sha256:XYZ"), "descriptor in index.json"),
    InvalidInputError,
  );
  assertMatch(
    e.message,
    /^Cannot parse descriptor in index\.json: digest: invalid digest "sha256:XYZ": /,
  );
});

Deno.test("parseDescriptor() refuses sizes that are not non-negative safe integers", () => {
  for (const size of [-1, 1.5, "10", 2 ** 53, null]) {
    assertThrows(
      () => parseDescriptor(desc(OCI_CONFIG, A, size as number)),
      InvalidInputError,
      "size",
    );
  }
  assertEquals(parseDescriptor(desc(OCI_CONFIG, A, 0)).size, 0);
});

Deno.test("parseDescriptor() refuses urls that are not absolute URLs or not strings", () => {
  assertThrows(
    () => parseDescriptor(desc(OCI_CONFIG, A, 1, { urls: ["value"] })),
    InvalidInputError,
    "urls[0]",
  );
  assertThrows(
    () => parseDescriptor(desc(OCI_CONFIG, A, 1, { urls: "https://x" })),
    InvalidInputError,
    "urls",
  );
  assertThrows(
    () => parseDescriptor(desc(OCI_CONFIG, A, 1, { urls: [1] })),
    InvalidInputError,
    "urls[0]",
  );
});

Deno.test("parseDescriptor() refuses annotations that are not a string map", () => {
  assertThrows(
    () => parseDescriptor(desc(OCI_CONFIG, A, 1, { annotations: { "org.example.n": 1 } })),
    InvalidInputError,
    'annotations["org.example.n"]',
  );
  assertThrows(
    () => parseDescriptor(desc(OCI_CONFIG, A, 1, { annotations: ["a"] })),
    InvalidInputError,
    "annotations",
  );
});

Deno.test("parseDescriptor() refuses unpadded or invalid base64 data", () => {
  for (const data of ["e30", "e3=0", "e30=\n", "!!!!", "e30-"]) {
    assertThrows(
      () => parseDescriptor(desc(OCI_EMPTY, EMPTY, 2, { data })),
      InvalidInputError,
      "data",
    );
  }
});

Deno.test("parseDescriptor() refuses data whose length differs from size", () => {
  assertThrows(
    () => parseDescriptor(desc(OCI_EMPTY, EMPTY, 3, { data: "e30=" })),
    InvalidInputError,
    "data: data holds 2 bytes but size is 3",
  );
});

Deno.test("parseDescriptor() refuses a platform without architecture or os", () => {
  assertThrows(
    () => parseDescriptor(desc(OCI_MANIFEST, A, 1, { platform: { os: "linux" } })),
    InvalidInputError,
    "platform.architecture: is required",
  );
  assertThrows(
    () => parseDescriptor(desc(OCI_MANIFEST, A, 1, { platform: { architecture: "amd64" } })),
    InvalidInputError,
    "platform.os: is required",
  );
  assertThrows(
    () =>
      parseDescriptor(
        desc(OCI_MANIFEST, A, 1, { platform: { architecture: "amd64", os: "linux", variant: 7 } }),
      ),
    InvalidInputError,
    "platform.variant",
  );
});

Deno.test("parseDescriptor() accepts an IANA-style artifactType and refuses a malformed one", () => {
  assertEquals(
    parseDescriptor(desc(OCI_MANIFEST, A, 1, { artifactType: "application/vnd.example.sbom.v1" }))
      .artifactType,
    "application/vnd.example.sbom.v1",
  );
  assertThrows(
    () => parseDescriptor(desc(OCI_MANIFEST, A, 1, { artifactType: "foo/.bar" })),
    InvalidInputError,
    "artifactType",
  );
});

Deno.test("parseDescriptor() refuses a value that is not an object", () => {
  for (const value of [null, [], "x", 1]) {
    assertThrows(() => parseDescriptor(value), InvalidInputError, "expected a JSON object");
  }
});

Deno.test("parseDescriptor() with the image-spec profile accepts any digest algorithm the grammar allows", () => {
  const d = desc(OCI_CONFIG, "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564");
  assertEquals(parseDescriptor(d, "descriptor", { profile: "image-spec" }).size, 10);
  assertThrows(
    () =>
      parseDescriptor(desc(OCI_CONFIG, "sha256:" + "A".repeat(64)), "d", { profile: "image-spec" }),
    InvalidInputError,
  );
});

// --- checkDescriptorData ----------------------------------------------------------

Deno.test("checkDescriptorData() accepts matching data and descriptors without data", () => {
  checkDescriptorData(desc(OCI_EMPTY, EMPTY, 2, { data: "e30=" }) as Descriptor, enc("{}"));
  checkDescriptorData(desc(OCI_EMPTY, EMPTY, 2) as Descriptor, enc("anything"));
});

Deno.test("checkDescriptorData() refuses data that differs from the blob", () => {
  assertThrows(
    () => checkDescriptorData(desc(OCI_EMPTY, EMPTY, 2, { data: "e30=" }) as Descriptor, enc("[]")),
    InvalidInputError,
    "differs from the blob",
  );
  assertThrows(
    () =>
      checkDescriptorData(desc(OCI_EMPTY, EMPTY, 2, { data: "e30=" }) as Descriptor, enc("{} ")),
    InvalidInputError,
  );
});

// --- detectDocumentKind ----------------------------------------------------------

Deno.test("detectDocumentKind() classifies by fields, then by mediaType", () => {
  assertEquals(detectDocumentKind({ manifests: null }), "index");
  assertEquals(detectDocumentKind({ config: {} }), "manifest");
  assertEquals(detectDocumentKind({ layers: [] }), "manifest");
  assertEquals(detectDocumentKind({ mediaType: DOCKER_MANIFEST_LIST }), "index");
  assertEquals(detectDocumentKind({ mediaType: OCI_MANIFEST }), "manifest");
  assertEquals(detectDocumentKind({ mediaType: "application/x" }), undefined);
  assertEquals(detectDocumentKind([]), undefined);
  assertEquals(detectDocumentKind(null), undefined);
});

// --- parseIndex -----------------------------------------------------------------

Deno.test("parseIndex() parses an OCI index and a Docker manifest list", () => {
  assertEquals(parseIndex(enc(index())).manifests.length, 1);
  const list = index({ mediaType: DOCKER_MANIFEST_LIST });
  assertEquals(parseIndex(enc(list)).mediaType, DOCKER_MANIFEST_LIST);
});

Deno.test("parseIndex() accepts a missing mediaType, artifactType, subject and annotations", () => {
  const { mediaType: _, ...bare } = index();
  assertEquals(parseIndex(enc(bare)).mediaType, undefined);
  const full = index({
    artifactType: "application/vnd.example+type",
    subject: desc(OCI_MANIFEST, B, 5),
    annotations: { a: "b" },
  });
  assertEquals(parseIndex(enc(full)).subject?.digest, B);
});

Deno.test('parseIndex() reads "manifests": null as an empty list (docker 25)', () => {
  assertEquals(parseIndex(enc(index({ manifests: null }))).manifests, []);
});

Deno.test("parseIndex() refuses a missing manifests array", () => {
  const { manifests: _, ...rest } = index();
  assertThrows(() => parseIndex(enc(rest)), InvalidInputError, "manifests: is required");
  assertThrows(() => parseIndex(enc(index({ manifests: {} }))), InvalidInputError, "manifests");
});

Deno.test("parseIndex() refuses a schemaVersion other than 2", () => {
  for (const schemaVersion of [1, 3, "2", undefined]) {
    assertThrows(
      () => parseIndex(enc(index({ schemaVersion }))),
      InvalidInputError,
      "schemaVersion",
    );
  }
});

Deno.test("parseIndex() names the path of a bad nested digest", () => {
  const bad = index({ manifests: [desc(OCI_MANIFEST), desc(OCI_MANIFEST, "sha256:../../x")] });
  const e = assertThrows(() => parseIndex(enc(bad), { what: "index.json" }), InvalidInputError);
  assertMatch(e.message, /^Cannot parse index\.json: manifests\[1\]\.digest: invalid digest/);
});

Deno.test("parseIndex() rejects a body with layers or config (kind confusion)", () => {
  assertThrows(() => parseIndex(enc(index({ layers: [] }))), InvalidInputError, "is a manifest");
  assertThrows(
    () => parseIndex(enc(index({ config: desc(OCI_CONFIG) }))),
    InvalidInputError,
    "is a manifest",
  );
});

Deno.test("parseIndex() rejects an index whose own mediaType is a manifest type", () => {
  assertThrows(
    () => parseIndex(enc(index({ mediaType: OCI_MANIFEST }))),
    InvalidInputError,
    "mediaType",
  );
  assertThrows(
    () => parseIndex(enc(index({ mediaType: DOCKER_MANIFEST }))),
    InvalidInputError,
    "mediaType",
  );
});

Deno.test("parseIndex() rejects a manifest descriptor over an index body (CVE-2021-41190)", () => {
  const bytes = enc(index());
  const e = assertThrows(
    () => parseIndex(bytes, { descriptor: desc(OCI_MANIFEST, A, bytes.byteLength) as Descriptor }),
    InvalidInputError,
  );
  assertMatch(e.message, /CVE-2021-41190/);
  assertMatch(e.message, /^Cannot parse index sha256:aaaaaaaaaaaa…:/);
});

Deno.test("parseIndex() warns when an OCI index descriptor points at a Docker manifest list", () => {
  const bytes = enc(index({ mediaType: DOCKER_MANIFEST_LIST }));
  const warnings: string[] = [];
  parseIndex(bytes, {
    descriptor: desc(OCI_INDEX, A, bytes.byteLength) as Descriptor,
    onWarning: (m) => warnings.push(m),
  });
  assertEquals(warnings.length, 1);
  assertMatch(warnings[0], /descriptor says application\/vnd\.oci\.image\.index\.v1\+json/);
});

Deno.test("parseIndex() does not warn when descriptor and body agree or the body has no mediaType", () => {
  const warnings: string[] = [];
  const onWarning = (m: string) => warnings.push(m);
  parseIndex(enc(index()), { descriptor: desc(OCI_INDEX) as Descriptor, onWarning });
  const { mediaType: _, ...bare } = index();
  parseIndex(enc(bare), { descriptor: desc(DOCKER_MANIFEST_LIST) as Descriptor, onWarning });
  assertEquals(warnings, []);
});

Deno.test("parseIndex() checks the descriptor's data against the bytes", () => {
  const bytes = enc(index());
  const data = btoa(String.fromCharCode(...bytes));
  parseIndex(bytes, { descriptor: desc(OCI_INDEX, A, bytes.byteLength, { data }) as Descriptor });
  const other = btoa(String.fromCharCode(...enc(index({ annotations: { a: "b" } }))));
  assertThrows(
    () =>
      parseIndex(bytes, {
        descriptor: desc(OCI_INDEX, A, bytes.byteLength, { data: other }) as Descriptor,
      }),
    InvalidInputError,
    "embedded data",
  );
});

Deno.test("parseIndex() accepts unknown media types and artifactType in manifests", () => {
  const body = index({
    manifests: [
      desc("application/customized.manifest+json", A, 1, { artifactType: "application/x.y" }),
    ],
  });
  assertEquals(
    parseIndex(enc(body)).manifests[0].mediaType,
    "application/customized.manifest+json",
  );
});

Deno.test("parseIndex() refuses a body that is not an object", () => {
  assertThrows(() => parseIndex(enc("[]")), InvalidInputError, "expected a JSON object");
  assertThrows(() => parseIndex(enc("null")), InvalidInputError, "expected a JSON object");
});

Deno.test("parseIndex() refuses duplicate keys and over-cap bodies", () => {
  assertThrows(
    () => parseIndex(enc('{"schemaVersion":2,"manifests":[],"manifests":[]}')),
    InvalidInputError,
    "duplicate",
  );
  assertThrows(() => parseIndex(enc(index()), { maxJsonBytes: 10 }), LimitExceededError);
});

// --- parseManifest ----------------------------------------------------------------

Deno.test("parseManifest() parses OCI and Docker v2 manifests", () => {
  assertEquals(parseManifest(enc(manifest())).layers.length, 1);
  const docker = manifest({
    mediaType: DOCKER_MANIFEST,
    config: desc(DOCKER_CONFIG, A, 5),
    layers: [desc(DOCKER_LAYER_GZIP, B, 6)],
  });
  assertEquals(parseManifest(enc(docker)).config.mediaType, DOCKER_CONFIG);
});

Deno.test("parseManifest() accepts a missing body mediaType", () => {
  const { mediaType: _, ...bare } = manifest();
  assertEquals(parseManifest(enc(bare)).mediaType, undefined);
});

Deno.test("parseManifest() accepts an empty layers array", () => {
  assertEquals(parseManifest(enc(manifest({ layers: [] }))).layers, []);
});

Deno.test("parseManifest() with the image-spec profile refuses an empty layers array", () => {
  assertThrows(
    () => parseManifest(enc(manifest({ layers: [] })), { profile: "image-spec" }),
    InvalidInputError,
    "layers",
  );
});

Deno.test("parseManifest() refuses a missing config or layers", () => {
  const { config: _, ...noConfig } = manifest();
  assertThrows(() => parseManifest(enc(noConfig)), InvalidInputError, "config: is required");
  const { layers: __, ...noLayers } = manifest();
  assertThrows(() => parseManifest(enc(noLayers)), InvalidInputError, "layers: is required");
});

Deno.test("parseManifest() refuses schemaVersion 1 and other versions", () => {
  assertThrows(
    () => parseManifest(enc(manifest({ schemaVersion: 1 }))),
    InvalidInputError,
    "schemaVersion: must be 2",
  );
});

Deno.test("parseManifest() accepts unknown config and layer media types and artifactType", () => {
  const artifact = manifest({
    artifactType: "application/vnd.example+type",
    config: desc("application/vnd.cncf.helm.config.v1+json", EMPTY, 3),
    layers: [desc("application/tar+gzip", B, 4), desc(OCI_EMPTY, EMPTY, 2)],
  });
  const m = parseManifest(enc(artifact));
  assertEquals(m.artifactType, "application/vnd.example+type");
  assertEquals(m.layers[0].mediaType, "application/tar+gzip");
});

Deno.test("parseManifest() names the path of a bad layer digest", () => {
  const bad = manifest({ layers: [desc(OCI_LAYER_GZIP), desc(OCI_LAYER_GZIP, "sha256:XYZ")] });
  const e = assertThrows(
    () => parseManifest(enc(bad), { what: "manifest sha256:ab12… of docker.io/library/x:1" }),
    InvalidInputError,
  );
  assertMatch(
    e.message,
    /^Cannot parse manifest sha256:ab12… of docker\.io\/library\/x:1: layers\[1\]\.digest: invalid digest "sha256:XYZ": /,
  );
});

Deno.test("parseManifest() refuses a body with manifests (kind confusion)", () => {
  assertThrows(
    () => parseManifest(enc(manifest({ manifests: [] }))),
    InvalidInputError,
    "is an index",
  );
});

Deno.test("parseManifest() refuses a body whose mediaType is an index type", () => {
  assertThrows(
    () => parseManifest(enc(manifest({ mediaType: OCI_INDEX }))),
    InvalidInputError,
    "mediaType",
  );
  assertThrows(
    () => parseManifest(enc(manifest({ mediaType: DOCKER_MANIFEST_LIST }))),
    InvalidInputError,
    "index",
  );
});

Deno.test("parseManifest() rejects an index descriptor over a manifest body (CVE-2021-41190)", () => {
  for (const mediaType of [OCI_INDEX, DOCKER_MANIFEST_LIST]) {
    assertThrows(
      () => parseManifest(enc(manifest()), { descriptor: desc(mediaType) as Descriptor }),
      InvalidInputError,
      "CVE-2021-41190",
    );
  }
});

Deno.test("parseManifest() rejects a manifest descriptor over an index body", () => {
  assertThrows(
    () => parseManifest(enc(index()), { descriptor: desc(OCI_MANIFEST) as Descriptor }),
    InvalidInputError,
    "is an index",
  );
});

Deno.test("parseManifest() warns when an OCI manifest descriptor points at a Docker v2 body", () => {
  const warnings: string[] = [];
  const m = parseManifest(enc(manifest({ mediaType: DOCKER_MANIFEST })), {
    descriptor: desc(OCI_MANIFEST) as Descriptor,
    onWarning: (w) => warnings.push(w),
  });
  assertEquals(m.mediaType, DOCKER_MANIFEST);
  assertEquals(warnings.length, 1);
  assertMatch(warnings[0], /but the body says application\/vnd\.docker/);
});

Deno.test("parseManifest() checks the descriptor's data against the bytes", () => {
  const bytes = enc(manifest());
  assertThrows(
    () =>
      parseManifest(bytes, {
        descriptor: desc(OCI_MANIFEST, A, 2, { data: "e30=" }) as Descriptor,
      }),
    InvalidInputError,
    "embedded data",
  );
});

Deno.test("parseManifest() refuses a subject that is not a descriptor", () => {
  assertThrows(
    () => parseManifest(enc(manifest({ subject: ".nope" }))),
    InvalidInputError,
    "subject",
  );
});

Deno.test("parseManifest() keeps unknown top-level fields", () => {
  const m = parseManifest(enc(manifest({ "x-extra": 1 }))) as unknown as Record<string, unknown>;
  assertEquals(m["x-extra"], 1);
});

// --- parseConfig ----------------------------------------------------------------

Deno.test("parseConfig() parses a config with the optional fields", () => {
  const full = config({
    created: "2015-10-31T22:22:56.015925234Z",
    author: "a",
    variant: "v8",
    "os.version": "10.0",
    "os.features": ["win32k"],
    config: {
      User: "1:1",
      ExposedPorts: { "8080/tcp": {} },
      Env: ["PATH=/bin", "EMPTY="],
      Entrypoint: ["/bin/sh"],
      Cmd: null,
      Volumes: { "/data": {} },
      WorkingDir: "/home",
      Labels: { a: "b" },
      StopSignal: "SIGKILL",
      ArgsEscaped: true,
    },
    history: [
      { created: "2015-10-31T22:22:54+02:00", created_by: "/bin/sh", empty_layer: true },
      { comment: "c", author: "x" },
    ],
  });
  const c = parseConfig(enc(full));
  assertEquals(c.config?.Env, ["PATH=/bin", "EMPTY="]);
  assertEquals(c.history?.length, 2);
});

Deno.test("parseConfig() keeps Docker's extra fields", () => {
  const docker = config({
    container: "abc",
    docker_version: "1.12.1",
    config: { Hostname: "h", Image: "sha256:x", OnBuild: null, Labels: null, Volumes: null },
  });
  const c = parseConfig(enc(docker)) as unknown as Record<string, unknown>;
  assertEquals(c.docker_version, "1.12.1");
});

Deno.test("parseConfig() accepts Docker's null Env and missing diff_ids", () => {
  const c = parseConfig(enc({
    architecture: "amd64",
    os: "linux",
    config: { Env: null, Cmd: ["sh"] },
    rootfs: { type: "layers" },
  }));
  assertEquals(c.rootfs.diff_ids, []);
  assertEquals(c.config?.Env, undefined);
});

Deno.test("parseConfig() requires architecture, os and rootfs", () => {
  for (const key of ["architecture", "os", "rootfs"]) {
    const c = config() as Record<string, unknown>;
    delete c[key];
    assertThrows(() => parseConfig(enc(c)), InvalidInputError, `${key}: is required`);
  }
});

Deno.test("parseConfig() refuses fields with the wrong type", () => {
  assertThrows(() => parseConfig(enc(config({ os: 123 }))), InvalidInputError, "os:");
  assertThrows(() => parseConfig(enc(config({ variant: 123 }))), InvalidInputError, "variant:");
  assertThrows(
    () => parseConfig(enc(config({ config: { User: 1234 } }))),
    InvalidInputError,
    "config.User",
  );
  assertThrows(() => parseConfig(enc(config({ history: "x" }))), InvalidInputError, "history");
  assertThrows(
    () => parseConfig(enc(config({ history: [{ empty_layer: "yes" }] }))),
    InvalidInputError,
    "history[0].empty_layer",
  );
  assertThrows(
    () => parseConfig(enc(config({ config: { Env: [7353] } }))),
    InvalidInputError,
    "config.Env[0]",
  );
  assertThrows(
    () => parseConfig(enc(config({ config: { Volumes: ["/a"] } }))),
    InvalidInputError,
    "config.Volumes",
  );
  assertThrows(
    () => parseConfig(enc(config({ config: { Labels: { a: 1 } } }))),
    InvalidInputError,
    "config.Labels.a",
  );
});

Deno.test("parseConfig() refuses Env entries that are not NAME=value", () => {
  for (const entry of ["foo", "=bar", ""]) {
    assertThrows(
      () => parseConfig(enc(config({ config: { Env: [entry] } }))),
      InvalidInputError,
      "config.Env[0]",
    );
  }
});

Deno.test("parseConfig() refuses created values that are not RFC 3339", () => {
  for (
    const created of [
      "yesterday",
      "2015-10-31",
      "2015-13-01T00:00:00Z",
      "2015-10-31T25:00:00Z",
      "2015-10-31 22:22:56Z",
    ]
  ) {
    assertThrows(() => parseConfig(enc(config({ created }))), InvalidInputError, "created");
  }
  assertThrows(
    () => parseConfig(enc(config({ history: [{ created: "x" }] }))),
    InvalidInputError,
    "history[0].created",
  );
});

Deno.test("parseConfig() refuses a rootfs type other than layers and bad diff_ids", () => {
  assertThrows(
    () => parseConfig(enc(config({ rootfs: { type: "x", diff_ids: [] } }))),
    InvalidInputError,
    "rootfs.type",
  );
  assertThrows(
    () => parseConfig(enc(config({ rootfs: { type: "layers", diff_ids: ["sha256:../../x"] } }))),
    InvalidInputError,
    "rootfs.diff_ids[0]",
  );
});

Deno.test("parseConfig() refuses duplicate keys and invalid JSON", () => {
  assertThrows(
    () => parseConfig(enc('{"os":"linux","os":"windows"}')),
    InvalidInputError,
    'duplicate key "os"',
  );
  assertThrows(() => parseConfig(enc("invalid JSON")), InvalidInputError, "invalid JSON");
});

// --- parseDockerArchiveManifest -------------------------------------------------

Deno.test("parseDockerArchiveManifest() parses entries with LayerSources and null RepoTags", () => {
  const entries = parseDockerArchiveManifest(enc([
    { Config: "a.json", RepoTags: ["busybox:latest"], Layers: ["l1/layer.tar"] },
    {
      Config: "blobs/sha256/" + "b".repeat(64),
      RepoTags: null,
      Layers: ["blobs/sha256/" + "c".repeat(64)],
      LayerSources: { [B]: desc("application/vnd.oci.image.layer.v1.tar", B, 9) },
    },
  ]));
  assertEquals(entries.length, 2);
  assertEquals(entries[1].RepoTags, null);
  assertEquals(entries[1].LayerSources?.[B]?.size, 9);
});

Deno.test('parseDockerArchiveManifest() refuses null with "no valid manifest.json"', () => {
  assertThrows(
    () => parseDockerArchiveManifest(enc("null")),
    InvalidInputError,
    "no valid manifest.json",
  );
  assertThrows(
    () => parseDockerArchiveManifest(enc("{}")),
    InvalidInputError,
    "no valid manifest.json",
  );
});

Deno.test("parseDockerArchiveManifest() refuses entries with a bad Config, RepoTags or Layers", () => {
  assertThrows(
    () => parseDockerArchiveManifest(enc([{ RepoTags: [], Layers: [] }])),
    InvalidInputError,
    "[0].Config",
  );
  assertThrows(
    () => parseDockerArchiveManifest(enc([{ Config: "a", RepoTags: "x", Layers: [] }])),
    InvalidInputError,
    "[0].RepoTags",
  );
  assertThrows(
    () => parseDockerArchiveManifest(enc([{ Config: "a", RepoTags: [], Layers: [1] }])),
    InvalidInputError,
    "[0].Layers[0]",
  );
  assertThrows(
    () =>
      parseDockerArchiveManifest(
        enc([{ Config: "a", RepoTags: [], Layers: [], LayerSources: { x: { size: 1 } } }]),
      ),
    InvalidInputError,
    "LayerSources",
  );
});

// --- parseImageLayout -------------------------------------------------------------

Deno.test("parseImageLayout() requires imageLayoutVersion as a string", () => {
  assertEquals(parseImageLayout(enc('{"imageLayoutVersion":"1.0.0"}')).imageLayoutVersion, "1.0.0");
  assertThrows(
    () => parseImageLayout(enc("{}")),
    InvalidInputError,
    "imageLayoutVersion: is required",
  );
  assertThrows(
    () => parseImageLayout(enc('{"imageLayoutVersion":1}')),
    InvalidInputError,
    "imageLayoutVersion",
  );
  assertThrows(
    () => parseImageLayout(enc('{"imageLayoutVersion": 1.0.0}')),
    InvalidInputError,
    "invalid JSON",
  );
});
