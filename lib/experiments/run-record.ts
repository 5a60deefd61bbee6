/**
 * What every results file of `npm run reproduce` records about its run (backend, command, date,
 * planned and finished rows, wall time), and how it is written: atomically, so an interrupted run
 * leaves the previous file or the new one, never half of one.
 */
import * as fs from 'fs';
import * as path from 'path';
import { backendInfo } from '../backend';

/** The fields every section's JSON shares. */
export interface RunRecord {
  /** A smoke run of the pipeline (not results). */
  quick: boolean;
  /** How the base model was made. */
  base: string;
  backend: string;
  threads: number;
  command: string;
  date: string;
  /** Ids of the planned rows (so a partial file says what is missing). */
  planned: string[];
  complete: boolean;
  /** Wall time of the rows (summed over sessions when resumed). */
  wallSeconds: number;
}

/** A fresh record on the current backend, dated today. */
export function runRecord(o: { quick: boolean; base: string; command: string; planned: string[]; wallSeconds: number }): RunRecord {
  const info = backendInfo();
  return { quick: o.quick, base: o.base, backend: info.name, threads: info.threads, command: o.command, date: new Date().toISOString().slice(0, 10), planned: o.planned, complete: false, wallSeconds: o.wallSeconds };
}

/** Writes `value` as JSON to `<dir>/<name>` through a temporary file and a rename. */
export function writeResultJson(dir: string, name: string, value: unknown): void {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2) + '\n');
  fs.renameSync(`${file}.tmp`, file);
}
