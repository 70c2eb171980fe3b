/**
 * The peers the interop tests run: skopeo, umoci, containerd + ctr. A missing tool skips
 * the test with a visible message, except under `CI=true`, where it fails (CI installs
 * them from Debian: `apt-get install skopeo umoci containerd`).
 * @module
 */
import { assertEquals } from "../assert.ts";
import { runCli } from "../export/_support.ts";

/** Runs the lading CLI on `store` and fails the test on a non-zero exit. */
export async function lading(args: string[], store: string) {
  const r = await runCli(args, { store });
  assertEquals(r.code, 0, `lading ${args.join(" ")}: ${r.stderr}`);
  return r;
}

/** name → digest of every image in a lading store (`images ls --json`). */
export async function ladingImages(store: string): Promise<Map<string, string>> {
  const r = await lading(["images", "ls", "--json"], store);
  return new Map(
    (JSON.parse(r.stdout) as { name: string; digest: string }[]).map((e) => [e.name, e.digest]),
  );
}

/** The output of a command. */
export interface ToolRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command; `check` (default true) fails the test on a non-zero exit. */
export async function run(
  command: string,
  args: string[],
  options: { cwd?: string; check?: boolean } = {},
): Promise<ToolRun> {
  const out = await new Deno.Command(command, {
    args,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const r = { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  if (options.check ?? true) {
    assertEquals(r.code, 0, `${command} ${args.join(" ")} failed:\n${r.stderr}${r.stdout}`);
  }
  return r;
}

/** True when `command args` runs and exits 0 (false when it is missing or fails). */
export async function succeeds(command: string, args: string[]): Promise<boolean> {
  try {
    const r = await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output();
    return r.success;
  } catch {
    return false;
  }
}

const VERSION_ARGS: Record<string, string[]> = {
  skopeo: ["--version"],
  umoci: ["--version"],
  containerd: ["--version"],
  ctr: ["--version"],
  zstd: ["--version"],
};

/**
 * True when every tool is installed. Otherwise prints `skipped: ...` and returns false,
 * or throws under `CI=true`.
 */
export async function haveTools(test: string, ...tools: string[]): Promise<boolean> {
  const missing: string[] = [];
  for (const t of tools) {
    if (!(await succeeds(t, VERSION_ARGS[t] ?? ["--version"]))) missing.push(t);
  }
  if (missing.length === 0) return true;
  const message = `${test}: ${missing.join(", ")} not found`;
  if (Deno.env.get("CI") === "true") {
    throw new Error(`${message} (required in CI: apt-get install ${missing.join(" ")})`);
  }
  console.log(`%cskipped: ${message} (install to run this interop test)`, "color: yellow");
  return false;
}

/**
 * True when containerd and ctr are installed and this process is root (containerd needs
 * it). Otherwise a visible skip, or a failure under `CI=true`.
 */
export async function canRunContainerd(test: string): Promise<boolean> {
  if (!(await haveTools(test, "containerd", "ctr"))) return false;
  if (Deno.uid() === 0) return true;
  if (Deno.env.get("CI") === "true") throw new Error(`${test} needs root in CI`);
  console.log(`%cskipped: ${test} needs root to start containerd`, "color: yellow");
  return false;
}

/** A containerd started for one test, on a private socket with root and state in `dir`. */
export interface Containerd {
  readonly address: string;
  /** Runs `ctr --address <sock> -n <namespace> ...args`. */
  ctr(args: string[], options?: { check?: boolean }): Promise<ToolRun>;
  /** Stops containerd (SIGTERM, then SIGKILL) and waits for it. */
  stop(): Promise<void>;
}

/** Starts containerd as its own process (needs root) and waits until it answers. */
export async function startContainerd(dir: string, namespace = "lading-test"): Promise<Containerd> {
  const address = `${dir}/containerd.sock`;
  const config = [
    "version = 2",
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    "[grpc]",
    `  address = "${address}"`,
    "[ttrpc]",
    `  address = "${address}.ttrpc"`,
    "[debug]",
    `  address = "${dir}/debug.sock"`,
    "[metrics]",
    '  address = ""',
  ].join("\n");
  await Deno.writeTextFile(`${dir}/config.toml`, config + "\n");
  const log = await Deno.open(`${dir}/containerd.log`, { write: true, create: true });
  const child = new Deno.Command("containerd", {
    args: ["--config", `${dir}/config.toml`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const drained = Promise.all([
    child.stdout.pipeTo(log.writable, { preventClose: true }).catch(() => {}),
    child.stderr.pipeTo(new WritableStream()).catch(() => {}),
  ]);
  let status: Deno.CommandStatus | undefined;
  const exited = child.status.then((s) => (status = s));
  const ctr = (args: string[], options: { check?: boolean } = {}) =>
    run("ctr", ["--address", address, "-n", namespace, ...args], options);
  const stop = async () => {
    if (!status) {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, 5000);
      await exited;
      clearTimeout(timer);
    }
    await drained;
    log.close();
  };
  for (let i = 0; i < 200; i++) {
    if (status) break;
    const r = await ctr(["version"], { check: false });
    if (r.code === 0) return { address, ctr, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(
    `containerd did not start: ${await Deno.readTextFile(`${dir}/containerd.log`).catch(() => "")}`,
  );
}

/** `ctr images ls` as name → target digest (and media type). */
export async function ctrImages(
  c: Containerd,
): Promise<Map<string, { digest: string; mediaType: string }>> {
  const r = await c.ctr(["images", "ls"]);
  const out = new Map<string, { digest: string; mediaType: string }>();
  for (const line of r.stdout.trim().split("\n").slice(1)) {
    const [name, mediaType, digest] = line.trim().split(/\s+/);
    if (name) out.set(name, { digest, mediaType });
  }
  return out;
}

/**
 * Builds an OCI layout with umoci from a small rootfs the test creates: `umoci init`,
 * `umoci new`, `umoci unpack`, files added, `umoci repack`, `umoci config`. Tags `tag`
 * (and `extraTag`, a second image with one more layer, when given).
 */
export async function umociLayout(
  dir: string,
  tag: string,
  extraTag?: string,
): Promise<string> {
  const layout = `${dir}/layout`;
  const rootless = Deno.uid() !== 0 ? ["--rootless"] : [];
  await run("umoci", ["init", "--layout", layout]);
  await run("umoci", ["new", "--image", `${layout}:${tag}`]);
  await run("umoci", ["unpack", ...rootless, "--image", `${layout}:${tag}`, `${dir}/bundle`]);
  const rootfs = `${dir}/bundle/rootfs`;
  await Deno.mkdir(`${rootfs}/etc`, { recursive: true });
  await Deno.mkdir(`${rootfs}/bin`, { recursive: true });
  await Deno.writeTextFile(`${rootfs}/etc/hostname`, "lading-interop\n");
  await Deno.writeTextFile(`${rootfs}/bin/hello`, "#!/bin/sh\necho hello\n", { mode: 0o755 });
  await Deno.symlink("hello", `${rootfs}/bin/hi`);
  await run("umoci", ["repack", "--image", `${layout}:${tag}`, `${dir}/bundle`]);
  await run("umoci", [
    "config",
    "--image",
    `${layout}:${tag}`,
    "--config.cmd",
    "/bin/hello",
    "--config.env",
    "LANG=C.UTF-8",
  ]);
  if (extraTag) {
    await Deno.writeTextFile(`${rootfs}/etc/motd`, "second image\n");
    await run("umoci", ["repack", "--image", `${layout}:${extraTag}`, `${dir}/bundle`]);
  }
  return layout;
}

/** sha256 of a string's UTF-8 bytes, as a digest. */
export async function sha256Of(text: string): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return `sha256:${[...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}
