"""Fine-tune a pre-trained transformer with the Hugging Face `Trainer`."""

__version__ = "0.1.0"
