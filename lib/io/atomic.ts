/**
 * Crash-safe writes: a reader (or a resumed run) sees either the old file or directory or the complete new
 * one, never a half-written one ("nothing is lost": checkpoints are written atomically and resume exactly).
 *
 * Files: write a temp file in the same directory, fsync it, rename it over the target (atomic on POSIX
 * filesystems), fsync the directory so the rename itself is durable.
 *
 * Directories (a checkpoint of several files): POSIX has no atomic swap of two non-empty directories, so
 * the swap is a short sequence of renames with a marker in each name, and `recoverInterruptedReplace`
 * finishes or undoes it after a crash:
 *   1. `.NAME.tmp-ID`  the new directory being filled (incomplete; discarded by recovery)
 *   2. `.NAME.new-ID`  the new directory, complete and fsynced
 *   3. `.NAME.old-ID`  the previous directory, moved aside only after step 2
 *   4. `NAME`          the new directory renamed into place; then the old one is deleted
 * One writer per target at a time (two concurrent replaces of the same directory are not supported).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import type { FileHandle } from 'fs/promises';

function uniqueSuffix(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Error codes with which filesystems (or Windows) refuse to fsync a directory; durability is best effort there. */
const DIR_FSYNC_UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EINVAL', 'ENOTSUP', 'EBADF', 'EACCES']);

/** fsyncs a directory so renames inside it survive a power loss (skipped where the OS does not allow it). */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (e) {
    if (!DIR_FSYNC_UNSUPPORTED.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    await handle?.close();
  }
}

/**
 * Writes `data` to `filePath` atomically: temp file `.NAME.tmp-ID` beside it, write, fsync, rename over
 * `filePath`, fsync the directory. On failure the temp file is removed and the old file is untouched.
 * The parent directory must exist.
 */
export async function writeFileAtomic(filePath: string, data: Uint8Array | string): Promise<void> {
  const dir = path.dirname(path.resolve(filePath));
  const tmp = path.join(dir, `.${path.basename(filePath)}.tmp-${uniqueSuffix()}`);
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'wx');
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, filePath);
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(`writeFileAtomic: could not write ${filePath} (${(e as Error).message}); the previous file, if any, is unchanged`);
  }
  await fsyncDirectory(dir);
}

/** Writes `value` as pretty JSON (2-space indent, trailing newline) atomically, like `writeFileAtomic`. */
export async function writeJsonAtomic(filePath: string, value: unknown): Promise<void> {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw new Error(`writeJsonAtomic: ${filePath}: the value (${typeof value}) has no JSON form; pass an object, array, string, number or boolean`);
  await writeFileAtomic(filePath, text + '\n');
}

/** fsyncs every regular file under `dir`, then the directories themselves (deepest first). */
async function fsyncTree(dir: string): Promise<void> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await fsyncTree(p);
    else if (entry.isFile()) {
      const handle = await fs.open(p, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  }
  await fsyncDirectory(dir);
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

function processIsAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The sibling work directories of `targetDir` by kind, parsed from their names. */
async function siblings(targetDir: string): Promise<{ kind: 'tmp' | 'new' | 'old'; pid: number; path: string; mtimeMs: number }[]> {
  const parent = path.dirname(targetDir);
  const prefix = `.${path.basename(targetDir)}.`;
  let names: string[];
  try {
    names = await fs.readdir(parent);
  } catch {
    return [];
  }
  const out = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(tmp|new|old)-(\d+)-[0-9a-f]+$/.exec(name.slice(prefix.length));
    if (m === null) continue;
    const p = path.join(parent, name);
    const stat = await fs.lstat(p);
    if (!stat.isDirectory()) continue;
    out.push({ kind: m[1] as 'tmp' | 'new' | 'old', pid: Number(m[2]), path: p, mtimeMs: stat.mtimeMs });
  }
  return out;
}

/**
 * Finishes or undoes a `replaceDirectoryAtomic` that a crash interrupted, so that `targetDir` holds a
 * complete directory again. A complete new directory (`.NAME.new-*`, the newest if several) is moved into
 * place, the current one moved aside; otherwise, if `targetDir` is missing, the previous one (`.NAME.old-*`)
 * is moved back. Then leftovers are deleted: previous versions, older new versions, and incomplete temp
 * directories of processes that no longer run. Returns what it did, in words, or null when there was
 * nothing to do. `replaceDirectoryAtomic` calls it first; `loadHFCheckpoint` calls it before reading.
 */
export async function recoverInterruptedReplace(targetDir: string): Promise<string | null> {
  const target = path.resolve(targetDir);
  const parent = path.dirname(target);
  const found = await siblings(target);
  const actions: string[] = [];
  const newest = (kind: 'new' | 'old') => found.filter((s) => s.kind === kind).sort((a, b) => b.mtimeMs - a.mtimeMs)[0];
  const complete = newest('new');
  if (complete !== undefined) {
    if (await exists(target)) await fs.rename(target, path.join(parent, `.${path.basename(target)}.old-${uniqueSuffix()}`));
    await fs.rename(complete.path, target);
    await fsyncDirectory(parent);
    actions.push(`finished an interrupted replace: moved the complete new version ${path.basename(complete.path)} to ${target}`);
  } else if (!(await exists(target))) {
    const previous = newest('old');
    if (previous !== undefined) {
      await fs.rename(previous.path, target);
      await fsyncDirectory(parent);
      actions.push(`undid an interrupted replace: moved the previous version ${path.basename(previous.path)} back to ${target}`);
    }
  }
  for (const s of await siblings(target)) {
    if (s.kind === 'tmp' && processIsAlive(s.pid)) continue; // maybe still being filled
    await fs.rm(s.path, { recursive: true, force: true });
    actions.push(`removed ${path.basename(s.path)}`);
  }
  return actions.length > 0 ? actions.join('; ') : null;
}

/**
 * Replaces directory `targetDir` with one built by `fill(tmpDir)`, so that a crash at any point leaves
 * either the old directory or the complete new one (after `recoverInterruptedReplace`, which this runs
 * first). `fill` writes into an empty sibling temp directory; if it throws, the temp directory is removed,
 * the old directory is untouched and the error is rethrown. The new files are fsynced before the swap.
 */
export async function replaceDirectoryAtomic(targetDir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const target = path.resolve(targetDir);
  const parent = path.dirname(target);
  const base = path.basename(target);
  await fs.mkdir(parent, { recursive: true });
  await recoverInterruptedReplace(target);
  if ((await exists(target)) && !(await fs.lstat(target)).isDirectory()) {
    throw new Error(`replaceDirectoryAtomic: ${target} exists and is not a directory; remove it or choose another path`);
  }
  const id = uniqueSuffix();
  const tmp = path.join(parent, `.${base}.tmp-${id}`);
  const complete = path.join(parent, `.${base}.new-${id}`);
  const old = path.join(parent, `.${base}.old-${id}`);
  await fs.mkdir(tmp);
  try {
    await fill(tmp);
    await fsyncTree(tmp);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  await fs.rename(tmp, complete);
  await fsyncDirectory(parent);
  const hadOld = await exists(target);
  if (hadOld) await fs.rename(target, old);
  await fs.rename(complete, target);
  await fsyncDirectory(parent);
  if (hadOld) await fs.rm(old, { recursive: true, force: true });
}
