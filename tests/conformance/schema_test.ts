/**
 * Runs image-spec's schema test cases and spec examples from `../shared/fixtures/schema`
 * with their expected verdicts. Skipped (visibly) when the corpus is absent; fails then
 * when `CI=true`.
 */
import {
  parseConfig,
  parseDescriptor,
  parseImageLayout,
  parseIndex,
  parseJson,
  parseManifest,
} from "../../src/schema.ts";

const CORPUS = new URL("../../../shared/fixtures/", import.meta.url);
const SCHEMA_DIR = new URL("schema/", CORPUS);
const EXAMPLES_DIR = new URL("schema/examples/", CORPUS);

interface CaseEntry {
  file: string;
  fail: boolean;
  mediaType: string;
  comment?: string | null;
  convertBeforeValidate?: boolean;
}

interface ExampleEntry {
  file: string;
  mediaType: string;
  expect: string;
}

function corpusPresent(): boolean {
  try {
    return Deno.statSync(new URL("cases.json", SCHEMA_DIR)).isFile;
  } catch {
    return false;
  }
}

/** Validates `bytes` as `mediaType` the way image-spec's validator would. */
function validateAs(mediaType: string, bytes: Uint8Array): void {
  const options = { profile: "image-spec" as const, what: mediaType };
  switch (mediaType) {
    case "application/vnd.oci.descriptor.v1+json":
      parseDescriptor(parseJson(bytes, options), mediaType, options);
      return;
    case "application/vnd.oci.image.manifest.v1+json":
      parseManifest(bytes, options);
      return;
    case "application/vnd.oci.image.index.v1+json":
      parseIndex(bytes, options);
      return;
    case "application/vnd.oci.image.config.v1+json":
      parseConfig(bytes, options);
      return;
    case "application/vnd.oci.layout.header.v1+json":
      parseImageLayout(bytes, options);
      return;
    default:
      throw new Error(`the conformance runner has no validator for ${mediaType}`);
  }
}

function verdict(mediaType: string, bytes: Uint8Array): { valid: boolean; error?: string } {
  try {
    validateAs(mediaType, bytes);
    return { valid: true };
  } catch (e) {
    if (e instanceof Error && e.message.startsWith("the conformance runner")) throw e;
    return { valid: false, error: (e as Error).message };
  }
}

if (!corpusPresent()) {
  const where = decodeURIComponent(SCHEMA_DIR.pathname);
  console.log(`skipped: corpus not found at ${where}`);
  Deno.test({
    name: "schema conformance corpus is present (required when CI=true)",
    ignore: Deno.env.get("CI") !== "true",
    fn() {
      throw new Error(`corpus not found at ${where}`);
    },
  });
} else {
  const cases = JSON.parse(
    Deno.readTextFileSync(new URL("cases.json", SCHEMA_DIR)),
  ) as {
    cases: CaseEntry[];
    dockerToOciMediaTypeReplacements: Record<string, string>;
  };
  const examples = JSON.parse(
    Deno.readTextFileSync(new URL("examples.json", EXAMPLES_DIR)),
  ) as { examples: ExampleEntry[] };

  Deno.test("the schema corpus has 71 cases and 13 examples", () => {
    if (cases.cases.length !== 71) throw new Error(`expected 71 cases, got ${cases.cases.length}`);
    if (examples.examples.length !== 13) {
      throw new Error(`expected 13 examples, got ${examples.examples.length}`);
    }
  });

  for (const c of cases.cases) {
    const expectValid = !c.fail;
    const label = (c.comment ?? "").split("\n")[0];
    Deno.test(
      `image-spec case ${c.file} is ${expectValid ? "accepted" : "refused"}${
        label ? ` (${label})` : ""
      }`,
      () => {
        let bytes = Deno.readFileSync(new URL(c.file, SCHEMA_DIR));
        if (c.convertBeforeValidate) {
          let text = new TextDecoder().decode(bytes);
          for (const [from, to] of Object.entries(cases.dockerToOciMediaTypeReplacements)) {
            text = text.replaceAll(from, to);
          }
          bytes = new TextEncoder().encode(text);
        }
        const got = verdict(c.mediaType, bytes);
        if (got.valid !== expectValid) {
          throw new Error(
            `${c.file}: expected ${expectValid ? "valid" : "invalid"}, got ${
              got.valid ? "valid" : `invalid: ${got.error}`
            }`,
          );
        }
      },
    );
  }

  for (const x of examples.examples) {
    const expectValid = x.expect === "valid";
    Deno.test(
      `image-spec example ${x.file} is ${expectValid ? "accepted" : "refused"} as ${x.mediaType}`,
      () => {
        const got = verdict(x.mediaType, Deno.readFileSync(new URL(x.file, EXAMPLES_DIR)));
        if (got.valid !== expectValid) {
          throw new Error(
            `${x.file}: expected ${x.expect}, got ${got.valid ? "valid" : `invalid: ${got.error}`}`,
          );
        }
      },
    );
  }
}
