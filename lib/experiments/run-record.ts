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

/** `<dir>/<name>` parsed, or null when it does not exist; invalid JSON throws, naming `fix`. */
export function readResultJson<T>(dir: string, name: string, where: string, fix: string): T | null {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new Error(`${where}: ${file} is not valid JSON (${(e as Error).message}); ${fix}`);
  }
}

/** Whether `previous` was made by the same run settings (quick, base, backend, recipe), so its finished rows may be kept. */
export function resumable(previous: (RunRecord & { recipe?: unknown }) | null, now: { quick: boolean; base: string; recipe: unknown }): boolean {
  return previous !== null && previous.quick === now.quick && previous.base === now.base && previous.backend === backendInfo().name && JSON.stringify(previous.recipe) === JSON.stringify(now.recipe);
}
