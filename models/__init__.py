"""Registry of the model files the project uses, and their loading."""

from models.registry import REGISTRY, ModelCheck, ModelFile, ModelFileError, model_path, verify

__all__ = ["REGISTRY", "ModelCheck", "ModelFile", "ModelFileError", "model_path", "verify"]
