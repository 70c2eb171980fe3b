import {
  TAR_END,
  tarArchiveSize,
  tarHeader,
  type TarMember,
  tarPadding,
} from "../../src/export/tar_writer.ts";
import { assertEquals, assertThrows } from "../assert.ts";
import { readArchive } from "./_support.ts";

function archive(members: (TarMember & { body?: Uint8Array })[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const m of members) {
    parts.push(tarHeader(m));
    if (m.type !== "directory") {
      parts.push(m.body ?? new Uint8Array(m.size));
      parts.push(tarPadding(m.size));
    }
  }
  parts.push(TAR_END);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

Deno.test("tarHeader() writes ustar members owned by 0:0 with mtime 0 that the strict reader accepts", async () => {
  const body = new TextEncoder().encode("hello");
  const bytes = archive([
    { path: "blobs/", size: 0, type: "directory" },
    { path: "blobs/x", size: body.byteLength, body },
  ]);
  assertEquals(
    bytes.byteLength,
    tarArchiveSize([
      { path: "blobs/", size: 0, type: "directory" },
      { path: "blobs/x", size: 5 },
    ]),
  );
  const members = await readArchive(bytes);
  assertEquals([...members.keys()], ["blobs/", "blobs/x"]);
  const dir = members.get("blobs/")!;
  assertEquals([dir.type, dir.mode, dir.uid, dir.gid, dir.mtime], ["directory", 0o755, 0, 0, 0]);
  const file = members.get("blobs/x")!;
  assertEquals([file.type, file.mode, file.uid, file.gid, file.mtime], ["file", 0o644, 0, 0, 0]);
  assertEquals(new TextDecoder().decode(file.bytes), "hello");
});

Deno.test("tarHeader() splits long paths into ustar prefix and name, and uses PAX beyond that", async () => {
  const sha512 = `blobs/sha512/${"ab".repeat(64)}`; // 141 bytes, last component 128
  const split = `${"d".repeat(120)}/${"f".repeat(90)}`;
  const bytes = archive([
    { path: sha512, size: 3, body: new Uint8Array([1, 2, 3]) },
    { path: split, size: 1, body: new Uint8Array([9]) },
  ]);
  const members = await readArchive(bytes);
  assertEquals([...members.keys()], [sha512, split]);
  assertEquals(members.get(sha512)!.bytes, new Uint8Array([1, 2, 3]));
  // The split path needs no PAX header: one 512-byte block.
  assertEquals(tarHeader({ path: split, size: 1 }).byteLength, 512);
  assertEquals(tarHeader({ path: sha512, size: 1 }).byteLength > 512, true);
});

Deno.test("tarHeader() is deterministic and refuses absolute paths and bad sizes", () => {
  assertEquals(tarHeader({ path: "a", size: 1 }), tarHeader({ path: "a", size: 1 }));
  assertThrows(() => tarHeader({ path: "/etc/passwd", size: 1 }), TypeError);
  assertThrows(() => tarHeader({ path: "", size: 1 }), TypeError);
  assertThrows(() => tarHeader({ path: "a", size: -1 }), TypeError);
  assertThrows(() => tarHeader({ path: "a", size: 1.5 }), TypeError);
});

Deno.test("tarHeader() records sizes of 8 GiB and more in a PAX header", () => {
  const big = 9 * 1024 ** 3;
  const h = tarHeader({ path: "big", size: big });
  const text = new TextDecoder().decode(h.subarray(512, 1024));
  assertEquals(text.includes(`size=${big}\n`), true);
});
