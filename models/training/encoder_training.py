"""Training loop of the sequence encoder: softmax cross-entropy over all items (or over K shared
sampled items, --negatives) at every non-pad position (logits only where there is a target), auxiliary next-attribute loss, early
stopping on validation NDCG@10."""
import copy
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from data import encoder_inputs, left_pad
from model import NEG, markov_term, matmul_t
from metrics import exclude_inputs, fmt, ranks_from_scores, summarize


@torch.no_grad()
def user_states(enc, seqs, batch=1024):
    enc.eval()
    out = []
    for s in range(0, len(seqs), batch):
        u, p, _ = enc(*encoder_inputs(seqs[s:s + batch], enc.max_len))
        out.append((u, p))
    return torch.cat([u for u, _ in out]), torch.cat([p for _, p in out])


@torch.no_grad()
def encode_pairs(enc, pairs, batch=1024):
    """User states and category probabilities for (input sequence, target) pairs. Pairs are
    processed in length order, each batch padded only to its longest sequence (the newest item
    stays at the last position, so this equals padding to maxLen); returns them in input order."""
    enc.eval()
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]))
    U = torch.zeros(len(pairs), enc.dim)
    P = torch.zeros(len(pairs), enc.num_attrs + 1)
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        seqs = [pairs[i][0][-enc.max_len:] for i in idx]
        u, p, _ = enc(*encoder_inputs(seqs, max(1, max(len(x) for x in seqs))))
        U[idx], P[idx] = u, p
    return U, P, torch.tensor([p[1] for p in pairs], dtype=torch.long)


@torch.no_grad()
def score_encoded(U, P, V, item_attrs=None, cat_weight=0.0, markov=None, last=None, M=None):
    """[B, num_items + 1]: the scorer's score of every item for user states U, without the
    co-occurrence term (rank_encoded's arguments; M: attribute_matrix(item_attrs), if at hand)."""
    scores = dots = matmul_t(U, V)
    if cat_weight:
        scores = scores + cat_weight * item_category_logp(P, item_attrs, M)
    if markov is not None and len(markov) > 2 and markov[2] is not None:
        scores = markov[0].add_refined(scores, dots, last, U, markov[1], markov[2])
    elif markov is not None:
        scores = scores + markov[0].term(last, markov[1])
    return scores


def rank_encoded(U, P, targets, V, item_attrs=None, cat_weight=0.0, batch=2048, markov=None, last=None,
                 cooc=None, hist=None, exclude=None):
    """Ranks over all items by <user_state, item vector> (+ cat_weight * log category
    probability of the item's attributes, + the Markov term of the subject's newest item when
    markov = (Markov, beta[, MarkovRefine]) is given, + weight * the co-occurrence feature of
    hist [B, window] when cooc = (Cooccurrence, weight, decay) is given; exactly as the Scorer).
    exclude: the (input, target) pairs, whose input items are then left out of the ranking."""
    ranks = []
    M = attribute_matrix(item_attrs) if cat_weight else None
    for s in range(0, len(targets), batch):
        scores = score_encoded(U[s:s + batch], P[s:s + batch], V, item_attrs, cat_weight, markov,
                               None if last is None else last[s:s + batch], M)
        if cooc is not None and cooc[1]:
            scores = scores + cooc[1] * cooc[0].feature(hist[s:s + batch], cooc[2])
        if exclude is not None:
            scores = exclude_inputs(scores, exclude[s:s + batch])
        ranks.append(ranks_from_scores(scores, targets[s:s + batch]))
    return np.concatenate(ranks) if ranks else np.zeros(0)


@torch.no_grad()
def rank_targets(enc, pairs, item_vecs=None, cat_weight=0.0, markov=None, cooc=None, exclude_history=False):
    """cooc = (Cooccurrence, weight, window, decay) or None; exclude_history: leave each pair's
    input items out of the ranking (rank_encoded)."""
    if not pairs:
        return np.zeros(0)
    V = enc.item_vectors() if item_vecs is None else item_vecs
    U, P, T = encode_pairs(enc, pairs)
    items = markov[2].items if markov is not None and len(markov) > 2 and markov[2] is not None else 1
    last = newest_items(pairs) if items == 1 else history_items(pairs, items)
    return rank_encoded(U, P, T, V, enc.item_attrs, cat_weight, markov=markov, last=last,
                        cooc=None if cooc is None else (cooc[0], cooc[1], cooc[3]),
                        hist=None if cooc is None else history_items(pairs, cooc[2]),
                        exclude=pairs if exclude_history else None)


def newest_items(pairs):
    """The newest input item of each (input sequence, target) pair (0 for an empty input)."""
    return torch.tensor([p[0][-1] if p[0] else 0 for p in pairs], dtype=torch.long)


def history_items(pairs, k):
    """[B, k]: the k newest input items of each pair, newest first, repeats kept, 0 where the
    input is shorter (the scorer's h_0 .. h_{k-1}, models/README.md `scorer.markovItems`)."""
    return torch.tensor([[p[0][-1 - j] if j < len(p[0]) else 0 for j in range(k)] for p in pairs],
                        dtype=torch.long).reshape(len(pairs), k)


def attribute_matrix(item_attrs):
    """[num_items + 1, num_attrs + 1] item x attribute incidence matrix."""
    rows = torch.arange(item_attrs.shape[0]).unsqueeze(1).expand_as(item_attrs)[item_attrs > 0]
    cols = item_attrs[item_attrs > 0]
    M = torch.zeros(item_attrs.shape[0], int(item_attrs.max()) + 1)
    M.index_put_((rows, cols), torch.ones_like(rows, dtype=torch.float32), accumulate=True)
    return M


def item_category_logp(probs, item_attrs, M=None):
    """[B, num_items + 1]: log(mean category prob over each item's attributes + 1e-6), as in Scorer."""
    M = attribute_matrix(item_attrs) if M is None else M
    M = torch.nn.functional.pad(M, (0, probs.shape[1] - M.shape[1]))
    cnt = (item_attrs > 0).float().sum(1).clamp(min=1.0)
    return torch.log(matmul_t(probs, M) / cnt + 1e-6)


def make_batches(train_seqs, max_len, batch, rng):
    """Yields (inputs, event types, time gaps, targets) left-padded to the longest sequence in the
    batch (<= max_len), the types and gaps as the gateway feeds them (data.encoder_inputs).
    Sequences are grouped by length so little time goes into padding."""
    seqs = [s[-(max_len + 1):] for s in train_seqs if len(s) >= 2]
    order = rng.permutation(len(seqs))
    # sort within large random pools by length, then shuffle the batches
    pool = batch * 32
    batches = []
    for p in range(0, len(order), pool):
        idx = sorted(order[p:p + pool], key=lambda i: len(seqs[i]))
        batches += [idx[b:b + batch] for b in range(0, len(idx), batch)]
    for bi in rng.permutation(len(batches)):
        chunk = [seqs[i] for i in batches[bi]]
        width = max(len(s) for s in chunk) - 1
        x, ev, gaps = encoder_inputs([s[:-1] for s in chunk], width)
        y = left_pad([s[1:] for s in chunk], width)
        yield x, ev, gaps, torch.from_numpy(y)


class Markov:
    """First-order transition counts of the training part: C[i, j] = how often item j directly
    followed item i. Scored as beta[0] * log(1 + C[last, j]) + beta[1] * C[last, j] / out(last),
    where out(i) = number of transitions out of i (the scorer's Markov term, models/README.md)."""

    def __init__(self, seqs, num_items):
        C = np.zeros((num_items + 1, num_items + 1), dtype=np.float32)
        for s in seqs:
            if len(s) > 1:
                np.add.at(C, (s[:-1], s[1:]), 1.0)
        self.C = torch.from_numpy(C)
        self.out = self.C.sum(1)
        # CSR copy for training, where only each row's few successors need a logit term
        nz = self.C.nonzero()
        self.indptr = torch.zeros(num_items + 2, dtype=torch.long)
        self.indptr[1:] = torch.cumsum(torch.bincount(nz[:, 0], minlength=num_items + 1), 0)
        self.succ, self.cnt = nz[:, 1], self.C[nz[:, 0], nz[:, 1]]

    def entries(self, last, own=None):
        """The non-zero counts out of each position's newest item: rows (position), cols (item),
        counts and out(newest); with `own`, the position's own transition (last -> own) is removed
        from both (leave-one-out, as in training)."""
        start, n = self.indptr[last], self.indptr[last + 1] - self.indptr[last]
        rows = torch.repeat_interleave(torch.arange(len(last)), n)
        first = torch.repeat_interleave(torch.cumsum(n, 0) - n, n)
        at = torch.repeat_interleave(start, n) + torch.arange(int(n.sum())) - first
        cols, c = self.succ[at], self.cnt[at]
        if own is None:
            return rows, cols, c, self.out[last][rows]
        return rows, cols, c - (cols == own[rows]).float(), (self.out[last] - 1.0)[rows]

    def history_entries(self, hist, own=None):
        """entries() for each column k of hist [P, K] (the K newest items of each position, 0 =
        none), concatenated, plus each entry's slot k. Only the newest item's pair (h_0 -> own) is
        the position's own transition, so only slot 0 is leave-one-out."""
        parts = []
        for k in range(hist.shape[1]):
            e = self.entries(hist[:, k], own if k == 0 else None)
            parts.append(e + (torch.full_like(e[0], k),))
        return tuple(torch.cat(x) for x in zip(*parts))

    def add_to_logits(self, logits, last, own, beta):
        """logits [P, num_items] (column k = item k + 1) + the Markov term of each position's newest
        item, with the position's own transition (last -> own) removed from the counts; touches
        only the non-zero counts."""
        rows, cols, c, out = self.entries(last, own)
        return logits.index_put((rows, cols - 1), markov_term(c, out, beta), accumulate=True)

    def term(self, last, beta):
        """[B, num_items + 1]: the Markov term of every item for each newest item in `last`."""
        return markov_term(self.C[last], self.out[last].unsqueeze(-1), beta)

    def add_refined(self, scores, dots, last, U, beta, refine):
        """scores [B, num_items + 1] + the --markov-refine term (dots: the inner products it reads),
        which is 0 where the count is 0, so only the newest items' successors are touched. last [B]
        or, with --markov-items K > 1, [B, K] (history_items): the sum of the K slots' terms."""
        if last.dim() == 2:
            rows, cols, c, out, k = self.history_entries(last)
            term = refine(c, out, U[rows], dots[rows, cols], beta, k)
            return scores.index_put((rows, cols), term, accumulate=True)
        rows, cols, c, out = self.entries(last)
        term = refine(c, out, U[rows], dots[rows, cols], beta)
        return scores.index_put((rows, cols), term, accumulate=True)


def train_encoder(enc, train_seqs, valid_pairs, args, log=print):
    markov = Markov(train_seqs, enc.num_items) if args.markov else None
    beta = torch.nn.Parameter(torch.zeros(2)) if markov else None
    params = list(enc.parameters()) + ([beta] if beta is not None else [])
    if args.weight_decay:
        opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    else:
        opt = torch.optim.Adam(params, lr=args.lr, weight_decay=0.0)
    # cosine decay from lr to lr / 10 over the planned epochs (fixed length, so runs reproduce)
    n_batches = (sum(1 for s in train_seqs if len(s) >= 2) + args.batch - 1) // args.batch
    total_steps = max(1, args.epochs * n_batches)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.1 + 0.45 * (1 + math.cos(math.pi * min(s, total_steps) / total_steps)))
    rng = np.random.default_rng(args.seed)
    best, best_state, best_epoch, bad, best_beta = -1.0, None, 0, 0, None
    t0 = time.time()
    step = 0
    history = []
    for epoch in range(1, args.epochs + 1):
        enc.train()
        total, n = 0.0, 0
        for x, ev, gaps, y in make_batches(train_seqs, enc.max_len, args.batch, rng):
            h, _ = enc.hidden(x, ev, gaps)
            m = y > 0
            hp, yp = h[m], y[m]
            if markov is not None and args.negatives:
                raise SystemExit("--markov needs the full softmax (--negatives 0)")
            if args.negatives:
                # sampled softmax: the target against K uniformly drawn items shared by the batch
                # (uniform proposal, so no logQ correction); accidental hits are masked
                neg = torch.randint(1, enc.num_items + 1, (args.negatives,))
                pos = (hp * enc.item_vectors(yp)).sum(-1, keepdim=True)
                negl = matmul_t(hp, enc.item_vectors(neg)).masked_fill(yp.unsqueeze(1) == neg.unsqueeze(0), NEG)
                logits = torch.cat([pos, negl], 1)
                loss = F.cross_entropy(logits, torch.zeros_like(yp), label_smoothing=args.label_smoothing)
            else:
                V = enc.item_vectors()
                logits = matmul_t(hp, V[1:])
                if markov is not None:
                    # leave-one-out counts: this position's own transition is not evidence for itself
                    logits = markov.add_to_logits(logits, x[m], yp, beta)
                loss = F.cross_entropy(logits, yp - 1, label_smoothing=args.label_smoothing)
            if args.cat_weight > 0:
                attrs = enc.item_attrs[yp]
                q = torch.zeros(len(yp), enc.num_attrs + 1).scatter_add_(
                    1, attrs, (attrs > 0).float())
                q = q / q.sum(1, keepdim=True).clamp(min=1.0)
                cat_loss = -(q * F.log_softmax(enc.category_logits(hp), -1)).sum(1).mean()
                loss = loss + args.cat_weight * cat_loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
            n += 1
            step += 1
            if args.max_steps and step >= args.max_steps:
                break
        msg = f"epoch {epoch} loss {total / max(n, 1):.4f} {time.time() - t0:.0f}s"
        done = bool(args.max_steps and step >= args.max_steps)
        if epoch % args.eval_every == 0 or done or epoch == args.epochs:
            m = summarize(rank_targets(enc, valid_pairs, markov=(markov, beta.detach()) if markov else None))
            history.append({"epoch": epoch, **m})
            msg += f" | valid {fmt(m, (10, 20))}"
            if beta is not None:
                msg += f" beta {beta[0].item():.3f},{beta[1].item():.3f}"
            if m["NDCG@10"] > best:
                best, best_state, best_epoch, bad = m["NDCG@10"], copy.deepcopy(enc.state_dict()), epoch, 0
                best_beta = beta.detach().clone() if beta is not None else None
            else:
                bad += 1
        log(msg, flush=True)
        if done or bad >= args.patience:
            break
        if args.time_budget and time.time() - t0 > args.time_budget * 60:
            log(f"time budget of {args.time_budget} min reached", flush=True)
            break
    if best_state is not None:
        enc.load_state_dict(best_state)
    return {"markov": markov, "beta": best_beta, "best_epoch": best_epoch, "best_valid_ndcg10": best, "epochs_run": epoch,
            "seconds": time.time() - t0, "history": history}
