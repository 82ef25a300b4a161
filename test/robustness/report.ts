/**
 * Reporting mode of the robustness suite: when LERNEN_ROBUSTNESS_REPORT names a folder, each
 * suite writes what it attacked, how many cases ran and what happened to <folder>/<suite>.json,
 * and scripts/robustness-report.ts turns those files into docs/robustness.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface AttackRecord {
  /** What was attacked and how, in one line. */
  attack: string;
  /** How many cases (calls, files, kills, steps, requests...) ran. */
  cases: number;
  /** What the toolkit did, in one line. */
  outcome: string;
  /** Known, unfixed findings this attack hit (id: count). */
  known?: Record<string, number>;
}

const dir = process.env.LERNEN_ROBUSTNESS_REPORT;

/** Adds one attack's result to the suite's report file (no-op outside reporting mode). */
export function record(suite: string, rec: AttackRecord): void {
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${suite}.json`);
  let list: AttackRecord[] = [];
  try { list = JSON.parse(fs.readFileSync(file, 'utf8')) as AttackRecord[]; } catch { /* first record */ }
  list = list.filter((r) => r.attack !== rec.attack);
  list.push(rec);
  fs.writeFileSync(file, `${JSON.stringify(list, null, 2)}\n`);
}
