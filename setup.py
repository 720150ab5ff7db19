"""keras_audiosr: neural audio super-resolution with Keras 3, trained on GPUs, shipped as LiteRT."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

setup(
    name="keras_audiosr",
    version="0.1.0",
    description="Neural audio super-resolution (bandwidth extension) in Keras 3 with a LiteRT edge path",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    # One installed package: the repository's recipes/ and edge/ are entry points of a clone (python -m ...),
    # which wheel users reach as keras-audiosr train/export or python -m keras_audiosr.<...>.
    packages=find_packages(include=["keras_audiosr", "keras_audiosr.*"]),
    # The embedded real-speech corpus and the shipped models (keras_audiosr.pretrained: weights, streaming
    # .tflite files, their JSON sidecars and golden fixtures, model cards) travel inside the wheel.
    package_data={
        "keras_audiosr": [
            "data/embedded/*/*.md",
            "data/embedded/*/*.csv",
            "data/embedded/*/*/*.flac",
            *(f"pretrained/*/*.{ext}" for ext in ("keras", "tflite", "json", "npy", "npz", "md")),
            "pretrained/card_template.md",  # the model card template (keras_audiosr.pretrained.card)
        ]
    },
    # A plain install is the light runtime: the CLI and keras_audiosr.streaming run the shipped models' int8
    # streams through LiteRT (tqdm comes with ai-edge-litert anyway; the package uses it directly).
    install_requires=[
        "numpy>=1.26,<3",
        "scipy>=1.11,<2",
        "soundfile>=0.12,<1",
        "ai-edge-litert>=2.0,<3",
        "tqdm>=4.60,<5",
    ],
    extras_require={
        # Training, export and the Keras form of the models. tensorflow-io and tensorflow-model-optimization
        # are deliberately absent: neither works with TF 2.21 / Keras 3 (see docs, "Why not ...").
        "train": ["tensorflow>=2.21,<2.22", "keras>=3.10,<4", "tensorboard>=2.20,<3", "matplotlib>=3.7,<4"],
        # PESQ-WB, ViSQOL (visqol-python: pure Python, bundled models) and DNSMOS P.808 (speechmos's ONNX model;
        # it imports librosa and requests without declaring them). Nothing downloads at run time.
        "eval": [
            "pesq>=0.0.4,<0.1",
            "visqol-python>=3.8,<4",
            "speechmos>=0.0.1,<0.1",
            "onnxruntime>=1.17,<2",
            "librosa>=0.10,<1",
            "requests>=2,<3",
        ],
        "dev": ["pytest>=8,<10", "pytest-timeout>=2.2,<3", "ruff>=0.17,<0.18"],
        "edge": [],  # LiteRT is in every install now; the name stays for older commands
    },
    entry_points={"console_scripts": ["keras-audiosr=keras_audiosr.cli:main"]},
)
