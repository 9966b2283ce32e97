"""The training part's first-order transition counts, which the Markov term reads (terms/markov.py):
dense rows for ranking all items, non-zero entries for training, and transitions.bin for the gateway."""
import numpy as np
import torch


class Transitions:
    """C[i, j] = how often item j directly followed item i in the training sequences; out(i) = all
    transitions out of i."""

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

    def write(self, path):
        """transitions.bin (models/README.md): little-endian int32 CSR of the counts, indptr
        [numItems + 2], then successor indices [nnz], then counts [nnz]; each row's successors
        ordered by count (highest first), then by index. Returns nnz."""
        C = self.C.numpy()
        indptr, idx, cnt = [0], [], []
        for i in range(C.shape[0]):
            nz = np.nonzero(C[i])[0]
            order = np.lexsort((nz, -C[i, nz]))
            idx.append(nz[order])
            cnt.append(C[i, nz[order]])
            indptr.append(indptr[-1] + len(nz))
        parts = [np.asarray(indptr, dtype="<i4"), np.concatenate(idx).astype("<i4"),
                 np.concatenate(cnt).astype("<i4")]
        with open(path, "wb") as f:
            for a in parts:
                f.write(a.tobytes())
        return int(indptr[-1])
