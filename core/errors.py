"""The one base of the errors a person causes (a typed text, a picked value, an uploaded file): pages catch these
and show their message; any other error is a bug, which reaches the app's last-line handler and is logged."""

from __future__ import annotations


class InputError(ValueError):
    """Input the app will not use; the message says why, in words for the person who gave it.

    Each kind of input has its own subclass next to the code that checks it (``core.text.TextError`` and its
    family, ``core.toy.ToyError``, ``core.generation.StepError``, ``core.generation_record.RecordError``,
    ``core.kv_cache.ConfigError``, ``core.training.TrainingError``, ``core.model_io.ModelFileError``), so a page
    catches exactly the errors of what it does. A plain ``ValueError`` from core means a programmer passed a bad
    argument (one no widget lets a person give): it is not caught by a page.

    It subclasses ``ValueError`` so code that checks arguments with ``except ValueError`` keeps working.
    """
