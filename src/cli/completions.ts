/**
 * `lading completions bash|zsh|fish`: a completion script for commands, flags and the
 * image names of the store, made from the command table.
 * @module
 */
import { type CliIO, type Command, parseCommand, QUIET_FLAG, UsageError } from "./common.ts";
import { completionScript } from "./help.ts";

/** `completions`. */
export const completionsCommand: Command = {
  path: ["completions"],
  summary: "print a shell completion script (bash, zsh or fish)",
  args: "<bash|zsh|fish>",
  complete: "none",
  details: "Image names are completed from the store ('lading images ls -q'), flags and\n" +
    "commands from lading itself.",
  flags: [QUIET_FLAG],
  examples: [
    'eval "$(lading completions bash)"   # in ~/.bashrc',
    'lading completions zsh > "${fpath[1]}/_lading"',
    "lading completions fish > ~/.config/fish/completions/lading.fish",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, completionsCommand);
    const shell = f.positionals[0];
    if (f.positionals.length !== 1 || !["bash", "zsh", "fish"].includes(shell)) {
      throw new UsageError("completions takes one shell: bash, zsh or fish");
    }
    io.out(await completionScript(shell));
    return 0;
  },
};
