"""The purchase-intent model as one exportable module: raw session features [B, 17] ->
in-graph preprocessing -> ensemble of small MLPs -> Platt scaling -> probability [B]."""
import numpy as np
import torch
from torch import nn

from .sessions import COLUMN

# Heavy-tailed non-negative columns, fed as log(1 + x).
LOG_COLUMNS = [COLUMN[c] for c in ("Administrative", "Administrative_Duration", "Informational",
                                   "Informational_Duration", "ProductRelated",
                                   "ProductRelated_Duration", "PageValues")]
# Already in [0, 1]; standardised as they are.
PLAIN_COLUMNS = [COLUMN[c] for c in ("BounceRates", "ExitRates", "SpecialDay", "Weekend")]
CATEGORICAL = ["Month", "OperatingSystems", "Browser", "Region", "TrafficType", "VisitorType"]
# Numeric feature sets, compared on validation:
#   raw         the 11 numeric columns untransformed (the textbook logistic-regression baseline)
#   log         LOG_COLUMNS as log(1 + x), PLAIN_COLUMNS as they are
#   engineered  log + PageValues > 0, total pages and time, seconds per product page, and the
#               product pages' share of the session (all computable from a live session)
FEATURE_SETS = ("raw", "log", "engineered")


def _log1p(x):
    # log(1 + max(x, 0)) rather than torch.log1p: it exports to the same ONNX ops (Max, Add, Log)
    # that PyTorch computes here, so parity is exact; the clamp keeps a bad negative input finite.
    return torch.log(1 + torch.clamp(x, min=0))


class Preprocess(nn.Module):
    """Raw features -> [standardised numeric | one-hot categoricals]. Statistics and vocabularies
    come from the training rows only; a categorical value outside its vocabulary (for example
    Month = 1, never seen in the data) encodes as all zeros."""

    def __init__(self, train_x, feature_set):
        super().__init__()
        if feature_set not in FEATURE_SETS:
            raise ValueError(f"feature_set must be one of {FEATURE_SETS}, got {feature_set!r}")
        self.feature_set = feature_set
        x = torch.from_numpy(train_x)
        # placeholders so numeric() can run on the training rows to measure them
        width = self._numeric_raw(x[:1]).shape[1]
        self.register_buffer("mean", torch.zeros(width))
        self.register_buffer("std", torch.ones(width))
        with torch.no_grad():
            n = self._numeric_raw(x)
        self.mean.copy_(n.mean(0))
        self.std.copy_(torch.where(n.std(0) > 1e-6, n.std(0), torch.ones(width)))
        self.vocab = {c: sorted(float(v) for v in np.unique(train_x[:, COLUMN[c]])) for c in CATEGORICAL}
        for c in CATEGORICAL:
            self.register_buffer(f"vocab_{c}", torch.tensor(self.vocab[c], dtype=torch.float32))

    def _numeric_raw(self, x):
        if self.feature_set == "raw":
            return x[:, LOG_COLUMNS + PLAIN_COLUMNS]
        cols = [_log1p(x[:, LOG_COLUMNS]), x[:, PLAIN_COLUMNS]]
        if self.feature_set == "engineered":
            pages = x[:, COLUMN["Administrative"]] + x[:, COLUMN["Informational"]] + x[:, COLUMN["ProductRelated"]]
            seconds = (x[:, COLUMN["Administrative_Duration"]] + x[:, COLUMN["Informational_Duration"]]
                       + x[:, COLUMN["ProductRelated_Duration"]])
            product_pages = x[:, COLUMN["ProductRelated"]]
            cols.append(torch.stack([
                (x[:, COLUMN["PageValues"]] > 0).float(),
                _log1p(pages),
                _log1p(seconds),
                _log1p(x[:, COLUMN["ProductRelated_Duration"]] / torch.clamp(product_pages, min=1)),
                product_pages / torch.clamp(pages, min=1),
            ], dim=1))
        return torch.cat(cols, dim=1)

    def groups(self):
        """(start, end) column ranges of each categorical's one-hot block in forward()'s output."""
        start, out = len(self.mean), []
        for c in CATEGORICAL:
            out.append((start, start + len(self.vocab[c])))
            start += len(self.vocab[c])
        return out

    def forward(self, x):
        parts = [(self._numeric_raw(x) - self.mean) / self.std]
        for c in CATEGORICAL:
            i = COLUMN[c]
            parts.append((x[:, i:i + 1] == getattr(self, f"vocab_{c}")).float())
        return torch.cat(parts, dim=1)


class MLP(nn.Module):
    """depth hidden ReLU layers with dropout, then one logit; depth = 0 is logistic regression."""

    def __init__(self, width, depth=0, hidden=0, dropout=0.0):
        super().__init__()
        layers = []
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, z):
        return self.net(z).squeeze(1)


class IntentModel(nn.Module):
    """Preprocess -> mean of the members' logits -> sigmoid(a * logit + b). a and b are the
    Platt scaling fitted on validation, folded in so the graph outputs calibrated probabilities."""

    def __init__(self, preprocess, members, platt):
        super().__init__()
        self.preprocess = preprocess
        self.members = nn.ModuleList(members)
        self.register_buffer("platt", torch.tensor(platt, dtype=torch.float32))

    def logit(self, x):
        z = self.preprocess(x)
        return torch.stack([m(z) for m in self.members], dim=1).mean(1)

    def forward(self, x):
        return torch.sigmoid(self.platt[0] * self.logit(x) + self.platt[1])
