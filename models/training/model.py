"""SASRec-style sequence encoder with attribute-aware item vectors, the content tower and the
candidate scorer. Written with plain ops so ONNX export (opset 17) is exact and simple."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

EVENT_TYPES = ["<pad>", "<unknown>", "VIEW", "CART", "PURCHASE", "SEARCH"]
TIME_GAP_BUCKETS_SECONDS = [60, 600, 3600, 21600, 86400, 604800, 2592000]
TEXT_HASH_BUCKETS = 4096
PRICE_BANDS_UPPER = [5, 10, 20, 50, 100, 200, 500]
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
        self.event_emb = nn.Embedding(len(EVENT_TYPES), dim, padding_idx=0)
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


class ContentTower(nn.Module):
    """Item content (attributes, hashed text tokens, price band) -> item-embedding space."""

    def __init__(self, num_attrs, dim=64, text_buckets=TEXT_HASH_BUCKETS, price_bands=len(PRICE_BANDS_UPPER) + 2):
        super().__init__()
        self.attr_emb = nn.Embedding(num_attrs + 1, dim, padding_idx=0)
        self.text_emb = nn.Embedding(text_buckets + 1, dim, padding_idx=0)
        self.price_emb = nn.Embedding(price_bands, dim, padding_idx=0)
        nn.init.normal_(self.text_emb.weight, std=0.02)
        with torch.no_grad():
            self.text_emb.weight[0].zero_()
            self.price_emb.weight.zero_()
        self.mlp = nn.Sequential(Linear(dim, 2 * dim), nn.GELU(), Linear(2 * dim, dim))
        self.skip = Linear(dim, dim)

    def forward(self, attr_ids, text_tokens, price_band):
        h = masked_mean(self.attr_emb(attr_ids), attr_ids)
        h = h + masked_mean(self.text_emb(text_tokens), text_tokens) + self.price_emb(price_band)
        return self.skip(h) + self.mlp(h)


def markov_term(c, out, beta):
    """The scorer's first-order Markov term: c = transition counts from the newest item to the
    candidates, out = all transitions out of the newest item (broadcast against c)."""
    return beta[0] * torch.log1p(c) + beta[1] * c / out.clamp(min=1.0)


class MarkovRefine(nn.Module):
    """Optional learned reshaping of the Markov term (--markov-refine), from the scorer's inputs only:
    term = (beta0 * g0(u) * log(1 + c) + beta1 * g1(u) * c / out) * exp(mlp(c, out, <u, v>)), with
    per-user gates g = exp(linear(user_state)). It is >= 0 and exactly 0 where c = 0, so retrieval by
    nearest neighbours plus successors still finds the exact top items (docs/forecasts.md).
    Zero-initialised: starts as the plain term.

    With items = K > 1 (--markov-items) the scorer sums one such term per history slot k (h_0 = newest
    item, h_1 the one before, ...): slot k > 0 has its own gates (initialised at 0.5^k, i.e. half the
    betas for the second-newest item) and a learned vector added to the MLP's hidden layer (zero at
    start); the MLP itself is shared. Each slot's term is 0 where its count is 0, so the sum is 0 where
    every slot's count is."""

    FEATURES = 6
    HIDDEN = 16

    def __init__(self, dim, items=1):
        super().__init__()
        self.items = items
        self.gates = nn.Linear(dim, 2)
        self.mlp = nn.Sequential(nn.Linear(self.FEATURES, self.HIDDEN), nn.Tanh(), nn.Linear(self.HIDDEN, 1))
        for m in (self.gates, self.mlp[2]):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)
        if items > 1:
            # created outside the global random stream, so everything drawn after this (content
            # tower) is the same as with items = 1
            with torch.random.fork_rng(devices=[]):
                self.more_gates = nn.Linear(dim, 2 * (items - 1))
            nn.init.zeros_(self.more_gates.weight)
            with torch.no_grad():
                self.more_gates.bias.copy_(torch.arange(1, items).repeat_interleave(2) * math.log(0.5))
            self.slot_emb = nn.Parameter(torch.zeros(items - 1, self.HIDDEN))

    def forward(self, c, out, u, dot, beta, k=None, rows=False):
        """c, out, dot: [...] (broadcast together); u: [..., dim] for the same positions; k: [...] the
        history slot of each entry (items > 1 only; None = the newest item). rows=True: the scorer's
        layout instead (slots())."""
        if rows:
            return self.slots(c, out, u, dot, beta)
        l, r = torch.log1p(c), c / out.clamp(min=1.0)
        lo = torch.log1p(out)
        g = torch.exp(self.gates(u))
        z = torch.stack([l, r, lo, dot, l * lo, l / torch.log1p(out.clamp(min=1.0) + 1.0)], -1)
        if k is None:
            return (beta[0] * g[..., 0] * l + beta[1] * g[..., 1] * r) * torch.exp(self.mlp(z)[..., 0])
        g = torch.cat([g, torch.exp(self.more_gates(u))], -1)  # [..., 2K]: slot k's gates at 2k, 2k + 1
        g0 = torch.gather(g, -1, (2 * k).unsqueeze(-1))[..., 0]
        g1 = torch.gather(g, -1, (2 * k + 1).unsqueeze(-1))[..., 0]
        slot = torch.cat([torch.zeros_like(self.slot_emb[:1]), self.slot_emb], 0)  # [K, hidden], slot 0 = 0
        m = self.mlp[2](self.mlp[1](self.mlp[0](z) + slot[k]))[..., 0]
        return (beta[0] * g0 * l + beta[1] * g1 * r) * torch.exp(m)

    def slots(self, c, out, user_state, dot, beta):
        """forward() in the scorer's layout, the same values: c, dot [B, K, N] (slot k along axis 1),
        out [B, K], user_state [B, dim]. The gates depend on the user alone, so they are computed
        once per row and broadcast over the candidates, and each slot's hidden vector is added by
        broadcasting, not gathered per entry (in ONNX Runtime, per-entry gates and gathers were
        most of the scorer's time: 3.3 ms for 24 x 140 candidates, K = 2)."""
        B, K = c.shape[0], c.shape[1]
        out = out.unsqueeze(-1)  # [B, K, 1]
        l, r = torch.log1p(c), c / out.clamp(min=1.0)
        lo = torch.log1p(out).expand_as(c)
        g = torch.exp(self.gates(user_state))  # [B, 2]
        if self.items > 1:
            g = torch.cat([g, torch.exp(self.more_gates(user_state))], -1)
        g = g.reshape(B, K, 2)
        g0, g1 = g[:, :, 0:1], g[:, :, 1:2]  # [B, K, 1]
        z = torch.stack([l, r, lo, dot, l * lo, l / torch.log1p(out.clamp(min=1.0) + 1.0).expand_as(c)], -1)
        h = self.mlp[0](z)
        if self.items > 1:
            slot = torch.cat([torch.zeros_like(self.slot_emb[:1]), self.slot_emb], 0)  # [K, hidden]
            h = h + slot.unsqueeze(1)  # [K, 1, hidden] against [B, K, N, hidden]
        m = self.mlp[2](self.mlp[1](h))[..., 0]
        return (beta[0] * g0 * l + beta[1] * g1 * r) * torch.exp(m)


class Scorer(nn.Module):
    """score = <user_state, candidate> + w * log(mean category probability of the candidate's attributes)
    [+ beta0 * log(1 + c) + beta1 * c / out, the first-order Markov term: c = how often the candidate
    directly followed the subject's newest item in training, out = all transitions out of that item].
    With a MarkovRefine of items = K > 1, the Markov inputs are candidate_transitions [B, K, N] and
    history_out_transitions [B, K] (the K newest items, models/README.md `scorer.markovItems`).
    With cooccurrence_weight (--cooccurrence), + cooccurrence_weight * candidate_cooccurrence [B, N]
    (models/README.md `scorer.cooccurrence`)."""

    def __init__(self, weight=0.0, markov=None, refine=None, cooccurrence_weight=None):
        super().__init__()
        self.refine = refine  # MarkovRefine or None
        # --cooccurrence: score += weight * candidate_cooccurrence (cooccurrence.py)
        self.has_cooccurrence = cooccurrence_weight is not None
        self.register_buffer("cooccurrence_weight", torch.tensor(float(cooccurrence_weight or 0.0)))
        self.items = refine.items if refine is not None else 1
        self.register_buffer("weight", torch.tensor(float(weight)))
        self.has_markov = markov is not None
        self.register_buffer("markov", torch.as_tensor(markov if markov is not None else [0.0, 0.0],
                                                       dtype=torch.float32))

    def forward(self, user_state, category_probs, candidate_embeddings, candidate_attrs,
                candidate_transitions=None, newest_out_transitions=None, candidate_cooccurrence=None):
        dot = torch.matmul(candidate_embeddings, user_state.unsqueeze(-1)).squeeze(-1)  # [B, N]
        B, N, A = candidate_attrs.shape
        p = torch.gather(category_probs, 1, candidate_attrs.reshape(B, N * A)).reshape(B, N, A)
        # masked mean over the last axis (a reduction over a middle axis of [B, N, A, 1] took
        # ONNX Runtime 25x longer)
        present = (candidate_attrs > 0).to(p.dtype)
        logp = torch.log((p * present).sum(-1) / present.sum(-1).clamp(min=1.0) + 1e-6)
        score = dot + self.weight * logp
        if self.has_markov and self.refine is not None and self.items > 1:
            # candidate_transitions [B, K, N], newest_out_transitions = history_out_transitions [B, K]
            c = candidate_transitions
            term = self.refine(c, newest_out_transitions, user_state, dot.unsqueeze(1).expand_as(c), self.markov,
                               rows=True)
            score = score + term.sum(1)
        elif self.has_markov and self.refine is not None:
            term = self.refine(candidate_transitions.unsqueeze(1), newest_out_transitions.unsqueeze(1), user_state,
                               dot.unsqueeze(1), self.markov, rows=True)
            score = score + term[:, 0]
        elif self.has_markov:
            score = score + markov_term(candidate_transitions, newest_out_transitions.unsqueeze(-1),
                                        self.markov)
        if self.has_cooccurrence:
            score = score + self.cooccurrence_weight * candidate_cooccurrence
        return score
