/**
 * longlora-ts: LongLoRA (Chen et al., 2023, arXiv 2309.12307) in TypeScript on TensorFlow.js.
 *
 * Start with `await ready()` (picks and initialises the backend), then use `tf` from here so that
 * you share this package's TensorFlow.js engine.
 */
export * from './util';
export * from './backend';
export * from './cost';
export * from './attention';
export * from './viz';
export * from './io';
export * from './lora';
export * from './eval';
export * from './data';
export * from './model';
export * from './train';
export * from './bench';
export * from './experiments';
