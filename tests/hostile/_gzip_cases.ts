/**
 * The gzip trailer cases of the hostile corpus: a member whose CRC-32 or ISIZE is wrong,
 * whose trailer is cut, or that is followed by anything but another complete member
 * (zero padding too: Go's `compress/gzip`, which containerd, skopeo and crane use, reads
 * members up to the end and refuses anything else). Each is refused in one line, exit 1,
 * the store unchanged — for an archive and for a layer (`--verify-diff-ids`, `unpack`,
 * `images check --diff-ids`). A valid multi-member archive imports.
 * @module
 */
import { createHash } from "node:crypto";
import * as zlib from "node:zlib";
import { concatBytes } from "../../src/streams.ts";
import { flipFromEnd } from "../runtime/_gzip_cases.ts";
import * as mt from "../../src/media_types.ts";
import { type BuiltImage, tarOf } from "../helpers/images.ts";
import { type HostileCase, imageWithLayer, layoutTar } from "./_cases.ts";

const gzip = (bytes: Uint8Array) => new Uint8Array(zlib.gzipSync(bytes));
const one = (bytes: Uint8Array) => Promise.resolve(new Map([["input", bytes]]));

/** The cases, over the corpus's good image (`base`) and its layout tar (`good`). */
export async function gzipTrailerCases(
  base: BuiltImage,
  good: Uint8Array,
): Promise<HostileCase[]> {
  const gz = gzip(good);
  const half = good.length >> 1;
  const first = gzip(good.subarray(0, half));
  const second = gzip(good.subarray(half));
  // The trailer is CRC-32 (8 to 5 bytes before the end) then ISIZE (4 to 1).
  const archives: [string, Uint8Array][] = [
    ["whose CRC-32 is wrong", flipFromEnd(gz, 6)],
    ["whose ISIZE is wrong", flipFromEnd(gz, 3)],
    ["whose trailer is cut after 4 bytes", gz.subarray(0, gz.length - 4)],
    ["whose trailer is missing", gz.subarray(0, gz.length - 8)],
    ["followed by 512 zero bytes", concatBytes([gz, new Uint8Array(512)])],
    [
      "followed by one zero byte and another member",
      concatBytes([gz, new Uint8Array(1), gzip(good)]),
    ],
    ["followed by the start of a member header", concatBytes([gz, new Uint8Array([0x1f, 0x8b])])],
    ["of two members, the first with a wrong CRC-32", concatBytes([flipFromEnd(first, 6), second])],
    ["of two members, the first with a wrong ISIZE", concatBytes([flipFromEnd(first, 3), second])],
  ];
  const layerTar = await tarOf([{ path: "a.txt", content: "a".repeat(5000) }]);
  // The layer's diff_id is right: only the gzip trailer is wrong.
  const diffId = `sha256:${createHash("sha256").update(layerTar).digest("hex")}`;
  const layer = gzip(layerTar);
  const badLayer = async (bytes: Uint8Array, name: string) =>
    one(await layoutTar(await imageWithLayer(bytes, mt.OCI_LAYER_GZIP, base, diffId), name));
  return [
    ...archives.map(([what, bytes]): HostileCase => ({
      name: `a .tar.gz ${what}`,
      files: () => one(bytes),
      args: ["import", "$W/input"],
      message: /gzip/,
    })),
    {
      name: "a .tar.gz of two members (valid: imports)",
      files: () => one(concatBytes([first, second])),
      args: ["import", "$W/input"],
      code: 0,
      accepted: true,
    },
    {
      name: "--verify-diff-ids on an image whose gzip layer's CRC-32 is wrong (diff_id right)",
      files: () => badLayer(flipFromEnd(layer, 6), "example.com/crc:1"),
      args: ["import", "--verify-diff-ids", "$W/input"],
      message: /gzip/,
    },
    {
      name: "unpack of an image whose gzip layer's ISIZE is wrong (diff_id right)",
      files: () => badLayer(flipFromEnd(layer, 3), "example.com/isize:1"),
      importFirst: true,
      args: ["unpack", "example.com/isize:1", "$W/root"],
      message: /gzip/,
      after: async (_store, work) => {
        const left = await Deno.stat(`${work}/root`).then(() => true, () => false);
        if (left) throw new Error("unpack left its target directory behind");
      },
    },
    {
      name: "images check --diff-ids on an image whose gzip layer is followed by zero padding",
      files: () => badLayer(concatBytes([layer, new Uint8Array(100)]), "example.com/pad:1"),
      importFirst: true,
      args: ["images", "check", "--diff-ids", "example.com/pad:1"],
      message: /gzip|diff_id|corrupt/,
    },
  ];
}
