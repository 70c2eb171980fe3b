import { InvalidInputError } from "../src/errors.ts";
import { type TarHeader, TarReader } from "../src/tar.ts";
import { streamOf } from "./layers/util.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { tarOf } from "./helpers/images.ts";
import { gnuLongMember, paxMember, rawMember, rawTar, tarOfRaw } from "./helpers/tars.ts";

async function readAll(
  bytes: Uint8Array,
  options: { chunk?: number; warnings?: string[] } = {},
): Promise<{ headers: TarHeader[]; bodies: string[]; seen: number }> {
  const size = options.chunk ?? 7;
  let seen = 0;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.byteLength; i += size) c.enqueue(bytes.slice(i, i + size));
      c.close();
    },
  });
  const tar = new TarReader(stream, {
    onChunk: (c) => (seen += c.byteLength),
    onWarning: (w) => options.warnings?.push(w),
  });
  const headers: TarHeader[] = [];
  const bodies: string[] = [];
  for (let h = await tar.next(); h; h = await tar.next()) {
    headers.push(h);
    let s = "";
    for await (const c of tar.body()) s += new TextDecoder().decode(c);
    bodies.push(s);
  }
  return { headers, bodies, seen };
}

Deno.test("TarReader reads what modern-tar writes, in tiny chunks, and sees every byte", async () => {
  const long = "d/".repeat(90) + "file.txt";
  const tar = await tarOf([
    { path: "a/", type: "directory" },
    { path: "a/hello", content: "hello" },
    { path: long, content: "x".repeat(1000) },
    { path: "a/sym", type: "symlink", linkname: "hello" },
    { path: "a/hard", type: "link", linkname: "a/hello" },
  ]);
  const { headers, bodies, seen } = await readAll(tar);
  assertEquals(headers.map((h) => [h.name, h.type, h.size]), [
    ["a/", "directory", 0],
    ["a/hello", "file", 5],
    [long, "file", 1000],
    ["a/sym", "symlink", 0],
    ["a/hard", "hardlink", 0],
  ]);
  assertEquals(bodies[1], "hello");
  assertEquals(bodies[2].length, 1000);
  assertEquals(headers[3].linkname, "hello");
  assertEquals(seen, tar.byteLength);
});

Deno.test("TarReader skips unread bodies", async () => {
  const tar = await tarOf([
    { path: "big", content: new Uint8Array(100_000) },
    { path: "small", content: "s" },
  ]);
  const r = new TarReader(streamOf(tar));
  assertEquals((await r.next())?.name, "big");
  assertEquals((await r.next())?.name, "small");
  assertEquals(await r.next(), undefined);
});

Deno.test("TarReader applies PAX path, linkpath, size, ids, mtime and xattrs", async () => {
  const tar = rawTar([
    paxMember({
      path: "päx/ünïcode-name",
      uid: "3000000",
      mtime: "1700000000.5",
      "SCHILY.xattr.user.k": "v",
    }),
    rawMember({ name: "short", body: "abc" }),
    paxMember({ linkpath: "t".repeat(200) }),
    rawMember({ name: "link", type: "2" }),
  ]);
  const { headers, bodies } = await readAll(tar);
  assertEquals(headers[0].name, "päx/ünïcode-name");
  assertEquals(headers[0].uid, 3000000);
  assertEquals(headers[0].mtime, 1700000000.5);
  assertEquals(headers[0].xattrs, { "user.k": new TextEncoder().encode("v") });
  assertEquals(bodies[0], "abc");
  assertEquals(headers[1].linkname, "t".repeat(200));
});

Deno.test("TarReader keeps binary xattr values as bytes (a security.capability is not UTF-8)", async () => {
  // vfs_cap_data v2 with CAP_SETUID (bit 7: byte 0x80) permitted, as Docker layers carry it.
  const capability = new Uint8Array([
    1,
    0,
    0,
    2,
    0x80,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  const tar = rawTar([
    paxMember({ "SCHILY.xattr.security.capability": capability, "SCHILY.xattr.user.e": "" }),
    rawMember({ name: "usr/bin/newuidmap", body: "elf" }),
    rawMember({ name: "plain", body: "x" }),
  ]);
  const { headers, bodies } = await readAll(tar);
  assertEquals(headers[0].xattrs, {
    "security.capability": capability,
    "user.e": new Uint8Array(0),
  });
  assertEquals(bodies[0], "elf");
  assertEquals(headers[1].xattrs, undefined);
  // Other PAX values stay text and must be UTF-8.
  await assertRejects(
    () => readAll(rawTar([paxMember({ path: new Uint8Array([0x80]) }), rawMember({ name: "x" })])),
    InvalidInputError,
    "not valid UTF-8",
  );
});

Deno.test("TarReader applies GNU long names and base-256 sizes", async () => {
  const size = new Uint8Array(12);
  size[0] = 0x80;
  size[11] = 3;
  const tar = rawTar([
    gnuLongMember("L", "l".repeat(300)),
    rawMember({ name: "x", body: "abc", sizeField: size, format: "gnu" }),
    gnuLongMember("K", "k".repeat(150)),
    rawMember({ name: "sym", type: "2", linkname: "short", format: "gnu" }),
  ]);
  const { headers, bodies } = await readAll(tar);
  assertEquals(headers[0].name, "l".repeat(300));
  assertEquals(bodies[0], "abc");
  assertEquals(headers[1].linkname, "k".repeat(150));
});

Deno.test("TarReader joins the ustar prefix", async () => {
  const { headers } = await readAll(tarOfRaw([{ name: "name", prefix: "pre/fix" }]));
  assertEquals(headers[0].name, "pre/fix/name");
});

Deno.test("TarReader reports device numbers of device nodes", async () => {
  const { headers } = await readAll(
    tarOfRaw([{ name: "dev/null", type: "3", devmajor: 1, devminor: 3 }, {
      name: "dev/sda",
      type: "4",
      devmajor: 8,
      devminor: 0,
    }, { name: "fifo", type: "6" }]),
  );
  assertEquals(headers.map((h) => [h.type, h.devmajor, h.devminor]), [
    ["character-device", 1, 3],
    ["block-device", 8, 0],
    ["fifo", 0, 0],
  ]);
});

Deno.test("TarReader gives directories and links no body, whatever their size field", async () => {
  const tar = rawTar([
    rawMember({ name: "dir/", type: "5", size: 0 }),
    rawMember({ name: "v7dir/", type: "\0" }),
    rawMember({ name: "f", body: "ok" }),
  ]);
  const { headers } = await readAll(tar);
  assertEquals(headers.map((h) => [h.name, h.type]), [
    ["dir/", "directory"],
    ["v7dir/", "directory"],
    ["f", "file"],
  ]);
});

const refusals: [string, () => Uint8Array, string][] = [
  ["a bad checksum", () => tarOfRaw([{ name: "f", body: "x", checksum: 1 }]), "checksum"],
  ["a sparse member ('S')", () => tarOfRaw([{ name: "sparse", type: "S", body: "x" }]), "sparse"],
  [
    "a sparse member (GNU.sparse PAX)",
    () =>
      rawTar([
        paxMember({ "GNU.sparse.major": "1", "GNU.sparse.name": "s" }),
        rawMember({ name: "s" }),
      ]),
    "sparse",
  ],
  ["a GNU dumpdir ('D')", () => tarOfRaw([{ name: "d", type: "D" }]), "unsupported type 'D'"],
  ["a volume label ('V')", () => tarOfRaw([{ name: "v", type: "V" }]), "unsupported type 'V'"],
  [
    "a name that is not UTF-8",
    () => tarOfRaw([{ name: new Uint8Array([0x61, 0xff, 0xfe]) }]),
    "not valid UTF-8",
  ],
  [
    "a symlink target that is not UTF-8",
    () => tarOfRaw([{ name: "l", type: "2", linkname: new Uint8Array([0xc3, 0x28]) }]),
    "not valid UTF-8",
  ],
  [
    "a NUL in a PAX path",
    () => rawTar([paxMember({ path: "a\0b" }), rawMember({ name: "x" })]),
    "NUL",
  ],
  [
    "a NUL inside a GNU long name",
    () => rawTar([gnuLongMember("L", new Uint8Array([0x61, 0, 0x62])), rawMember({ name: "x" })]),
    "NUL",
  ],
  [
    "a truncated body",
    () => tarOfRaw([{ name: "f", body: "x".repeat(600) }]).slice(0, 900),
    "truncated",
  ],
  [
    "a truncated header",
    () => tarOfRaw([{ name: "f", body: "x" }]).slice(0, 1024 + 100),
    "truncated",
  ],
  [
    "a malformed PAX record",
    () =>
      rawTar([rawMember({ name: "p", type: "x", body: "99 path=x\n" }), rawMember({ name: "x" })]),
    "PAX",
  ],
  [
    "a non-numeric size",
    () => rawTar([rawMember({ name: "f", sizeField: new TextEncoder().encode("12abc") })]),
    "invalid size",
  ],
  [
    "a zero block followed by a header",
    () => rawTar([rawMember({ name: "a" }), new Uint8Array(512), rawMember({ name: "b" })]),
    "zero block",
  ],
  ["an empty name", () => tarOfRaw([{ name: "" }]), "empty name"],
];

for (const [what, make, message] of refusals) {
  Deno.test(`TarReader refuses ${what}`, async () => {
    await assertRejects(() => readAll(make()), InvalidInputError, message);
  });
}

Deno.test("TarReader accepts a missing end-of-archive marker silently, as Go's archive/tar does", async () => {
  const warnings: string[] = [];
  const { headers } = await readAll(tarOfRaw([{ name: "f", body: "x" }], { end: "none" }), {
    warnings,
  });
  assertEquals(headers.length, 1);
  assertEquals(warnings, []);
});

Deno.test("TarReader accepts a single zero block at the end", async () => {
  const { headers } = await readAll(tarOfRaw([{ name: "f" }], { end: "one-block" }));
  assertEquals(headers.length, 1);
});

Deno.test("TarReader hashes and reports data after the end-of-archive marker", async () => {
  const warnings: string[] = [];
  const tar = tarOfRaw([{ name: "f" }], { trailing: new Uint8Array([1, 2, 3]) });
  const { seen } = await readAll(tar, { warnings });
  assertEquals(seen, tar.byteLength);
  assert(warnings.some((w) => w.includes("after the end-of-archive")));
});

Deno.test("TarReader ignores global PAX headers", async () => {
  const { headers } = await readAll(
    rawTar([paxMember({ path: "global-name" }, { global: true }), rawMember({ name: "real" })]),
  );
  assertEquals(headers.map((h) => h.name), ["real"]);
});

Deno.test("TarReader reads an empty stream as an empty archive", async () => {
  const { headers } = await readAll(new Uint8Array(0));
  assertEquals(headers, []);
});

Deno.test("TarReader accepts an archive that ends right after a member's data (no padding, no end blocks), like Go's archive/tar", async () => {
  for (const names of [["f"], ["a", "f"]]) {
    const members = names.map((name) => ({ name, body: `${name}-hello` }));
    const whole = tarOfRaw(members, { end: "none" });
    const cut = whole.slice(0, whole.byteLength - (512 - members.at(-1)!.body.length));
    for (const chunk of [7, 512, 100_000]) {
      const warnings: string[] = [];
      const { headers, bodies, seen } = await readAll(cut, { chunk, warnings });
      assertEquals(headers.map((h) => h.name), names);
      assertEquals(bodies, members.map((m) => m.body));
      assertEquals(seen, cut.byteLength);
    }
    // Also when nobody reads the last body (it is skipped).
    const tar = new TarReader(streamOf(cut));
    let count = 0;
    while (await tar.next()) count++;
    assertEquals(count, names.length);
  }
});

Deno.test("TarReader still refuses a member whose data is cut short, or padding cut in the middle", async () => {
  const whole = tarOfRaw([{ name: "f", body: "x".repeat(600) }], { end: "none" });
  await assertRejects(() => readAll(whole.slice(0, 512 + 599)), InvalidInputError, "truncated");
  await assertRejects(
    () => readAll(whole.slice(0, 512 + 600 + 100)),
    InvalidInputError,
    "truncated",
  );
});
