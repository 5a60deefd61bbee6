/**
 * Learning-rate schedules as Hugging Face transformers defines them (`transformers/optimization.py`:
 * `get_constant_schedule`, `get_constant_schedule_with_warmup`, `get_linear_schedule_with_warmup`,
 * `get_cosine_schedule_with_warmup`): each is an lr multiplier as a function of the number of
 * optimizer steps already taken.
 *
 * HF wraps these in a `LambdaLR` and calls `scheduler.step()` after `optimizer.step()`, so update k
 * (0-based) uses `lr * multiplier(k)`; with warmup the very first update therefore runs at lr 0.
 * The trainer follows that exactly. LongLoRA's recipe is `constant_with_warmup` with 20 warmup
 * steps (reference §3.2).
 */

/** The schedule names, as HF's `SchedulerType` spells them. */
export const SCHEDULE_NAMES = ['constant', 'constant_with_warmup', 'linear', 'cosine'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

/** lr multiplier for update `step` (0-based count of updates already taken). */
export type LrLambda = (step: number) => number;

function checkSteps(what: string, warmupSteps: number, totalSteps?: number): void {
  if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0)) {
    throw new Error(`${what}: warmupSteps = ${warmupSteps} must be an integer >= 0 (LongLoRA uses 20)`);
  }
  if (totalSteps !== undefined && !(Number.isInteger(totalSteps) && totalSteps >= 1)) {
    throw new Error(`${what}: totalSteps = ${totalSteps} must be an integer >= 1 (the number of optimizer steps of the run)`);
  }
}

function checkStep(step: number): void {
  if (!(Number.isInteger(step) && step >= 0)) throw new Error(`lr schedule: step = ${step} must be an integer >= 0`);
}

/** The linear warmup HF shares between its schedules: step / max(1, warmup) below `warmupSteps`. */
function warmup(step: number, warmupSteps: number): number | null {
  return step < warmupSteps ? step / Math.max(1, warmupSteps) : null;
}

/** HF `get_constant_schedule`: always 1. */
export function constantSchedule(): LrLambda {
  return (step) => {
    checkStep(step);
    return 1;
  };
}

/** HF `get_constant_schedule_with_warmup`: step / warmup during warmup, then 1. */
export function constantWithWarmup(warmupSteps: number): LrLambda {
  checkSteps('constantWithWarmup', warmupSteps);
  return (step) => {
    checkStep(step);
    return warmup(step, warmupSteps) ?? 1;
  };
}

/** HF `get_linear_schedule_with_warmup`: warmup, then linear decay to 0 at `totalSteps`. */
export function linearWithWarmup(warmupSteps: number, totalSteps: number): LrLambda {
  checkSteps('linearWithWarmup', warmupSteps, totalSteps);
  return (step) => {
    checkStep(step);
    return warmup(step, warmupSteps) ?? Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
  };
}

/**
 * HF `get_cosine_schedule_with_warmup`: warmup, then 0.5 (1 + cos(pi * 2 numCycles * progress)),
 * floored at 0; the default `numCycles` 0.5 is a half cosine from 1 down to 0 at `totalSteps`.
 */
export function cosineWithWarmup(warmupSteps: number, totalSteps: number, numCycles = 0.5): LrLambda {
  checkSteps('cosineWithWarmup', warmupSteps, totalSteps);
  if (!(Number.isFinite(numCycles) && numCycles > 0)) throw new Error(`cosineWithWarmup: numCycles = ${numCycles} must be a positive number (HF default 0.5)`);
  return (step) => {
    checkStep(step);
    const w = warmup(step, warmupSteps);
    if (w !== null) return w;
    const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * progress)));
  };
}

/** HF `get_scheduler(name, ...)`: the schedule called `name`. */
export function makeSchedule(name: ScheduleName, warmupSteps: number, totalSteps: number): LrLambda {
  switch (name) {
    case 'constant':
      return constantSchedule();
    case 'constant_with_warmup':
      return constantWithWarmup(warmupSteps);
    case 'linear':
      return linearWithWarmup(warmupSteps, totalSteps);
    case 'cosine':
      return cosineWithWarmup(warmupSteps, totalSteps);
    default: {
      const unknown: never = name;
      throw new Error(`lr schedule '${String(unknown)}' is not one of: ${SCHEDULE_NAMES.join(', ')}`);
    }
  }
}
