/**
 * crane-style getters: `lading manifest NAME`, `lading config NAME`, `lading digest NAME`
 * print the raw bytes (or digest) of what a name points at, `--platform` aware.
 * @module
 */
import { resolveManifest } from "../image.ts";
import { parsePlatform } from "../platform.ts";
import { readBlobBytes } from "../store/blob.ts";
import {
  type CliIO,
  type Command,
  json,
  JSON_FLAG,
  parseCommand,
  type Parsed,
  PLATFORM_FLAG,
  QUIET_FLAG,
  UsageError,
} from "./common.ts";
import { openStoreForReading } from "./store_open.ts";

const GETTER_PLATFORM = {
  ...PLATFORM_FLAG,
  help: "of a multi-platform image, the manifest of this platform (os/arch[/variant])",
};

/** `--json` of the getters whose output is a JSON document already. */
const RAW_JSON_FLAG = {
  ...JSON_FLAG,
  help: "accepted for scripts: the output is the JSON document itself, byte for byte",
};

async function withManifest<T>(
  command: Command,
  args: string[],
  io: CliIO,
  fn: (
    m: Awaited<ReturnType<typeof resolveManifest>>,
    store: Awaited<ReturnType<typeof openStoreForReading>>,
    f: Parsed,
  ) => Promise<T>,
): Promise<T> {
  const f = parseCommand(args, command);
  if (f.positionals.length !== 1) {
    throw new UsageError(`${command.path.join(" ")} takes one image name or digest`);
  }
  const platform = f.values.platform ? parsePlatform(f.values.platform as string) : undefined;
  const store = await openStoreForReading(f.values, io);
  try {
    return await fn(await resolveManifest(store, f.positionals[0], { platform }), store, f);
  } finally {
    await store.close();
  }
}

/** `manifest`. */
export const manifestCommand: Command = {
  path: ["manifest"],
  summary: "print the raw manifest (or index) a name points at",
  args: "<name|digest>",
  details: "Without --platform: the exact bytes the name points at (an index for a\n" +
    "multi-platform image). With --platform: that platform's manifest.",
  flags: [GETTER_PLATFORM, RAW_JSON_FLAG, QUIET_FLAG],
  examples: [
    "lading manifest busybox | jq .",
    "lading manifest --platform linux/arm64 example.com/app:1",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    return await withManifest(manifestCommand, args, io, async (m, store, f) => {
      const d = f.values.platform ? m.manifestDescriptor : m.descriptor;
      const bytes = await readBlobBytes(store, d.digest);
      await new Blob([bytes as BlobPart]).stream().pipeTo(io.stdout, { preventClose: true });
      return 0;
    });
  },
};

/** `config`. */
export const configCommand: Command = {
  path: ["config"],
  summary: "print the raw config blob of an image (this host's platform, or --platform)",
  args: "<name|digest>",
  flags: [GETTER_PLATFORM, RAW_JSON_FLAG, QUIET_FLAG],
  examples: [
    "lading config busybox | jq .config.Env",
    "lading config --platform linux/arm64 example.com/app:1",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    return await withManifest(configCommand, args, io, async (m, store) => {
      const bytes = await readBlobBytes(store, m.manifest.config.digest);
      await new Blob([bytes as BlobPart]).stream().pipeTo(io.stdout, { preventClose: true });
      return 0;
    });
  },
};

/** `digest`. */
export const digestCommand: Command = {
  path: ["digest"],
  summary: "print the digest a name points at (with --platform: that platform's manifest)",
  args: "<name|digest>",
  flags: [GETTER_PLATFORM, JSON_FLAG, QUIET_FLAG],
  examples: ["lading digest busybox", "lading digest --platform linux/arm64 example.com/app:1"],
  async run(args: string[], io: CliIO): Promise<number> {
    return await withManifest(digestCommand, args, io, (m, _store, f) => {
      const d = f.values.platform ? m.manifestDescriptor : m.descriptor;
      if (f.values.json) io.out(json({ digest: d.digest, mediaType: d.mediaType, size: d.size }));
      else io.out(`${d.digest}\n`);
      return Promise.resolve(0);
    });
  },
};
