"""Training: strategies, callbacks, adversarial model, losses."""
