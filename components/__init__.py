"""Reusable UI pieces: figure builders, token renderers, the model picker and the one cached-resource wrapper."""
