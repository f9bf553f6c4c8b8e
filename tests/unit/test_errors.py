"""errors: a message names settings; the command line may show them as flags."""

import pickle

from dbbench.config.schema import mentioned
from dbbench.errors import ConfigError, mention


def test_a_message_names_the_setting_and_renders_its_flag():
    exc = ConfigError(f"give {mentioned('database', 'database')} or name it in the query")
    assert str(exc) == "give [database] database or name it in the query"
    flags = {"[database] database": "--database"}
    assert (
        exc.render(lambda name: flags.get(name, name)) == "give --database or name it in the query"
    )


def test_a_value_from_elsewhere_is_left_as_written():
    """Only what ``mention`` marked is rendered: a source named in the text stays as it is."""
    exc = ConfigError(f"dbbench.toml: [database] database = 'x'; or give {mention('runner_names')}")
    rendered = exc.render(lambda name: "--" + name)
    assert rendered == "dbbench.toml: [database] database = 'x'; or give --runner_names"


def test_the_same_error_elsewhere_keeps_its_mentions():
    """A worker process sends its error's template; the parent raises it again."""
    sent = ConfigError(f"raise {mentioned('benchmark', 'concurrency')}").template
    assert ConfigError(sent).render(lambda name: "--concurrency") == "raise --concurrency"


def test_the_mentions_survive_a_pickle():
    """A worker process's error reaches the parent whole."""
    exc = pickle.loads(pickle.dumps(ConfigError(f"raise {mentioned('benchmark', 'concurrency')}")))
    assert str(exc) == "raise [benchmark] concurrency"
    assert exc.render(lambda name: "--concurrency") == "raise --concurrency"
