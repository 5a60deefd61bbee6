import * as fsModule from 'fs';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { recoverInterruptedReplace, replaceDirectoryAtomic, writeFileAtomic, writeJsonAtomic } from '../../lib/io/atomic';

let root: string;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'longlora-atomic-'));
});
afterEach(async () => {
  jest.restoreAllMocks();
  await fs.rm(root, { recursive: true, force: true });
});

/** Every file under `dir` with its contents, as a sorted { relative path: text } object. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out[path.relative(dir, p)] = await fs.readFile(p, 'utf8');
    }
  };
  await walk(dir);
  return out;
}

/** Builds a checkpoint-like directory with two files holding `tag`. */
async function writeVersion(dir: string, tag: string): Promise<void> {
  await fs.writeFile(path.join(dir, 'config.json'), `{"version": "${tag}"}`);
  await fs.mkdir(path.join(dir, 'optimizer'));
  await fs.writeFile(path.join(dir, 'optimizer', 'state.bin'), `state ${tag}`);
}
const version = (tag: string) => ({ 'config.json': `{"version": "${tag}"}`, [path.join('optimizer', 'state.bin')]: `state ${tag}` });

describe('writeFileAtomic / writeJsonAtomic', () => {
  it('writes, overwrites, and leaves no temp file', async () => {
    const file = path.join(root, 'a.txt');
    await writeFileAtomic(file, 'first');
    await writeFileAtomic(file, new Uint8Array([0x68, 0x69]));
    expect(await fs.readFile(file, 'utf8')).toBe('hi');
    expect(await fs.readdir(root)).toEqual(['a.txt']);
  });

  it('a failed write keeps the old content and removes its temp file', async () => {
    const target = path.join(root, 'taken');
    await fs.mkdir(target); // renaming a file over a directory fails
    await fs.writeFile(path.join(target, 'inside'), 'keep');
    await expect(writeFileAtomic(target, 'new')).rejects.toThrow(/writeFileAtomic: could not write .*taken .*; the previous file, if any, is unchanged/);
    expect(await fs.readdir(root)).toEqual(['taken']);
    expect(await fs.readFile(path.join(target, 'inside'), 'utf8')).toBe('keep');
    await expect(writeFileAtomic(path.join(root, 'no', 'such', 'dir.txt'), 'x')).rejects.toThrow('could not write');
  });

  it('a write interrupted before the rename leaves the old file intact', async () => {
    const file = path.join(root, 'state.json');
    await writeJsonAtomic(file, { step: 1 });
    jest.spyOn(fs, 'rename').mockRejectedValueOnce(new Error('simulated crash'));
    await expect(writeJsonAtomic(file, { step: 2 })).rejects.toThrow('simulated crash');
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toEqual({ step: 1 });
    expect(await fs.readdir(root)).toEqual(['state.json']);
  });

  it('writeJsonAtomic writes 2-space JSON with a trailing newline; values without JSON are errors', async () => {
    const file = path.join(root, 'c.json');
    await writeJsonAtomic(file, { a: [1, 2], b: 'x' });
    expect(await fs.readFile(file, 'utf8')).toBe('{\n  "a": [\n    1,\n    2\n  ],\n  "b": "x"\n}\n');
    await expect(writeJsonAtomic(file, undefined)).rejects.toThrow('writeJsonAtomic: ' + file + ': the value (undefined) has no JSON form');
  });
});

describe('replaceDirectoryAtomic', () => {
  it('creates, then replaces a directory; no sibling temp directories remain', async () => {
    const target = path.join(root, 'ckpt');
    await replaceDirectoryAtomic(target, (tmp) => writeVersion(tmp, 'one'));
    expect(await snapshot(target)).toEqual(version('one'));
    await replaceDirectoryAtomic(target, (tmp) => writeVersion(tmp, 'two'));
    expect(await snapshot(target)).toEqual(version('two'));
    expect(await fs.readdir(root)).toEqual(['ckpt']);
  });

  it('a failure inside fill keeps the old directory intact and removes the half-built one', async () => {
    const target = path.join(root, 'ckpt');
    await replaceDirectoryAtomic(target, (tmp) => writeVersion(tmp, 'good'));
    let tmpSeen = '';
    await expect(
      replaceDirectoryAtomic(target, async (tmp) => {
        tmpSeen = tmp;
        expect(path.dirname(tmp)).toBe(root); // a sibling: same filesystem, so the final rename is atomic
        expect(await fs.readdir(tmp)).toEqual([]);
        await fs.writeFile(path.join(tmp, 'config.json'), '{"version": "half"}');
        throw new Error('disk full while writing shard 2');
      }),
    ).rejects.toThrow('disk full while writing shard 2');
    expect(await snapshot(target)).toEqual(version('good'));
    expect(await fs.readdir(root)).toEqual(['ckpt']);
    await expect(fs.stat(tmpSeen)).rejects.toThrow();
  });

  it.each([
    [1, 'after filling, before marking the new directory complete', 'old'],
    [2, 'after marking it complete, before moving the old one aside', 'new'],
    [3, 'after moving the old one aside, before moving the new one in', 'new'],
  ])('a crash at rename %i (%s) recovers to a complete %s version', async (failAt, _when, expected) => {
    const target = path.join(root, 'ckpt');
    await replaceDirectoryAtomic(target, (tmp) => writeVersion(tmp, 'old'));
    const realRename = fs.rename.bind(fs);
    let calls = 0;
    jest.spyOn(fs, 'rename').mockImplementation(async (from, to) => {
      calls++;
      if (calls === failAt) throw new Error('simulated crash');
      return realRename(from, to);
    });
    await expect(replaceDirectoryAtomic(target, (tmp) => writeVersion(tmp, 'new'))).rejects.toThrow('simulated crash');
    jest.restoreAllMocks();
    await recoverInterruptedReplace(target);
    expect(await snapshot(target)).toEqual(version(expected));
    // Only an unfinished temp directory of a live process (this one) may remain, and it is not the target.
    expect((await fs.readdir(root)).filter((n) => n !== 'ckpt').every((n) => n.startsWith(`.ckpt.tmp-${process.pid}-`))).toBe(true);
    // The next replace works normally.
    await replaceDirectoryAtomic(target, (tmp) => writeVersion(tmp, 'next'));
    expect(await snapshot(target)).toEqual(version('next'));
  });

  it('recovery: restores the previous version, deletes leftovers and dead temp dirs, keeps live ones', async () => {
    const target = path.join(root, 'ckpt');
    const dead = 99999999; // above any pid_max: no such process
    const old = path.join(root, `.ckpt.old-${dead}-0a0a0a0a`);
    const deadTmp = path.join(root, `.ckpt.tmp-${dead}-0b0b0b0b`);
    const liveTmp = path.join(root, `.ckpt.tmp-${process.pid}-0c0c0c0c`);
    for (const d of [old, deadTmp, liveTmp]) await fs.mkdir(d);
    await writeVersion(old, 'previous');
    await writeVersion(deadTmp, 'partial');
    await fs.writeFile(path.join(root, '.ckpt.old-notes.txt'), 'an unrelated file with a similar name');
    const report = await recoverInterruptedReplace(target);
    expect(report).toMatch(/undid an interrupted replace: moved the previous version \.ckpt\.old-99999999-0a0a0a0a back to .*ckpt; removed \.ckpt\.tmp-99999999-0b0b0b0b/);
    expect(await snapshot(target)).toEqual(version('previous'));
    expect((await fs.readdir(root)).sort()).toEqual(['.ckpt.old-notes.txt', path.basename(liveTmp), 'ckpt'].sort());
    expect(await recoverInterruptedReplace(target)).toBeNull(); // nothing left to do
  });

  it('refuses to replace a file with a directory', async () => {
    const target = path.join(root, 'file');
    await fs.writeFile(target, 'x');
    await expect(replaceDirectoryAtomic(target, async () => undefined)).rejects.toThrow(/replaceDirectoryAtomic: .*file exists and is not a directory/);
    expect(fsModule.readFileSync(target, 'utf8')).toBe('x');
  });
});
