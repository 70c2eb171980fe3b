/**
 * `lading images ls` and `lading images inspect`.
 * @module
 */
import { shortDigest } from "../digest.ts";
import { listImageSummaries, resolveImage } from "../image.ts";
import { formatPlatform, parsePlatform } from "../platform.ts";
import type { ImageConfig } from "../types.ts";
import {
  type CliIO,
  type Command,
  formatBytes,
  json,
  openStore,
  parseFlags,
  table,
  UsageError,
} from "./common.ts";

/** `images ls`. */
export const imagesLs: Command = {
  path: ["images", "ls"],
  summary: "list image names with media type, digest, size and platforms",
  usage: "lading images ls [--json] [-q] [--store DIR]",
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseFlags(args, { boolean: ["json", "quiet"], short: { q: "quiet" } });
    if (f.positionals.length) throw new UsageError("images ls takes no arguments");
    const store = await openStore(f.values, io);
    try {
      const list = await listImageSummaries(store);
      if (f.values.json) {
        io.out(json(list.map((s) => ({
          name: s.name,
          digest: s.digest,
          mediaType: s.mediaType,
          size: s.size,
          platforms: s.platforms,
          ...(s.missingPlatforms.length || s.missing.length
            ? { incomplete: true, missingPlatforms: s.missingPlatforms, missing: s.missing }
            : {}),
        }))));
      } else if (f.values.quiet) {
        for (const s of list) io.out(`${s.name}\n`);
      } else {
        io.out(table(
          ["REF", "TYPE", "DIGEST", "SIZE", "PLATFORMS"],
          list.map((s) => [
            s.name,
            s.mediaType,
            s.digest,
            formatBytes(s.size),
            [
              ...s.platforms,
              ...s.missingPlatforms.map((p) => `${p} (missing)`),
            ].join(",") + (s.missing.length && !s.missingPlatforms.length
              ? ` (incomplete: ${s.missing.length} blobs missing)`
              : ""),
          ]),
        ));
      }
      return 0;
    } finally {
      await store.close();
    }
  },
};

function list(v: readonly string[] | null | undefined): string {
  return v && v.length ? JSON.stringify(v) : "-";
}

/** Readable summary of a config. */
export function configSummary(config: ImageConfig): string {
  const c = config.config ?? {};
  const lines = [
    `Cmd:          ${list(c.Cmd)}`,
    `Entrypoint:   ${list(c.Entrypoint)}`,
    `WorkingDir:   ${c.WorkingDir || "-"}`,
    `User:         ${c.User || "-"}`,
    `ExposedPorts: ${Object.keys(c.ExposedPorts ?? {}).join(", ") || "-"}`,
    `Env:`,
    ...(c.Env ?? []).map((e) => `  ${e}`),
    `Labels:`,
    ...Object.entries(c.Labels ?? {}).map(([k, v]) => `  ${k}=${v}`),
  ];
  if (config.created) lines.unshift(`Created:      ${config.created}`);
  return lines.join("\n") + "\n";
}

/** `images inspect`. */
export const imagesInspect: Command = {
  path: ["images", "inspect"],
  summary: "show the index, manifest and config of an image, and a readable summary",
  usage: "lading images inspect <name|digest> [--platform P] [--json] [--store DIR]",
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseFlags(args, { string: ["platform"], boolean: ["json"] });
    if (f.positionals.length !== 1) throw new UsageError("images inspect takes one name or digest");
    const platform = f.values.platform ? parsePlatform(f.values.platform as string) : undefined;
    const store = await openStore(f.values, io);
    try {
      const warnings: string[] = [];
      const r = await resolveImage(store, f.positionals[0], {
        platform,
        onWarning: (m) => warnings.push(m),
      });
      if (f.values.json) {
        io.out(json({
          name: r.name,
          descriptor: r.descriptor,
          index: r.index ?? null,
          manifestDescriptor: r.manifestDescriptor,
          manifest: r.manifest,
          config: r.config,
          platform: r.platform,
          ...(warnings.length ? { warnings } : {}),
        }));
        return 0;
      }
      const out: string[] = [];
      out.push(`Name:         ${r.name}`);
      out.push(
        `Descriptor:   ${r.descriptor.mediaType} ${r.descriptor.digest} (${r.descriptor.size} bytes)`,
      );
      if (r.index) {
        out.push(`Index:        ${r.index.manifests.length} entries`);
        for (const m of r.index.manifests) {
          const p = m.platform ? formatPlatform(m.platform) : "-";
          const chosen = m.digest === r.manifestDescriptor.digest ? " (chosen)" : "";
          const present = (await store.has(m.digest)) ? "" : " [not in store]";
          out.push(`  ${p.padEnd(20)} ${m.mediaType} ${m.digest}${chosen}${present}`);
        }
      }
      out.push(`Manifest:     ${r.manifestDescriptor.mediaType} ${r.manifestDescriptor.digest}`);
      out.push(`Config:       ${r.manifest.config.mediaType} ${r.manifest.config.digest}`);
      out.push(`Platform:     ${formatPlatform(r.platform)}`);
      out.push(configSummary(r.config).trimEnd());
      out.push("Layers:");
      const diffIds = r.config.rootfs.diff_ids;
      const rows: string[][] = [];
      for (const [i, l] of r.manifest.layers.entries()) {
        const present = await store.has(l.digest);
        rows.push([
          String(i),
          l.mediaType,
          l.digest,
          formatBytes(l.size) + (present ? "" : " (missing)"),
          diffIds[i] ? shortDigest(diffIds[i]) : "-",
        ]);
      }
      out.push(
        table(["#", "MEDIA TYPE", "DIGEST", "SIZE", "DIFF_ID"], rows).trimEnd().split("\n")
          .map((l) => "  " + l).join("\n"),
      );
      out.push("History:");
      let layer = 0;
      const hist: string[][] = [];
      for (const h of r.config.history ?? []) {
        const size = h.empty_layer ? "(empty)" : formatBytes(r.manifest.layers[layer++]?.size ?? 0);
        hist.push([
          h.created ?? "-",
          size,
          (h.created_by ?? "").replace(/\s+/g, " ").slice(0, 100),
        ]);
      }
      out.push(
        table(["CREATED", "SIZE", "CREATED BY"], hist).trimEnd().split("\n").map((l) => "  " + l)
          .join("\n"),
      );
      for (const w of warnings) out.push(`warning: ${w}`);
      io.out(out.join("\n") + "\n");
      return 0;
    } finally {
      await store.close();
    }
  },
};
