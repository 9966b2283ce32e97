"""Fits the --markov-refine term (model.MarkovRefine) after the encoder, with the encoder and its
item vectors frozen: softmax cross-entropy over all items at the training positions, the
position's own transition removed from the counts, as in encoder training.

The inner products do not change while the term is fitted, so the log-partition of the plain
inner-product logits is computed once per position; as the term is 0 wherever the count is 0,
log Z = lse + log(1 + sum over the successors of exp(dot - lse) * (exp(term) - 1)), which touches
only the successors in each step."""
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


def fit_refine(markov, beta, U, T, last, V, seed, log=print):
    """U [P, dim]: the encoder's states at training positions (eval mode), T [P]: their next items,
    last [P]: their newest input items, V: item vectors. Returns the fitted MarkovRefine."""
    lse, target_dot = _fixed_parts(U, T, V)
    rows, cols, c, out = markov.entries(last, T)
    with torch.no_grad():
        dots = (U[rows] * V[cols]).sum(1)
    is_target = cols == T[rows]
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    refine = MarkovRefine(U.shape[1])
    opt = torch.optim.Adam(refine.parameters(), lr=0.02)
    P = len(T)
    for step in range(STEPS):
        chosen = torch.zeros(P, dtype=torch.bool)
        chosen[torch.randint(0, P, (POSITIONS_PER_STEP,), generator=g)] = True
        e = chosen[rows]
        r, t = rows[e], is_target[e]
        f = refine(c[e], out[e], U[r], dots[e], beta)
        Z = 1.0 + torch.zeros(P).index_add(0, r, torch.exp(dots[e] - lse[r]) * torch.expm1(f))
        f_target = torch.zeros(P).index_add(0, r[t], f[t])
        loss = (lse + torch.log(Z) - target_dot - f_target)[chosen].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == STEPS - 1:
            log(f"markov refine step {step} loss {loss.item():.4f}", flush=True)
    refine.eval()
    return refine
