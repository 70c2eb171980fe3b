/**
 * Habits people bring from docker, crane, skopeo and ctr: global flags anywhere,
 * --version, help for every command, completions, `images ls` filters and formats,
 * getters, progress lines, a closed pipe, Ctrl-C.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { commands } from "../../src/cli/commands.ts";
import { type CliIO, Progress } from "../../src/cli/common.ts";
import { multiArchive, ROOT } from "../export/_support.ts";
import { buildImage, layoutFiles, tarOfFiles } from "../helpers/images.ts";
import { haveTools } from "../interop/_tools.ts";
import { lading, show, withDemo } from "./_run.ts";
import denoJson from "../../deno.json" with { type: "json" };

/** The escape character that starts terminal control sequences. */
const ESC = String.fromCharCode(0x1b);

Deno.test("global flags work before or after the command", async () => {
  await withDemo(async ({ store, archive }) => {
    assertEquals((await lading(undefined, ["--store", store, "import", archive])).code, 0);
    for (
      const args of [
        ["--store", store, "images", "ls", "-q"],
        [`--store=${store}`, "images", "ls", "-q"],
        ["images", "ls", "-q", "--store", store],
        ["images", "--store", store, "ls", "-q"].filter((_, i) => i !== 1 && i !== 2).concat([
          "--store",
          store,
        ]),
        ["-q", "--store", store, "images", "ls"],
      ]
    ) {
      const r = await lading(undefined, args);
      assertEquals(
        [r.code, r.stdout],
        [0, "example.com/demo:1\n"],
        `${args.join(" ")}: ${show(r)}`,
      );
    }
    const j = await lading(undefined, ["--json", "--store", store, "images", "ls"]);
    assertEquals(JSON.parse(j.stdout)[0].name, "example.com/demo:1");
    const dbg = await lading(store, ["--debug", "images", "inspect", "nothing"]);
    assertEquals(dbg.code, 1);
    assertStringIncludes(dbg.stderr, "at "); // the stack trace, asked for
  });
});

Deno.test("lading --version prints the version of deno.json", async () => {
  for (const args of [["--version"], ["-V"], ["version"]]) {
    const r = await lading(undefined, args);
    assertEquals([r.code, r.stdout], [0, `lading ${denoJson.version}\n`]);
  }
});

Deno.test("every command and subcommand has help (both spellings) listing every flag with an explanation and an example", async () => {
  for (const entry of commands) {
    const c = await entry.load();
    const a = await lading(undefined, [...c.path, "--help"]);
    const b = await lading(undefined, ["help", ...c.path]);
    const h = await lading(undefined, [...c.path, "-h"]);
    assertEquals(a.code, 0, show(a));
    assertEquals(a.stdout, b.stdout);
    assertEquals(a.stdout, h.stdout);
    assertStringIncludes(a.stdout, `lading ${c.path.join(" ")}`);
    for (const f of c.flags) {
      const line = a.stdout.split("\n").find((l) =>
        new RegExp(`^\\s+(-\\w, )?--${f.name}\\b`).test(l)
      );
      assert(line, `${c.path.join(" ")} --help lacks --${f.name}`);
      assert(line!.trim().split(/\s{2,}/).length >= 2, `no explanation: ${line}`);
    }
    assertStringIncludes(a.stdout, "--store DIR");
    assertMatch(a.stdout, new RegExp(`Examples:\\n  .*lading ${c.path.join(" ")}`));
  }
  const top = await lading(undefined, ["help"]);
  for (const entry of commands) assertStringIncludes(top.stdout, entry.path.join(" "));
  const group = await lading(undefined, ["help", "images"]);
  assertStringIncludes(group.stdout, "lading images ls");
});

Deno.test("unknown commands exit 2; usage errors point at the command's own help", async () => {
  const unknown = await lading(undefined, ["frobnicate"]);
  assertEquals(unknown.code, 2);
  assertStringIncludes(unknown.stderr, "unknown command 'frobnicate'\n");
  const typo = await lading(undefined, ["imgaes", "ls"]);
  assertEquals(typo.code, 2);
  assertStringIncludes(typo.stderr, "unknown command 'imgaes'; did you mean 'images'?");
  const helpHelp = await lading(undefined, ["help", "help"]);
  assertEquals(helpHelp.code, 0);
  assertStringIncludes(helpHelp.stdout, "Commands:");
  const sub = await lading(undefined, ["images", "frob"]);
  assertEquals(sub.code, 2);
  const bare = await lading(undefined, ["images"]);
  assertEquals(bare.code, 2);
  assertStringIncludes(bare.stderr, "lading images ls");
  const flag = await lading("/nonexistent", ["images", "ls", "--frob"]);
  assertEquals(flag.code, 2);
  assertStringIncludes(flag.stderr, "Run 'lading images ls --help' for usage.");
  const args = await lading("/nonexistent", ["cat", "x"]);
  assertEquals(args.code, 2);
  assertStringIncludes(args.stderr, "lading cat --help");
});

async function shell(name: string, script: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(name, {
    args: ["-c", script],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("completions: bash, zsh and fish scripts for commands, flags and the store's image names", async () => {
  await withDemo(async ({ dir, store, archive }) => {
    await lading(store, ["import", archive]);
    for (const sh of ["bash", "zsh", "fish"]) {
      const r = await lading(undefined, ["completions", sh]);
      assertEquals(r.code, 0, show(r));
      for (const entry of commands) assertStringIncludes(r.stdout, entry.path.at(-1)!);
      assertStringIncludes(r.stdout, "--platform");
      await Deno.writeTextFile(`${dir}/c.${sh}`, r.stdout);
    }
    assertEquals((await lading(undefined, ["completions", "tcsh"])).code, 2);
    // bash really completes: commands, subcommands, flags and image names from the store.
    const lad = `lading() { "${Deno.execPath()}" run -A --no-check "${ROOT}/cli.ts" "$@"; }`;
    // As bash calls it: COMP_LINE and COMP_POINT, and COMP_WORDS cut at ':' as well.
    const complete = (line: string, env: Record<string, string> = { LADING_STORE: store }) =>
      shell(
        "bash",
        `${lad}\nsource ${dir}/c.bash\nCOMP_LINE=${JSON.stringify(line)}; COMP_POINT=\${#COMP_LINE}
COMP_WORDS=(\${COMP_LINE//:/ : }); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _lading; printf '%s\\n' "\${COMPREPLY[@]}"`,
        { PATH: Deno.env.get("PATH") ?? "", HOME: dir, ...env },
      );
    assertEquals((await complete("lading ima")).stdout, "images\n");
    assertStringIncludes((await complete("lading images i")).stdout, "inspect");
    assertStringIncludes((await complete("lading export --pl")).stdout, "--platform");
    assertEquals((await complete("lading cat exa")).stdout, "example.com/demo:1\n");
    // After the ':' bash replaces only what follows it.
    assertEquals((await complete("lading cat example.com/demo:")).stdout, "1\n");
    // The store named on the command line, not the default one.
    const other = { LADING_STORE: `${dir}/nothing` };
    assertEquals((await complete("lading cat exa", other)).stdout, "\n");
    assertEquals(
      (await complete(`lading --store ${store} --lock-timeout 5 cat exa`, other)).stdout,
      "example.com/demo:1\n",
    );
    assertEquals(
      (await complete(`lading cat --store=${store} exa`, other)).stdout,
      "example.com/demo:1\n",
    );
    assertStringIncludes((await complete(`lading export -o ${dir}/c.`)).stdout, `${dir}/c.bash`);
  });
});

Deno.test("completions: zsh and fish really complete commands, subcommands, flags and image names", async () => {
  if (!(await haveTools("zsh and fish completions", "zsh", "fish"))) return;
  await withDemo(async ({ dir, store, archive }) => {
    await lading(store, ["import", archive]);
    for (const sh of ["zsh", "fish"]) {
      await Deno.writeTextFile(
        `${dir}/c.${sh}`,
        (await lading(undefined, ["completions", sh])).stdout,
      );
    }
    // The default store is empty: image names come from the --store on the command line.
    const env = { LADING_STORE: `${dir}/nothing`, PATH: Deno.env.get("PATH") ?? "", HOME: dir };
    const cli = `"${Deno.execPath()}" run -A --no-check "${ROOT}/cli.ts"`;
    // zsh: the script is loaded by compinit's compdef; compadd (the completion system's
    // builtin) is replaced by a function that prints what the script offers, filtered by
    // the word being completed, as compadd would.
    const zsh = async (line: string) => {
      const r = await shell(
        "zsh",
        `lading() { ${cli} "$@"; }
autoload -U compinit; compinit -u -d ${dir}/zcompdump
source ${dir}/c.zsh
compadd() { while [[ $1 == -* && $1 != -- ]]; do shift; done; [[ $1 == -- ]] && shift; local w; for w in "$@"; do [[ $w == \${PREFIX}* ]] && print -r -- $w; done; }
_files() { print -r -- FILES; }
words=(${line}); [[ ${JSON.stringify(line)} == *" " ]] && words+=("")
CURRENT=\${#words}; PREFIX=\${words[CURRENT]}
_lading`,
        env,
      );
      assertEquals(r.stderr, "", `zsh ${line}: ${r.stderr}`);
      return r.stdout.trim().split("\n").filter((l) => l).sort();
    };
    assertEquals(await zsh("lading ima"), ["images"]);
    assertEquals((await zsh("lading images i")).includes("inspect"), true);
    assertEquals(await zsh("lading export --pl"), ["--platform"]);
    assertEquals(await zsh(`lading --store ${store} cat exa`), ["example.com/demo:1"]);
    assertEquals(await zsh("lading cat exa"), []);
    assertEquals(await zsh(`lading images ls --store ${store} `), ["example.com/demo:1"]);
    assertEquals(await zsh("lading import "), ["FILES"]);
    assertEquals(await zsh("lading export -o "), ["FILES"]);
    // fish: its own `complete -C` answers what an interactive Tab would offer.
    const fish = async (line: string) => {
      const r = await shell(
        "fish",
        `function lading; ${cli} $argv; end
source ${dir}/c.fish
complete -C ${JSON.stringify(line)}`,
        env,
      );
      assertEquals(r.stderr, "", `fish ${line}: ${r.stderr}`);
      return r.stdout.trim().split("\n").map((l) => l.split("\t")[0]).filter((l) => l).sort();
    };
    assertEquals(await fish("lading ima"), ["images"]);
    assertEquals((await fish("lading images i")).includes("inspect"), true);
    assertEquals(await fish("lading export --pl"), ["--platform"]);
    assertEquals(await fish(`lading --store ${store} cat exa`), ["example.com/demo:1"]);
    assertEquals(await fish(`lading cat --store=${store} exa`), ["example.com/demo:1"]);
    assertEquals(await fish("lading cat exa"), []);
    // Descriptions are literal: fish does not expand the $LADING_STORE they mention.
    const described = await shell(
      "fish",
      `function lading; ${cli} $argv; end\nsource ${dir}/c.fish\ncomplete -C 'lading ls --sto'`,
      env,
    );
    assertStringIncludes(described.stdout, "$LADING_STORE");
  });
});

Deno.test("images ls: glob filters on full or short names, --format json|digest|name|template, sorted by name", async () => {
  await withDemo(async ({ store, archive, digest }) => {
    await lading(store, ["import", archive]);
    await lading(store, ["images", "tag", "example.com/demo:1", "busybox:1", "example.com/a:0"]);
    assertEquals(
      (await lading(store, ["images", "ls", "-q"])).stdout,
      "docker.io/library/busybox:1\nexample.com/a:0\nexample.com/demo:1\n",
    );
    assertEquals(
      (await lading(store, ["images", "ls", "-q", "example.com/*"])).stdout,
      "example.com/a:0\nexample.com/demo:1\n",
    );
    assertEquals(
      (await lading(store, ["images", "ls", "-q", "busybox:?"])).stdout,
      "docker.io/library/busybox:1\n",
    );
    assertEquals(
      (await lading(store, ["images", "ls", "--format", "digest", "*demo*"])).stdout,
      `${digest}\n`,
    );
    assertEquals(
      (await lading(store, ["images", "ls", "--format", "{{.Name}} {{.Digest}}", "*a:0"])).stdout,
      `example.com/a:0 ${digest}\n`,
    );
    const j = JSON.parse((await lading(store, ["images", "ls", "--format", "json"])).stdout);
    assertEquals(j.map((e: { name: string }) => e.name), [
      "docker.io/library/busybox:1",
      "example.com/a:0",
      "example.com/demo:1",
    ]);
    const table = (await lading(store, ["images", "ls"])).stdout.split("\n");
    assertMatch(table[0], /^REF +TYPE +DIGEST +SIZE +PLATFORMS$/);
    assertMatch(table[3], /^example\.com\/demo:1 .* \d+(\.\d)? kB +linux\/amd64$/);
    const bad = await lading(store, ["images", "ls", "--format", "{{.Nope}}"]);
    assertEquals(bad.code, 2);
    // docker's {{json .}}: one object per line, sizes in bytes.
    const rows = (await lading(store, ["images", "ls", "--format", "{{json .}}", "*demo*"]))
      .stdout.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(rows.length, 1);
    assertEquals(Object.keys(rows[0]), ["Name", "Digest", "MediaType", "Size", "Platforms"]);
    assertEquals([rows[0].Name, typeof rows[0].Size], ["example.com/demo:1", "number"]);
    // Any other action, or a {{ left open, is a usage error, even when nothing matches.
    for (const format of ["{{range .}}", "{{.Name", "x }}"]) {
      const r = await lading(store, ["images", "ls", "--format", format, "nothing*"]);
      assertEquals([r.code, r.stdout], [2, ""], `${format}: ${show(r)}`);
    }
  });
});

Deno.test("images ls lists a store entry without a name as (no name) (JSON: name null), as images check does; -q and patterns list names only", async () => {
  const store = await Deno.makeTempDir({ prefix: "lading-unnamed-" });
  try {
    // A layout written by another tool, one manifest without a ref.name, used as the store.
    const src = new URL("../../../shared/fixtures/layouts/test_index_one_image", import.meta.url)
      .pathname;
    const fixture = await Deno.stat(src).then(() => true, () => false);
    if (!fixture) {
      if (Deno.env.get("CI") === "true") throw new Error(`missing ${src}`);
      console.log(`%cskipped: ${src} is missing`, "color: yellow");
      return;
    }
    const cp = await new Deno.Command("cp", { args: ["-r", `${src}/.`, store] }).output();
    assert(cp.success);
    await new Deno.Command("chmod", { args: ["-R", "u+w", store] }).output();
    const table = await lading(store, ["images", "ls"]);
    assertMatch(
      table.stdout.split("\n")[1],
      /^\(no name\) +application\/vnd\.oci\.image\.manifest\.v1\+json +sha256:98ceaf93e482/,
    );
    const j = JSON.parse((await lading(store, ["images", "ls", "--json"])).stdout);
    assertEquals([j.length, j[0].name, j[0].platforms], [1, null, ["linux/amd64"]]);
    assertEquals((await lading(store, ["images", "ls", "-q"])).stdout, "");
    assertEquals((await lading(store, ["images", "ls", "--json", "*"])).stdout, "[]\n");
    assertStringIncludes((await lading(store, ["images", "check"])).stdout, "(no name)");
  } finally {
    await Deno.remove(store, { recursive: true });
  }
});

Deno.test("manifest, config and digest print raw bytes and digests, --platform aware", async () => {
  await withDemo(async ({ dir, store }) => {
    const multi = await multiArchive("example.com/multi:1");
    await Deno.writeFile(`${dir}/m.tar`, multi.bytes);
    await lading(store, ["import", `${dir}/m.tar`]);
    const name = "example.com/multi:1";
    assertEquals((await lading(store, ["manifest", name])).bytes, multi.image.index.bytes);
    assertEquals(
      (await lading(store, ["digest", name])).stdout,
      `${multi.image.index.descriptor.digest}\n`,
    );
    const arm = multi.image.arm64;
    assertEquals(
      (await lading(store, ["manifest", "--platform", "linux/arm64", name])).bytes,
      arm.manifest.bytes,
    );
    assertEquals(
      (await lading(store, ["digest", name, "--platform", "linux/arm64"])).stdout,
      `${arm.manifest.descriptor.digest}\n`,
    );
    assertEquals(
      (await lading(store, ["config", "--platform", "linux/arm64", name])).bytes,
      arm.config.bytes,
    );
    assertEquals(
      (await lading(store, ["config", "--platform", "linux/amd64", name])).bytes,
      multi.image.amd64.config.bytes,
    );
    const none = await lading(store, ["digest", "--platform", "linux/s390x", name]);
    assertEquals(none.code, 1);
    // inspect names the index entries as images check does (an attestation is not
    // "unknown/unknown"), in one aligned column.
    const inspect = (await lading(store, ["images", "inspect", name])).stdout;
    const entries = inspect.split("\n").filter((l) =>
      / application\/vnd\.oci\.image\.manifest/.test(l) && l.startsWith("  ")
    );
    assertEquals(entries.length, 3, inspect);
    assertMatch(entries[2], /^ {2}attestation for sha256:[0-9a-f]{12} /);
    assertEquals(new Set(entries.map((l) => l.indexOf(" application/"))).size, 1, inspect);
  });
});

function fakeIO(terminal: boolean): CliIO & { text: () => string } {
  let err = "";
  return {
    out: () => {},
    err: (t) => void (err += t),
    stdout: new WritableStream(),
    stdin: new ReadableStream(),
    stderrIsTerminal: terminal,
    env: () => undefined,
    text: () => err,
  };
}

Deno.test("progress: bytes, rate and time left on a terminal, each redraw clears the rest of the line, nothing otherwise", () => {
  const io = fakeIO(true);
  const p = new Progress(io, "importing", 10_000_000);
  p.add(2_500_000);
  assertMatch(
    io.text(),
    new RegExp("^\\rimporting {2}\\[=+ +\\] {2}2\\.5 MB / 10 MB.*" + ESC + "\\[K$"),
  );
  const later = Date.now() + 2000;
  assertMatch(p.line(later), /2\.5 MB \/ 10 MB {2}1\.\d MB\/s {2}0:0\d left$/);
  p.end();
  assert(io.text().endsWith("\r\x1b[K"));
  // A line never reaches the terminal's last column (a wrapped line cannot be redrawn in
  // place): the bar goes first, then the end is cut.
  const big = new Progress(io, "reading layers", 999_000_000_000);
  big.add(123_000_000_000);
  const wide = big.line(Date.now() + 3_600_000, 200);
  assert(wide.length > 79, wide);
  const narrow = big.line(Date.now() + 3_600_000, 80);
  assert(narrow.length <= 79 && !narrow.includes("["), narrow);
  assertMatch(narrow, /^reading layers {2}123 GB \/ 999 GB {2}/);
  assertEquals(big.line(Date.now(), 20).length, 19);
  for (const [terminal, quiet] of [[false, false], [true, true]]) {
    const silent = fakeIO(terminal);
    const q = new Progress(silent, "x", 100, { quiet });
    q.add(50);
    q.end();
    assertEquals(silent.text(), "");
  }
});

Deno.test("a layer command on a terminal shows progress and erases it before its output", async () => {
  await withDemo(async ({ store, archive }) => {
    await lading(store, ["import", archive]);
    const r = await lading(store, ["ls", "-R", "example.com/demo:1"], { terminal: true });
    assertEquals(r.code, 0, show(r));
    assertStringIncludes(r.stdout, "bin/hello");
    // Drawn at least once (the first chunk), then erased.
    assertStringIncludes(r.stderr, "reading layers");
    assert(r.stderr.endsWith("\r\x1b[K"), JSON.stringify(r.stderr));
    const q = await lading(store, ["ls", "-q", "example.com/demo:1"], { terminal: true });
    assertEquals(q.stderr, "");
    // images check of the whole store knows its total (so the time left).
    const check = await lading(store, ["images", "check"], { terminal: true });
    assertEquals(check.code, 0, show(check));
    assertMatch(check.stderr, /checking {2}\[[= ]+\] {2}[\d.]+ k?B \/ [\d.]+ kB/);
  });
});

Deno.test("a layer command that reads a layer twice (unpack: diff_ids, then files) never shows more done than the total", async () => {
  await withDemo(async ({ dir, store }) => {
    await bigImage(dir, store, 24);
    const r = await lading(store, ["unpack", "example.com/big:1", `${dir}/root`], {
      terminal: true,
    });
    assertEquals(r.code, 0, show(r));
    const units: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 };
    const bytes = (n: string, u: string) => Number(n) * units[u];
    const drawn = [...r.stderr.matchAll(/([\d.]+) (B|kB|MB) \/ ([\d.]+) (B|kB|MB)/g)];
    assert(drawn.length > 0, r.stderr);
    for (const [line, n, u, t, tu] of drawn) assert(bytes(n, u) <= bytes(t, tu) * 1.05, line);
  });
});

async function bigImage(dir: string, store: string, mb = 8): Promise<void> {
  // Incompressible, so that the layer blob is as large as the file.
  const big = new Uint8Array(mb * 1024 * 1024);
  for (let i = 0; i < big.byteLength; i += 65536) {
    crypto.getRandomValues(big.subarray(i, i + 65536));
  }
  const img = await buildImage({ layers: [{ files: [{ path: "big", content: big }] }] });
  const files = layoutFiles(
    [{ descriptor: img.manifest.descriptor, refName: "example.com/big:1" }],
    [
      img.manifest,
      img.config,
      ...img.layers,
    ],
  );
  await Deno.writeFile(`${dir}/big.tar`, await tarOfFiles(files));
  assertEquals((await lading(store, ["import", `${dir}/big.tar`])).code, 0);
}

Deno.test("writing into a closed pipe (cat | head, content get | head) exits 141 quietly", async () => {
  await withDemo(async ({ dir, store }) => {
    await bigImage(dir, store);
    const layer = JSON.parse((await lading(store, ["manifest", "example.com/big:1"])).stdout)
      .layers[0].digest;
    for (const args of [["cat", "example.com/big:1", "/big"], ["content", "get", layer]]) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", "cli.ts", ...args],
        cwd: ROOT,
        env: { LADING_STORE: store },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const reader = child.stdout.getReader();
      await reader.read();
      await reader.cancel();
      const out = await child.output().catch(async () => {
        const status = await child.status;
        return { code: status.code, stderr: new Uint8Array() };
      });
      assertEquals(out.code, 141, args.join(" "));
      assertEquals(new TextDecoder().decode(out.stderr), "", args.join(" "));
    }
  });
});

Deno.test("flatten writes the merged filesystem as one tar: whiteouts applied, each path once, bytes from the layers", async () => {
  await withDemo(async ({ dir, store, archive }) => {
    await lading(store, ["import", archive]);
    const r = await lading(store, ["flatten", "example.com/demo:1", "-o", `${dir}/rootfs.tar`]);
    assertEquals(r.code, 0, show(r));
    const list = await new Deno.Command("tar", { args: ["-tvf", `${dir}/rootfs.tar`] }).output();
    assert(list.success);
    const names = new TextDecoder().decode(list.stdout).trim().split("\n").map((l) =>
      l.split(/\s+/).at(-1)
    ).sort();
    assertEquals(names, ["app/", "app/README", "bin/", "bin/hello", "etc/"]);
    const hello = await new Deno.Command("tar", {
      args: ["-xOf", `${dir}/rootfs.tar`, "bin/hello"],
    }).output();
    assertEquals(new TextDecoder().decode(hello.stdout), "#!/bin/sh\necho hello\n");
    const perms = new TextDecoder().decode(list.stdout);
    assertMatch(perms, /-rwxr-xr-x .* bin\/hello/);
    // To stdout when it is not a terminal; refused on a terminal.
    const piped = await lading(store, ["flatten", "example.com/demo:1"]);
    assertEquals(piped.bytes, await Deno.readFile(`${dir}/rootfs.tar`));
    assertEquals(
      (await lading(store, ["flatten", "example.com/demo:1"], { terminal: true })).code,
      1,
    );
  });
});
