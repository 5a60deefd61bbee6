/**
 * Typed-array checks that hold across JavaScript realms. `x instanceof Float32Array` is false for
 * an array made in another realm: tfjs-node's addon returns tensor data created in Node's main
 * context, which jest's per-file sandbox (and a vm context in general) does not share.
 */
type TypedArrayName = 'Float32Array' | 'Float64Array' | 'Int32Array' | 'Uint8Array' | 'Uint16Array';

function isTag(x: unknown, name: TypedArrayName): boolean {
  return ArrayBuffer.isView(x) && Object.prototype.toString.call(x) === `[object ${name}]`;
}

export const isFloat32Array = (x: unknown): x is Float32Array => isTag(x, 'Float32Array');
export const isFloat64Array = (x: unknown): x is Float64Array => isTag(x, 'Float64Array');
export const isInt32Array = (x: unknown): x is Int32Array => isTag(x, 'Int32Array');
export const isUint8Array = (x: unknown): x is Uint8Array => isTag(x, 'Uint8Array');
