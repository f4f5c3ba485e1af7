// One element of a raw tensor buffer as a number, for both checkpoint readers (PyTorch storages,
// safetensors): every numeric type is widened the way torch's `.float()` casts it — float64 and
// large integers rounded to the nearest f32 by the Float32Array they land in, bool as 0 or 1.
// Browser-safe.
import { bfloat16ToFloat, halfToFloat } from './half-float.js';

export type ElementType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16'
  | 'int64' | 'int32' | 'int16' | 'int8' | 'uint64' | 'uint32' | 'uint16' | 'uint8' | 'bool';

export const ELEMENT_BYTES: Record<ElementType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint64: 8, uint32: 4, uint16: 2, uint8: 1, bool: 1,
};

/** Reads element `i` (an element index, not a byte offset) of `view`. */
export function elementReader(type: ElementType, view: DataView, little: boolean): (i: number) => number {
  switch (type) {
    case 'float32': return (i) => view.getFloat32(4 * i, little);
    case 'float64': return (i) => view.getFloat64(8 * i, little);
    case 'float16': return (i) => halfToFloat(view.getUint16(2 * i, little));
    case 'bfloat16': return (i) => bfloat16ToFloat(view.getUint16(2 * i, little));
    case 'int64': return (i) => Number(view.getBigInt64(8 * i, little));
    case 'int32': return (i) => view.getInt32(4 * i, little);
    case 'int16': return (i) => view.getInt16(2 * i, little);
    case 'int8': return (i) => view.getInt8(i);
    case 'uint64': return (i) => Number(view.getBigUint64(8 * i, little));
    case 'uint32': return (i) => view.getUint32(4 * i, little);
    case 'uint16': return (i) => view.getUint16(2 * i, little);
    case 'uint8': return (i) => view.getUint8(i);
    case 'bool': return (i) => (view.getUint8(i) === 0 ? 0 : 1);
  }
}
