/**
 * `lading append` and `lading mutate`: change a stored image and store the result under a
 * new name (crane append / crane mutate, on the local store). Layers from directories or
 * tars are built deterministically (sorted, 0:0, fixed times), so the same inputs give the
 * same digests.
 * @module
 */
import {
  appendLayer,
  type ConfigChanges,
  type ImageDraft,
  loadImage,
  setAnnotations,
  setConfig,
  writeImage,
} from "../build/image.ts";
import { InvalidInputError } from "../errors.ts";
import { directoryFiles } from "../deno/layer_dir.ts";
import { formatPlatform } from "../platform.ts";
import { tryNormalizeReference } from "../reference.ts";
import type { Store } from "../store/types.ts";
import {
  type CliIO,
  type Command,
  type FlagDef,
  json,
  JSON_FLAG,
  parseCommand,
  platformsOf,
  QUIET_FLAG,
  refuseTerminalInput,
  UsageError,
} from "./common.ts";
import { openStore } from "./store_open.ts";

/** The one `--platform` (or none). */
function onePlatform(values: Record<string, unknown>) {
  const platforms = platformsOf(values as never);
  if (platforms.length > 1) throw new UsageError("give at most one --platform");
  return platforms[0];
}

/** `-t NEW` or the source's own name. */
function targetName(values: Record<string, unknown>, source: string): string {
  const name = (values.tag as string | undefined) ?? source;
  if (tryNormalizeReference(name) === undefined) {
    throw new UsageError(
      values.tag === undefined
        ? `${source} is not an image name; give the result a name with -t NEW`
        : `-t ${JSON.stringify(name)} is not a valid image name`,
    );
  }
  return name;
}

async function store_(values: Record<string, unknown>, io: CliIO): Promise<Store> {
  return await openStore(values as never, io);
}

/** Stores the image under `to.name` and prints its name and digest (or JSON). */
async function finish(
  store: Store,
  image: ImageDraft,
  to: { name: string; io: CliIO; flags: Record<string, unknown>; what: string },
): Promise<number> {
  const { name, io, what } = to;
  const written = await writeImage(store, image, { name });
  const digest = written.descriptor.digest;
  if (to.flags.json) {
    io.out(json({
      name: written.names[0],
      digest,
      platform: formatPlatform(written.descriptor.platform!),
      layers: image.layers.map((l, i) => ({
        digest: l.digest,
        mediaType: l.mediaType,
        size: l.size,
        diffId: image.config.rootfs.diff_ids[i],
      })),
    }));
  } else {
    io.out(`${written.names[0]} ${digest}\n`);
    if (!to.flags.quiet) io.err(`${what}\n`);
  }
  return 0;
}

/** `-t NEW`: where append and mutate store their result. */
const TAG_FLAG: FlagDef = {
  name: "tag",
  short: "t",
  kind: "string",
  value: "NEW",
  help: "the new image's name (default: move <name> to the result)",
};

/** `--platform P`: which platform of a multi-platform image append and mutate start from. */
function platformFlag(help: string): FlagDef {
  return { name: "platform", kind: "string", value: "P", help };
}

/** `append`. */
export const appendCommand: Command = {
  path: ["append"],
  summary: "add layers (from directories or tars) to an image, stored under a new name",
  args: "<name> --layer DIR|TAR|-",
  flags: [
    {
      name: "layer",
      kind: "multiple",
      value: "DIR|TAR|-",
      help: "a directory (owners 0:0, fixed times), a tar (plain, gzip, zstd) or - for stdin",
    },
    TAG_FLAG,
    platformFlag("which platform of a multi-platform image to start from"),
    {
      name: "compression",
      kind: "string",
      value: "gzip|zstd",
      help: "layer compression (default gzip)",
    },
    {
      name: "prefix",
      kind: "string",
      value: "PATH",
      help: "where a directory's contents go in the image (default /)",
    },
    {
      name: "created-by",
      kind: "string",
      value: "TEXT",
      help: "the history line of the new layer",
    },
    JSON_FLAG,
    QUIET_FLAG,
  ],
  examples: ["lading append busybox --layer ./app -t example.com/app:1 --prefix /app"],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, appendCommand);
    if (f.positionals.length !== 1) throw new UsageError("append needs exactly one image name");
    const layers = (f.values.layer as string[] | undefined) ?? [];
    if (layers.length === 0) throw new UsageError("append needs at least one --layer DIR|TAR");
    const compression = (f.values.compression as string | undefined) ?? "gzip";
    if (compression !== "gzip" && compression !== "zstd") {
      throw new UsageError(
        `--compression must be gzip or zstd, not ${JSON.stringify(compression)}`,
      );
    }
    if (layers.filter((l) => l === "-").length > 1) {
      throw new UsageError("stdin (-) can be read once");
    }
    const source = f.positionals[0];
    const name = targetName(f.values, source);
    const platform = onePlatform(f.values);
    const store = await store_(f.values, io);
    const lease = await store.lease();
    try {
      let image = await loadImage(store, source, { platform });
      for (const layer of layers) {
        let input;
        if (layer === "-") {
          refuseTerminalInput(io, "a layer tar");
          input = { tar: io.stdin };
        } else {
          const st = await Deno.stat(layer).catch(() => undefined);
          if (!st) {
            throw new InvalidInputError(`cannot add layer ${layer}: no such file or directory`);
          }
          if (st.isDirectory) {
            input = {
              files: directoryFiles(layer, { prefix: f.values.prefix as string | undefined }),
            };
          } else input = { tar: (await Deno.open(layer)).readable };
        }
        image = await appendLayer(store, image, {
          ...input,
          compression,
          history: {
            createdBy: (f.values["created-by"] as string | undefined) ?? `lading append ${layer}`,
          },
        });
        await lease.add(image.layers.map((l) => l.digest));
      }
      const what = `appended ${layers.length} layer${layers.length === 1 ? "" : "s"} to ${source}`;
      return await finish(store, image, { name, io, flags: f.values, what });
    } finally {
      await lease.release().catch(() => {});
      await store.close();
    }
  },
};

/** `K=V` pairs of a repeated flag. */
function pairs(values: unknown, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of (values as string[] | undefined) ?? []) {
    const eq = v.indexOf("=");
    if (eq <= 0) throw new UsageError(`--${flag} takes KEY=VALUE, not ${JSON.stringify(v)}`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** An argv list: a JSON array (`["/bin/sh","-c","x"]`), else words split on spaces; "" clears. */
function argv(value: unknown, flag: string): string[] | null | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  if (text === "" || text === "[]") return null;
  if (text.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new UsageError(`--${flag}: not a JSON array of strings: ${text}`);
    }
    if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === "string")) {
      throw new UsageError(`--${flag}: not a JSON array of strings: ${text}`);
    }
    return parsed;
  }
  return text.split(/\s+/);
}

/** `mutate`. */
export const mutateCommand: Command = {
  path: ["mutate"],
  summary: "change an image's config and annotations, stored under a new name",
  args: "<name>",
  details: 'ARGS of --cmd/--entrypoint: a JSON array (\'["/bin/sh","-c","echo hi"]\') or words\n' +
    "('/app --port 80'); '' removes it.",
  flags: [
    TAG_FLAG,
    platformFlag("which platform of a multi-platform image to change"),
    { name: "env", kind: "multiple", value: "K=V", help: "set an environment variable (merged)" },
    { name: "cmd", kind: "string", value: "ARGS", help: "set Cmd" },
    { name: "entrypoint", kind: "string", value: "ARGS", help: "set Entrypoint" },
    { name: "workdir", kind: "string", value: "DIR", help: "set WorkingDir" },
    { name: "user", kind: "string", value: "USER", help: "set User" },
    { name: "label", kind: "multiple", value: "K=V", help: "set a label (merged)" },
    { name: "expose", kind: "multiple", value: "PORT[/PROTO]", help: "add an exposed port" },
    {
      name: "annotation",
      kind: "multiple",
      value: "K=V",
      help: "manifest annotation (K= removes it)",
    },
    JSON_FLAG,
    QUIET_FLAG,
  ],
  examples: [
    "lading mutate example.com/app:1 --env MODE=prod --cmd '/app --port 80' -t example.com/app:2",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, mutateCommand);
    if (f.positionals.length !== 1) throw new UsageError("mutate needs exactly one image name");
    const ports = (f.values.expose as string[] | undefined) ?? [];
    for (const p of ports) {
      if (!/^\d{1,5}(-\d{1,5})?(\/(tcp|udp|sctp))?$/.test(p)) {
        throw new UsageError(`--expose takes PORT[/tcp|/udp|/sctp], not ${JSON.stringify(p)}`);
      }
    }
    const changes: ConfigChanges = {
      ...(f.values.env ? { Env: pairs(f.values.env, "env") } : {}),
      ...(f.values.label ? { Labels: pairs(f.values.label, "label") } : {}),
      ...(ports.length ? { ExposedPorts: ports } : {}),
      ...(f.values.cmd !== undefined ? { Cmd: argv(f.values.cmd, "cmd") } : {}),
      ...(f.values.entrypoint !== undefined
        ? { Entrypoint: argv(f.values.entrypoint, "entrypoint") }
        : {}),
      ...(f.values.workdir !== undefined ? { WorkingDir: f.values.workdir as string } : {}),
      ...(f.values.user !== undefined ? { User: f.values.user as string } : {}),
    };
    const annotations = pairs(f.values.annotation, "annotation");
    const source = f.positionals[0];
    const name = targetName(f.values, source);
    const platform = onePlatform(f.values);
    const store = await store_(f.values, io);
    try {
      let image = setConfig(await loadImage(store, source, { platform }), changes);
      if (Object.keys(annotations).length) image = setAnnotations(image, annotations);
      const what = `changed ${source}`;
      return await finish(store, image, { name, io, flags: f.values, what });
    } finally {
      await store.close();
    }
  },
};
