"""Model families (one per file), each a functional Keras model wrapped in a class."""
