/** Experiments in miniature: the runs behind the closing notes, notebooks and `npm run reproduce`. */
export { runPasskeyExperiment } from './passkey';
export type { PasskeyExperimentOptions, PasskeyExperimentResult, PasskeyStage } from './passkey';
export { runContextExtension, TABLE1_VARIANTS } from './context-extension';
export type { ContextExtensionOptions, ContextExtensionResult, ContextExtensionRow, FinetuneVariant } from './context-extension';
export { flopsTableMarkdown, contextExtensionMarkdown, passkeyMarkdown, PAPER_FLOPS, PAPER_TABLE1 } from './report';
export { BASE_MODEL_NAMES, BASE_MODEL_RECIPE_VERSION, TEXT_BASE_DEFAULTS, baseModelDir, baseModelsDir, cachedBaseModel, loadBaseModel, pretrainBaseModel, pretrainTextBase } from './pretrain';
export type { BaseModelName, BaseModelRecord, LoadBaseModelOptions, LoadedBaseModel, PretrainBaseModelOptions, PretrainedBase, TextBaseOptions } from './pretrain';
