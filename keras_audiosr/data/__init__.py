"""Data: corpus readers, splits, patches, tf.data pipelines, embedded default corpus."""
