// torch.matmul and torch.nn.functional.linear.
import { broadcastIndexMap, broadcastShapes } from './elementwise.js';
import { type T64, size, zeros } from './tensor64.js';

/**
 * torch.matmul: 1-D·1-D is a dot product (shape []); a 1-D left operand gets a 1 prepended and a
 * 1-D right operand a 1 appended, both removed afterwards; leading (batch) dims broadcast.
 */
export function matmul(a: T64, b: T64): T64 {
  if (a.shape.length === 0 || b.shape.length === 0) throw new Error('matmul: both operands need at least 1 dim');
  const aVec = a.shape.length === 1;
  const bVec = b.shape.length === 1;
  const A = aVec ? [1, a.shape[0]] : a.shape;
  const B = bVec ? [b.shape[0], 1] : b.shape;
  const n = A[A.length - 2];
  const k = A[A.length - 1];
  const m = B[B.length - 1];
  if (B[B.length - 2] !== k) throw new Error(`matmul: [${a.shape}] @ [${b.shape}]: inner dims ${k} and ${B[B.length - 2]} differ`);
  const batchA = A.slice(0, -2);
  const batchB = B.slice(0, -2);
  const batch = broadcastShapes(batchA, batchB);
  const mapA = broadcastIndexMap(batchA, batch);
  const mapB = broadcastIndexMap(batchB, batch);
  const out = zeros([...batch, n, m]);
  for (let bi = 0; bi < size(batch); bi++) {
    const aOff = mapA[bi] * n * k;
    const bOff = mapB[bi] * k * m;
    const oOff = bi * n * m;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < m; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += a.data[aOff + i * k + p] * b.data[bOff + p * m + j];
        out.data[oOff + i * m + j] = acc;
      }
  }
  out.shape = [...batch, ...(aVec ? [] : [n]), ...(bVec ? [] : [m])];
  return out;
}

/** y = x wᵀ + b with x [..., in], w [out, in], b [out]. */
export function linear(x: T64, w: T64, b?: T64 | null): T64 {
  if (w.shape.length !== 2) throw new Error(`linear: weight must be [out, in], got [${w.shape}]`);
  const [outF, inF] = w.shape;
  if (x.shape[x.shape.length - 1] !== inF) throw new Error(`linear: input [${x.shape}] does not end in ${inF} (weight [${w.shape}])`);
  if (b && (b.shape.length !== 1 || b.shape[0] !== outF)) throw new Error(`linear: bias must be [${outF}], got [${b.shape}]`);
  const rows = x.data.length / inF;
  const out = zeros([...x.shape.slice(0, -1), outF]);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outF; o++) {
      let acc = b ? b.data[o] : 0;
      for (let i = 0; i < inF; i++) acc += x.data[r * inF + i] * w.data[o * inF + i];
      out.data[r * outF + o] = acc;
    }
  return out;
}
