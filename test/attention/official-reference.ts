/**
 * Independent float64 references for attention, re-derived from the official LongLoRA code
 * (dvlab-research/LongLoRA `llama_attn_replace.py`) rather than from our implementation:
 *
 * - `officialOffsetSegments` rebuilds the flash path's `cu_seqlens` exactly as `forward_flashattn`
 *   does (arange(0, N, G), stacked with +G/2, repeated per batch, offset by each packed row's start,
 *   then each row's end appended) and reads the segments off it;
 * - `officialRollGroups` follows `forward_noflashattn`: roll the second half of the heads by -G/2
 *   (torch.roll: out[i] = in[(i + G/2) mod N]), cut the sequence into consecutive groups, causal
 *   inside each group in rolled order, roll the outputs back by +G/2.
 *
 * Both give, for every (head, query), the list of keys it attends to; `denseAttention64` then does
 * softmax attention with those sets in float64, with an analytic backward.
 */

export type Allowed = (h: number, i: number) => number[];

/** Keys per (head, query) for the official flash path (`'offset'`), from its cu_seqlens. */
export function officialOffsetSegments(heads: number, n: number, g: number): Allowed {
  // One batch entry packs two rows of N tokens: row 0 = heads [0, H/2), row 1 = heads [H/2, H).
  const cuQLens = [0, n, 2 * n]; // from unpad_input with no padding
  const tmp: number[] = [];
  for (let x = 0; x < n; x += g) tmp.push(x);
  const rows = [tmp.map((t) => t + cuQLens[0]), tmp.map((t) => t + g / 2 + cuQLens[1])];
  const cu = [...rows[0], cuQLens[1], ...rows[1], cuQLens[2]];
  const segmentOf = (packed: number): [number, number] => {
    for (let s = 0; s + 1 < cu.length; s++) if (packed >= cu[s] && packed < cu[s + 1]) return [cu[s], cu[s + 1]];
    throw new Error(`position ${packed} not in any segment`);
  };
  return (h, i) => {
    const row = h < heads / 2 ? 0 : 1;
    const packed = row * n + i;
    const [start] = segmentOf(packed);
    const keys: number[] = [];
    for (let p = start; p <= packed; p++) keys.push(p - row * n); // causal inside the segment
    return keys;
  };
}

/**
 * Keys per (head, query) for the official SFT flash path (`llama_attn_replace_sft.py`): like
 * `officialOffsetSegments`, but `arange(0, N, G)` may end in a partial group, shifted borders
 * `>= N` are set to int32 min and filtered out (`cu_q_lens[cu_q_lens >= 0]`).
 */
export function officialSftSegments(heads: number, n: number, g: number): Allowed {
  const cuQLens = [0, n, 2 * n];
  const tmp: number[] = [];
  for (let x = 0; x < n; x += g) tmp.push(x);
  const INT_MIN = -2147483648;
  const tmp2 = tmp.map((t) => (t + g / 2 >= n ? INT_MIN : t + g / 2));
  const flat = [...tmp.map((t) => t + cuQLens[0]), cuQLens[1], ...tmp2.map((t) => t + cuQLens[1]), cuQLens[2]];
  const cu = flat.filter((x) => x >= 0);
  return (h, i) => {
    const row = h < heads / 2 ? 0 : 1;
    const packed = row * n + i;
    let start = 0;
    for (let s = 0; s + 1 < cu.length; s++) if (packed >= cu[s] && packed < cu[s + 1]) start = cu[s];
    const keys: number[] = [];
    for (let p = start; p <= packed; p++) keys.push(p - row * n);
    return keys;
  };
}

/** Keys per (head, query) for the official non-flash path (`'roll'`), by following the roll. */
export function officialRollGroups(heads: number, n: number, g: number): Allowed {
  const s = g / 2;
  return (h, i) => {
    if (h < heads / 2) {
      const start = Math.floor(i / g) * g;
      return Array.from({ length: i - start + 1 }, (_, t) => start + t);
    }
    // Output position i is rolled back (+s) from rolled index r with i = (r + s) mod N, and rolled
    // index r holds original token (r + s) mod N, so r = (i - s) mod N.
    const r = (((i - s) % n) + n) % n;
    const groupStart = Math.floor(r / g) * g;
    const keys: number[] = [];
    for (let rr = groupStart; rr <= r; rr++) keys.push((rr + s) % n);
    return keys;
  };
}

/** Keys per (head, query) for dense causal attention with Tk keys and Tq queries aligned at the end. */
export function causalAllowed(tq: number, tk: number): Allowed {
  return (_h, i) => Array.from({ length: tk - tq + i + 1 }, (_, j) => j);
}

export interface Attention64 {
  out: Float64Array; // [B, H, Tq, D]
  dq: Float64Array;
  dk: Float64Array; // [B, H, Tk, D] (expanded heads summed back onto kv heads)
  dv: Float64Array;
}

/**
 * softmax(q k^T / sqrt(D)) v over the allowed keys, with the gradients of sum(out * w).
 * q [B, H, Tq, D]; k, v [B, Hkv, Tk, D]; query head h uses kv head floor(h / (H / Hkv)) (repeat_kv).
 */
export function denseAttention64(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  w: ArrayLike<number>,
  dims: { b: number; h: number; hkv: number; tq: number; tk: number; d: number },
  allowedKeys: Allowed,
): Attention64 {
  const { b, h, hkv, tq, tk, d } = dims;
  const rep = h / hkv;
  const scale = 1 / Math.sqrt(d);
  const out = new Float64Array(b * h * tq * d);
  const dq = new Float64Array(b * h * tq * d);
  const dk = new Float64Array(b * hkv * tk * d);
  const dv = new Float64Array(b * hkv * tk * d);
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      const kvh = Math.floor(hi / rep);
      const qBase = (bi * h + hi) * tq * d;
      const kBase = (bi * hkv + kvh) * tk * d;
      for (let i = 0; i < tq; i++) {
        const keys = allowedKeys(hi, i);
        const scores = keys.map((j) => {
          let s = 0;
          for (let x = 0; x < d; x++) s += q[qBase + i * d + x] * k[kBase + j * d + x];
          return s * scale;
        });
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((p, x) => p + x, 0);
        const p = e.map((x) => x / z);
        const o = qBase + i * d;
        keys.forEach((j, t) => {
          for (let x = 0; x < d; x++) out[o + x] += p[t] * v[kBase + j * d + x];
        });
        // backward of sum(out * w): dO = w
        const dP = keys.map((j) => {
          let s = 0;
          for (let x = 0; x < d; x++) s += w[o + x] * v[kBase + j * d + x];
          return s;
        });
        const dot = p.reduce((acc, pt, t) => acc + pt * dP[t], 0);
        keys.forEach((j, t) => {
          const dS = p[t] * (dP[t] - dot) * scale;
          for (let x = 0; x < d; x++) {
            dv[kBase + j * d + x] += p[t] * w[o + x];
            dq[o + x] += dS * k[kBase + j * d + x];
            dk[kBase + j * d + x] += dS * q[o + x];
          }
        });
      }
    }
  }
  return { out, dq, dk, dv };
}
