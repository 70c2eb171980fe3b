/**
 * `lading images ls` and `lading images inspect`.
 * @module
 */
import { shortDigest } from "../digest.ts";
import { listImageSummaries, resolveImage, resolveManifest, summarizeImage } from "../image.ts";
import { isConfigMediaType } from "../media_types.ts";
import { familiarName } from "../reference.ts";
import { formatPlatform, parsePlatform, platformLabel } from "../platform.ts";
import type { ImageConfig } from "../types.ts";
import {
  type CliIO,
  type Command,
  count,
  formatBytes,
  json,
  JSON_FLAG,
  parseCommand,
  PLATFORM_FLAG,
  QUIET_FLAG,
  table,
  UsageError,
} from "./common.ts";
import { openStoreForReading } from "./store_open.ts";

/** Compiles a shell-style glob (`*`, `?`, `[abc]`) that matches a whole name. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, "\\\\");
        re += `[${body.startsWith("!") ? "^" + body.slice(1) : body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** True when a stored name matches one of the patterns (or there are none). */
function nameMatches(name: string, patterns: RegExp[]): boolean {
  if (patterns.length === 0) return true;
  const short = familiarName(name);
  return patterns.some((p) => p.test(name) || p.test(short));
}

/** How `images ls` shows an entry without a name. */
const UNNAMED = "(no name)";

/**
 * Fills a Go-template-style format: `{{.Field}}`, `{{json .}}` (the row as one JSON object,
 * sizes in bytes) and `{{json .Field}}`; `\t` and `\n` escapes. Anything else in `{{ }}` is a
 * usage error, never printed as it is.
 */
export function fillTemplate(
  template: string,
  fields: Record<string, unknown>,
  jsonFields: Record<string, unknown> = fields,
): string {
  const unknown = (what: string) =>
    new UsageError(
      `--format: unknown ${what}; use {{.Field}}, {{json .}} or {{json .Field}} with the fields ${
        Object.keys(fields).map((f) => `.${f}`).join(", ")
      }`,
    );
  if (/\{\{|\}\}/.test(template.replace(/\{\{.*?\}\}/g, ""))) {
    throw new UsageError(`--format: a {{ without its }} in ${JSON.stringify(template)}`);
  }
  return template.replace(/\\t/g, "\t").replace(/\\n/g, "\n").replace(
    /\{\{(.*?)\}\}/g,
    (_, inner: string) => {
      const m = /^\s*(json\s+)?\.(\w*)\s*$/.exec(inner);
      if (!m) throw unknown(`template action {{${inner}}}`);
      const [, asJson, k] = m;
      if (asJson && k === "") return JSON.stringify(jsonFields);
      if (!(k in fields)) throw unknown(`field .${k}`);
      if (asJson) return JSON.stringify(jsonFields[k]);
      const v = fields[k];
      return Array.isArray(v) ? v.join(",") : String(v);
    },
  );
}

/** `images ls`. */
export const imagesLs: Command = {
  path: ["images", "ls"],
  summary: "list image names with media type, digest, size and platforms, sorted by name",
  args: "[PATTERN...]",
  details: "PATTERN is a shell glob (*, ?, [abc]) matched against the full name or the short\n" +
    "one (docker.io/library/busybox:1 is also busybox:1). Quote it so the shell keeps it.",
  flags: [
    {
      name: "format",
      kind: "string",
      value: "FORMAT",
      help: "table (default), json, digest (one digest per name), name, or a template " +
        "like '{{.Name}} {{.Digest}}' or '{{json .}}' (fields .Name .Digest .MediaType .Size .Platforms)",
    },
    { name: "quiet", short: "q", help: "names only (same as --format name)" },
    JSON_FLAG,
  ],
  examples: [
    "lading images ls",
    "lading images ls 'example.com/*' --format digest",
    "lading images ls --format '{{.Name}}\t{{.Size}}'",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, imagesLs);
    let format = (f.values.format as string | undefined) ??
      (f.values.json ? "json" : f.values.quiet ? "name" : "table");
    if (f.values.json && f.values.format && f.values.format !== "json") {
      throw new UsageError("--json and --format " + f.values.format + " exclude each other");
    }
    if (!["table", "json", "digest", "name"].includes(format) && !format.includes("{{")) {
      throw new UsageError(
        `--format must be table, json, digest, name or a template with {{.Field}}, not ${
          JSON.stringify(format)
        }`,
      );
    }
    if (format === "table" && f.values.quiet) format = "name";
    if (format.includes("{{")) {
      // A bad template is a usage error even when no image matches.
      fillTemplate(format, { Name: "", Digest: "", MediaType: "", Size: 0, Platforms: [] });
    }
    const patterns = f.positionals.map(globToRegExp);
    const store = await openStoreForReading(f.values, io);
    try {
      const records = (await store.listImages()).filter((r) => nameMatches(r.name, patterns));
      records.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (format === "name") {
        io.out(records.map((r) => `${r.name}\n`).join(""));
        return 0;
      }
      if (format === "digest") {
        io.out(records.map((r) => `${r.target.digest}\n`).join(""));
        return 0;
      }
      const list = await listImageSummaries(store);
      const wanted = new Set(records.map((r) => r.name));
      const shown = list.filter((s) => wanted.has(s.name)).sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0
      );
      // Entries without a name (an untagged docker save, an unnamed layout entry) are listed
      // last as "(no name)", like docker's <none>, unless a pattern asks for names.
      const unnamed = new Set<unknown>();
      if (patterns.length === 0) {
        for (const target of (await store.listUnnamedImages?.()) ?? []) {
          const s = await summarizeImage(store, { name: UNNAMED, target });
          unnamed.add(s);
          shown.push(s);
        }
      }
      if (format === "json") {
        io.out(json(shown.map((s) => ({
          name: unnamed.has(s) ? null : s.name,
          digest: s.digest,
          mediaType: s.mediaType,
          size: s.size,
          platforms: s.platforms,
          ...(s.missingPlatforms.length || s.missing.length
            ? { incomplete: true, missingPlatforms: s.missingPlatforms, missing: s.missing }
            : {}),
        }))));
      } else if (format !== "table") {
        const row = (s: typeof shown[number]) => ({
          Name: s.name,
          Digest: s.digest,
          MediaType: s.mediaType,
          Size: s.size,
          Platforms: s.platforms,
        });
        for (const s of shown) {
          io.out(
            fillTemplate(format, { ...row(s), Size: formatBytes(s.size) }, row(s)) + "\n",
          );
        }
      } else {
        io.out(table(
          ["REF", "TYPE", "DIGEST", "SIZE", "PLATFORMS"],
          shown.map((s) => [
            s.name,
            s.mediaType,
            s.digest,
            formatBytes(s.size),
            [
              ...s.platforms,
              ...s.missingPlatforms.map((p) => `${p} (missing)`),
            ].join(",") + (s.missing.length && !s.missingPlatforms.length
              ? ` (incomplete: ${count(s.missing.length, "blob")} missing)`
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
  summary: "show the index, manifest and config of an image (or artifact), and a readable summary",
  args: "<name|digest>",
  flags: [PLATFORM_FLAG, JSON_FLAG, QUIET_FLAG],
  examples: [
    "lading images inspect busybox",
    "lading images inspect example.com/app:1 --platform linux/arm64 --json",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, imagesInspect);
    if (f.positionals.length !== 1) throw new UsageError("images inspect takes one name or digest");
    const platform = f.values.platform ? parsePlatform(f.values.platform as string) : undefined;
    const store = await openStoreForReading(f.values, io);
    try {
      const warnings: string[] = [];
      const m = await resolveManifest(store, f.positionals[0], {
        platform,
        onWarning: (w) => warnings.push(w),
      });
      const isImage = isConfigMediaType(m.manifest.config.mediaType);
      const r = isImage ? await resolveImage(store, f.positionals[0], { platform }) : undefined;
      if (f.values.json) {
        io.out(json({
          name: m.name,
          descriptor: m.descriptor,
          index: m.index ?? null,
          manifestDescriptor: m.manifestDescriptor,
          manifest: m.manifest,
          ...(r ? { config: r.config, platform: r.platform } : {
            artifact: true,
            configMediaType: m.manifest.config.mediaType,
            ...(m.manifest.artifactType ? { artifactType: m.manifest.artifactType } : {}),
          }),
          ...(warnings.length ? { warnings } : {}),
        }));
        return 0;
      }
      const out: string[] = [];
      out.push(`Name:         ${m.name}`);
      out.push(
        `Descriptor:   ${m.descriptor.mediaType} ${m.descriptor.digest} (${
          formatBytes(m.descriptor.size)
        })`,
      );
      if (m.index) {
        out.push(`Index:        ${count(m.index.manifests.length, "entry", "entries")}`);
        const width = Math.max(20, ...m.index.manifests.map((e) => platformLabel(e).length));
        for (const e of m.index.manifests) {
          const p = platformLabel(e);
          const chosen = e.digest === m.manifestDescriptor.digest ? " (chosen)" : "";
          const present = (await store.has(e.digest)) ? "" : " [not in store]";
          out.push(`  ${p.padEnd(width)} ${e.mediaType} ${e.digest}${chosen}${present}`);
        }
      }
      out.push(`Manifest:     ${m.manifestDescriptor.mediaType} ${m.manifestDescriptor.digest}`);
      out.push(`Config:       ${m.manifest.config.mediaType} ${m.manifest.config.digest}`);
      if (!r) {
        out.push(
          `Artifact:     ${
            m.manifest.artifactType ?? m.manifest.config.mediaType
          } (not a container image: no filesystem)`,
        );
        out.push("Layers:");
        out.push(
          table(
            ["#", "MEDIA TYPE", "DIGEST", "SIZE", "TITLE"],
            m.manifest.layers.map((l, i) => [
              String(i),
              l.mediaType,
              l.digest,
              formatBytes(l.size),
              l.annotations?.["org.opencontainers.image.title"] ?? "-",
            ]),
          ).trimEnd().split("\n").map((l) => "  " + l).join("\n"),
        );
        const ann = Object.entries(m.manifest.annotations ?? {});
        if (ann.length) {
          out.push("Annotations:");
          for (const [k, v] of ann) out.push(`  ${k}=${v}`);
        }
        for (const w of warnings) out.push(`warning: ${w}`);
        io.out(out.join("\n") + "\n");
        return 0;
      }
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
