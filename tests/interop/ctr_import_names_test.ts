/**
 * The names `lading import` creates equal the ones `ctr images import` (containerd 1.6)
 * creates for the same archive and the same --base-name / --digests /
 * --skip-digest-for-named / --index-name, with the same digests (docker archives imported
 * with --docker-media-types included: lading then builds their manifests and index byte
 * for byte as containerd does).
 */
import { assertEquals } from "../assert.ts";
import {
  canRunContainerd,
  lading,
  ladingImages,
  run as runTool,
  startContainerd,
} from "./_tools.ts";
import {
  blobsOf,
  buildImage,
  buildIndex,
  dockerArchiveFiles,
  layoutFiles,
  tarOfFiles,
} from "../helpers/images.ts";

Deno.test("interop: lading import creates the names and digests ctr images import creates", async (t) => {
  if (!(await canRunContainerd("ctr import names"))) return;
  const dir = await Deno.makeTempDir({ prefix: "lading-ctr-names-" });
  const containerd = await startContainerd(`${dir}`);
  try {
    const a = await buildImage({ layers: [{ files: [{ path: "a", content: "a" }] }] });
    const b = await buildImage({
      layers: [{ files: [{ path: "b", content: "b" }] }],
      platform: { os: "linux", architecture: "arm64", variant: "v8" },
    });
    const index = await buildIndex([a, b]);
    await Deno.writeFile(
      `${dir}/oci.tar`,
      await tarOfFiles(layoutFiles([
        { descriptor: index.descriptor, refName: "v1" },
        { descriptor: a.manifest.descriptor, refName: "docker.io/library/full:ref" },
        {
          descriptor: b.manifest.descriptor,
          refName: "tagonly",
          containerdName: "example.org/cn:wins",
        },
        { descriptor: a.manifest.descriptor },
      ], [index, ...blobsOf(a), ...blobsOf(b)])),
    );
    await Deno.writeFile(
      `${dir}/docker.tar`,
      await tarOfFiles(
        await dockerArchiveFiles([
          { image: a, repoTags: ["foo:1", "example.com/x/y:2"] },
          { image: b, repoTags: null },
        ]),
      ),
    );
    const flagSets = [
      [],
      ["--digests"],
      ["--base-name", "example.com/base"],
      ["--base-name", "example.com/base", "--digests"],
      ["--base-name", "docker.io/library/full"],
      ["--index-name", "my/index"],
      ["--digests", "--skip-digest-for-named"],
    ];
    let n = 0;
    for (const archive of ["oci.tar", "docker.tar"]) {
      for (const flags of flagSets) {
        await t.step(`${archive} ${flags.join(" ") || "(no flags)"}`, async () => {
          const ns = `names${n++}`;
          await runTool("ctr", [
            "--address",
            containerd.address,
            "-n",
            ns,
            "images",
            "import",
            "--no-unpack",
            "--all-platforms",
            ...flags,
            `${dir}/${archive}`,
          ]);
          const ls = await runTool("ctr", [
            "--address",
            containerd.address,
            "-n",
            ns,
            "images",
            "ls",
          ]);
          const theirs = new Map<string, string>();
          for (const line of ls.stdout.trim().split("\n").slice(1)) {
            const [name, , digest] = line.trim().split(/\s+/);
            if (name) theirs.set(name, digest);
          }
          const store = `${dir}/store-${ns}`;
          // A docker archive with containerd's Docker manifests: ctr's digests.
          const docker = archive === "docker.tar" ? ["--docker-media-types"] : [];
          await lading(["import", ...docker, ...flags, `${dir}/${archive}`], store);
          const ours = await ladingImages(store);
          assertEquals(
            Object.fromEntries([...ours].sort()),
            Object.fromEntries([...theirs].sort()),
          );
        });
      }
    }
  } finally {
    await containerd.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
