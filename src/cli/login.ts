/**
 * `lading login` / `lading logout`: credentials in the docker config format
 * (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, mode 0600), checked
 * against the registry before they are saved.
 * @module
 */
import { parseReference } from "../reference.ts";
import { InvalidInputError } from "../errors.ts";
import {
  type CliIO,
  type Command,
  json,
  JSON_FLAG,
  parseCommand,
  QUIET_FLAG,
  UsageError,
} from "./common.ts";
import { removeLogin, saveLogin } from "../deno/registry_credentials.ts";
import { clientFlags, clientFor, promptPassword, REGISTRY_FLAGS } from "./registry_common.ts";

function hostOf(arg: string): string {
  const host = arg.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
  // Validate like a reference's domain.
  const ref = parseReference(`${host}/x`);
  if (ref.domain !== host && !(host === "index.docker.io" && ref.domain === "docker.io")) {
    throw new UsageError(`${JSON.stringify(arg)} is not a registry host`);
  }
  return ref.domain;
}

async function readPassword(io: CliIO): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of io.stdin) {
    text += decoder.decode(chunk, { stream: true });
    if (text.length > 65536) throw new InvalidInputError("the password on stdin is too long");
  }
  return text.replace(/\r?\n$/, "");
}

/** The login command. */
export const loginCommand: Command = {
  path: ["login"],
  summary: "check credentials against a registry and save them (docker config format)",
  args: "<host>",
  flags: [
    {
      name: "username",
      short: "u",
      kind: "string",
      value: "U",
      help: "the user name (asked on a terminal)",
    },
    { name: "password-stdin", help: "read the password from stdin" },
    ...REGISTRY_FLAGS.filter((f) => f.name !== "user"),
    JSON_FLAG,
    QUIET_FLAG,
  ],
  examples: ['echo "$TOKEN" | lading login -u me --password-stdin registry.example.com'],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, loginCommand);
    if (f.positionals.length !== 1) throw new UsageError("login takes exactly one registry host");
    const host = hostOf(f.positionals[0]);
    let username = f.values.username as string | undefined;
    if (!username) {
      if (!Deno.stdin.isTerminal()) {
        throw new UsageError("login needs --username on a non-terminal");
      }
      username = prompt("Username:") ?? "";
      if (!username) throw new UsageError("no user name given");
    }
    let password: string;
    if (f.values["password-stdin"]) password = await readPassword(io);
    else {
      if (!Deno.stdin.isTerminal()) {
        throw new UsageError("login needs --password-stdin on a non-terminal");
      }
      password = promptPassword("Password:") ?? "";
    }
    if (!password) throw new UsageError("no password given");
    // Checked with exactly these credentials, never stored ones.
    const client = await clientFor(host, { ...clientFlags(f.values), user: undefined }, io, {
      only: { username, password },
    });
    await client.ping({ what: `log in to ${host}` });
    const file = await saveLogin(host, { username, password }, { env: io });
    if (f.values.json) io.out(json({ host, username, file }));
    else if (!f.values.quiet) io.err(`Login Succeeded (${host}, saved in ${file})\n`);
    return 0;
  },
};

/** The logout command. */
export const logoutCommand: Command = {
  path: ["logout"],
  summary: "remove the saved credentials of a registry",
  args: "<host>",
  flags: [JSON_FLAG, QUIET_FLAG],
  examples: ["lading logout registry.example.com"],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, logoutCommand);
    if (f.positionals.length !== 1) throw new UsageError("logout takes exactly one registry host");
    const host = hostOf(f.positionals[0]);
    const removed = await removeLogin(host, { env: io });
    // Like `docker logout`: having nothing to remove is not an error, but it is said.
    if (f.values.json) io.out(json({ host, removed }));
    else if (!f.values.quiet) {
      io.err(removed ? `Removed login credentials for ${host}\n` : `Not logged in to ${host}\n`);
    }
    return 0;
  },
};
