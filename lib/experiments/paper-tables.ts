/**
 * The paper's numbers for the tables reproduced in miniature (arXiv 2309.12307 v3, as collected in
 * the project's reference notes, docs/protocols.md): printed beside ours, never mixed with them.
 */

/** Table 1 (Llama-2 7B, full fine-tuning with PI, PG19 validation perplexity at the training length): [setting, 8192, 16384, 32768]. */
export const PAPER_TABLE1: Array<[string, number, number, number]> = [
  ['Full Attn (long, PI)', 8.02, 8.05, 8.04],
  ['Short Attn (1/4, no shift)', 8.29, 8.83, 9.47],
  ['S2-Attn (1/4, shift)', 8.04, 8.03, 8.08],
];

/** Table 1 as Markdown lines: its caption and the three rows. */
export function paperTable1Lines(): string[] {
  return [
    'Paper (v3 Table 1, Llama-2 7B fully fine-tuned on RedPajama with PI, PG19 validation perplexity at the training length):',
    '',
    '| setting | 8192 | 16384 | 32768 |',
    '|---|---|---|---|',
    ...PAPER_TABLE1.map(([name, a, b, c]) => `| ${name} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${c.toFixed(2)} |`),
  ];
}

/** Table 2 (Llama-2 7B with S2-Attn to 32768, PG19 validation perplexity) by our row id. */
export const PAPER_TABLE2: Record<string, number> = {
  'full-ft': 8.08,
  'lora-r8': 11.44,
  'lora-r16': 11.82,
  'lora-r32': 11.92,
  'lora-r64': 11.96,
  'lora-r128': 11.97,
  'lora-r256': 11.98,
  'lora-r8-norm': 10.49,
  'lora-r8-embed': 8.29,
  'lora-plus': 8.12,
};

/** Table 6 (Llama-2 7B with LoRA+ to 32768, PG19 validation): [own pattern at test, full attention at test] by row id. */
export const PAPER_TABLE6: Record<string, [number, number]> = {
  's2-heads': [8.64, 8.12],
  's2-layers': [8.63, 9.7],
  'only-p1': [9.17, 8.39],
  'only-p2': [9.64, 9.81],
  dilated: [8.75, 11.78],
  'block-sparse': [11.49, 8.3],
  'stride-sparse': [32.81, 24.03],
};

/** Table 7 (Llama-2 7B with LongLoRA, PG19 validation) at 8192 and 16384 by row id. */
export const PAPER_TABLE7: Record<string, [number, number]> = {
  full: [8.02, 7.82],
  g2: [8.04, 7.84],
  g4: [8.04, 7.86],
  g6: [8.1, 7.94],
  g8: [8.16, 7.98],
};

/** Table 8 (Llama-2 7B to 8192, PG19 validation) by row id; variant 1 and 3 have no row of ours that trains. */
export const PAPER_TABLE8: Record<string, number> = {
  full: 8.02,
  'ours-roll': 8.04,
  variant1: 8.04,
  'variant2-offset': 8.03,
  variant3: 8.05,
};

/** Table 12 (Llama-2 7B, 1000 iterations on 8 x A100, Flash-Attention2, DeepSpeed stage 2): hours and GB by context. */
export const PAPER_TABLE12: Record<'full-ft' | 'lora' | 'longlora', Record<number, [number, number] | null>> = {
  'full-ft': { 8192: [7.4, 46.3], 16384: [16.3, 57.4], 32768: [39.8, 68.8], 65536: null },
  lora: { 8192: [6.0, 25.7], 16384: [14.0, 34.7], 32768: [36.5, 46.5], 65536: [92.5, 71.1] },
  longlora: { 8192: [5.2, 25.6], 16384: [11.3, 34.6], 32768: [24.6, 46.4], 65536: [52.4, 69.8] },
};

/** Table 13 (the same without Flash-Attention2, LoRA+ in both rows): hours and GB by context; null = OOM. */
export const PAPER_TABLE13: Record<'lora-plus' | 'longlora', Record<number, [number, number] | null>> = {
  'lora-plus': { 8192: [17.5, 55.5], 16384: null },
  longlora: { 8192: [8.2, 30.3], 16384: [20.8, 57.1] },
};

/** Figure 4 in words (no table is printed). */
export const PAPER_FIGURE4 =
  'Paper (v3 Figure 4): LongLoRA Llama-2 7B fine-tuned to 32768 keeps passkey retrieval up to 33-34k tokens; Llama-2 7B (4k context) fails beyond 4k, also with PI alone; with the PI limit raised to 48k without further fine-tuning LongLoRA reaches 60-90% at 33-45k.';
