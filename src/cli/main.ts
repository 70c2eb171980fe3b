/**
 * Dispatches argv to a command and maps errors to exit codes (0 ok, 1 failure, 2 usage).
 * @module
 */
import { type CliIO, reportError, UsageError } from "./common.ts";
import { type CommandEntry, commands } from "./commands.ts";

async function help(io: CliIO): Promise<void> {
  const loaded = await Promise.all(commands.map((c) => c.load()));
  const lines = loaded.map((c) => `  ${c.path.join(" ").padEnd(18)} ${c.summary}`);
  io.out(
    `lading — OCI images without a daemon\n\nUsage: lading <command> [flags]\n\nCommands:\n${
      lines.join("\n")
    }\n\nEvery command takes --store DIR (or LADING_STORE; default $XDG_DATA_HOME/lading or ~/.local/share/lading).\nRun 'lading help <command>' for its usage.\n`,
  );
}

/** Finds the command whose path is the longest prefix of argv. */
function find(argv: string[]): { command: CommandEntry; rest: string[] } | undefined {
  let best: { command: CommandEntry; rest: string[] } | undefined;
  for (const c of commands) {
    if (c.path.every((w, i) => argv[i] === w)) {
      if (!best || c.path.length > best.command.path.length) {
        best = { command: c, rest: argv.slice(c.path.length) };
      }
    }
  }
  return best;
}

/** Runs the CLI with these arguments; returns the exit code. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  try {
    if (argv.length === 0 || argv[0] === "help" || argv[0] === "--help" || argv[0] === "-h") {
      const target = argv.length > 1 ? find(argv.slice(1)) : undefined;
      if (target) {
        const c = await target.command.load();
        io.out(`${c.summary}\n\nUsage: ${c.usage}\n`);
      } else await help(io);
      return 0;
    }
    const found = find(argv);
    if (!found) {
      const group = commands.filter((c) => c.path[0] === argv[0]);
      if (group.length) {
        throw new UsageError(
          `unknown subcommand '${argv.slice(0, 2).join(" ")}'; try: ${
            group.map((c) => c.path.join(" ")).join(", ")
          }`,
        );
      }
      throw new UsageError(`unknown command '${argv[0]}'`);
    }
    const command = await found.command.load();
    if (found.rest.includes("--help") || found.rest.includes("-h")) {
      io.out(`${command.summary}\n\nUsage: ${command.usage}\n`);
      return 0;
    }
    return await command.run(found.rest, io);
  } catch (e) {
    return reportError(e, io);
  }
}

/** The real process IO. */
export function denoIO(): CliIO {
  const enc = new TextEncoder();
  return {
    out: (t) => {
      Deno.stdout.writeSync(enc.encode(t));
    },
    err: (t) => {
      Deno.stderr.writeSync(enc.encode(t));
    },
    get stdout() {
      return Deno.stdout.writable;
    },
    get stdin() {
      return Deno.stdin.readable;
    },
    stderrIsTerminal: Deno.stderr.isTerminal(),
    env: (n) => Deno.env.get(n),
  };
}
