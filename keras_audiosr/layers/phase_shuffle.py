"""PhaseShuffle: WaveGAN's random time shift of critic activations (Donahue et al. 2019)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_audiosr")
class PhaseShuffle(keras.layers.Layer):
    """Shifts each example's activations by a random integer in ``-n..n`` steps at training time.

    ``out[b, t] = x[b, reflect(t - s_b)]`` with one shift ``s_b`` drawn uniformly per example, and
    ``reflect`` the mirror extension that excludes the edge sample (numpy's ``"reflect"`` mode), so
    the length is unchanged and no zeros are introduced. This stops a critic from keying on the
    exact phase of periodic up-sampling artefacts. At inference (``training`` false) it is the
    identity. WaveGAN draws one shift per batch; here each example gets its own.

    Indices are mirrored arithmetically rather than by padding, so any length works (also
    lengths <= n, where mirroring wraps more than once) with a dynamic batch in graph mode.

    Args:
        n: Largest shift in steps (0 makes the layer the identity).
        seed: Optional integer seed for reproducible shifts.
    """

    def __init__(self, n=2, seed=None, **kwargs):
        super().__init__(**kwargs)
        n = int(n)
        if n < 0:
            raise ValueError(f"PhaseShuffle n must be a non-negative integer, got {n}")
        self.n = n
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.n == 0:
            return inputs
        batch, steps = ops.shape(inputs)[0], ops.shape(inputs)[1]
        shifts = keras.random.randint((batch, 1), -self.n, self.n + 1, seed=self.seed_generator, dtype="int32")
        steps = ops.cast(steps, "int32")
        source = ops.arange(steps, dtype="int32")[None, :] - shifts
        period = ops.maximum(2 * (steps - 1), 1)
        source = ops.mod(ops.abs(source), period)
        source = ops.where(source >= steps, period - source, source)
        index = ops.broadcast_to(source[:, :, None], ops.shape(inputs))
        return ops.take_along_axis(inputs, index, axis=1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"n": self.n, "seed": self.seed})
        return config
