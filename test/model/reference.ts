/**
 * An independent float64 Llama in plain JavaScript loops, written from the Hugging Face
 * `modeling_llama.py` semantics (not from lib/model): RMSNorm, RoPE with rotate-half and positions
 * divided by the linear factor, grouped-query causal attention, SwiGLU, head, and the shifted
 * cross-entropy with -100 labels. Slow and simple on purpose; for tiny configs only.
 */
import type { LlamaConfig } from '../../lib/model';

export type Weights = Map<string, Float64Array>;

/** float64 copies of a model's parameters. */
export function weightsOf(parameters: Map<string, { dataSync(): ArrayLike<number> }>): Weights {
  const out: Weights = new Map();
  for (const [name, v] of parameters) out.set(name, Float64Array.from(v.dataSync()));
  return out;
}

function rmsNormRows(x: Float64Array, rows: number, c: number, w: Float64Array, eps: number): Float64Array {
  const out = new Float64Array(rows * c);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = 0; j < c; j++) ss += x[r * c + j] ** 2;
    const inv = 1 / Math.sqrt(ss / c + eps);
    for (let j = 0; j < c; j++) out[r * c + j] = w[j] * x[r * c + j] * inv;
  }
  return out;
}

/** y[r, o] = sum_i x[r, i] W[o, i] (HF Linear, weight [out, in]). */
function linearRows(x: Float64Array, rows: number, inDim: number, w: Float64Array, outDim: number): Float64Array {
  const y = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let s = 0;
      for (let i = 0; i < inDim; i++) s += x[r * inDim + i] * w[o * inDim + i];
      y[r * outDim + o] = s;
    }
  }
  return y;
}

/** Rotates each head vector of row (b, t) in place: x*cos + rotate_half(x)*sin at position p. */
function ropeInPlace(x: Float64Array, rows: number, heads: number, d: number, positionOf: (row: number) => number, invFreq: number[]): void {
  const half = d / 2;
  for (let r = 0; r < rows; r++) {
    const p = positionOf(r);
    for (let h = 0; h < heads; h++) {
      const base = r * heads * d + h * d;
      const orig = x.slice(base, base + d);
      for (let j = 0; j < d; j++) {
        const angle = p * invFreq[j % half];
        const rotated = j < half ? -orig[j + half] : orig[j - half];
        x[base + j] = orig[j] * Math.cos(angle) + rotated * Math.sin(angle);
      }
    }
  }
}

/**
 * Logits [B*T*V] (row-major [B, T, V]) for token ids [B][T]. Positions start at 0; RoPE uses
 * theta^(-2i/D) with positions divided by a linear factor when the config has one.
 */
export function referenceLogits(config: LlamaConfig, w: Weights, ids: number[][]): Float64Array {
  const b = ids.length;
  const t = ids[0].length;
  const { hiddenSize: c, intermediateSize: f, numAttentionHeads: h, numKeyValueHeads: hkv, vocabSize: v } = config;
  const d = c / h;
  const rows = b * t;
  const factor = config.ropeScaling?.type === 'linear' ? config.ropeScaling.factor : 1;
  if (config.ropeScaling !== null && config.ropeScaling.type !== 'linear') throw new Error('reference: only plain and linear RoPE');
  const invFreq = Array.from({ length: d / 2 }, (_, i) => 1 / Math.pow(config.ropeTheta, (2 * i) / d));
  const positionOf = (row: number) => (row % t) / factor;
  const embed = w.get('model.embed_tokens.weight') as Float64Array;
  let x = new Float64Array(rows * c);
  for (let r = 0; r < rows; r++) x.set(embed.subarray(ids[Math.floor(r / t)][r % t] * c, ids[Math.floor(r / t)][r % t] * c + c), r * c);
  const get = (name: string) => {
    const a = w.get(name);
    if (a === undefined) throw new Error(`reference: no ${name}`);
    return a;
  };
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    const p = `model.layers.${layer}`;
    const n1 = rmsNormRows(x, rows, c, get(`${p}.input_layernorm.weight`), config.rmsNormEps);
    const q = linearRows(n1, rows, c, get(`${p}.self_attn.q_proj.weight`), h * d);
    const k = linearRows(n1, rows, c, get(`${p}.self_attn.k_proj.weight`), hkv * d);
    const vv = linearRows(n1, rows, c, get(`${p}.self_attn.v_proj.weight`), hkv * d);
    ropeInPlace(q, rows, h, d, positionOf, invFreq);
    ropeInPlace(k, rows, hkv, d, positionOf, invFreq);
    const att = new Float64Array(rows * c);
    const group = h / hkv;
    for (let bi = 0; bi < b; bi++) {
      for (let head = 0; head < h; head++) {
        const kvHead = Math.floor(head / group);
        for (let i = 0; i < t; i++) {
          const qOff = (bi * t + i) * h * d + head * d;
          const scores: number[] = [];
          for (let j = 0; j <= i; j++) {
            const kOff = (bi * t + j) * hkv * d + kvHead * d;
            let s = 0;
            for (let e = 0; e < d; e++) s += q[qOff + e] * k[kOff + e];
            scores.push(s / Math.sqrt(d));
          }
          const m = Math.max(...scores);
          const ex = scores.map((s) => Math.exp(s - m));
          const z = ex.reduce((a, e) => a + e, 0);
          for (let j = 0; j <= i; j++) {
            const vOff = (bi * t + j) * hkv * d + kvHead * d;
            for (let e = 0; e < d; e++) att[(bi * t + i) * c + head * d + e] += (ex[j] / z) * vv[vOff + e];
          }
        }
      }
    }
    const o = linearRows(att, rows, c, get(`${p}.self_attn.o_proj.weight`), c);
    x = x.map((xi, i) => xi + o[i]);
    const n2 = rmsNormRows(x, rows, c, get(`${p}.post_attention_layernorm.weight`), config.rmsNormEps);
    const gate = linearRows(n2, rows, c, get(`${p}.mlp.gate_proj.weight`), f);
    const up = linearRows(n2, rows, c, get(`${p}.mlp.up_proj.weight`), f);
    const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]);
    const down = linearRows(act, rows, f, get(`${p}.mlp.down_proj.weight`), c);
    x = x.map((xi, i) => xi + down[i]);
  }
  const normed = rmsNormRows(x, rows, c, get('model.norm.weight'), config.rmsNormEps);
  const head = config.tieWordEmbeddings ? embed : get('lm_head.weight');
  return linearRows(normed, rows, c, head, v);
}

/** HF causal-LM loss: mean over counted (label != -100) shifted positions of -log softmax. */
export function referenceLoss(config: LlamaConfig, w: Weights, ids: number[][], labels: number[][] = ids): number {
  const logits = referenceLogits(config, w, ids);
  const v = config.vocabSize;
  const t = ids[0].length;
  let total = 0;
  let count = 0;
  for (let bi = 0; bi < ids.length; bi++) {
    for (let j = 0; j < t - 1; j++) {
      const target = labels[bi][j + 1];
      if (target === -100) continue;
      const off = (bi * t + j) * v;
      let m = -Infinity;
      for (let u = 0; u < v; u++) m = Math.max(m, logits[off + u]);
      let z = 0;
      for (let u = 0; u < v; u++) z += Math.exp(logits[off + u] - m);
      total += -(logits[off + target] - m - Math.log(z));
      count += 1;
    }
  }
  return total / count;
}
