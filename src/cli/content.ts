/**
 * `lading content ls` and `lading content get`.
 * @module
 */
import {
  type CliIO,
  type Command,
  formatBytes,
  json,
  JSON_FLAG,
  parseCommand,
  QUIET_FLAG,
  table,
  UsageError,
} from "./common.ts";
import { findBlob, openStoreForReading } from "./store_open.ts";

/** `content ls`. */
export const contentLs: Command = {
  path: ["content", "ls"],
  summary: "list every blob in the store (digest, size; --json: bytes), sorted by digest",
  args: "",
  complete: "none",
  flags: [JSON_FLAG, { name: "quiet", short: "q", help: "digests only" }],
  examples: ["lading content ls", "lading content ls -q | wc -l"],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, contentLs);
    if (f.positionals.length) throw new UsageError("content ls takes no arguments");
    const store = await openStoreForReading(f.values, io);
    try {
      const all = [];
      for await (const b of store.list()) all.push(b);
      all.sort((a, b) => (a.digest < b.digest ? -1 : 1));
      if (f.values.json) io.out(json(all));
      else if (f.values.quiet) io.out(all.map((b) => `${b.digest}\n`).join(""));
      else io.out(table(["DIGEST", "SIZE"], all.map((b) => [b.digest, formatBytes(b.size)])));
      return 0;
    } finally {
      await store.close();
    }
  },
};

/** `content get`. */
export const contentGet: Command = {
  path: ["content", "get"],
  summary: "write a blob's raw bytes to stdout",
  args: "<digest>",
  complete: "none",
  details: "<digest> is sha256:<hex> or a unique hex prefix of 12+ digits.",
  flags: [QUIET_FLAG],
  examples: [
    "lading content get sha256:4c1d0f5a2b3e... | jq .",
    "lading content get 4c1d0f5a2b3e > blob",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, contentGet);
    if (f.positionals.length !== 1) throw new UsageError("content get takes one digest");
    const store = await openStoreForReading(f.values, io);
    try {
      const digest = await findBlob(store, f.positionals[0]);
      const stream = await store.reader(digest);
      await stream.pipeTo(io.stdout, { preventClose: true });
      return 0;
    } finally {
      await store.close();
    }
  },
};
