"""Training loop of the sequence encoder: softmax cross-entropy over all items (or over K shared
sampled items, --negatives) at every non-pad position (logits only where there is a target), auxiliary
next-attribute loss, early stopping on validation NDCG@10. Scoring terms that learn with the encoder
(Term.with_encoder: the Markov term's betas) add to its logits."""
import copy
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from .data import encoder_inputs, left_pad
from .metrics import fmt, summarize
from .encoder import NEG, matmul_t
from .ranking import rank_targets
from .scorer import Scorer
from .terms import TERMS


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


def train_encoder(enc, train_seqs, valid_pairs, args, log=print):
    """Returns the best epoch's results; "terms": the scoring terms trained with the encoder, as at
    that epoch."""
    joint = [t for t in (kind.with_encoder(train_seqs, enc.num_items, args) for kind in TERMS) if t is not None]
    if joint and args.negatives:  # (train_flags refuses this before any data is read)
        raise SystemExit("--negatives: the scoring terms trained with the encoder need the full softmax")
    params = list(enc.parameters()) + [p for t in joint for p in t.parameters()]
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
    best, best_state, best_epoch, bad, best_terms = -1.0, None, 0, 0, [t.snapshot() for t in joint]
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
                for t in joint:
                    logits = t.add_to_logits(logits, x[m], yp)
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
        # stop_after: the refit of the cut-off protocol trains the evaluated fit's best epoch count on
        # the same schedule, without validation (its state after that epoch is the one kept)
        stop_after = getattr(args, "stop_after", 0)
        done = bool(args.max_steps and step >= args.max_steps) or bool(stop_after and epoch >= stop_after)
        if stop_after or not valid_pairs:
            best_epoch, best_terms = epoch, [t.snapshot() for t in joint]
        elif epoch % args.eval_every == 0 or done or epoch == args.epochs:
            m = summarize(rank_targets(enc, valid_pairs, Scorer(joint)))
            history.append({"epoch": epoch, **m})
            msg += f" | valid {fmt(m, (10, 20))}"
            msg += "".join(t.epoch_note() for t in joint)
            if m["NDCG@10"] > best:
                best, best_state, best_epoch, bad = m["NDCG@10"], copy.deepcopy(enc.state_dict()), epoch, 0
                best_terms = [t.snapshot() for t in joint]
            else:
                bad += 1
        log(msg, flush=True)
        if done or bad >= args.patience:
            break
        budget = getattr(args, "encoder_budget", args.time_budget)
        if budget and time.time() - t0 > budget * 60:
            log(f"time budget of {budget:g} min for encoder training reached", flush=True)
            break
    if best_state is not None:
        enc.load_state_dict(best_state)
    return {"terms": best_terms, "best_epoch": best_epoch, "best_valid_ndcg10": best, "epochs_run": epoch,
            "seconds": time.time() - t0, "history": history}
