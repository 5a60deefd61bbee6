/**
 * Progress output for the trainer: a one-line bar redrawn in place on a terminal (loss, lr, grad
 * norm, tokens/s, elapsed<ETA, like tqdm), plain periodic lines elsewhere (CI logs, notebooks,
 * pipes), or nothing.
 */

/** `auto`: bar when stderr is a TTY, lines otherwise. */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'silent';

/** What one progress update shows. */
export interface ProgressInfo {
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSec: number;
  elapsedMs: number;
  etaMs: number;
  evalLoss?: number;
}

/** `m:ss` or `h:mm:ss`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

function fields(p: ProgressInfo): string {
  const parts = [
    `loss ${p.loss.toFixed(4)}`,
    `lr ${p.lr.toExponential(2)}`,
    `|g| ${p.gradNorm.toPrecision(3)}`,
    `${Math.round(p.tokensPerSec)} tok/s`,
    `${formatDuration(p.elapsedMs)}<${formatDuration(p.etaMs)}`,
  ];
  if (p.evalLoss !== undefined) parts.push(`eval ${p.evalLoss.toFixed(4)}`);
  return parts.join('  ');
}

/** The bar line: `step 37/200 [#####.........]  18%  loss 2.4130  lr ...`. */
export function progressBarLine(p: ProgressInfo, width = 24): string {
  const frac = p.totalSteps > 0 ? Math.min(1, p.step / p.totalSteps) : 0;
  const filled = Math.round(frac * width);
  const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
  const digits = String(p.totalSteps).length;
  return `step ${String(p.step).padStart(digits)}/${p.totalSteps} [${bar}] ${String(Math.round(frac * 100)).padStart(3)}%  ${fields(p)}`;
}

/** The plain line: `step 37/200  loss 2.4130  lr ...`. */
export function progressPlainLine(p: ProgressInfo): string {
  return `step ${p.step}/${p.totalSteps}  ${fields(p)}`;
}

/** Options of `ProgressReporter`. */
export interface ProgressOptions {
  mode: ProgressMode;
  /** Plain lines every this many steps (the last step is always shown). */
  every: number;
  /** Where the text goes (default: process.stderr). */
  write?: (text: string) => void;
  /** Whether the stream is a terminal, for `auto` (default: process.stderr.isTTY). */
  isTTY?: boolean;
}

/** Writes progress for each step as the chosen mode asks; `finish()` ends the bar's line. */
export class ProgressReporter {
  readonly mode: Exclude<ProgressMode, 'auto'>;
  private readonly every: number;
  private readonly write: (text: string) => void;
  private lastDraw = 0;
  private open = false;
  private lastWidth = 0;

  constructor({ mode, every, write, isTTY }: ProgressOptions) {
    if (!['auto', 'bar', 'lines', 'silent'].includes(mode)) throw new Error(`progress = '${mode}' is not one of: auto, bar, lines, silent`);
    if (!(Number.isInteger(every) && every >= 1)) throw new Error(`logEvery = ${every} must be an integer >= 1`);
    const tty = isTTY ?? (typeof process !== 'undefined' && Boolean(process.stderr?.isTTY));
    this.mode = mode === 'auto' ? (tty ? 'bar' : 'lines') : mode;
    this.every = every;
    this.write = write ?? ((text: string) => process.stderr.write(text));
  }

  /** Shows step `p.step` (bar: redrawn at most 10 times a second, always on the last step). */
  update(p: ProgressInfo): void {
    if (this.mode === 'silent') return;
    const last = p.step >= p.totalSteps;
    if (this.mode === 'lines') {
      if (p.step % this.every === 0 || last || p.step === 1) this.write(progressPlainLine(p) + '\n');
      return;
    }
    const now = Date.now();
    if (!last && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const line = progressBarLine(p);
    this.write('\r' + line + ' '.repeat(Math.max(0, this.lastWidth - line.length)));
    this.lastWidth = line.length;
    this.open = true;
  }

  /** A message on its own line (ends an open bar line first). */
  message(text: string): void {
    if (this.mode === 'silent') return;
    this.finish();
    this.write(text + '\n');
  }

  /** Ends the bar's line so later output starts on a fresh one. */
  finish(): void {
    if (this.open) this.write('\n');
    this.open = false;
    this.lastWidth = 0;
  }
}
