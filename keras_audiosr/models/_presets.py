"""Named sizes shared by every model class: ``cls.presets[size]`` merged with keyword overrides."""


def build_from_size(cls, size, kwargs):
    """``cls(**{**cls.presets[size], **kwargs})``; unknown sizes raise ValueError listing the valid ones."""
    if size not in cls.presets:
        raise ValueError(f"unknown model size {size!r} for {cls.__name__}; choose one of {tuple(cls.presets)}")
    return cls(**{**cls.presets[size], **kwargs})
