"""``keras-audiosr train RECIPE ...``: train a model with one of the recipes (:mod:`keras_audiosr.recipes`)."""

from __future__ import annotations

import argparse
import dataclasses

from keras_audiosr.cli.common import PROG, Formatter
from keras_audiosr.recipes import RECIPES, get_recipe


def add_parser(subparsers) -> argparse.ArgumentParser:
    """The ``train`` subcommand's parser, added to ``subparsers``."""
    p = subparsers.add_parser(
        "train",
        formatter_class=Formatter,
        help="train a model with a recipe (needs keras-audiosr[train])",
        description="Train a model with one of the recipes: its defaults, its own flags, the data step, training\n"
        "that resumes where it stopped, and the evaluation of the result on held-out speakers. The\n"
        "recipe's arguments follow its name; 'keras-audiosr train RECIPE --help' lists them (from a\n"
        "clone, 'python -m recipes.RECIPE ...' is the same). Without --data-dir a recipe trains on\n"
        "the packaged speech corpus, in minutes on a CPU. Training needs TensorFlow (or JAX) and\n"
        "Keras: pip install 'keras-audiosr[train]'.\n\nrecipes: " + ", ".join(RECIPES),
        epilog=f"examples:\n  {PROG} train vctk_unet --out runs/quickstart\n"
        f"  {PROG} train streaming_bwe --data-dir ~/data/VCTK-Corpus --out runs/bwe\n"
        f"  {PROG} train vctk_unet --help",
    )
    p.add_argument("recipe", choices=RECIPES, metavar="RECIPE", help="the recipe: " + ", ".join(RECIPES))
    p.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        metavar="ARGS",
        help=f"the recipe's own arguments ('{PROG} train RECIPE --help' lists them)",
    )
    p.set_defaults(func=run, needs_tensorflow=True)
    return p


def run(args) -> int:
    recipe = dataclasses.replace(get_recipe(args.recipe), command=f"{PROG} train {args.recipe}")
    recipe.main(args.args)  # --help and argument errors exit here, before Keras is imported
    return 0
