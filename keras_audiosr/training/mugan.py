"""MU-GAN's two training stages, shared by the speech and piano recipes.

Stage 1 trains the autoencoder (the generator's U-Net without skips) into ``out/autoencoder``;
stage 2 trains generator and discriminator with L2 + lambda_f * feature + lambda_adv * adversarial,
the feature loss measured by the frozen autoencoder's bottleneck. Each stage resumes on its own.
``--downsample strided`` builds both networks with stride-2 convolutions in place of SuperPixel1D
(the paper's Table 5 comparison); the stages' flags are the recipes' (:mod:`keras_audiosr.recipes.vctk_mugan`).
"""

from pathlib import Path

import keras

from keras_audiosr.models import MUGANAutoencoder, MUGANDiscriminator, MUGANGenerator
from keras_audiosr.training.losses import get_sample_loss
from keras_audiosr.training.runner import generator_args, sample_loss, train_stage


def build_autoencoder(cfg):
    """The compiled stage-1 autoencoder (L2), down-sampling as ``--downsample``."""
    ae = MUGANAutoencoder.from_size(cfg.model_size, hr_rate=cfg.hr_rate, downsample=cfg.extra["downsample"])
    ae.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=get_sample_loss("l2"))
    return ae


def train_autoencoder(cfg, data, strategy):
    """Stage 1: the autoencoder learns to reconstruct high-rate audio (L2); returns ``{"autoencoder": model}``.

    Writes ``out/autoencoder/model.keras``; when that stage has finished it is loaded instead, and an
    interrupted stage resumes from ``out/autoencoder/backup``.
    """
    autoencoder, _ = train_stage(
        lambda: build_autoencoder(cfg),
        data,
        cfg,
        strategy,
        out=Path(cfg.out) / "autoencoder",
        map_batch=lambda lr, hr: (hr, hr),
        epochs=cfg.extra.get("ae_epochs") or cfg.epochs,
        what="stage 1 (autoencoder)",
    )
    return {"autoencoder": autoencoder}


def build_gan(cfg, degradation, autoencoder):
    """Stage 2: generator and discriminator with ``--loss`` + lambda_f * feature + lambda_adv * adversarial
    (standard GAN; the paper's sample loss is L2: ``--loss l2``)."""
    from keras_audiosr.training.adversarial import AdversarialTrainer  # TensorFlow: imported when used

    generator = MUGANGenerator.from_size(
        cfg.model_size, **generator_args(cfg, degradation), downsample=cfg.extra["downsample"]
    )
    discriminator = MUGANDiscriminator.from_size(cfg.model_size)
    trainer = AdversarialTrainer(
        generator,
        discriminator,
        loss="gan",
        n_critic=1,
        sample_loss=sample_loss(cfg),
        adversarial_weight=cfg.extra["adversarial_weight"],
        feature_extractor=autoencoder.feature_extractor(),
        feature_weight=cfg.extra["feature_weight"],
        seed=cfg.seed,
    )
    trainer.compile(
        keras.optimizers.Adam(cfg.learning_rate, beta_1=0.5), keras.optimizers.Adam(cfg.learning_rate, beta_1=0.5)
    )
    return trainer
