/**
 * `lading pull`: an image from a registry into the store (ctr's habits: the host's
 * platform by default, the index stored and named, names as normalized references).
 * @module
 */
import { parseReference } from "../reference.ts";
import { pullImage } from "../registry/pull.ts";
import { fsWriteWorkers } from "../deno/fs_write_workers.ts";
import {
  type CliIO,
  type Command,
  formatBytes,
  json,
  JSON_FLAG,
  parseCommand,
  platformsOf,
  QUIET_FLAG,
  UsageError,
} from "./common.ts";
import { openStore } from "./store_open.ts";
import {
  clientFlags,
  clientFor,
  NONDISTRIBUTABLE_FLAG,
  positiveInt,
  REGISTRY_FLAGS,
  TransferProgress,
} from "./registry_common.ts";

/** The pull command. */
export const pullCommand: Command = {
  path: ["pull"],
  summary: "pull an image from a registry into the store",
  args: "<ref>",
  flags: [
    {
      name: "platform",
      kind: "multiple",
      value: "P",
      help: "pull only this platform (default: this host's; comma lists allowed)",
    },
    { name: "all-platforms", help: "pull every platform of an index" },
    { name: "referrers", help: "also pull the artifacts that refer to the image" },
    {
      name: "max-concurrent-downloads",
      kind: "string",
      value: "N",
      help: "blobs downloaded at once (default 4)",
    },
    NONDISTRIBUTABLE_FLAG,
    ...REGISTRY_FLAGS,
    JSON_FLAG,
    QUIET_FLAG,
  ],
  examples: [
    "lading pull docker.io/library/busybox:1.36",
    "lading pull --all-platforms --plain-http 127.0.0.1:5000/app:1",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, pullCommand);
    if (f.positionals.length !== 1) throw new UsageError("pull takes exactly one reference");
    const platforms = platformsOf(f.values);
    if (platforms.length && f.values["all-platforms"]) {
      throw new UsageError("--platform and --all-platforms do not go together");
    }
    const concurrency = positiveInt(
      f.values["max-concurrent-downloads"],
      "max-concurrent-downloads",
    );
    const ref = parseReference(f.positionals[0]);
    const quiet = !!f.values.quiet || !!f.values.json;
    const progress = new TransferProgress(io, "pulling", { quiet });
    const warn = (m: string) => {
      if (!f.values.json) progress.print(`warning: ${m}\n`);
    };
    // The client's findings (a Docker-Content-Digest that disagrees with the body) are not in
    // the pull's result: keep them for --json, which does not print warnings.
    const clientWarnings: string[] = [];
    const client = await clientFor(ref.domain, clientFlags(f.values), io, {
      onWarning: (m) => {
        clientWarnings.push(m);
        warn(m);
      },
    });
    // Large blobs are hashed and written by worker threads, one per core, while this thread
    // reads the network: sha256 is most of a pull's cost, and the blobs hash in parallel.
    const workers = fsWriteWorkers();
    const store = await openStore(f.values, io, { writeOffload: workers });
    try {
      const result = await pullImage(store, f.positionals[0], {
        client,
        platforms,
        allPlatforms: !!f.values["all-platforms"],
        referrers: !!f.values.referrers,
        concurrency,
        nonDistributable: !!f.values["allow-nondistributable-artifacts"],
        onProgress: (p) => progress.update(p),
        onWarning: warn,
      });
      progress.end();
      if (f.values.json) {
        io.out(json({
          name: result.name,
          digest: result.digest,
          mediaType: result.mediaType,
          size: result.size,
          platforms: result.platforms,
          blobs: result.blobs,
          ...(result.images.length > 1 ? { referrers: result.images.slice(1) } : {}),
          ...(clientWarnings.length || result.warnings.length
            ? { warnings: [...clientWarnings, ...result.warnings] }
            : {}),
        }));
      } else if (f.values.quiet) {
        io.out(`${result.name} ${result.digest}\n`);
      } else {
        io.out(`${result.name} ${result.digest}\n`);
        for (const r of result.images.slice(1)) io.out(`${r.name} (referrer)\n`);
        io.err(
          `blobs: ${result.blobs.added} added, ${result.blobs.present} present (${
            formatBytes(result.blobs.bytes)
          } downloaded${result.blobs.resumed ? `, ${result.blobs.resumed} resumed` : ""})${
            result.platforms.length ? `; platforms: ${result.platforms.join(", ")}` : ""
          }\n`,
        );
      }
      return 0;
    } finally {
      progress.end();
      workers.close();
      await store.close();
    }
  },
};
