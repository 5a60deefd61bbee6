/**
 * npm run bench:peer [-- --rounds 3] [--seq-lens 1024,2048] [--runs 5]
 *
 * Our library against PyTorch on the same CPU and shapes: attention forward + backward
 * ([1, 8, N, 64]: full causal, S2-Attn) and a training step of presets.small's shape (full
 * attention, S2-Attn), the two systems alternating `rounds` times (their medians per round, then
 * the median over rounds: torch's allocator maps large temporaries afresh on every call, so single
 * runs swing). Writes results/peer.json and results/peer.md.
 *
 * PyTorch comes from a project-local venv, .venv-peer (torch + transformers from PyPI, pinned in
 * scripts/peer/requirements.txt: about 3 GB to download, because PyPI's Linux torch pulls its CUDA
 * wheels even for CPU use), built on first use. Optional and never part of `npm test` or CI.
 */
import './ensure-built';
import { spawnSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ready, backendInfo, benchTrainStep, timeAttentionFunctions, causalAttention, shiftedSparseAttention, median } from 'longlora-ts';

const root = path.join(__dirname, '..');
const venv = path.join(root, '.venv-peer');
const requirements = path.join(root, 'scripts', 'peer', 'requirements.txt');
const python = path.join(venv, 'bin', 'python');

interface Args {
  rounds: number;
  seqLens: number[];
  runs: number;
}

function parseArgs(argv: string[]): Args {
  const usage = 'usage: npm run bench:peer [-- --rounds N] [--seq-lens 1024,2048] [--runs N]';
  const args: Args = { rounds: 3, seqLens: [1024, 2048], runs: 5 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value; ${usage}`);
    if (flag === '--rounds' || flag === '--runs') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} = ${value} must be a positive integer; ${usage}`);
      args[flag === '--rounds' ? 'rounds' : 'runs'] = n;
    } else if (flag === '--seq-lens') {
      const lens = value.split(',').map(Number);
      if (lens.some((n) => !Number.isInteger(n) || n < 8 || n % 8 !== 0)) throw new Error(`--seq-lens = ${value} must be multiples of 8 (S2 needs N/4 even); ${usage}`);
      args.seqLens = lens;
    } else throw new Error(`unknown argument '${argv[i]}'; ${usage}`);
  }
  return args;
}

/** Builds .venv-peer when it is missing or requirements.txt changed (a stamp holds its hash). */
function ensureVenv(): void {
  const hash = crypto.createHash('sha256').update(fs.readFileSync(requirements)).digest('hex');
  const stamp = path.join(venv, '.requirements.sha256');
  if (fs.existsSync(python) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === hash) return;
  console.error('[peer] building .venv-peer: torch and transformers from PyPI (about 3 GB of downloads: PyPI\'s torch brings its CUDA wheels)');
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}); see its output above`);
  };
  run(process.env.LONGLORA_PYTHON ?? 'python3', ['-m', 'venv', venv]);
  run(python, ['-m', 'pip', 'install', '--quiet', '-r', requirements]);
  fs.writeFileSync(stamp, hash + '\n');
}

interface PeerResult {
  torch: string;
  transformers: string;
  threads: number;
  attention: Array<{ seqLen: number; full_eager: number; full_sdpa: number; s2_roll: number }>;
  trainStep: Array<{ seqLen: number; attention: string; ms: number }>;
}

function runPeer(args: Args, threads: number): Promise<PeerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [path.join(root, 'scripts', 'peer', 'bench_peer.py'), '--seq-lens', args.seqLens.join(','), '--threads', String(threads), '--runs', String(args.runs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`bench_peer.py failed (exit ${code})`));
      else resolve(JSON.parse(out.trim().split('\n').pop() as string) as PeerResult);
    });
  });
}

type Row = Record<string, number>;

async function runOurs(args: Args): Promise<{ attention: Row[]; trainStep: Row[] }> {
  const attention: Row[] = [];
  for (const n of args.seqLens) {
    const g = n / 4;
    const m = await timeAttentionFunctions(
      {
        full: (q, k, v) => causalAttention(q, k, v),
        s2_offset: (q, k, v) => shiftedSparseAttention(q, k, v, { groupSize: g }),
        s2_roll: (q, k, v) => shiftedSparseAttention(q, k, v, { groupSize: g, variant: 'roll' }),
      },
      n,
      { runs: args.runs },
    );
    attention.push({ seqLen: n, full: m.full.ms ?? NaN, s2_offset: m.s2_offset.ms ?? NaN, s2_roll: m.s2_roll.ms ?? NaN });
    console.error(`[ours] attention N=${n}: full ${m.full.ms?.toFixed(0)} ms, S2 offset ${m.s2_offset.ms?.toFixed(0)} ms, S2 roll ${m.s2_roll.ms?.toFixed(0)} ms`);
  }
  const steps = await benchTrainStep({ seqLens: args.seqLens, attention: ['full', 's2', 's2-roll'], steps: args.runs, warmup: 2 });
  const trainStep = steps.map((s) => ({ seqLen: s.seqLen, attention: s.attention as unknown as number, ms: (1000 * s.seqLen) / s.tokensPerSec }));
  for (const s of trainStep) console.error(`[ours] train step ${s.attention} N=${s.seqLen}: ${s.ms.toFixed(0)} ms`);
  return { attention, trainStep };
}

const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '—');

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  ensureVenv();
  await ready();
  const info = backendInfo();
  const threads = info.threads;
  const rounds: Array<{ load: number[]; peer: PeerResult; ours: { attention: Row[]; trainStep: Row[] } }> = [];
  const started = Date.now();
  for (let r = 0; r < args.rounds; r++) {
    const load = os.loadavg();
    console.error(`[peer] round ${r + 1}/${args.rounds}, load average ${load.map((x) => x.toFixed(2)).join(' ')}`);
    // alternate which system goes first, so neither always runs on a machine the other just warmed
    const peerFirst = r % 2 === 0;
    let peer: PeerResult | null = null;
    let ours: { attention: Row[]; trainStep: Row[] } | null = null;
    for (const side of peerFirst ? ['peer', 'ours'] : ['ours', 'peer']) {
      if (side === 'peer') peer = await runPeer(args, threads);
      else ours = await runOurs(args);
    }
    rounds.push({ load, peer: peer as PeerResult, ours: ours as { attention: Row[]; trainStep: Row[] } });
  }
  const med = (xs: number[]) => median(xs);
  const lines: string[] = [];
  const peer0 = rounds[0].peer;
  lines.push(
    `# Peer benchmark: longlora-ts against PyTorch on the same CPU`,
    '',
    `Command: \`npm run bench:peer -- --rounds ${args.rounds} --runs ${args.runs} --seq-lens ${args.seqLens.join(',')}\`, ${new Date().toISOString().slice(0, 10)}, ` +
      `${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ${((Date.now() - started) / 60000).toFixed(1)} min. ` +
      `Ours: ${info.name}${info.native ? ` (libtensorflow ${info.native.libtensorflow}, oneDNN ${info.native.onednn ? 'on' : 'off'})` : ''}, ${threads} threads. ` +
      `PyTorch ${peer0.torch}, transformers ${peer0.transformers}, ${peer0.threads} threads.`,
    '',
    `How: the two systems alternate ${args.rounds} times (PyTorch first in odd rounds); each number is the median over rounds of per-round medians of ${args.runs} timed runs after 2 warm-ups. ` +
      `Load average (1 min) at each round's start: ${rounds.map((r) => r.load[0].toFixed(2)).join(', ')}. ` +
      'PyTorch S2-Attn is the official non-flash algorithm (roll half the heads by -G/2, causal attention in groups of G = N/4, roll back), written from its description; ours runs both official variants.',
    '',
    '## Attention forward + backward, [1, 8, N, 64]',
    '',
    '| N | ours full | torch eager | torch SDPA | ours S2 offset | ours S2 roll | torch S2 (roll) | ours full vs SDPA | ours S2 roll vs torch S2 |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  const summary: Record<string, unknown> = { date: new Date().toISOString(), backend: info.name, native: info.native ?? null, threads, torch: peer0.torch, transformers: peer0.transformers, rounds, medians: {} as Record<string, number> };
  const medians = summary.medians as Record<string, number>;
  for (const n of args.seqLens) {
    const pick = <T extends Record<string, number>>(rows: T[], key: string) => rows.find((x) => x.seqLen === n)?.[key] ?? NaN;
    const ours = (key: string) => med(rounds.map((r) => pick(r.ours.attention, key)));
    const torch = (key: string) => med(rounds.map((r) => pick(r.peer.attention as unknown as Row[], key)));
    const row = { full: ours('full'), s2o: ours('s2_offset'), s2r: ours('s2_roll'), eager: torch('full_eager'), sdpa: torch('full_sdpa'), ts2: torch('s2_roll') };
    Object.entries(row).forEach(([k, v]) => (medians[`attention.${n}.${k}`] = v));
    lines.push(`| ${n} | ${fmt(row.full)} | ${fmt(row.eager)} | ${fmt(row.sdpa)} | ${fmt(row.s2o)} | ${fmt(row.s2r)} | ${fmt(row.ts2)} | ${fmt(row.sdpa / row.full, 2)}x | ${fmt(row.ts2 / row.s2r, 2)}x |`);
  }
  lines.push('', '## Training step, presets.small shape (3.3M parameters), batch 1: tokens/s', '', '| N | ours full | torch eager | torch SDPA | ours S2 offset | ours S2 roll | torch S2 (roll) | ours full vs SDPA | ours S2 vs torch S2 |', '|---|---|---|---|---|---|---|---|---|');
  const targets: string[] = [];
  for (const n of args.seqLens) {
    const ours = (kind: string) => med(rounds.map((r) => r.ours.trainStep.find((x) => x.seqLen === n && (x.attention as unknown as string) === kind)?.ms ?? NaN));
    const torch = (kind: string) => med(rounds.map((r) => r.peer.trainStep.find((x) => x.seqLen === n && x.attention === kind)?.ms ?? NaN));
    const tps = (ms: number) => (1000 * n) / ms;
    const row = { full: tps(ours('full')), s2o: tps(ours('s2')), s2r: tps(ours('s2-roll')), eager: tps(torch('full_eager')), sdpa: tps(torch('full_sdpa')), ts2: tps(torch('s2_roll')) };
    Object.entries(row).forEach(([k, v]) => (medians[`trainStep.${n}.${k}`] = v));
    const bestS2 = Math.max(row.s2o, row.s2r);
    lines.push(`| ${n} | ${fmt(row.full)} | ${fmt(row.eager)} | ${fmt(row.sdpa)} | ${fmt(row.s2o)} | ${fmt(row.s2r)} | ${fmt(row.ts2)} | ${fmt(row.full / row.sdpa, 2)}x | ${fmt(bestS2 / row.ts2, 2)}x |`);
    const s2Target = n >= 2048 ? 1.0 : 0.8;
    targets.push(`- S2 step at ${n} (ours, faster variant) vs the official S2 algorithm in PyTorch: ${fmt(bestS2 / row.ts2, 2)}x (target >= ${s2Target.toFixed(1)}x): ${bestS2 / row.ts2 >= s2Target ? 'met' : 'missed'}`);
    targets.push(`- full step at ${n} vs PyTorch SDPA: ${fmt(row.full / row.sdpa, 2)}x (target >= 0.7x): ${row.full / row.sdpa >= 0.7 ? 'met' : 'missed'}`);
  }
  lines.push('', '## Targets (issue "Native speed")', '', ...targets, '');
  fs.mkdirSync(path.join(root, 'results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'results', 'peer.json'), JSON.stringify(summary, null, 2) + '\n');
  fs.writeFileSync(path.join(root, 'results', 'peer.md'), lines.join('\n'));
  console.log(lines.join('\n'));
  console.log(`\nwrote results/peer.md, results/peer.json`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
