// This module is browser compatible.
/**
 * The package databases an image carries, parsed: Debian's dpkg `status` (and the
 * `status.d/` files distroless images use) and Alpine's apk `installed`. Read from the
 * image's own files, never from the network.
 *
 * @example
 * ```ts
 * import { parseApkInstalled, parseDpkgStatus } from "./packages.ts";
 * const dpkg = parseDpkgStatus(
 *   "Package: bash\nStatus: install ok installed\nVersion: 5.2-1\nArchitecture: amd64\nInstalled-Size: 7000\n",
 * );
 * console.log(dpkg[0]); // { name: "bash", version: "5.2-1", arch: "amd64", size: 7168000 }
 * console.log(parseApkInstalled("P:musl\nV:1.2.5-r0\nA:x86_64\nI:401408\n\n")[0].name); // musl
 * ```
 * @module
 */

/** One installed package. */
export interface InstalledPackage {
  readonly name: string;
  readonly version: string;
  readonly arch?: string;
  /** Installed size in bytes, when the database says. */
  readonly size?: number;
}

/** Where package databases live, and which parser reads each. */
export const PACKAGE_DATABASES = [
  { path: "var/lib/dpkg/status", kind: "dpkg" },
  { path: "lib/apk/db/installed", kind: "apk" },
] as const;

/** The folder of per-package dpkg status files (distroless). */
export const DPKG_STATUS_DIR = "var/lib/dpkg/status.d";

function paragraphs(text: string): string[] {
  return text.replace(/\r\n/g, "\n").split(/\n\s*\n/).filter((p) => p.trim() !== "");
}

/** Parses a dpkg status file: installed packages only (`Status: … installed`). */
export function parseDpkgStatus(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const p of paragraphs(text)) {
    const fields = new Map<string, string>();
    for (const line of p.split("\n")) {
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (m) fields.set(m[1].toLowerCase(), m[2]);
    }
    const name = fields.get("package");
    if (!name) continue;
    const status = fields.get("status");
    if (status !== undefined && !/\binstalled$/.test(status.trim())) continue;
    const kib = Number(fields.get("installed-size"));
    out.push({
      name,
      version: fields.get("version") ?? "",
      ...(fields.get("architecture") ? { arch: fields.get("architecture") } : {}),
      ...(Number.isFinite(kib) && fields.has("installed-size") ? { size: kib * 1024 } : {}),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Parses apk's `lib/apk/db/installed`. */
export function parseApkInstalled(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const p of paragraphs(text)) {
    const fields = new Map<string, string>();
    for (const line of p.split("\n")) {
      if (line.length > 2 && line[1] === ":" && !fields.has(line[0])) {
        fields.set(line[0], line.slice(2));
      }
    }
    const name = fields.get("P");
    if (!name) continue;
    const size = Number(fields.get("I"));
    out.push({
      name,
      version: fields.get("V") ?? "",
      ...(fields.get("A") ? { arch: fields.get("A") } : {}),
      ...(fields.has("I") && Number.isFinite(size) ? { size } : {}),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
