"""The category term: w * log(mean over the candidate's non-pad attributes of category_probs[attr]
+ 1e-6), with w = model.json scorer.categoryWeight, chosen on validation (0 = off)."""
import torch

from ..encoder import matmul_t

from .term import Term

# the weights tried on validation besides 0
WEIGHTS = (0.05, 0.1, 0.2, 0.4)


class CategoryTerm(Term):
    """Always in the scorer (so model.json always has categoryWeight). It reads the shared inputs
    category_probs and candidate_attrs and adds none: the contract puts those two among the first
    four inputs, before any term's."""

    name = "category"

    def __init__(self, weight):
        super().__init__()
        self.register_buffer("weight", torch.tensor(float(weight)))
        # add_all multiplies by the Python number rather than the float32 buffer, as the ranking
        # always has, so recorded metrics reproduce bit for bit
        self.w = float(weight)

    @classmethod
    def fit(cls, fitting, terms):
        """The weight with the best validation NDCG@10, a weight kept only if it gains more than 1e-4
        over the one before; measured with the terms encoder training left (the Markov term's betas)."""
        others = [t for name, t in terms.items() if name != cls.name]
        best_w, best_v = 0.0, fitting.ndcg(others)
        base_v = best_v
        for w in WEIGHTS:
            v = fitting.ndcg(others + [cls(w)])
            fitting.log(f"scorer weight {w}: valid NDCG@10 {v:.4f} (inner product {base_v:.4f})", flush=True)
            if v > best_v + 1e-4:
                best_w, best_v = w, v
        return cls(best_w)

    @classmethod
    def refit(cls, fitting, terms, chosen):
        return cls(chosen.w if chosen is not None else 0.0)

    def forward(self, x):
        B, N, A = x.attrs.shape
        p = torch.gather(x.category_probs, 1, x.attrs.reshape(B, N * A)).reshape(B, N, A)
        # masked mean over the last axis (a reduction over a middle axis of [B, N, A, 1] took
        # ONNX Runtime 25x longer)
        present = (x.attrs > 0).to(p.dtype)
        logp = torch.log((p * present).sum(-1) / present.sum(-1).clamp(min=1.0) + 1e-6)
        return self.weight * logp

    def add_all(self, scores, x):
        if not self.w:
            return scores
        return scores + self.w * item_category_logp(x.category_probs, x.item_attrs)

    def export(self, out):
        return {}, {"categoryWeight": float(self.weight)}

    def checkpoint(self):
        return {"scorerWeight": self.w}

    @classmethod
    def from_checkpoint(cls, stored, fit, num_items, dim):
        w = stored["scorerWeight"]
        return cls(w) if w else None


def attribute_matrix(item_attrs):
    """[num_items + 1, num_attrs + 1] item x attribute incidence matrix."""
    rows = torch.arange(item_attrs.shape[0]).unsqueeze(1).expand_as(item_attrs)[item_attrs > 0]
    cols = item_attrs[item_attrs > 0]
    M = torch.zeros(item_attrs.shape[0], int(item_attrs.max()) + 1)
    M.index_put_((rows, cols), torch.ones_like(rows, dtype=torch.float32), accumulate=True)
    return M


def item_category_logp(probs, item_attrs):
    """[B, num_items + 1]: log(mean category prob over each item's attributes + 1e-6), as forward()."""
    M = attribute_matrix(item_attrs)
    M = torch.nn.functional.pad(M, (0, probs.shape[1] - M.shape[1]))
    cnt = (item_attrs > 0).float().sum(1).clamp(min=1.0)
    return torch.log(matmul_t(probs, M) / cnt + 1e-6)
