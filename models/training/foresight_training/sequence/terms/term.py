"""The interface of a scoring term (terms/__init__.py lists them): what the scorer, export.py, train.py's
flags, the fitting after the encoder and the all-items ranking need from each. The defaults are those
of a term without flags, inputs, fixture, table or training of its own."""
from torch import nn


class Term(nn.Module):
    name = ""  # its key in Scorer.terms
    inputs = ()  # the scorer.onnx inputs it adds, in order, after the scorer's shared four (contract.py)
    dynamic_axes = {}  # those inputs' dynamic axes, as torch.onnx.export takes them
    # rows of the encoder fixture (train.parity_sequences) the scorer fixture needs besides 0 and 1
    parity_rows = ()
    ABSENT = {}  # the model.json scorer.* keys of a scorer without this term
    CHECKPOINT_ABSENT = {}  # the checkpoint.pt keys of a scorer without this term
    history = 0  # how many of the subject's newest items add_all reads (ranking.AllItems.history)
    # its flags that change encoder training: train.py --encoder-from refuses a checkpoint trained
    # with other values
    encoder_flags = ()

    # --- train.py's command line (train_flags.py)

    @classmethod
    def add_flags(cls, parser):
        """Adds its train.py flags to the argparse parser."""

    @classmethod
    def check_args(cls, parser, args):
        """Refuses (parser.error) a value or combination of its flags that cannot train; runs before
        any data is read."""

    @classmethod
    def hyper_parameters(cls, args):
        """Its entries in model.json training.hyperParameters (after the general ones)."""
        return {}

    # --- training (encoder_training.py, then scorer_training.py)

    @classmethod
    def with_encoder(cls, train_seqs, num_items, args, stored=None):
        """The term as encoder training learns it jointly with the encoder (its nn.Parameters are
        optimised with the encoder's; add_to_logits, epoch_note and snapshot then apply), or as the
        checkpoint.pt dict `stored` holds it (--encoder-from). None: not trained with the encoder."""
        return None

    def add_to_logits(self, logits, last, own):
        """Encoder training: logits [P, num_items] (column k = item k + 1) plus the term, for the
        positions' newest input items `last` [P] and their targets `own` [P]."""
        raise NotImplementedError

    def epoch_note(self):
        """What encoder training's epoch log line shows of it (e.g. its learned weights)."""
        return ""

    def snapshot(self):
        """A copy holding its current parameter values, no longer trained (the best epoch's)."""
        raise NotImplementedError

    @classmethod
    def fit(cls, fitting, terms):
        """The term fitted after the encoder (scorer_training.Fitting: the validation pairs, the
        training positions, args), given the scorer's terms so far {name: term} (those fitted
        before it in TERMS order and those trained with the encoder, itself among them). None: the
        term is not in the scorer."""
        return None

    @classmethod
    def refit(cls, fitting, terms, chosen):
        """The term for the refit on every event (the cut-off protocol's shipped model): the choices
        validation made for `chosen` (this term as the evaluated fit's scorer holds it, or None) kept,
        its tables and learned parts rebuilt from fitting's sequences (fitting.valid is empty)."""
        return None

    # --- scoring

    def forward(self, x, *inputs):
        """[B, N]: the term's addition to the scores; x = scorer.Candidates (the shared inputs and
        the inner products), inputs = its own, as named in `inputs`."""
        raise NotImplementedError

    def add_all(self, scores, x):
        """scores [B, num_items + 1] plus the term's addition for every item (column 0 = padding), as
        forward() would compute it for all items as candidates; x = ranking.AllItems."""
        raise NotImplementedError

    # --- export.py and checkpoint.pt (evaluate.py)

    def parity_candidates(self, ids):
        """Per fixture row, the items the term wants among the scorer fixture's candidates (moved to
        the front, so the fixture exercises the term), or None. ids [R, L]: the rows' encoder input
        items, newest last."""
        return None

    def parity_inputs(self, ids, candidates):
        """Its inputs for the fixture rows' encoder input items ids [R, L] and candidates [R, N]."""
        return ()

    def export(self, out):
        """Writes its table file (if any) into the model directory `out`; returns its model.json
        `files` entries and `scorer` keys."""
        return {}, {}

    def checkpoint(self):
        """Its keys in checkpoint.pt (what from_checkpoint reads back)."""
        return {}

    @classmethod
    def from_checkpoint(cls, stored, fit, num_items, dim):
        """The term as the checkpoint.pt dict `stored` records it, its tables rebuilt from `fit` (the
        model's training sequences); None if the scorer lacks it or it adds nothing."""
        return None
