// This module is browser compatible.
/**
 * Platforms with containerd's semantics: parse `os/arch[/variant]`, normalize
 * (`aarch64` and `arm64/v8` are `arm64`, `x86_64` and `amd64/v1` are `amd64`, `armhf` is
 * `arm/v7`, `i386` is `386`), match strictly, and choose a manifest from an index while
 * skipping attestation manifests.
 *
 * @example
 * ```ts
 * import { formatPlatform, normalizePlatform } from "@lading/oci";
 * console.log(formatPlatform(normalizePlatform({ os: "Linux", architecture: "aarch64" }))); // linux/arm64
 * ```
 * @module
 */
import { shortDigest } from "./digest.ts";
import { InvalidInputError } from "./errors.ts";
import type { Descriptor, Platform } from "./types.ts";

const COMPONENT = /^[A-Za-z0-9_-]+$/;

/**
 * Parses `os/arch` or `os/arch/variant` and normalizes it.
 *
 * @throws {InvalidInputError} for any other shape.
 * @example
 * ```ts
 * import { parsePlatform } from "@lading/oci";
 * console.log(parsePlatform("linux/arm/v7")); // { os: "linux", architecture: "arm", variant: "v7" }
 * console.log(parsePlatform("linux/arm64/v8")); // { os: "linux", architecture: "arm64" }
 * ```
 */
export function parsePlatform(s: string): Platform {
  const parts = s.split("/");
  if (parts.length < 2 || parts.length > 3 || !parts.every((p) => COMPONENT.test(p))) {
    throw new InvalidInputError(
      `invalid platform ${JSON.stringify(s)}: expected <os>/<arch>[/<variant>]`,
    );
  }
  const [os, architecture, variant] = parts;
  return normalizePlatform(variant ? { os, architecture, variant } : { os, architecture });
}

/**
 * Formats a platform as `os/arch[/variant]`.
 *
 * @example
 * ```ts
 * import { formatPlatform } from "@lading/oci";
 * console.log(formatPlatform({ os: "linux", architecture: "arm", variant: "v7" })); // linux/arm/v7
 * console.log(formatPlatform({ os: "linux", architecture: "amd64" })); // linux/amd64
 * ```
 */
export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

function normalizeArch(arch: string, variant: string): [string, string] {
  arch = arch.toLowerCase();
  variant = variant.toLowerCase();
  switch (arch) {
    case "i386":
    case "i486":
    case "i586":
    case "i686":
      return ["386", ""];
    case "x86_64":
    case "x86-64":
    case "amd64":
      return ["amd64", variant === "v1" ? "" : variant];
    case "aarch64":
    case "arm64":
      if (variant === "8" || variant === "v8" || variant === "v8.0") return ["arm64", ""];
      if (variant === "9" || variant === "9.0" || variant === "v9.0") return ["arm64", "v9"];
      return ["arm64", variant];
    case "armhf":
      return ["arm", "v7"];
    case "armel":
      return ["arm", "v6"];
    case "arm":
      if (variant === "" || variant === "7") return ["arm", "v7"];
      if (variant === "5" || variant === "6" || variant === "8") return ["arm", `v${variant}`];
      return ["arm", variant];
    default:
      return [arch, variant];
  }
}

/**
 * Normalizes a platform like containerd's `platforms.Normalize`: lowercase, `macos` →
 * `darwin`, architecture aliases and default variants resolved. Other fields are kept.
 *
 * @example
 * ```ts
 * import { normalizePlatform } from "@lading/oci";
 * console.log(normalizePlatform({ os: "linux", architecture: "armhf" })); // { os: "linux", architecture: "arm", variant: "v7" }
 * console.log(normalizePlatform({ os: "linux", architecture: "x86_64" })); // { os: "linux", architecture: "amd64" }
 * ```
 */
export function normalizePlatform(p: Platform): Platform {
  let os = p.os.toLowerCase();
  if (os === "macos") os = "darwin";
  const [architecture, variant] = normalizeArch(p.architecture, p.variant ?? "");
  const { variant: _, ...rest } = p;
  const out: Platform = { ...rest, os, architecture };
  return variant ? { ...out, variant } : out;
}

/**
 * Strict matching (containerd `OnlyStrict` without fallbacks): normalized os,
 * architecture and variant must be equal, so `arm64` matches `arm64/v8` but `arm/v7`
 * does not match `arm/v6`.
 *
 * @example
 * ```ts
 * import { platformMatches } from "@lading/oci";
 * console.log(platformMatches(
 *   { os: "linux", architecture: "arm64" },
 *   { os: "linux", architecture: "aarch64", variant: "v8" },
 * )); // true
 * ```
 */
export function platformMatches(want: Platform, have: Platform): boolean {
  const a = normalizePlatform(want);
  const b = normalizePlatform(have);
  return a.os === b.os && a.architecture === b.architecture &&
    (a.variant ?? "") === (b.variant ?? "");
}

const HOST_OS: Record<string, string> = {
  linux: "linux",
  darwin: "darwin",
  windows: "windows",
  win32: "windows",
  freebsd: "freebsd",
};

interface HostGlobals {
  Deno?: { build?: { os?: string; arch?: string } };
  process?: { platform?: string; arch?: string; versions?: { node?: string } };
  navigator?: { platform?: string; userAgent?: string; userAgentData?: { platform?: string } };
}

/** The host's os and architecture from a browser's `navigator` (e.g. `Linux aarch64`). */
function browserHost(nav: NonNullable<HostGlobals["navigator"]>): Platform {
  const text = `${nav.userAgentData?.platform ?? ""} ${nav.platform ?? ""} ${nav.userAgent ?? ""}`
    .toLowerCase();
  const os = /windows|win32|win64/.test(text)
    ? "windows"
    : /mac|darwin|iphone|ipad/.test(text)
    ? "darwin"
    : "linux";
  const architecture = /aarch64|arm64/.test(text)
    ? "arm64"
    : /x86_64|x64|amd64|wow64|win64/.test(text)
    ? "amd64"
    : /armv7|armv8l|armhf/.test(text)
    ? "arm"
    : /i[3-6]86/.test(text)
    ? "386"
    : "amd64";
  return normalizePlatform({
    os,
    architecture,
    ...(architecture === "arm" ? { variant: "v7" } : {}),
  });
}

/**
 * The platform this code runs on: `Deno.build` on Deno, `process.platform`/`process.arch`
 * on Node, `navigator` in browsers (the machine's os and CPU, `linux/amd64` when it says
 * nothing), `linux/amd64` anywhere else.
 *
 * @example
 * ```ts
 * import { formatPlatform, hostPlatform } from "@lading/oci";
 * console.log(formatPlatform(hostPlatform())); // e.g. linux/amd64
 * ```
 */
export function hostPlatform(): Platform {
  const g = globalThis as HostGlobals;
  const build = g.Deno?.build;
  if (typeof build?.os === "string" && typeof build.arch === "string") {
    return normalizePlatform({ os: HOST_OS[build.os] ?? build.os, architecture: build.arch });
  }
  const proc = g.process;
  if (typeof proc?.versions?.node === "string" && typeof proc.platform === "string") {
    const arch = { x64: "amd64", ia32: "386" }[proc.arch ?? ""] ?? proc.arch ?? "amd64";
    return normalizePlatform({ os: HOST_OS[proc.platform] ?? proc.platform, architecture: arch });
  }
  if (g.navigator) return browserHost(g.navigator);
  return { os: "linux", architecture: "amd64" };
}

/**
 * True for BuildKit attestation manifests: platform `unknown/unknown` or the annotation
 * `vnd.docker.reference.type: attestation-manifest`.
 *
 * @example
 * ```ts
 * import { isAttestation } from "@lading/oci";
 * console.log(isAttestation({
 *   mediaType: "application/vnd.oci.image.manifest.v1+json",
 *   digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 *   size: 2,
 *   platform: { os: "unknown", architecture: "unknown" },
 * })); // true
 * ```
 */
export function isAttestation(d: Descriptor): boolean {
  if (d.annotations?.["vnd.docker.reference.type"] === "attestation-manifest") return true;
  return d.platform?.os === "unknown" && d.platform?.architecture === "unknown";
}

/**
 * Chooses the manifest for a platform from an index's descriptors: the first strict
 * match that is not an attestation. Without `want`: the first match of the host platform,
 * else the first non-attestation entry. Descriptors without a platform only match when
 * `want` is omitted.
 *
 * @example
 * ```ts
 * import { choosePlatformManifest } from "@lading/oci";
 * const d = (arch: string, digit: string) => ({
 *   mediaType: "application/vnd.oci.image.manifest.v1+json",
 *   digest: `sha256:${digit.repeat(64)}` as const,
 *   size: 1,
 *   platform: { os: "linux", architecture: arch },
 * });
 * const chosen = choosePlatformManifest([d("amd64", "a"), d("arm64", "b")], {
 *   os: "linux",
 *   architecture: "aarch64",
 * });
 * console.log(chosen?.digest.slice(0, 9)); // sha256:bb
 * ```
 */
export function choosePlatformManifest(
  manifests: readonly Descriptor[],
  want?: Platform,
): Descriptor | undefined {
  const candidates = manifests.filter((d) => !isAttestation(d));
  const target = want ?? hostPlatform();
  const match = candidates.find((d) => d.platform && platformMatches(target, d.platform));
  if (match !== undefined || want !== undefined) return match;
  return candidates[0];
}

/**
 * How an index entry is named in reports: `linux/arm64/v8`, `attestation for sha256:ab12…`
 * (buildx attestation manifests), `unknown` without a platform.
 */
export function platformLabel(d: Descriptor): string {
  if (isAttestation(d)) {
    const ref = d.annotations?.["vnd.docker.reference.digest"];
    return ref ? `attestation for ${shortDigest(ref)}` : "attestation";
  }
  return d.platform ? formatPlatform(d.platform) : "unknown";
}
