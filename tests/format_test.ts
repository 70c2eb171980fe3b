import { assertEquals } from "./assert.ts";
import { formatBytes } from "../src/format.ts";

Deno.test("formatBytes() prints one unit system everywhere: decimal SI units, as docker and skopeo", () => {
  const cases: [number, string][] = [
    [0, "0 B"],
    [999, "999 B"],
    [616.4383561643835, "616 B"], // a rate: bytes are whole
    [999.7, "1.0 kB"],
    [1000, "1.0 kB"],
    [1536, "1.5 kB"],
    [300_000, "300 kB"],
    [999_499, "999 kB"],
    [999_999, "1.0 MB"],
    [1_234_000, "1.2 MB"],
    [34_000_000, "34 MB"],
    [629_000_000, "629 MB"],
    [2 ** 40, "1.1 TB"],
    [NaN, "?"],
  ];
  for (const [n, want] of cases) assertEquals(formatBytes(n), want, String(n));
});
