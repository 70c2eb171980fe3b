/**
 * `lading content ls` and `lading content get`.
 * @module
 */
import { type Digest, parseDigest } from "../digest.ts";
import {
  type CliIO,
  type Command,
  json,
  openStore,
  parseFlags,
  table,
  UsageError,
} from "./common.ts";

/** `content ls`. */
export const contentLs: Command = {
  path: ["content", "ls"],
  summary: "list every blob in the store (digest, size)",
  usage: "lading content ls [--json] [-q] [--store DIR]",
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseFlags(args, { boolean: ["json", "quiet"], short: { q: "quiet" } });
    if (f.positionals.length) throw new UsageError("content ls takes no arguments");
    const store = await openStore(f.values, io);
    try {
      const all = [];
      for await (const b of store.list()) all.push(b);
      all.sort((a, b) => (a.digest < b.digest ? -1 : 1));
      if (f.values.json) io.out(json(all));
      else if (f.values.quiet) { for (const b of all) io.out(`${b.digest}\n`); }
      else io.out(table(["DIGEST", "SIZE"], all.map((b) => [b.digest, String(b.size)])));
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
  usage: "lading content get <digest> [--store DIR]",
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseFlags(args, {});
    if (f.positionals.length !== 1) throw new UsageError("content get takes one digest");
    const digest = parseDigest(f.positionals[0]).digest as Digest;
    const store = await openStore(f.values, io);
    try {
      const stream = await store.reader(digest);
      await stream.pipeTo(io.stdout, { preventClose: true });
      return 0;
    } finally {
      await store.close();
    }
  },
};
