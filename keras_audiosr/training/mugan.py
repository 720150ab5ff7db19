"""MU-GAN's two training stages, shared by the speech and piano recipes."""
from pathlib import Path

import keras

from keras_audiosr.data import make_dataset
from keras_audiosr.inference import load_model
from keras_audiosr.models import MUGANAutoencoder, MUGANDiscriminator, MUGANGenerator
from keras_audiosr.training import recipe
from keras_audiosr.training.adversarial import AdversarialTrainer
from keras_audiosr.utils import save_model_atomic

STAGE_ARGUMENTS = [
    (("--ae-epochs",), dict(type=int, default=None, help="autoencoder (stage 1) epochs (default: the recipe's epochs)")),
    (("--feature-weight",), dict(type=float, default=1.0, help="lambda_f of the autoencoder feature loss")),
    (("--adversarial-weight",), dict(type=float, default=1e-3, help="lambda_adv of the adversarial loss")),
]


def train_autoencoder(data, cfg, strategy):
    """Stage 1: the generator's U-Net without skips learns to reconstruct high-rate audio (L2).

    Writes ``out/autoencoder/model.keras``; when that file exists the stage is skipped, and an
    interrupted stage resumes from ``out/autoencoder/backup``.
    """
    stage = Path(cfg.out) / "autoencoder"
    path = stage / "model.keras"
    if path.is_file():
        print(f"[keras_audiosr] stage 1 done already: loading the autoencoder from {path}")
        return load_model(path)
    with strategy.scope():
        ae = MUGANAutoencoder.from_size(cfg.resolved_size(), hr_rate=cfg.hr_rate)
        ae.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=recipe.sample_loss("l2"))
    dataset = make_dataset(data.train.hr, data.train.hr, cfg.batch_size, shuffle=True, seed=cfg.seed, repeat=True)
    print("[keras_audiosr] stage 1: autoencoder")
    recipe.fit(ae, data, cfg, dataset=dataset, out=stage, epochs=cfg.extra.get("ae_epochs") or cfg.epochs)
    save_model_atomic(ae, path)
    return ae


def build_gan(cfg, degradation, autoencoder):
    """Stage 2: generator and discriminator with L2 + lambda_f * feature + lambda_adv * adversarial (standard GAN)."""
    generator = MUGANGenerator.from_size(cfg.resolved_size(), ratio=cfg.ratio, hr_rate=cfg.hr_rate,
                                         degradation=degradation.to_dict())
    discriminator = MUGANDiscriminator.from_size(cfg.resolved_size())
    trainer = AdversarialTrainer(generator, discriminator, loss="gan", n_critic=1, sample_loss="l2",
                                 adversarial_weight=cfg.extra["adversarial_weight"],
                                 feature_extractor=autoencoder.feature_extractor(),
                                 feature_weight=cfg.extra["feature_weight"], seed=cfg.seed)
    trainer.compile(keras.optimizers.Adam(cfg.learning_rate, beta_1=0.5), keras.optimizers.Adam(cfg.learning_rate, beta_1=0.5))
    return trainer
