/**
 * Checkpoints and formats: safetensors, Hugging Face checkpoint directories and config.json, one-call
 * load/save of a model (`loadPretrained` / `savePretrained`), HF tokenizers, PEFT adapters and merged
 * checkpoints, atomic writes, weight assignment.
 */
export {
  parseSafetensors,
  parseSafetensorsHeader,
  safetensorsHeaderLength,
  serializeSafetensors,
  readSafetensorsHeader,
  readSafetensors,
  readSafetensorsFile,
  readSafetensorsWithMetadata,
  writeSafetensors,
  entriesToTensors,
  tensorsToEntries,
  SAFETENSORS_DTYPES,
  SAFETENSORS_DTYPE_BYTES,
  MAX_SAFETENSORS_HEADER_BYTES,
} from './safetensors';
export type {
  SafetensorsDtype,
  WritableSafetensorsDtype,
  SafetensorsEntry,
  ParsedSafetensors,
  SafetensorsHeader,
  SafetensorsHeaderEntry,
  SafetensorsInput,
  WriteSafetensorsOptions,
} from './safetensors';
export { f16BitsToFloat, bf16BitsToFloat, floatToF16Bits, floatToBf16Bits, decodeF16, decodeBf16, encodeF16, encodeBf16 } from './half';
export { writeFileAtomic, writeJsonAtomic, replaceDirectoryAtomic, recoverInterruptedReplace, fsyncDirectory } from './atomic';
export {
  loadHFCheckpoint,
  saveHFCheckpoint,
  planShards,
  hfShardName,
  HF_CONFIG_NAME,
  HF_WEIGHTS_NAME,
  HF_WEIGHTS_INDEX_NAME,
  HF_DEFAULT_MAX_SHARD_BYTES,
} from './hf';
export type { HFCheckpoint, SaveHFCheckpointOptions, SavedHFCheckpoint } from './hf';
export { assignWeights, compareWeightSets, hasWeightProblems, formatWeightSetDiff } from './assign';
export type { NamePattern, TensorSignature, WeightSetDiff, WeightMatchOptions, AssignReport } from './assign';
export { hfLlamaParameterShapes, checkHFLlamaTensors } from './llama-names';
export { savePeftAdapter, loadPeftAdapter, saveMergedCheckpoint, peftAdapterConfig, loraConfigFromPeft, peftKey, PEFT_CONFIG_NAME, PEFT_WEIGHTS_NAME, TRAINABLE_PARAMS_NAME } from './peft';
export type { SaveAdapterOptions, SaveMergedOptions } from './peft';
export { fromHFConfig, toHFConfig, formatHFConfigJson, HF_FLOAT_KEYS } from './hf-config';
export type { FromHFConfigOptions } from './hf-config';
export { loadPretrained, savePretrained, loadedDtype, TORCH_DTYPE_NAMES } from './pretrained';
export type { CheckpointDtype, LoadPretrainedOptions, SavePretrainedOptions } from './pretrained';
export { HFTokenizer, loadTokenizer, hasTokenizer, HF_TOKENIZER_NAME, HF_TOKENIZER_CONFIG_NAME } from './tokenizer';
export type { HFEncodeOptions, HFDecodeOptions } from './tokenizer';
