import { BOS, EOS, PAD, PROMPT_DICT, byteLength, collateExamples, decode, encode, formatSftPrompt, longQaExamples, materialPrompt, mobyDickText, sentenceSpans, sftExample, sotuSplits } from '../../lib/data';
import { IGNORE_INDEX } from '../../lib/util';

// The official templates (supervised-fine-tune.py, PROMPT_DICT), typed out again here as single literals.
const SYSTEM =
  "You are a helpful, respectful and honest assistant. Always answer as helpfully as possible, while being safe.  Your answers should not include any harmful, unethical, racist, sexist, toxic, dangerous, or illegal content. Please ensure that your responses are socially unbiased and positive in nature.\n\nIf a question does not make any sense, or is not factually coherent, explain why instead of answering something not correct. If you don't know the answer to a question, please don't share false information.\n";
const OFFICIAL_INPUT_LLAMA2 = `[INST] <<SYS>>\n${SYSTEM}<</SYS>> \n\n {instruction} \n{input} [/INST]`;
const OFFICIAL_NO_INPUT_LLAMA2 = `[INST] <<SYS>>\n${SYSTEM}<</SYS>> \n\n {instruction} [/INST]`;
const OFFICIAL_LLAMA2 = '[INST]{instruction}[/INST]';

describe('SFT prompt templates', () => {
  it('PROMPT_DICT equals the official strings literally', () => {
    expect(PROMPT_DICT.prompt_input_llama2).toBe(OFFICIAL_INPUT_LLAMA2);
    expect(PROMPT_DICT.prompt_no_input_llama2).toBe(OFFICIAL_NO_INPUT_LLAMA2);
    expect(PROMPT_DICT.prompt_llama2).toBe(OFFICIAL_LLAMA2);
    expect(PROMPT_DICT.prompt_input).toBe(
      'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:',
    );
    expect(PROMPT_DICT.prompt_no_input).toBe(
      'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:',
    );
    expect(PROMPT_DICT.prompt_input_llama2).toContain('while being safe.  Your answers'); // the official double space
  });

  it('formatSftPrompt picks prompt_input_llama2 for a non-empty input, else prompt_llama2 (as the official script)', () => {
    expect(formatSftPrompt({ instruction: 'Summarize.', input: 'Long text.' })).toBe(
      `[INST] <<SYS>>\n${SYSTEM}<</SYS>> \n\n Summarize. \nLong text. [/INST]`,
    );
    expect(formatSftPrompt({ instruction: 'Summarize.' })).toBe('[INST]Summarize.[/INST]');
    expect(formatSftPrompt({ instruction: 'Summarize.', input: '' })).toBe('[INST]Summarize.[/INST]');
    expect(formatSftPrompt({ instruction: 'x', input: ' ' })).toContain(' x \n  [/INST]'); // " " != "" selects the input template
  });

  it('substitutes like format_map: inserted text is not scanned again, and $ patterns stay literal', () => {
    expect(formatSftPrompt({ instruction: 'keep {input} and $& and $1', input: 'IN' })).toContain(' keep {input} and $& and $1 \nIN [/INST]');
    expect(formatSftPrompt({ instruction: '{instruction}' })).toBe('[INST]{instruction}[/INST]');
  });

  it('materialPrompt reproduces the official demo format_prompt for each material type', () => {
    expect(materialPrompt('TEXT', '  Who? ', 'paper')).toBe(
      'Below is a paper. Memorize the material and answer my question after the paper.\n TEXT \n Now the material ends. Who?',
    );
    expect(materialPrompt('TEXT', 'Who?', 'book', 'Moby Dick')).toBe(
      'Below is some paragraphs in the book, Moby Dick. Memorize the content and answer my question after the book.\n TEXT \n Now the material ends. Who?',
    );
    expect(materialPrompt('TEXT', 'Who?', 'book')).toBe(
      'Below is some paragraphs in the book. Memorize the content and answer my question after the book.\n TEXT \n Now the material ends. Who?',
    );
    expect(materialPrompt('TEXT', 'Who?')).toBe(
      'Below is a material. Memorize the material and answer my question after the material. \n TEXT \n Now the material ends. Who?',
    );
    expect(() => materialPrompt('T', 'Q', 'poem' as never)).toThrow("materialPrompt: materialType must be 'paper', 'book' or 'material', got \"poem\"");
  });
});

describe('sftExample', () => {
  it('tokenises [BOS] source output EOS and masks exactly BOS + source (hand case)', () => {
    const e = sftExample({ instruction: 'Hi', output: 'Yo' }, { maxLen: 100 });
    const source = '[INST]Hi[/INST]';
    expect(Array.from(e.inputIds)).toEqual([BOS, ...Array.from(source, (c) => c.charCodeAt(0)), 89, 111, EOS]);
    expect(Array.from(e.labels)).toEqual([...new Array(1 + source.length).fill(IGNORE_INDEX), 89, 111, EOS]);
    expect(e.promptTokens).toBe(16);
  });

  it('masks the whole Llama-2 system prompt with an input, and multi-byte answers are labelled byte by byte', () => {
    const record = { instruction: 'Translate.', input: 'café', output: 'naïve — ok' };
    const e = sftExample(record, { maxLen: 2000, bos: false });
    const promptLen = byteLength(formatSftPrompt(record));
    expect(e.promptTokens).toBe(promptLen);
    expect(Array.from(e.labels.subarray(0, promptLen)).every((l) => l === IGNORE_INDEX)).toBe(true);
    expect(decode(e.labels.subarray(promptLen))).toBe('naïve — ok</s>');
    expect(decode(e.inputIds)).toBe(formatSftPrompt(record) + 'naïve — ok</s>');
    expect(Array.from(e.labels.subarray(promptLen))).toEqual(Array.from(encode('naïve — ok', { eos: true })));
  });

  it('accepts an example that fits exactly and rejects one token more (the answer would be cut)', () => {
    const r = { instruction: 'Q', output: 'A' };
    const n = 1 + byteLength('[INST]Q[/INST]') + 1 + 1;
    expect(sftExample(r, { maxLen: n }).inputIds.length).toBe(n);
    expect(() => sftExample(r, { maxLen: n - 1 })).toThrow(
      `sftExample: the example is ${n} tokens (prompt ${n - 2} + answer 1 + EOS) but maxLen is ${n - 1}, so the answer would be cut off; shorten the instruction/input or raise maxLen`,
    );
  });

  it('rejects empty answers and other bad input', () => {
    expect(() => sftExample({ instruction: 'Q', output: '' }, { maxLen: 50 })).toThrow(
      'sftExample: the answer (record.output) is empty; every SFT example needs a non-empty answer to train on',
    );
    expect(() => sftExample({ instruction: 'Q', output: ' \n ' }, { maxLen: 50 })).toThrow('the answer (record.output) is empty');
    expect(() => sftExample({ instruction: 'Q', output: 'A' }, { maxLen: 0 })).toThrow('sftExample: maxLen must be a positive integer, got 0');
    expect(() => sftExample({ instruction: 'Q', output: 3 } as never, { maxLen: 50 })).toThrow('sftExample: record.output must be a string, got 3');
    expect(() => sftExample({ instruction: 'Q', output: 'A', answer: 'x' } as never, { maxLen: 50 })).toThrow("sftExample (record): unknown option 'answer'");
    expect(() => sftExample({ instruction: 5, output: 'A' } as never, { maxLen: 50 })).toThrow('formatSftPrompt: example.instruction must be a string, got 5');
  });
});

describe('collateExamples', () => {
  it('right-pads inputs with PAD and labels with IGNORE_INDEX (to the longest, or to padTo)', () => {
    const a = sftExample({ instruction: 'Q', output: 'AB' }, { maxLen: 64 });
    const b = sftExample({ instruction: 'Longer Q', output: 'A' }, { maxLen: 64 });
    const batch = collateExamples([a, b]);
    expect(batch.seqLen).toBe(b.inputIds.length);
    expect(batch.batchSize).toBe(2);
    const rowA = Array.from(batch.inputIds.subarray(0, batch.seqLen));
    expect(rowA.slice(0, a.inputIds.length)).toEqual(Array.from(a.inputIds));
    expect(rowA.slice(a.inputIds.length).every((t) => t === PAD)).toBe(true);
    expect(Array.from(batch.labels.subarray(a.inputIds.length, batch.seqLen)).every((l) => l === IGNORE_INDEX)).toBe(true);
    expect(collateExamples([a], { padTo: 40 }).inputIds.length).toBe(40);
    expect(() => collateExamples([b], { padTo: 5 })).toThrow(`collateExamples: an example has ${b.inputIds.length} tokens but padTo is 5`);
    expect(() => collateExamples([])).toThrow('collateExamples: examples must be a non-empty array');
  });
});

describe('longQaExamples (long-QA SFT from the corpora)', () => {
  const { train } = sotuSplits();

  it('builds examples of exactly seqLen whose answer is a sentence of the excerpt, loss only on the answer', () => {
    const examples = longQaExamples({ docs: train, count: 8, seqLen: 1024, seed: 0 });
    expect(new Set(examples.map((e) => e.kind))).toEqual(new Set(['next-sentence', 'find-sentence']));
    for (const e of examples) {
      expect(e.inputIds.length).toBe(1024);
      const prompt = formatSftPrompt(e.record);
      expect(prompt.startsWith('[INST]Below is a material. Memorize the material and answer my question after the material. \n ')).toBe(true);
      expect(prompt.endsWith(` \n Now the material ends. ${e.question}[/INST]`)).toBe(true);
      expect(decode(e.inputIds.subarray(0, e.promptTokens))).toBe(`<s>${prompt}`);
      const end = e.promptTokens + byteLength(e.answer) + 1;
      expect(decode(e.labels.subarray(e.promptTokens, end))).toBe(`${e.answer}</s>`);
      expect(Array.from(e.labels.subarray(0, e.promptTokens)).every((l) => l === IGNORE_INDEX)).toBe(true);
      expect(Array.from(e.labels.subarray(end)).every((l) => l === IGNORE_INDEX)).toBe(true);
      expect(Array.from(e.inputIds.subarray(end)).every((t) => t === PAD)).toBe(true);
      expect(end).toBeLessThanOrEqual(1024);
      expect(end).toBeGreaterThan(1024 - 450); // filled to the budget up to about one sentence
      const excerpt = e.record.instruction.slice(e.record.instruction.indexOf('\n ') + 2, e.record.instruction.lastIndexOf(' \n Now the material ends.'));
      const doc = train.find((d) => d.id === e.docId)!;
      expect(doc.text).toContain(excerpt);
      const sentences = sentenceSpans(excerpt).map((s) => excerpt.slice(s.start, s.end));
      expect(sentences).toContain(e.answer);
      if (e.kind === 'next-sentence') {
        const quoted = /this one: "(.*)"$/s.exec(e.question)![1];
        expect(sentences[sentences.indexOf(quoted) + 1]).toBe(e.answer);
        expect(excerpt.split(quoted).length).toBe(2); // the quoted sentence is unique in the excerpt
      } else {
        const word = /mentions "(.*)"\?/.exec(e.question)![1];
        const hits = sentences.filter((s) => new RegExp(`\\b${word}\\b`, 'i').test(s));
        expect(hits).toEqual([e.answer]);
      }
    }
  });

  it('is deterministic, resumable by index, and spreads answers over depths', () => {
    const a = longQaExamples({ docs: train, count: 6, seqLen: 1024, seed: 4 });
    const b = longQaExamples({ docs: train, count: 2, seqLen: 1024, seed: 4, start: 4 });
    expect(b.map((e) => e.record)).toEqual(a.slice(4).map((e) => e.record));
    expect(longQaExamples({ docs: train, count: 1, seqLen: 1024, seed: 5 })[0].record).not.toEqual(a[0].record);
    const depths = longQaExamples({ docs: train, count: 30, seqLen: 2048, seed: 1 }).map((e) => e.depth);
    expect(Math.min(...depths)).toBeLessThan(0.25);
    expect(Math.max(...depths)).toBeGreaterThan(0.75);
  });

  it('works on the held-out book at a long length with the book template', () => {
    const book = [{ id: 'moby-dick', title: 'Moby Dick', text: mobyDickText() }];
    const [e] = longQaExamples({ docs: book, count: 1, seqLen: 8192, seed: 2, materialType: 'book', title: 'Moby Dick', kinds: ['find-sentence'] });
    expect(e.kind).toBe('find-sentence');
    expect(e.record.instruction.startsWith('Below is some paragraphs in the book, Moby Dick. Memorize the content and answer my question after the book.\n ')).toBe(true);
    expect(e.inputIds.length).toBe(8192);
    expect(mobyDickText()).toContain(e.answer);
  });

  it('rejects lengths and documents that cannot hold an example', () => {
    expect(() => longQaExamples({ docs: train, count: 1, seqLen: 300 })).toThrow(
      'longQaExamples: seqLen 300 is too small for a long-QA example: the template takes 129 tokens (BOS + 127 + EOS) and a question, its answer and some text around them need 600 more, so seqLen must be >= 729',
    );
    const shortDocs = [{ id: 's', title: '', text: 'A short text. It has two sentences.' }];
    expect(() => longQaExamples({ docs: shortDocs, count: 1, seqLen: 1024 })).toThrow(
      'longQaExamples: no document is long enough for seqLen 1024: each needs >= 295 bytes of text (1024 - 129 - 600) and the longest has 35',
    );
    expect(() => longQaExamples({ docs: [], count: 1, seqLen: 1024 })).toThrow('longQaExamples: docs must be a non-empty array of documents');
    expect(() => longQaExamples({ docs: train, count: 1, seqLen: 1024, kinds: ['summary'] as never })).toThrow(
      "longQaExamples: kinds must be a non-empty array of 'next-sentence' / 'find-sentence', got [\"summary\"]",
    );
    const noProse = [{ id: 'n', title: '', text: 'x '.repeat(2000) }];
    expect(() => longQaExamples({ docs: noProse, count: 1, seqLen: 1024 })).toThrow('longQaExamples: found no usable question in 200 attempts for example 0');
  });
});
