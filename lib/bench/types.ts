/**
 * The records the benchmarks write (`results/bench*.json`): their field names are the contract that
 * the bench's readers (README tables, the cost figure, notebooks) rely on.
 */
import type { BackendName, NativeInfo } from '../backend';

/** One row of `attention`: forward + backward of full causal attention and S2-Attn at one length. */
export interface AttentionBenchEntry {
  seqLen: number;
  groupSize: number;
  heads: number;
  headDim: number;
  fullMs: number | null;
  s2Ms: number | null;
  fullPeakBytes: number | null;
  s2PeakBytes: number | null;
  fullError: string | null;
  s2Error: string | null;
}

/** One row of `trainStep`: a full training update of presets.small at one length and attention. */
export interface TrainStepBenchEntry {
  seqLen: number;
  attention: string;
  tokensPerSec: number;
  achievedGflops: number;
  peakBytes: number;
}

/** `maxTrainableSeqLen`: the longest step within a memory budget, full attention and S2-Attn. */
export interface MaxTrainableSeqLen {
  full: number;
  s2: number;
  budgetBytes: number;
  step: number;
}

export interface BenchReport {
  backend: BackendName;
  threads: number;
  /** Native backends: libtensorflow's version and oneDNN setting (null on wasm and cpu). */
  native: NativeInfo | null;
  /** 2-D float32 matmul 1024x1024x1024 at `threads`, GFLOP/s (2 FLOPs per multiply-add): the faster of `matmulGflopsSamples`. */
  matmulGflops: number;
  /** The matmul measured before the attention section and again after the training steps. */
  matmulGflopsSamples: number[];
  /** The same matmul at each thread count measured (wasm only; others run in child processes). */
  matmulGflopsByThreads: Record<string, number>;
  attention: AttentionBenchEntry[];
  trainStep: TrainStepBenchEntry[];
  maxTrainableSeqLen: MaxTrainableSeqLen | null;
  /** The training steps the maxTrainableSeqLen search measured (peak vs the memory model). */
  maxTrainableProbes: LengthProbe[];
  quick: boolean;
  date: string;
  machine: { cpus: number; cpuModel: string; node: string; platform: string };
}

/** One measured training step of the search. */
export interface LengthProbe {
  seqLen: number;
  attention: 'full' | 's2';
  measuredBytes: number;
  predictedBytes: number;
  fits: boolean;
}
