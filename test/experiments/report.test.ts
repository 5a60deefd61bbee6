/**
 * The result reports word their conclusions from the numbers they print (never a fixed sentence):
 * the Table 1 comparison against full attention follows the perplexities it is given.
 */
import { contextExtensionMarkdown, TABLE1_VARIANTS } from '../../lib/experiments';
import type { ContextExtensionResult } from '../../lib/experiments';

function result(full: number, short: number, s2: number): ContextExtensionResult {
  const ppl = [full, short, s2, 14];
  return {
    settings: {
      target: 1024, pretrainSteps: 1, pretrainBatch: 1, pretrainLr: 1e-3, finetuneSteps: 1, finetuneLr: 1e-3, loraLr: 4e-3,
      evalLengths: [1024], maxWindows: 1, stride: 256, seed: 0, variants: TABLE1_VARIANTS.map((v) => v.name), baseContext: 256,
    },
    pretrain: { steps: 1, seconds: 1, finalLoss: 2, source: 'trained' },
    rows: TABLE1_VARIANTS.map((v, i) => ({ model: `fine-tuned at 1024: ${v.name}`, perplexity: { 1024: ppl[i] }, trainSeconds: 1 })),
  };
}

describe('contextExtensionMarkdown', () => {
  it('reports each attention against full attention, with the paper beside it', () => {
    const md = contextExtensionMarkdown(result(10, 11, 10.2));
    expect(md).toContain('ours (1024) short attention +10.0%, S2-Attn +2.0%; paper (8192) short +3.4%, S2-Attn +0.2%');
    expect(md).toContain('the shift helps here, as in the paper');
  });

  it('says so when the shift makes no difference or short attention wins', () => {
    expect(contextExtensionMarkdown(result(10, 10.5, 10.45))).toContain('the shift makes no difference beyond 1% here');
    expect(contextExtensionMarkdown(result(10, 10.2, 10.8))).toContain('short attention does better here, unlike the paper');
  });
});
