/**
 * The passkey-extension report: the interval it quotes, and conclusions worded from the numbers
 * (a constructed result, so each branch is checked without training).
 */
import { wilsonHalfWidth, passkeyExtensionConclusion, passkeyExtensionMarkdown, passkeyExtensionRecipe } from '../../lib/experiments';
import type { PasskeyExtensionResult, PasskeyModelRow } from '../../lib/experiments';

const recipe = passkeyExtensionRecipe(false, 512);
const row = (id: string, acc: number[]): PasskeyModelRow => ({
  id,
  label: id,
  context: id === 'base' ? 512 : 2048,
  byLength: recipe.lengths.map((tokens, i) => ({ tokens, accuracy: acc[i], byDepth: [acc[i], acc[i], null], trials: 40, beyond: tokens > 512 })),
  trainSeconds: 0,
  finalLoss: NaN,
});
const result = (ll: number[]): PasskeyExtensionResult => ({
  quick: false,
  recipe,
  base: 'a test base',
  backend: 'cpu',
  threads: 1,
  command: 'test',
  date: '2026-12-06',
  rows: [row('base', [0.6, 0.3, 0.1, 0, 0]), row('pi', [0.6, 0.2, 0.1, 0, 0]), row('longlora', ll), row('full-ft', [0.5, 0.5, 0.5, 0.4, 0.3])],
  planned: ['base', 'pi', 'longlora', 'full-ft'],
  complete: true,
  wallSeconds: 60,
});

it('quotes the 95% Wilson interval: about +-15 points at 50% over 40 trials', () => {
  expect(wilsonHalfWidth(0.5, 40)).toBeCloseTo(0.148, 2);
  expect(wilsonHalfWidth(0.5, 10)).toBeGreaterThan(wilsonHalfWidth(0.5, 40));
  expect(passkeyExtensionMarkdown(result([0.6, 0.6, 0.6, 0.6, 0.6]))).toMatch(/about \+-15 points at 50% \(Wilson\)/);
});

it('says LongLoRA extends retrieval only when it beats the base beyond its context by more than the interval', () => {
  expect(passkeyExtensionConclusion(result([0.6, 0.6, 0.6, 0.6, 0.6])).join(' ')).toMatch(/LongLoRA extends retrieval beyond the original context, as in the paper/);
  expect(passkeyExtensionConclusion(result([0.6, 0.25, 0.2, 0.1, 0.1])).join(' ')).toMatch(/by less than the interval width/);
  expect(passkeyExtensionConclusion(result([0.6, 0.1, 0.05, 0, 0])).join(' ')).toMatch(/does not extend retrieval here, unlike the paper/);
  // beyond-context averages: base (0.3 + 0.1 + 0 + 0) / 4
  expect(passkeyExtensionConclusion(result([0.6, 0.6, 0.6, 0.6, 0.6])).join(' ')).toMatch(/beyond it \(768, 1024, 1536, 2048\) it averages 10% as it is/);
});
