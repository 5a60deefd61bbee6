/**
 * npm run pretrain [-- --only text,passkey] [--dir DIR]
 * Trains the base models the notebooks and the reproduction start from (lib/experiments/pretrain.ts:
 * fixed update counts and seeds) and saves each into the model cache as a Hugging Face checkpoint
 * folder with pretrain.json. On 2 cores with the tensorflow backend: text about 4 minutes, passkey
 * about 15.
 */
import './ensure-built';
import * as ll from 'longlora-ts';

function parseArgs(argv: string[]): { only: ll.BaseModelName[]; dir: string | undefined } {
  let only: ll.BaseModelName[] = [...ll.BASE_MODEL_NAMES];
  let dir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') {
      const list = (argv[++i] ?? '').split(',').filter((x) => x !== '');
      const bad = list.filter((x) => !(ll.BASE_MODEL_NAMES as readonly string[]).includes(x));
      if (list.length === 0 || bad.length > 0) throw new Error(`--only takes a comma-separated list of ${ll.BASE_MODEL_NAMES.join(', ')}; got '${list.join(',')}'`);
      only = list as ll.BaseModelName[];
    } else if (a === '--dir') {
      dir = argv[++i];
      if (dir === undefined || dir === '') throw new Error('--dir takes a folder');
    } else throw new Error(`unknown argument '${a}'; usage: npm run pretrain [-- --only ${ll.BASE_MODEL_NAMES.join(',')}] [--dir DIR]`);
  }
  return { only, dir };
}

async function main(): Promise<void> {
  const { only, dir } = parseArgs(process.argv.slice(2));
  await ll.ready();
  const info = ll.backendInfo();
  const log = (l: string) => console.error(`[pretrain] ${l}`);
  log(`backend ${info.name} (${info.threads} thread(s)); cache ${dir ?? ll.baseModelsDir()}`);
  for (const name of only) {
    log(`training the ${name} base model`);
    const { record } = await ll.pretrainBaseModel(name, { dir, log });
    log(`${name}: ${record.updates} updates in ${(record.seconds / 60).toFixed(1)} min, final loss ${record.finalLoss.toFixed(4)}` +
      (record.passkeyAccuracy ? `; passkey accuracy ${record.passkeyAccuracy.map((r) => `${r.tokens}: ${(100 * r.accuracy).toFixed(0)}%`).join(', ')}` : ''));
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
