"""Custom Keras layers, one public layer per file, all registered under package ``keras_audiosr``."""

from keras_audiosr.layers.band_merge import BAND_SINC_ZEROS, BandMerge, band_split_taps
from keras_audiosr.layers.causal_conv2d import CausalConv2D
from keras_audiosr.layers.causal_interpolation import CausalInterpolation
from keras_audiosr.layers.crop_to_length import CropToLength
from keras_audiosr.layers.decibel_gain import DecibelGain
from keras_audiosr.layers.fake_quant import FakeQuant
from keras_audiosr.layers.fake_quant_conv1d import FakeQuantConv1D
from keras_audiosr.layers.interpolation1d import INTERPOLATION_METHODS, Interpolation1D
from keras_audiosr.layers.level_normalization import LevelNormalization
from keras_audiosr.layers.multiscale_conv1d import MultiscaleConv1D
from keras_audiosr.layers.pad_to_multiple import PadToMultiple
from keras_audiosr.layers.phase_shuffle import PhaseShuffle
from keras_audiosr.layers.stft_magnitude import STFTMagnitude, stft_magnitude
from keras_audiosr.layers.subpixel1d import SubPixel1D
from keras_audiosr.layers.superpixel1d import SuperPixel1D

__all__ = [
    "BAND_SINC_ZEROS",
    "BandMerge",
    "band_split_taps",
    "CausalConv2D",
    "CausalInterpolation",
    "CropToLength",
    "DecibelGain",
    "FakeQuant",
    "FakeQuantConv1D",
    "INTERPOLATION_METHODS",
    "Interpolation1D",
    "LevelNormalization",
    "MultiscaleConv1D",
    "PadToMultiple",
    "PhaseShuffle",
    "STFTMagnitude",
    "SubPixel1D",
    "SuperPixel1D",
    "stft_magnitude",
]
