/**
 * Property-based fuzzing of the parsers of untrusted text and bytes: JSON documents
 * (manifest, index, config, layout, docker manifest.json), references and platforms.
 * Invariant: accepted and consistent, or one typed lading error — never a TypeError,
 * RangeError or a hang.
 * @module
 */
import fc from "fast-check";
import { assert } from "../assert.ts";
import {
  parseConfig,
  parseDockerArchiveManifest,
  parseImageLayout,
  parseIndex,
  parseManifest,
} from "../../src/schema.ts";
import { formatReference, parseReference } from "../../src/reference.ts";
import { formatPlatform, parsePlatform } from "../../src/platform.ts";
import { LadingError } from "../../src/errors.ts";
import { buildImage, buildIndex } from "../helpers/images.ts";
import { acceptedOrTyped, mutate, mutationArb, params } from "./_fuzz.ts";

const enc = new TextEncoder();
const image = await buildImage({ layers: [{ files: [{ path: "a", content: "a" }] }] });
const index = await buildIndex([image]);
const documents: [string, Uint8Array, (b: Uint8Array) => unknown][] = [
  ["manifest", image.manifest.bytes, (b) => parseManifest(b)],
  ["index", index.bytes, (b) => parseIndex(b)],
  ["config", image.config.bytes, (b) => parseConfig(b)],
  ["oci-layout", enc.encode('{"imageLayoutVersion":"1.0.0"}'), (b) => parseImageLayout(b)],
  [
    "docker manifest.json",
    enc.encode(JSON.stringify([{ Config: "c.json", RepoTags: ["a:1"], Layers: ["l/layer.tar"] }])),
    (b) => parseDockerArchiveManifest(b),
  ],
];

for (const [what, good, parse] of documents) {
  Deno.test(`fuzz: the ${what} parser accepts or throws one typed error for mutated bytes`, async () => {
    await fc.assert(
      fc.asyncProperty(mutationArb, async (mutations) => {
        await acceptedOrTyped(() => parse(mutate(good, mutations)));
      }),
      params(),
    );
  });
  Deno.test(`fuzz: the ${what} parser accepts or throws one typed error for any JSON value`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (value) => {
        await acceptedOrTyped(() => parse(enc.encode(JSON.stringify(value))));
      }),
      params(),
    );
  });
}

Deno.test("fuzz: parseReference accepts and round-trips, or throws one typed error", async () => {
  const refChars = fc.constantFrom(..."abz09.-_/:@Ab \n\x1b".split(""));
  const arb = fc.oneof(
    fc.string({ unit: "binary", maxLength: 300 }),
    fc.string({ unit: refChars, maxLength: 120 }),
  );
  await fc.assert(
    fc.asyncProperty(arb, async (s) => {
      const r = await acceptedOrTyped(() => parseReference(s));
      if (r instanceof LadingError) return;
      const again = parseReference(formatReference(r));
      assert(formatReference(again) === formatReference(r), `round trip of ${JSON.stringify(s)}`);
      assert(
        // deno-lint-ignore no-control-regex
        !/[\x00-\x20\x7f]/.test(formatReference(r)),
        `control character kept in ${JSON.stringify(s)}`,
      );
    }),
    params(4),
  );
});

Deno.test("fuzz: parsePlatform accepts and round-trips, or throws one typed error", async () => {
  const chars = fc.constantFrom(..."linux/amd64arm64v78/ \n,x_-".split(""));
  const arb = fc.oneof(
    fc.string({ unit: "binary", maxLength: 100 }),
    fc.string({ unit: chars, maxLength: 40 }),
  );
  await fc.assert(
    fc.asyncProperty(arb, async (s) => {
      const p = await acceptedOrTyped(() => parsePlatform(s));
      if (p instanceof LadingError) return;
      const again = parsePlatform(formatPlatform(p));
      assert(formatPlatform(again) === formatPlatform(p), `round trip of ${JSON.stringify(s)}`);
    }),
    params(4),
  );
});
