"""Fits IntentModels: MLP members (AdamW, early stopping on validation log-loss), logistic
regression (full-batch L-BFGS, L2 strength chosen on validation), then Platt scaling on
validation. Validation is the only data used for any choice; test never reaches this module."""
import numpy as np
import torch
import torch.nn.functional as F

from .classifier import IntentModel, MLP, Preprocess

# Chosen on the random protocol's validation split while developing (README, "Choices").
MLP_RECIPE = {"depth": 2, "hidden": 64, "dropout": 0.3, "lr": 5e-4, "weight_decay": 1e-3,
              "batch": 128, "max_epochs": 60, "patience": 8,
              # Each categorical's one-hot block is zeroed for this share of training rows, so
              # the network has learnt what "value unknown" (all zeros) means: serving sees
              # months the data lacks (Jan, Apr) and new browser / traffic-source codes.
              "category_dropout": 0.1}
LOGISTIC_L2 = (1e-4, 1e-3, 1e-2)


def _log_loss(logits, y):
    return float(F.binary_cross_entropy_with_logits(logits, y))


def _drop_categories(z, groups, p, gen):
    z = z.clone()
    for start, end in groups:
        z[torch.rand(len(z), generator=gen) < p, start:end] = 0
    return z


def train_member(z_train, y_train, z_valid, y_valid, groups, seed, recipe=MLP_RECIPE):
    """One MLP on preprocessed rows; returns (net at its best validation log-loss, info)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = MLP(z_train.shape[1], recipe["depth"], recipe["hidden"], recipe["dropout"])
    opt = torch.optim.AdamW(net.parameters(), lr=recipe["lr"], weight_decay=recipe["weight_decay"])
    best_loss, best_state, best_epoch = float("inf"), None, -1
    for epoch in range(recipe["max_epochs"]):
        net.train()
        order = torch.randperm(len(z_train), generator=gen)
        for i in range(0, len(order), recipe["batch"]):
            rows = order[i:i + recipe["batch"]]
            z = _drop_categories(z_train[rows], groups, recipe["category_dropout"], gen)
            opt.zero_grad()
            F.binary_cross_entropy_with_logits(net(z), y_train[rows]).backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            loss = _log_loss(net(z_valid), y_valid)
        if loss < best_loss:
            best_loss, best_epoch = loss, epoch
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        elif epoch - best_epoch >= recipe["patience"]:
            break
    net.load_state_dict(best_state)
    return net, {"seed": seed, "epochs": best_epoch + 1, "validLogLoss": best_loss}


def train_logistic(z_train, y_train, z_valid, y_valid):
    """Logistic regression, mean log-loss + l2 / 2 * |w|^2 (bias unpenalised), for each l2 in
    LOGISTIC_L2; returns the one with the lowest validation log-loss and its info."""
    best = None
    for l2 in LOGISTIC_L2:
        net = MLP(z_train.shape[1])
        linear = net.net[0]
        opt = torch.optim.LBFGS(net.parameters(), max_iter=500, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = F.binary_cross_entropy_with_logits(net(z_train), y_train) + l2 / 2 * linear.weight.pow(2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            loss = _log_loss(net(z_valid), y_valid)
        if best is None or loss < best[1]["validLogLoss"]:
            best = (net, {"l2": l2, "validLogLoss": loss})
    return best


def fit_platt(logits, y):
    """(a, b) minimising the log-loss of sigmoid(a * logit + b) on these rows (float64 L-BFGS)."""
    logits, y = logits.double(), y.double()
    ab = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([ab], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(ab[0] * logits + ab[1], y)
        loss.backward()
        return loss

    opt.step(closure)
    return [float(v) for v in ab.detach()]


def fit_model(x, y, train, valid, feature_set, kind, seed, members):
    """Fits an IntentModel on rows `train` of raw features x, choosing with rows `valid`.
    kind = "mlp" (an ensemble of `members` MLPs, seeds seed .. seed + members - 1) or
    "logistic". Returns (model in eval mode, info)."""
    pre = Preprocess(x[train], feature_set)
    with torch.no_grad():
        z = pre(torch.from_numpy(x))
    target = torch.from_numpy(y.astype(np.float32))
    args = (z[train], target[train], z[valid], target[valid])
    if kind == "mlp":
        fitted = [train_member(*args, pre.groups(), seed + k) for k in range(members)]
    elif kind == "logistic":
        fitted = [train_logistic(*args)]
    else:
        raise ValueError(f"unknown model kind {kind!r}")
    model = IntentModel(pre, [net for net, _ in fitted], platt=[1.0, 0.0]).eval()
    with torch.no_grad():
        model.platt.copy_(torch.tensor(fit_platt(model.logit(torch.from_numpy(x[valid])), target[valid])))
    return model, {"featureSet": feature_set, "kind": kind, "members": [i for _, i in fitted],
                   "platt": {"a": float(model.platt[0]), "b": float(model.platt[1])}}


def predict(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy().astype(np.float64)
