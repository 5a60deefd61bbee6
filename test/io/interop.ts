/**
 * Helpers for the interop tests (*.e2e.test.ts), which run Hugging Face's Python libraries on the files
 * lib/io writes: the environments of scripts/fixtures/interop-env.js, and running
 * scripts/fixtures/interop.py in them.
 *
 * Policy (as for the notebook tests): without a usable environment the tests FAIL under CI=true and
 * are skipped LOUDLY otherwise (a boxed warning naming the fix; jest counts them as skipped).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readSafetensors } from '../../lib/io';
import type { Tensor } from '../../lib/backend';
import { describeWhenAvailable } from '../helpers';

const root = path.join(__dirname, '..', '..');

interface InteropEnvModule {
  venvPython(name: string): string;
  venvProblem(name: string): string | null;
  SETUP_HINT: string;
}
// scripts/ is plain CommonJS shared with the setup script
// eslint-disable-next-line @typescript-eslint/no-var-requires
export const interopEnv = require(path.join(root, 'scripts', 'fixtures', 'interop-env.js')) as InteropEnvModule;

export type InteropEnvName = 'hf434' | 'hf5';

/**
 * `describe` when the Python environment `env` is usable; otherwise a failing test under CI=true and a
 * loud skip elsewhere. Checked once per file, at collection time.
 */
export function describeWithInterop(env: InteropEnvName, name: string, fn: () => void): void {
  describeWhenAvailable(name, interopEnv.venvProblem(env), interopEnv.SETUP_HINT, `the ${env} Python environment`, `the interop environment ${env} is not usable`, fn);
}

/** Runs scripts/fixtures/interop.py with `args` in the environment `env`; throws with its output on failure. */
export function runInterop(env: InteropEnvName, args: string[]): void {
  const script = path.join(root, 'scripts', 'fixtures', 'interop.py');
  const r = spawnSync(interopEnv.venvPython(env), [script, ...args], { encoding: 'utf8', cwd: root, env: { ...process.env, TRANSFORMERS_OFFLINE: '1', HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' } });
  if (r.status !== 0) throw new Error(`interop.py ${args.join(' ')} failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''}):\n${r.stderr}\n${r.stdout}`);
}

/** What `interop.py logits` wrote: the logits tensor (the caller disposes it) and its info JSON. */
export async function pythonLogits(env: InteropEnvName, args: string[], out: string): Promise<{ logits: Tensor; info: Record<string, unknown> }> {
  runInterop(env, ['logits', ...args, '--out', out]);
  const tensors = await readSafetensors(out);
  const info = JSON.parse(fs.readFileSync(`${out}.json`, 'utf8')) as Record<string, unknown>;
  return { logits: tensors.get('logits') as Tensor, info };
}

/** One entry of what `interop.py config` wrote. */
export interface PythonConfigResult {
  model: string;
  transformers: string;
  error?: string;
  class?: string;
  config?: Record<string, unknown>;
  same_as_llama_config?: boolean;
  rope_scaling?: Record<string, unknown> | null;
  rope_scaling_types?: Record<string, string> | string;
  rope_parameters?: Record<string, unknown> | null;
  rope_parameters_types?: Record<string, string> | string;
  torch_importable?: boolean;
  warnings: string[];
  resaved?: Record<string, unknown>;
}

/** AutoConfig / LlamaConfig.from_pretrained of each directory in `env`, one result per directory. */
export function pythonConfigs(env: InteropEnvName, dirs: string[], out: string): PythonConfigResult[] {
  runInterop(env, ['config', ...dirs.flatMap((d) => ['--model', d]), '--out', out]);
  return JSON.parse(fs.readFileSync(out, 'utf8')) as PythonConfigResult[];
}

/** max |a - b| / max |b|: the comparison the interop tests bound by 1e-4 (relative to the logit scale). */
export function relativeMaxDiff(a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array): number {
  if (a.length !== b.length) throw new Error(`relativeMaxDiff: ${a.length} vs ${b.length} values`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}
