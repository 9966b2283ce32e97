"""Where the training code finds the repository's files (models/, the schema, the notes), whatever
the working directory."""
import os

TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # models/training
MODELS = os.path.dirname(TRAINING)  # models
ROOT = os.path.dirname(MODELS)  # the repository
