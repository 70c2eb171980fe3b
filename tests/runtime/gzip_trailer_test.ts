/**
 * Every gzip decoder (the Deno/Node runtime's node:zlib, the page's `DecompressionStream`
 * with lading's member handling, and the fflate fallback) reads gzip as Go's
 * `compress/gzip` does — the reader containerd, skopeo and crane use: members up to the
 * end of the input, each checked against its trailer (CRC-32 and ISIZE). A wrong CRC-32 or
 * ISIZE in any member, a cut trailer, and any byte after the last member that does not
 * start a complete member (zero padding too) is one `InvalidInputError` of one line,
 * whatever the chunking; valid multi-member input (with file names and extra fields in
 * the headers) decodes exactly.
 * @module
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { InvalidInputError } from "../../src/errors.ts";
import { denoRuntime } from "../../src/runtime/deno.ts";
import type { Decoder } from "../../src/runtime/types.ts";
import { fflateGunzip, nativeGunzip } from "../../src/runtime/web.ts";
import { INVALID, VALID } from "./_gzip_cases.ts";

const DECODERS: [string, () => Decoder][] = [
  ["deno (node:zlib)", () => denoRuntime.gunzip()],
  ["native (DecompressionStream)", nativeGunzip],
  ["fflate", fflateGunzip],
];

const CHUNKINGS = [1 << 30, 65536, 4096, 7];

function chunks(bytes: Uint8Array, size: number): Uint8Array[] {
  const out = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.slice(at, at + size));
  return out;
}

async function decode(input: Uint8Array, size: number, decoder: Decoder): Promise<Uint8Array> {
  const stream = ReadableStream.from(chunks(input, size)).pipeThrough(decoder);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

for (const [decoderName, make] of DECODERS) {
  for (const [what, input, expected] of VALID) {
    Deno.test(`gunzip ${decoderName} decodes ${what} in any chunking`, async () => {
      for (const size of CHUNKINGS) {
        const out = await decode(input, size, make());
        assertEquals(out.length, expected.length, `chunks of ${size}`);
        assert(out.every((x, i) => x === expected[i]), `output differs in chunks of ${size}`);
      }
    });
  }
  for (const [what, input] of INVALID) {
    Deno.test(`gunzip ${decoderName} refuses ${what} in one line, in any chunking`, async () => {
      for (const size of CHUNKINGS) {
        const e = await assertRejects(() => decode(input, size, make()), InvalidInputError);
        assert(/gzip/.test(e.message), e.message);
        assert(!e.message.includes("\n"), e.message);
      }
    });
  }
}
