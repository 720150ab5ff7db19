"""Model families, one per file, each a functional Keras model wrapped in a class."""

from keras_audiosr.models.audio_edsr import AudioEDSR
from keras_audiosr.models.audio_sr_model import AudioSRModel
from keras_audiosr.models.audio_unet import MODEL_SIZES, AudioUNet
from keras_audiosr.models.audio_unet_gan_critic import AudioUNetGANCritic
from keras_audiosr.models.bwe_resnet import BWEResNet
from keras_audiosr.models.bwe_unet import BWEUNet
from keras_audiosr.models.critic import AudioCritic, split_critic_outputs
from keras_audiosr.models.critic_ensemble import CriticEnsemble
from keras_audiosr.models.mu_gan import MUGANAutoencoder, MUGANDiscriminator, MUGANGenerator
from keras_audiosr.models.multi_period_critic import MultiPeriodCritic
from keras_audiosr.models.multi_resolution_critic import MultiResolutionCritic
from keras_audiosr.models.same_rate import SameRateModel, fold_channels, unfold_channels
from keras_audiosr.models.streaming_bwe import StreamingBWE
from keras_audiosr.models.wavegan_critic import WaveGANCritic

__all__ = ["AudioSRModel", "AudioUNet", "MODEL_SIZES"]
__all__ += ["AudioCritic", "AudioEDSR", "AudioUNetGANCritic", "WaveGANCritic"]
__all__ += ["CriticEnsemble", "MultiPeriodCritic", "MultiResolutionCritic", "split_critic_outputs"]
__all__ += ["MUGANAutoencoder", "MUGANDiscriminator", "MUGANGenerator"]
__all__ += ["StreamingBWE"]
__all__ += ["BWEResNet", "BWEUNet", "SameRateModel", "fold_channels", "unfold_channels"]
