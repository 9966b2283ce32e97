"""SASRec-style sequence encoder with attribute-aware item vectors (the content tower is content.py,
the candidate scorer scorer.py). Written with plain ops so ONNX export (opset 17) is exact and simple."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..contract import ENCODER_EVENT_TYPES

TIME_GAP_BUCKETS_SECONDS = [60, 600, 3600, 21600, 86400, 604800, 2592000]
NEG = -1e9  # finite mask value: an all-masked row gives a uniform (ignored) row instead of NaN


def matmul_t(a, b):
    """a @ b.T for 2-D a [M, K], b [N, K]. Debian's PyTorch links the reference BLAS, which is
    ~10x slower than oneDNN; a 1x1 convolution runs the same product through oneDNN (forward and
    backward). ONNX export uses the plain product."""
    if torch.onnx.is_in_onnx_export() or a.shape[0] < 64:
        return a @ b.T
    M, K = a.shape
    N = b.shape[0]
    # single-threaded (--threads 1), PyTorch sends 1x1 convolutions to its reference kernel (~3x
    # slower) unless they are dilated; dilation is a no-op for a 1x1 kernel and routes them to
    # oneDNN, which multi-threaded runs use anyway (left as they were, so their results reproduce)
    d = 2 if torch.get_num_threads() == 1 else 1
    if N > 1024:
        # wide outputs (logits over items): b is the "image" (K channels x N pixels) and the rows
        # of a are 1x1 filters, so the [M, N] result comes out contiguous
        return F.conv2d(b.T.reshape(1, K, 1, N), a.reshape(M, K, 1, 1), dilation=d).reshape(M, N)
    # narrow outputs (dense layers): rows of a are pixels, b holds the filters (much faster here)
    return F.conv2d(a.T.reshape(1, K, 1, M), b.reshape(N, K, 1, 1), dilation=d).reshape(N, M).T


class Linear(nn.Linear):
    """nn.Linear whose product goes through matmul_t (see there)."""

    def forward(self, x):
        if torch.onnx.is_in_onnx_export():
            return super().forward(x)
        y = matmul_t(x.reshape(-1, x.shape[-1]), self.weight)
        y = y.reshape(*x.shape[:-1], self.out_features)
        return y if self.bias is None else y + self.bias


def masked_mean(emb, ids):
    """Mean of emb over non-zero ids along dim -2 (emb: [..., K, d], ids: [..., K])."""
    m = (ids > 0).to(emb.dtype).unsqueeze(-1)
    return (emb * m).sum(-2) / m.sum(-2).clamp(min=1.0)


class CausalSelfAttention(nn.Module):
    def __init__(self, dim, heads, dropout):
        super().__init__()
        self.heads, self.hd = heads, dim // heads
        self.qkv = Linear(dim, 3 * dim)
        self.out = Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, allowed):
        B, L, D = x.shape
        q, k, v = self.qkv(x).reshape(B, L, 3, self.heads, self.hd).permute(2, 0, 3, 1, 4)
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.hd)
        s = s.masked_fill(~allowed.unsqueeze(1), NEG)
        a = torch.softmax(s, dim=-1)  # [B, H, L, L]
        y = torch.matmul(self.drop(a), v).transpose(1, 2).reshape(B, L, D)
        return self.out(y), a


class Block(nn.Module):
    def __init__(self, dim, heads, dropout):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads, dropout)
        self.ff = nn.Sequential(Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(dropout), Linear(4 * dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, allowed, keep):
        y, a = self.attn(self.ln1(x), allowed)
        x = x + self.drop(y)
        x = x + self.drop(self.ff(self.ln2(x)))
        return x * keep, a


class LiGRBlock(nn.Module):
    """eSASRec's layer (LiGR, arXiv 2502.03417 / 2508.06450): pre-norm, each residual branch scaled
    by a learned sigmoid gate of its normalised input, and a SwiGLU feed-forward."""

    def __init__(self, dim, heads, dropout):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads, dropout)
        self.gate1, self.gate2 = Linear(dim, dim), Linear(dim, dim)
        self.w_in, self.w_gate, self.w_out = Linear(dim, 4 * dim), Linear(dim, 4 * dim), Linear(4 * dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, allowed, keep):
        h = self.ln1(x)
        y, a = self.attn(h, allowed)
        x = x + self.drop(torch.sigmoid(self.gate1(h)) * y)
        h = self.ln2(x)
        y = self.w_out(self.drop(F.silu(self.w_gate(h)) * self.w_in(h)))
        x = x + self.drop(torch.sigmoid(self.gate2(h)) * y)
        return x * keep, a


BLOCKS = {"sasrec": Block, "ligr": LiGRBlock}


class Encoder(nn.Module):
    """Item vector = id embedding + mean of the item's attribute embeddings; the same vectors are
    the input embeddings and the output (retrieval) embeddings."""

    def __init__(self, num_items, num_attrs, item_attrs, dim=64, max_len=50, blocks=2, heads=2, dropout=0.5,
                 block="sasrec"):
        super().__init__()
        self.num_items, self.num_attrs, self.dim, self.max_len = num_items, num_attrs, dim, max_len
        self.item_emb = nn.Embedding(num_items + 1, dim, padding_idx=0)
        self.attr_emb = nn.Embedding(num_attrs + 1, dim, padding_idx=0)
        self.pos_emb = nn.Embedding(max_len, dim)
        self.event_emb = nn.Embedding(len(ENCODER_EVENT_TYPES), dim, padding_idx=0)
        self.gap_emb = nn.Embedding(len(TIME_GAP_BUCKETS_SECONDS) + 3, dim, padding_idx=0)
        self.register_buffer("item_attrs", torch.as_tensor(item_attrs, dtype=torch.long))
        self.emb_drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([BLOCKS[block](dim, heads, dropout) for _ in range(blocks)])
        self.ln = nn.LayerNorm(dim)
        self.cat_head = Linear(dim, num_attrs + 1)
        for e in (self.item_emb, self.attr_emb, self.pos_emb, self.event_emb, self.gap_emb):
            nn.init.normal_(e.weight, std=0.02)
            if e.padding_idx is not None:
                with torch.no_grad():
                    e.weight[e.padding_idx].zero_()

    def item_vectors(self, ids=None):
        """Retrieval embeddings [num_items + 1, dim] (or for the given ids); row 0 is zero."""
        if ids is None:
            return self.item_emb.weight + masked_mean(self.attr_emb(self.item_attrs), self.item_attrs)
        attrs = self.item_attrs[ids]
        return self.item_emb(ids) + masked_mean(self.attr_emb(attrs), attrs)

    def hidden(self, item_ids, event_types, time_gaps):
        """Hidden states [B, L', d] for the last L' <= max_len columns, and last-layer attention."""
        B, L = item_ids.shape
        keep = (item_ids > 0).unsqueeze(-1).to(torch.float32)
        pos = torch.arange(self.max_len - L, self.max_len, device=item_ids.device)
        x = self.item_vectors(item_ids) + self.pos_emb(pos).unsqueeze(0)
        x = x + self.event_emb(event_types) + self.gap_emb(time_gaps)
        x = self.emb_drop(x) * keep
        causal = torch.ones(L, L, dtype=torch.bool, device=item_ids.device).tril()
        allowed = causal.unsqueeze(0) & (item_ids > 0).unsqueeze(1)  # [B, Lq, Lk]
        a = None
        for blk in self.blocks:
            x, a = blk(x, allowed, keep)
        return self.ln(x), a

    def category_logits(self, h):
        z = self.cat_head(h)
        return torch.cat([torch.full_like(z[..., :1], NEG), z[..., 1:]], dim=-1)

    def forward(self, item_ids, event_types, time_gaps):
        """The exported encoder: user_state, category_probs, attention (newest query, mean over heads)."""
        h, a = self.hidden(item_ids, event_types, time_gaps)
        u = h[:, -1, :]
        return u, torch.softmax(self.category_logits(u), dim=-1), a[:, :, -1, :].mean(dim=1)
