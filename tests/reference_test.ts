import { assertEquals, assertThrows } from "./assert.ts";
import { InvalidInputError } from "../src/errors.ts";
import {
  familiarName,
  formatReference,
  normalizeReference,
  parseReference,
  tryNormalizeReference,
} from "../src/reference.ts";

const D = `sha256:${"a".repeat(64)}` as const;

Deno.test("parseReference() puts a bare name under docker.io/library", () => {
  assertEquals(parseReference("busybox"), { domain: "docker.io", path: "library/busybox" });
  assertEquals(parseReference("busybox:1.36"), {
    domain: "docker.io",
    path: "library/busybox",
    tag: "1.36",
  });
});

Deno.test("parseReference() keeps multi-component Docker Hub paths", () => {
  assertEquals(parseReference("bitnami/redis:7"), {
    domain: "docker.io",
    path: "bitnami/redis",
    tag: "7",
  });
});

Deno.test("parseReference() rewrites index.docker.io to docker.io", () => {
  assertEquals(parseReference("index.docker.io/nginx"), {
    domain: "docker.io",
    path: "library/nginx",
  });
  assertEquals(parseReference("docker.io/nginx").path, "library/nginx");
});

Deno.test("parseReference() detects a registry host by a dot, a port or localhost", () => {
  assertEquals(parseReference("localhost:5000/x"), { domain: "localhost:5000", path: "x" });
  assertEquals(parseReference("localhost/x:1"), { domain: "localhost", path: "x", tag: "1" });
  assertEquals(parseReference("ghcr.io/org/app:v1").domain, "ghcr.io");
  assertEquals(parseReference("myhost:443/a/b/c").domain, "myhost:443");
  assertEquals(parseReference("[::1]:5000/x").domain, "[::1]:5000");
  assertEquals(parseReference("org/app").domain, "docker.io");
});

Deno.test("parseReference() parses digests with and without a tag", () => {
  assertEquals(parseReference(`busybox@${D}`), {
    domain: "docker.io",
    path: "library/busybox",
    digest: D,
  });
  assertEquals(parseReference(`localhost:5000/x:1@${D}`), {
    domain: "localhost:5000",
    path: "x",
    tag: "1",
    digest: D,
  });
});

Deno.test("parseReference() refuses bad digests", () => {
  for (
    const digest of [
      "sha256:abc",
      "md5:d41d8cd98f00b204e9800998ecf8427e",
      "sha256:" + "A".repeat(64),
      "",
    ]
  ) {
    assertThrows(() => parseReference(`busybox@${digest}`), InvalidInputError, "invalid reference");
  }
});

Deno.test("parseReference() refuses uppercase repository names", () => {
  assertThrows(() => parseReference("docker.io/Library/busybox"), InvalidInputError, "lowercase");
  assertThrows(() => parseReference("Busybox"), InvalidInputError, "lowercase");
});

Deno.test("parseReference() refuses bad path components and tags", () => {
  for (
    const s of [
      "",
      "busybox:",
      "busybox:-x",
      "busybox:.x",
      "busybox:" + "a".repeat(129),
      "a//b",
      "a/",
      "-a",
      "a-",
      "a..b",
      "a___b",
      "ghcr.io/",
      "ghcr.io/a b",
      "bad_host.com:x/y",
      "a".repeat(64),
    ]
  ) {
    assertThrows(() => parseReference(s), InvalidInputError, "invalid reference");
  }
});

Deno.test("parseReference() accepts the separators the grammar allows", () => {
  for (const s of ["a.b", "a_b", "a__b", "a-b", "a---b", "a1/b2/c3"]) {
    parseReference(s);
  }
  assertEquals(parseReference("busybox:" + "a".repeat(128)).tag?.length, 128);
});

Deno.test("parseReference() refuses names longer than 255 characters", () => {
  assertThrows(() => parseReference("ghcr.io/" + "a".repeat(250)), InvalidInputError, "255");
});

Deno.test("formatReference() prints domain/path[:tag][@digest]", () => {
  assertEquals(formatReference({ domain: "docker.io", path: "library/x" }), "docker.io/library/x");
  assertEquals(
    formatReference({ domain: "ghcr.io", path: "o/a", tag: "1", digest: D }),
    `ghcr.io/o/a:1@${D}`,
  );
});

Deno.test("normalizeReference() adds :latest when there is neither tag nor digest", () => {
  assertEquals(normalizeReference("busybox"), "docker.io/library/busybox:latest");
  assertEquals(normalizeReference("busybox:1"), "docker.io/library/busybox:1");
  assertEquals(normalizeReference(`busybox@${D}`), `docker.io/library/busybox@${D}`);
  assertEquals(
    normalizeReference("index.docker.io/library/test_image_1:latest"),
    "docker.io/library/test_image_1:latest",
  );
  assertEquals(normalizeReference("ghcr.io/o/a", { defaultTag: "main" }), "ghcr.io/o/a:main");
});

Deno.test("tryNormalizeReference() returns undefined for invalid references", () => {
  assertEquals(tryNormalizeReference("Busybox"), undefined);
  assertEquals(
    tryNormalizeReference("bazel/v1/tarball:test_image_1"),
    "docker.io/bazel/v1/tarball:test_image_1",
  );
});

Deno.test("familiarName() shortens Docker Hub names for display", () => {
  assertEquals(familiarName("docker.io/library/busybox:latest"), "busybox:latest");
  assertEquals(familiarName("docker.io/org/app:1"), "org/app:1");
  assertEquals(familiarName("docker.io/library/a/b"), "library/a/b");
  assertEquals(familiarName(`busybox@${D}`), `busybox@${D}`);
  assertEquals(familiarName("ghcr.io/o/app:1"), "ghcr.io/o/app:1");
  assertEquals(familiarName("not a ref"), "not a ref");
});

Deno.test("parseReference() refuses a URL scheme and says to drop it (and --plain-http for http)", () => {
  assertThrows(
    () => parseReference("http://127.0.0.1:5000/x:1"),
    InvalidInputError,
    'drop "http://" (use --plain-http for a registry without TLS)',
  );
  assertThrows(() => parseReference("https://ghcr.io/a/b:1"), InvalidInputError, 'drop "https://"');
  assertThrows(
    () => parseReference("docker://ghcr.io/a/b:1"),
    InvalidInputError,
    'drop "docker://"',
  );
});
