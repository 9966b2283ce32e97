"""Fits the --markov-refine term (model.MarkovRefine) after the encoder, with the encoder and its
item vectors frozen: softmax cross-entropy over all items at the training positions, the
position's own transition removed from the counts, as in encoder training.

The inner products do not change while the term is fitted, so the log-partition of the plain
inner-product logits is computed once per position; as the term is 0 wherever the count is 0,
log Z = lse + log(1 + sum over the successors of exp(dot - lse) * (exp(term) - 1)), which touches
only the successors in each step. With --markov-items K > 1 the term of an item is the sum of the K
history slots' terms, so the entries are summed per (position, item) first and the same formula runs
over the union of the K rows' successors."""
import torch

from model import MarkovRefine, matmul_t

STEPS = 400
POSITIONS_PER_STEP = 16384


@torch.no_grad()
def _fixed_parts(U, T, V):
    lse, target_dot = torch.zeros(len(T)), torch.zeros(len(T))
    for s in range(0, len(T), 2048):
        logits = matmul_t(U[s:s + 2048], V[1:])
        lse[s:s + 2048] = torch.logsumexp(logits, 1)
        target_dot[s:s + 2048] = logits.gather(1, (T[s:s + 2048] - 1).unsqueeze(1))[:, 0]
    return lse, target_dot


def fit_refine(markov, beta, U, T, last, V, seed, log=print, steps=STEPS):
    """U [P, dim]: the encoder's states at training positions (eval mode), T [P]: their next items,
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
