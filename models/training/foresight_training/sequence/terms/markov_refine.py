"""The --markov-refine reshaping of the Markov term (terms/markov.py): the module, and its fit after
the encoder, with the encoder and its item vectors frozen: softmax cross-entropy over all items at the
training positions, the position's own transition removed from the counts, as in encoder training.

The inner products do not change while the term is fitted, so the log-partition of the plain
inner-product logits is computed once per position; as the term is 0 wherever the count is 0,
log Z = lse + log(1 + sum over the successors of exp(dot - lse) * (exp(term) - 1)), which touches
only the successors in each step. With --markov-items K > 1 the term of an item is the sum of the K
history slots' terms, so the entries are summed per (position, item) first and the same formula runs
over the union of the K rows' successors."""
import math

import torch
import torch.nn as nn

from ..encoder import matmul_t

STEPS = 400
POSITIONS_PER_STEP = 16384


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


@torch.no_grad()
def _fixed_parts(U, T, V):
    lse, target_dot = torch.zeros(len(T)), torch.zeros(len(T))
    for s in range(0, len(T), 2048):
        logits = matmul_t(U[s:s + 2048], V[1:])
        lse[s:s + 2048] = torch.logsumexp(logits, 1)
        target_dot[s:s + 2048] = logits.gather(1, (T[s:s + 2048] - 1).unsqueeze(1))[:, 0]
    return lse, target_dot


def fit_refine(markov, beta, U, T, last, V, seed, log=print, steps=STEPS):
    """markov: the training part's transitions.Transitions, beta: the Markov term's two weights;
    U [P, dim]: the encoder's states at training positions (eval mode), T [P]: their next items,
    last [P]: their newest input items, or [P, K] their K newest (newest first, 0 = none) for
    --markov-items K, V: item vectors. Returns the fitted MarkovRefine."""
    lse, target_dot = _fixed_parts(U, T, V)
    items = 1 if last.dim() == 1 else last.shape[1]
    if items == 1:
        rows, cols, c, out = markov.entries(last, T)
        k, pair, pair_rows, pair_cols = None, None, rows, cols
    else:
        rows, cols, c, out, k = markov.history_entries(last, T)
        # (position, item) pairs: the union of the K slots' successors of each position
        keys, pair = torch.unique(rows * V.shape[0] + cols, return_inverse=True)
        pair_rows, pair_cols = keys // V.shape[0], keys % V.shape[0]
    with torch.no_grad():
        dots = (U[rows] * V[cols]).sum(1)
        pair_dots = (U[pair_rows] * V[pair_cols]).sum(1) if items > 1 else dots
    is_target = pair_cols == T[pair_rows]
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    refine = MarkovRefine(U.shape[1], items)
    opt = torch.optim.Adam(refine.parameters(), lr=0.02)
    P = len(T)
    for step in range(steps):
        chosen = torch.zeros(P, dtype=torch.bool)
        chosen[torch.randint(0, P, (POSITIONS_PER_STEP,), generator=g)] = True
        e = chosen[rows]
        if items == 1:
            r, t = rows[e], is_target[e]
            f = refine(c[e], out[e], U[r], dots[e], beta)
            d = dots[e]
        else:
            pe = chosen[pair_rows]
            f_entries = refine(c[e], out[e], U[rows[e]], dots[e], beta, k[e])
            f = torch.zeros(len(pair_rows)).index_add(0, pair[e], f_entries)[pe]
            r, t, d = pair_rows[pe], is_target[pe], pair_dots[pe]
        Z = 1.0 + torch.zeros(P).index_add(0, r, torch.exp(d - lse[r]) * torch.expm1(f))
        f_target = torch.zeros(P).index_add(0, r[t], f[t])
        loss = (lse + torch.log(Z) - target_dot - f_target)[chosen].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"markov refine step {step} loss {loss.item():.4f}", flush=True)
    refine.eval()
    return refine
