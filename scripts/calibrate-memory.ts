/**
 * npm run calibrate:memory
 * Counts the buffers alive at the peak of real training steps (the source of ACTIVATION_COUNTS in
 * lib/cost/memory.ts) and compares the memory model with measured peaks. Run it after changing how
 * the model, attention or trainer allocate, and update ACTIVATION_COUNTS from the counts printed.
 */
import './ensure-built';
import { ready, peakComposition, checkMemoryModel, memoryCheckCases, mixedMemoryCases, presets, makeConfig } from 'longlora-ts';
import type { MemoryCase } from 'longlora-ts';

async function main(): Promise<void> {
  await ready({ backend: 'wasm' });
  const gqa = makeConfig(presets.tiny, { maxPositionEmbeddings: 512 });
  const counting: MemoryCase[] = [
    ...[1, 2, 3, 4].map((L) => ({ name: `tiny GQA L=${L} N=256`, config: makeConfig(gqa, { numHiddenLayers: L }), seqLen: 256, batchSize: 1, attention: 'full' as const, trainable: 'full' as const })),
    { name: 'small N=1024', config: presets.small, seqLen: 1024, batchSize: 1, attention: 'full', trainable: 'full' },
    { name: 'small N=1024 S2', config: presets.small, seqLen: 1024, batchSize: 1, attention: 's2', trainable: 'full' },
  ];
  console.log('buffers alive at the peak (per layer unless noted):');
  for (const c of counting) {
    const p = await peakComposition(c);
    console.log(`  ${c.name.padEnd(22)} hidden ${p.hiddenPerLayer.toFixed(2)}  kv ${p.kvPerLayer.toFixed(2)}  mlp ${p.mlpPerLayer.toFixed(2)}  vocab ${p.vocab} (total)  scores ${p.layerScores.toFixed(2)} layers' worth (total)  other ${(p.otherBytes / 2 ** 20).toFixed(2)} MiB`);
  }
  console.log('model vs measured training steps:');
  for (const r of await checkMemoryModel([...memoryCheckCases(), ...mixedMemoryCases()])) {
    console.log(`  ${r.name.padEnd(34)} measured ${(r.measuredBytes / 2 ** 20).toFixed(2).padStart(8)} MiB  predicted ${(r.predictedBytes / 2 ** 20).toFixed(2).padStart(8)} MiB  ${(100 * r.relativeError).toFixed(1)}%`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
