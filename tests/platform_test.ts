import { assertEquals, assertThrows } from "./assert.ts";
import { InvalidInputError } from "../src/errors.ts";
import {
  choosePlatformManifest,
  formatPlatform,
  hostPlatform,
  isAttestation,
  normalizePlatform,
  parsePlatform,
  platformMatches,
} from "../src/platform.ts";
import type { Descriptor, Platform } from "../src/types.ts";

const p = (os: string, architecture: string, variant?: string): Platform =>
  variant === undefined ? { os, architecture } : { os, architecture, variant };

let counter = 0;
const manifest = (platform?: Platform, annotations?: Record<string, string>): Descriptor => {
  const hex = (++counter).toString(16).padStart(64, "0");
  return {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: `sha256:${hex}`,
    size: 100,
    ...(platform ? { platform } : {}),
    ...(annotations ? { annotations } : {}),
  };
};

Deno.test("parsePlatform() parses os/arch and os/arch/variant", () => {
  assertEquals(parsePlatform("linux/amd64"), p("linux", "amd64"));
  assertEquals(parsePlatform("linux/arm/v7"), p("linux", "arm", "v7"));
  assertEquals(parsePlatform("windows/amd64"), p("windows", "amd64"));
});

Deno.test("parsePlatform() normalizes what it parses", () => {
  assertEquals(parsePlatform("linux/arm64/v8"), p("linux", "arm64"));
  assertEquals(parsePlatform("Linux/x86_64"), p("linux", "amd64"));
  assertEquals(parsePlatform("linux/arm"), p("linux", "arm", "v7"));
});

Deno.test("parsePlatform() refuses strings that are not os/arch[/variant]", () => {
  for (
    const s of ["", "linux", "linux/", "/amd64", "linux/amd64/v1/x", "linux/am d64", "linux//v7"]
  ) {
    assertThrows(() => parsePlatform(s), InvalidInputError, "invalid platform");
  }
});

Deno.test("formatPlatform() omits an empty variant", () => {
  assertEquals(formatPlatform(p("linux", "arm", "v7")), "linux/arm/v7");
  assertEquals(formatPlatform(p("linux", "amd64")), "linux/amd64");
  assertEquals(formatPlatform(p("linux", "amd64", "")), "linux/amd64");
});

Deno.test("normalizePlatform() maps architecture aliases like containerd", () => {
  const cases: [Platform, Platform][] = [
    [p("linux", "aarch64"), p("linux", "arm64")],
    [p("linux", "arm64", "v8"), p("linux", "arm64")],
    [p("linux", "arm64", "8"), p("linux", "arm64")],
    [p("linux", "arm64", "v9.0"), p("linux", "arm64", "v9")],
    [p("linux", "x86_64"), p("linux", "amd64")],
    [p("linux", "x86-64"), p("linux", "amd64")],
    [p("linux", "amd64", "v1"), p("linux", "amd64")],
    [p("linux", "amd64", "v3"), p("linux", "amd64", "v3")],
    [p("linux", "armhf"), p("linux", "arm", "v7")],
    [p("linux", "armel"), p("linux", "arm", "v6")],
    [p("linux", "arm"), p("linux", "arm", "v7")],
    [p("linux", "arm", "6"), p("linux", "arm", "v6")],
    [p("linux", "i386"), p("linux", "386")],
    [p("linux", "i686"), p("linux", "386")],
    [p("LINUX", "PPC64LE"), p("linux", "ppc64le")],
    [p("macos", "arm64"), p("darwin", "arm64")],
    [p("linux", "riscv64"), p("linux", "riscv64")],
  ];
  for (const [input, expected] of cases) {
    assertEquals(normalizePlatform(input), expected, formatPlatform(input));
  }
});

Deno.test("normalizePlatform() keeps os.version and features", () => {
  const win = { os: "Windows", architecture: "AMD64", "os.version": "10.0.17763.1" };
  assertEquals(normalizePlatform(win), {
    os: "windows",
    architecture: "amd64",
    "os.version": "10.0.17763.1",
  });
});

Deno.test("platformMatches() is strict after normalization", () => {
  assertEquals(platformMatches(p("linux", "arm64"), p("linux", "arm64", "v8")), true);
  assertEquals(platformMatches(p("linux", "aarch64"), p("linux", "arm64")), true);
  assertEquals(platformMatches(p("linux", "arm"), p("linux", "arm", "v7")), true);
  assertEquals(platformMatches(p("linux", "arm", "v7"), p("linux", "arm", "v6")), false);
  assertEquals(platformMatches(p("linux", "arm", "v6"), p("linux", "arm", "v7")), false);
  assertEquals(platformMatches(p("linux", "amd64"), p("linux", "386")), false);
  assertEquals(platformMatches(p("linux", "amd64"), p("windows", "amd64")), false);
  assertEquals(platformMatches(p("linux", "amd64"), p("linux", "amd64", "v3")), false);
});

Deno.test("hostPlatform() maps Deno.build to a normalized platform", () => {
  const host = hostPlatform();
  assertEquals(host, normalizePlatform(host));
  const arch = Deno.build.arch === "x86_64"
    ? "amd64"
    : Deno.build.arch === "aarch64"
    ? "arm64"
    : Deno.build.arch;
  assertEquals(host.architecture, arch);
  assertEquals(host.os, Deno.build.os);
});

Deno.test("isAttestation() recognizes unknown/unknown and the attestation annotation", () => {
  assertEquals(isAttestation(manifest(p("unknown", "unknown"))), true);
  assertEquals(
    isAttestation(manifest(undefined, { "vnd.docker.reference.type": "attestation-manifest" })),
    true,
  );
  assertEquals(isAttestation(manifest(p("linux", "amd64"))), false);
  assertEquals(isAttestation(manifest()), false);
});

Deno.test("choosePlatformManifest() returns the first strict match", () => {
  const amd = manifest(p("linux", "amd64"));
  const arm1 = manifest(p("linux", "arm64", "v8"));
  const arm2 = manifest(p("linux", "arm64"));
  const list = [amd, arm1, arm2];
  assertEquals(choosePlatformManifest(list, p("linux", "aarch64")), arm1);
  assertEquals(choosePlatformManifest(list, p("linux", "amd64")), amd);
  assertEquals(choosePlatformManifest(list, p("linux", "arm", "v7")), undefined);
});

Deno.test("choosePlatformManifest() skips attestation manifests", () => {
  const att = manifest(p("unknown", "unknown"));
  const tagged = manifest(p("linux", "amd64"), {
    "vnd.docker.reference.type": "attestation-manifest",
  });
  const amd = manifest(p("linux", "amd64"));
  assertEquals(choosePlatformManifest([att, tagged, amd], p("linux", "amd64")), amd);
  assertEquals(choosePlatformManifest([att, tagged], p("linux", "amd64")), undefined);
  assertEquals(choosePlatformManifest([att, tagged]), undefined);
});

Deno.test("choosePlatformManifest() without a platform prefers the host, else the first non-attestation", () => {
  const host = hostPlatform();
  const other = manifest(p("linux", host.architecture === "s390x" ? "ppc64le" : "s390x"));
  const mine = manifest(host);
  const att = manifest(p("unknown", "unknown"));
  assertEquals(choosePlatformManifest([att, other, mine]), mine);
  assertEquals(choosePlatformManifest([att, other]), other);
  const bare = manifest();
  assertEquals(choosePlatformManifest([bare]), bare);
  assertEquals(choosePlatformManifest([bare], p("linux", "amd64")), undefined);
  assertEquals(choosePlatformManifest([]), undefined);
});
