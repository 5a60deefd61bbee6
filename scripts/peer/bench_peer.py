"""PyTorch side of `npm run bench:peer`: the shapes of `npm run bench`, timed with torch on the CPU.

What a user would otherwise run on the same machine, measured the way our bench measures:
  attention  forward + backward of one [1, heads, N, headDim] call (same loss: sum(out * w)), full
             causal attention written out (eager) and `scaled_dot_product_attention(is_causal=True)`,
             and LongLoRA's non-flash S2-Attn (official `forward_noflashattn`, the paper's
             Algorithm 1: roll half the heads by -G/2, attend causally in groups of G = N/4, roll
             back), written here from its description.
  train      one update of a transformers `LlamaForCausalLM` of presets.small's shape (vocab 259,
             hidden 256, FFN 688, 4 layers, 8 heads), batch 1: forward, loss, backward, clip to 1,
             AdamW; attention eager, sdpa, or the S2 function above registered with transformers'
             AttentionInterface.

Prints one JSON object: medians in ms after warm-up. Threads: torch.set_num_threads(--threads).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
import transformers
from transformers import AttentionInterface, LlamaConfig, LlamaForCausalLM


def s2_noflash(q, k, v, scaling):
    """S2-Attn as the official non-flash path computes it; q, k, v [B, H, N, D] after RoPE and repeat_kv."""
    b, h, n, d = q.shape
    g = n // 4  # official group_size_ratio = 1/4
    if n % g != 0:
        raise ValueError(f"q_len {n} should be divisible by group size {g}.")
    groups = n // g

    def shift(t):
        # second half of the heads rolled by -G/2, then the groups folded into the batch axis
        t = torch.cat([t[:, : h // 2], t[:, h // 2 :].roll(-g // 2, dims=2)], dim=1)  # [B, H, N, D]
        return t.transpose(1, 2).reshape(b * groups, g, h, d).transpose(1, 2)  # [B*N/G, H, G, D]

    qs, ks, vs = shift(q), shift(k), shift(v)
    scores = torch.matmul(qs, ks.transpose(2, 3)) * scaling  # [B*N/G, H, G, G]
    causal = torch.full((g, g), torch.finfo(scores.dtype).min, dtype=scores.dtype).triu(1)
    probs = torch.softmax((scores + causal).float(), dim=-1).to(q.dtype)
    out = torch.matmul(probs, vs)  # [B*N/G, H, G, D]
    out = out.transpose(1, 2).reshape(b, n, h, d)  # [B, N, H, D]
    return torch.cat([out[:, :, : h // 2], out[:, :, h // 2 :].roll(g // 2, dims=1)], dim=2)


def s2_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """transformers AttentionInterface entry: returns ([B, N, H, D], no weights)."""
    rep = query.shape[1] // key.shape[1]
    if rep > 1:
        key = key.repeat_interleave(rep, dim=1)
        value = value.repeat_interleave(rep, dim=1)
    if scaling is None:
        scaling = query.shape[-1] ** -0.5
    return s2_noflash(query, key, value, scaling), None


AttentionInterface.register("longlora_s2_plain", s2_attention)


def eager_causal(q, k, v):
    n, d = q.shape[-2], q.shape[-1]
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d)
    mask = torch.full((n, n), torch.finfo(scores.dtype).min).triu(1)
    return torch.matmul(torch.softmax(scores + mask, dim=-1), v)


def sdpa_causal(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def s2_plain(q, k, v):
    out = s2_noflash(q, k, v, q.shape[-1] ** -0.5)  # [B, N, H, D]
    return out.transpose(1, 2)


def median_ms(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), times


def bench_attention(n, heads, head_dim, warmup, runs):
    gen = torch.Generator().manual_seed(1)
    shape = (1, heads, n, head_dim)
    q, k, v, w = (torch.randn(shape, generator=gen) for _ in range(4))
    q.requires_grad_(True)
    k.requires_grad_(True)
    v.requires_grad_(True)
    rows = {}
    for name, fn in (("full_eager", eager_causal), ("full_sdpa", sdpa_causal), ("s2_roll", s2_plain)):
        def step():
            q.grad = k.grad = v.grad = None
            (fn(q, k, v) * w).sum().backward()
        rows[name], _ = median_ms(step, warmup, runs)
    return rows


def small_config(n, attn):
    cfg = LlamaConfig(
        vocab_size=259, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
        num_attention_heads=8, num_key_value_heads=8,
        # cost-neutral stand-in for our linear position interpolation past the base context of 256
        max_position_embeddings=max(256, n), rms_norm_eps=1e-5, tie_word_embeddings=False,
        initializer_range=0.02, attention_dropout=0.0,
    )
    cfg._attn_implementation = attn
    return cfg


def bench_train(n, attn, warmup, runs):
    torch.manual_seed(0)
    model = LlamaForCausalLM(small_config(n, attn))
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    gen = torch.Generator().manual_seed(12345)
    ids = torch.randint(0, 259, (1, n), generator=gen)

    def step():
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    ms, _ = median_ms(step, warmup, runs)
    return ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seq-lens", default="1024,2048")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--head-dim", type=int, default=64)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    lens = [int(x) for x in a.seq_lens.split(",")]
    out = {
        "torch": torch.__version__, "transformers": transformers.__version__, "threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(), "python": sys.version.split()[0],
        "attention": [], "trainStep": [],
    }
    for n in lens:
        row = bench_attention(n, a.heads, a.head_dim, a.warmup, a.runs)
        out["attention"].append({"seqLen": n, "groupSize": n // 4, "heads": a.heads, "headDim": a.head_dim, **{k: round(v, 2) for k, v in row.items()}})
        print(f"[peer] attention N={n}: " + ", ".join(f"{k} {v:.0f} ms" for k, v in row.items()), file=sys.stderr)
    for n in lens:
        for attn, label in (("eager", "full_eager"), ("sdpa", "full_sdpa"), ("longlora_s2_plain", "s2_roll")):
            ms = bench_train(n, attn, a.warmup, a.runs)
            out["trainStep"].append({"seqLen": n, "attention": label, "ms": round(ms, 2), "tokensPerSec": round(n * 1000 / ms, 1)})
            print(f"[peer] train step {label} N={n}: {ms:.0f} ms, {n * 1000 / ms:.0f} tok/s", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
