/**
 * Text for `lading images check --diff-ids` (the command lives in `check.ts`; the work is
 * {@link checkDiffIds} in `src/layers/diff_ids.ts`): one line per layer, and for a
 * mismatch the layer, the expected and the actual diff_id.
 * @module
 */
import { shortDigest } from "../digest.ts";
import { checkDiffIds, type DiffIdReport } from "../layers/diff_ids.ts";

export { checkDiffIds };

/** Human-readable lines of a diff_id report; mismatches name layer, expected, actual. */
export function formatDiffIdReport(report: DiffIdReport): string {
  const lines: string[] = [];
  for (const m of report.manifests) {
    const label = `${m.platform ?? "-"} ${shortDigest(m.manifest.digest)}`;
    if (m.skipped && m.layers.length === 0) {
      lines.push(`${label}: skipped (${m.skipped})`);
      continue;
    }
    if (m.skipped) lines.push(`${label}: ${m.skipped}`);
    for (const l of m.layers) {
      const what = `${label} layer ${l.index} ${shortDigest(l.descriptor.digest)}`;
      if (l.skipped) lines.push(`${what}: skipped (${l.skipped})`);
      else if (l.verified === true) lines.push(`${what}: ok ${l.diffId}`);
      else if (l.verified === false) {
        lines.push(`${what}: MISMATCH expected ${l.expectedDiffId}, actual ${l.diffId}`);
      } else lines.push(`${what}: ${l.diffId} (no diff_id to compare)`);
    }
  }
  lines.push(report.ok ? `${report.name}: diff_ids ok` : `${report.name}: diff_id mismatch`);
  return lines.join("\n") + "\n";
}
