"""logs.configure: the library loggers silenced once, however often it is called."""

import logging

import pytest

from dbbench import logs


@pytest.fixture
def library_loggers():
    loggers = [logging.getLogger(name) for name in logs.LIBRARY_LOGGERS]
    saved = [(logger.handlers[:], logger.propagate) for logger in loggers]
    yield loggers
    for logger, (handlers, propagate) in zip(loggers, saved, strict=True):
        logger.handlers[:] = handlers
        logger.propagate = propagate


def test_configure_is_idempotent(library_loggers):
    for _ in range(3):
        logs.configure(debug=False)
    for logger in library_loggers:
        assert sum(isinstance(h, logging.NullHandler) for h in logger.handlers) == 1
        assert not logger.propagate
    logs.configure(debug=True)
    for logger in library_loggers:
        assert not any(isinstance(h, logging.NullHandler) for h in logger.handlers)
        assert logger.propagate
