"""Properties of the read-only guard, over SQL hypothesis makes up (``tests/sql_disguises``):
what the server reads alike, the guard judges alike.

- a read stays a read under any disguise the server reads through (case, blanks,
  comments, an executable comment around it, a ``;`` at the end), and an init_command
  that sets the session's own variables stays allowed;
- anything that changes something (a call of a function with effects, however its name
  is quoted and whatever stands before its "(", a locking or file-writing clause, a write
  statement alone, after a read or in an executable comment) is refused under every
  disguise, as a query and as an init_command;
- on any text at all the guard answers, in one line, and quickly.
"""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dbbench.errors import ConfigError
from dbbench.guard import check_init_command, check_query, is_read_only
from tests.sql_disguises import (
    READS,
    SESSION_SETS,
    changes,
    disguised,
    effect_call,
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(READS).flatmap(disguised))
def test_a_disguised_read_is_a_read(query):
    assert is_read_only(query), query
    check_query(query, allow_writes=False)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(SESSION_SETS).flatmap(disguised))
def test_a_disguised_session_set_is_allowed(command):
    check_init_command(command, allow_writes=False)


@settings(max_examples=300, deadline=None)
@given(changes().flatmap(disguised))
@example("SELECT `GET_LOCK`('x', 0)")
@example("SELECT 1 FOR/**/UPDATE")
def test_a_disguised_change_is_refused(query):
    assert not is_read_only(query), query
    with pytest.raises(ConfigError, match="allow_writes"):
        check_query(query, allow_writes=False)
    with pytest.raises(ConfigError, match="allow_writes"):
        check_init_command(query, allow_writes=False)


@settings(max_examples=200, deadline=None)
@given(
    st.tuples(
        st.sampled_from(("SET @x = {}", "SET SESSION wait_timeout = 60, @x = {}",
                         "SET @x = (SELECT {})", "SET @x = 1 + {}")),
        effect_call(),
    ).map(lambda pair: pair[0].format(pair[1])).flatmap(disguised),
)  # fmt: skip
def test_a_session_set_that_calls_a_function_with_effects_is_refused(command):
    with pytest.raises(ConfigError, match="allow_writes"):
        check_init_command(command, allow_writes=False)


@st.composite
def _widened(draw: st.DrawFn) -> str:
    """A SET of the session's variables with one assignment widened beyond the session."""
    scope = draw(st.sampled_from(("GLOBAL ", "PERSIST ", "PERSIST_ONLY ", "@@global.",
                                  "@@GLOBAL.", "@@`global`.", "@@persist.")))  # fmt: skip
    gap = draw(st.sampled_from(("", " ", "/* x */ ")))
    form = draw(st.sampled_from(("SET {}max_connections = 7", "SET SESSION a = 1, {}b = 2",
                                 "SET @x = 1, {}max_connections = 7")))  # fmt: skip
    return form.format(gap + scope)


@settings(max_examples=150, deadline=None)
@given(_widened().flatmap(disguised))
def test_a_set_beyond_the_session_is_refused(command):
    with pytest.raises(ConfigError, match="allow_writes"):
        check_init_command(command, allow_writes=False)


_sqlish = st.text(
    st.one_of(st.sampled_from(list("'\"`\\;#-/*!+M() \n\t@.")), st.characters()), max_size=80
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_sqlish, st.text()))
def test_any_text_gets_an_answer_in_one_line(text):
    """Whatever the text, the guard answers (no other exception), and a refusal is one line
    that names the setting and says how to run it anyway."""
    for check in (check_query, check_init_command):
        try:
            check(text, False, "the setting")
        except ConfigError as exc:
            message = str(exc)
            assert len(message.splitlines()) == 1, message
            assert message.startswith("the setting = "), message
            assert "allow_writes" in message


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(("SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE",
                     "SET tx_isolation = 3", "SET @@session.tx_isolation = 'READ-COMMITTED' + 2",
                     "SET SESSION transaction_isolation = 'serializable'",
                     "SET time_zone = '+00:00', tx_isolation = @level")).flatmap(disguised)
)  # fmt: skip
def test_an_isolation_level_that_locks_reads_is_refused(command):
    """SERIALIZABLE (by name, or by a number or an expression that may be it) makes every
    read lock the rows it reads, in a session with autocommit off."""
    with pytest.raises(ConfigError, match="allow_writes"):
        check_init_command(command, allow_writes=False)
