"""pgbench's expressions (``\\set NAME EXPR``): parsed once, evaluated per operation.

The grammar and the values are pgbench's (``src/bin/pgbench/exprparse.y``,
``exprscan.l``; ``evalStandardFunc`` and ``evalLazyFunc`` in ``pgbench.c``, PostgreSQL 15
to 18):

* values: 64-bit integers (``int``), doubles (``float``), booleans, NULL (``None``);
  literals ``42``, ``1.5``, ``.5``, ``1e3``, ``true``, ``false``, ``null``; ``:name`` a
  variable;
* operators, loosest first: ``OR``; ``AND``; ``NOT``; ``IS [NOT] NULL|TRUE|FALSE``,
  ``ISNULL``, ``NOTNULL``; ``= <> != < <= > >=`` (not chained); ``| # & << >>`` and
  ``~`` (bitwise, ``#`` is xor); ``+ -``; ``* / %``; unary ``+ -``.  ``CASE WHEN c THEN
  e [WHEN ...] [ELSE e] END``.  Keywords and function names in any case;
* arithmetic: a double operand makes ``+ - * /`` and the comparisons double (IEEE: a
  division by 0.0 is an infinity or NaN); otherwise integer, where an overflow is an error
  (``bigint add out of range``), ``/`` truncates toward zero and ``%`` takes the sign of
  the dividend, as C's (``-7 / 2`` is ``-3``, ``-7 % 2`` is ``-1``), and either by 0 is
  ``division by zero``.  ``%`` is always integer: a double is rounded to the nearest
  integer first, ties to even (``rint``), as every integer argument is;
* NULL: any function or operator given a NULL gives NULL (``IS`` aside); ``AND``/``OR``
  evaluate their right side only when needed;
* functions: ``abs``, ``double``, ``exp``, ``greatest``, ``hash`` (= ``hash_murmur2``),
  ``hash_fnv1a``, ``hash_murmur2`` (seed: a second argument, else ``:default_seed``),
  ``int``, ``least``, ``ln``, ``mod``, ``pi``, ``pow``/``power``, ``random(lb, ub)``,
  ``random_exponential(lb, ub, p)`` (``p > 0``), ``random_gaussian(lb, ub, p)``
  (``p >= 2.0``), ``random_zipfian(lb, ub, p)`` (``1.001 <= p <= 1000``), ``sqrt``.
  pgbench's ``debug`` (it prints) and ``permute`` are refused by name.

The random functions draw from the ``random.Random`` an evaluation is given, one per
client thread, seedable: the same seed gives the same draws.  Their algorithms are
pgbench's (``getrand``, ``getExponentialRand``, ``getGaussianRand``,
``computeIterativeZipfian``), with Python's ``random()`` for ``pg_prng_double``.

A problem is a ``ScriptError`` of one line naming the script's file and line (and, for a
syntax error, the column); one that does not depend on a variable's value (``random(10,
1)``, ``1 / 0``) is found when the script is parsed, not when it runs.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dbbench.errors import ConfigError

#: a value of an expression or of a variable: NULL, a boolean, an int64, a double
Value = None | bool | int | float
#: a compiled expression (``Node.compile``): ``(variables, rng)`` -> its value
Evaluator = Callable[[Mapping[str, Value], random.Random], Value]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_MASK64 = 2**64 - 1

#: pgbench.c MIN_GAUSSIAN_PARAM, MIN_ZIPFIAN_PARAM, MAX_ZIPFIAN_PARAM
MIN_GAUSSIAN_PARAM = 2.0
MIN_ZIPFIAN_PARAM = 1.001
MAX_ZIPFIAN_PARAM = 1000.0

#: pgbench.c's hash constants (FNV-1a, MurmurHash64A)
FNV_PRIME = 0x100000001B3
FNV_OFFSET_BASIS = 0xCBF29CE484222325
MM2_MUL = 0xC6A4A7935BD1E995
MM2_MUL_TIMES_8 = 0x35253C9ADE8F4CA8
MM2_ROT = 47

#: deeper nesting than this is refused (a hostile file must not exhaust the stack)
MAX_DEPTH = 32


class ScriptError(ConfigError):
    """A script dbbench will not run: ``FILE:LINE: what is wrong``, one line; ``where``
    its place (``tx.sql:3``) when a running script raised it (a failed operation's kind
    names it)."""

    def __init__(self, message: str = "", where: str | None = None) -> None:
        super().__init__(message)
        self.where = where


class EvaluationError(Exception):
    """What went wrong evaluating an expression, without where (the caller knows that)."""


# ----------------------------------------------------------------------------- values


def type_name(value: Value) -> str:
    """pgbench's name for a value's type (``valueTypeName``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "int" if isinstance(value, int) else "double"


def _int64(value: int, operation: str) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise EvaluationError(f"bigint {operation} out of range")
    return value


def _wrap64(value: int) -> int:
    """``value`` as C's int64 holds it after unsigned arithmetic (two's complement)."""
    value &= _MASK64
    return value - 2**64 if value > INT64_MAX else value


def to_int(value: Value) -> int:
    """pgbench's ``coerceToInt``: an int as it is, a double rounded half to even (``rint``)."""
    if isinstance(value, bool) or value is None:
        raise EvaluationError(f"cannot coerce {type_name(value)} to int")
    if isinstance(value, int):
        return value
    if math.isnan(value) or not -(2.0**63) <= value < 2.0**63:
        raise EvaluationError(f"double to int overflow for {value:f}")
    return round(value)


def to_double(value: Value) -> float:
    """pgbench's ``coerceToDouble``."""
    if isinstance(value, bool) or value is None:
        raise EvaluationError(f"cannot coerce {type_name(value)} to double")
    return float(value)


def to_bool(value: Value) -> bool:
    """pgbench's ``coerceToBool``: only a boolean is one."""
    if isinstance(value, bool):
        return value
    raise EvaluationError(f"cannot coerce {type_name(value)} to boolean")


def truth(value: Value) -> bool:
    """pgbench's ``valueTruth`` (CASE WHEN): NULL and zero are false."""
    return bool(value) if value is not None else False


def c_div(a: int, b: int) -> int:
    """C's ``a / b`` on int64: truncated toward zero (``-7 / 2`` is ``-3``)."""
    if b == 0:
        raise EvaluationError("division by zero")
    if b == -1:
        return _int64(-a, "div")
    quotient = abs(a) // abs(b)
    return quotient if (a < 0) == (b < 0) else -quotient


def c_mod(a: int, b: int) -> int:
    """C's ``a % b`` on int64: the sign of ``a`` (``-7 % 2`` is ``-1``)."""
    if b == 0:
        raise EvaluationError("division by zero")
    if b == -1:
        return 0
    remainder = abs(a) % abs(b)
    return -remainder if a < 0 else remainder


def _double_div(a: float, b: float) -> float:
    """IEEE division, as C's: by zero, an infinity (or NaN for 0/0), not an exception."""
    if b != 0.0:
        return a / b
    if a == 0.0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


# ----------------------------------------------------------------------------- random


def uniform(rng: random.Random, lb: int, ub: int) -> int:
    """pgbench's ``getrand``: uniform on [lb, ub]."""
    return lb + rng.randrange(ub - lb + 1)


def exponential(rng: random.Random, lb: int, ub: int, parameter: float) -> int:
    """pgbench's ``getExponentialRand``: on [lb, ub], the density at ``ub`` being
    ``exp(-parameter)`` of that at ``lb``.

    Clamped to ``ub``: with a small parameter ``cut + (1 - cut) * u`` rounds to ``cut``
    for the smallest draws, which makes pgbench's own result ``ub + 1`` now and then."""
    cut = math.exp(-parameter)
    u = 1.0 - rng.random()  # (0, 1]
    draw = -math.log(cut + (1.0 - cut) * u) / parameter
    return min(ub, lb + int((ub - lb + 1) * draw))


def normal(rng: random.Random) -> float:
    """pgbench's ``pg_prng_double_normal``: Box-Muller's basic form, one value."""
    u1 = 1.0 - rng.random()  # (0, 1]: log(0) never taken
    u2 = 1.0 - rng.random()
    return math.sqrt(-2.0 * math.log(u1)) * math.sin(2.0 * math.pi * u2)


def gaussian(rng: random.Random, lb: int, ub: int, parameter: float) -> int:
    """pgbench's ``getGaussianRand``: on [lb, ub], the middle, ``parameter`` standard
    deviations either side of it; a draw outside those is drawn again."""
    while True:
        deviation = normal(rng)
        if -parameter <= deviation < parameter:
            break
    draw = (deviation + parameter) / (parameter * 2.0)  # [0, 1)
    return min(ub, lb + int((ub - lb + 1) * draw))


def zipfian(rng: random.Random, lb: int, ub: int, parameter: float) -> int:
    """pgbench's ``getZipfianRand`` (``computeIterativeZipfian``): Zipf's law on [lb, ub],
    ``lb`` the likeliest, by Devroye's rejection method (Non-Uniform Random Variate
    Generation, 1986, p. 550-551).  Slow for a parameter near 1.001, as pgbench's."""
    n = ub - lb + 1
    if n <= 1:
        return lb
    s = parameter
    b = 2.0 ** (s - 1.0)
    while True:
        u = rng.random()
        v = rng.random()
        if u == 0.0:  # C's pow(0, negative) is infinite: rejected below
            continue
        try:
            x = math.floor(u ** (-1.0 / (s - 1.0)))
        except OverflowError:  # likewise infinite in C
            continue
        t = (1.0 + 1.0 / x) ** (s - 1.0)
        if v * x * (t - 1.0) / (b - 1.0) <= t / b and x <= n:
            return lb - 1 + int(x)


def hash_fnv1a(value: int, seed: int) -> int:
    """pgbench's ``getHashFnv1a``: FNV-1a over the eight bytes of ``value``, low first."""
    result = FNV_OFFSET_BASIS ^ (seed & _MASK64)
    for _ in range(8):
        octet = value & 0xFF
        value >>= 8  # arithmetic, as C's on a negative int64
        result = ((result ^ octet) * FNV_PRIME) & _MASK64
    return _wrap64(result)


def hash_murmur2(value: int, seed: int) -> int:
    """pgbench's ``getHashMurmur2``: MurmurHash64A of one 64-bit word."""
    result = (seed & _MASK64) ^ MM2_MUL_TIMES_8
    k = (value & _MASK64) * MM2_MUL & _MASK64
    k ^= k >> MM2_ROT
    k = k * MM2_MUL & _MASK64
    result = (result ^ k) * MM2_MUL & _MASK64
    result ^= result >> MM2_ROT
    result = result * MM2_MUL & _MASK64
    result ^= result >> MM2_ROT
    return _wrap64(result)


def _random_range(lb: Value, ub: Value) -> tuple[int, int]:
    low, high = to_int(lb), to_int(ub)
    if low > high:
        raise EvaluationError("empty range given to random")
    if high - low + 1 > INT64_MAX:
        raise EvaluationError("random range is too large")
    return low, high


def check_random(name: str, args: list[Value]) -> tuple[int, int, float]:
    """The range and parameter of a call of random function ``name``, checked as pgbench
    checks them; an ``EvaluationError`` in pgbench's words when they are wrong."""
    low, high = _random_range(args[0], args[1])
    if name == "random":
        return low, high, 0.0
    parameter = to_double(args[2])
    if name == "random_gaussian" and not parameter >= MIN_GAUSSIAN_PARAM:
        raise EvaluationError(
            f"gaussian parameter must be at least {MIN_GAUSSIAN_PARAM:f} (not {parameter:f})"
        )
    if name == "random_zipfian" and not MIN_ZIPFIAN_PARAM <= parameter <= MAX_ZIPFIAN_PARAM:
        raise EvaluationError(
            f"zipfian parameter must be in range [{MIN_ZIPFIAN_PARAM:.3f}, "
            f"{MAX_ZIPFIAN_PARAM:.0f}] (not {parameter:f})"
        )
    if name == "random_exponential" and not parameter > 0.0:
        raise EvaluationError(
            f"exponential parameter must be greater than zero (not {parameter:f})"
        )
    return low, high, parameter


_DRAWS: dict[str, Callable[[random.Random, int, int, float], int]] = {
    "random": lambda rng, lb, ub, _: uniform(rng, lb, ub),
    "random_exponential": exponential,
    "random_gaussian": gaussian,
    "random_zipfian": zipfian,
}


# ----------------------------------------------------------------------------- functions


def _arithmetic(op: str, a: Value, b: Value) -> Value:
    if op != "%" and (isinstance(a, float) or isinstance(b, float)):
        x, y = to_double(a), to_double(b)
        return {
            "+": lambda: x + y,
            "-": lambda: x - y,
            "*": lambda: x * y,
            "/": lambda: _double_div(x, y),
            "=": lambda: x == y,
            "<>": lambda: x != y,
            "<": lambda: x < y,
            "<=": lambda: x <= y,
        }[op]()
    i, j = to_int(a), to_int(b)
    if op == "+":
        return _int64(i + j, "add")
    if op == "-":
        return _int64(i - j, "sub")
    if op == "*":
        return _int64(i * j, "mul")
    if op == "/":
        return c_div(i, j)
    if op == "%":
        return c_mod(i, j)
    return {"=": i == j, "<>": i != j, "<": i < j, "<=": i <= j}[op]


def _bitwise(op: str, a: Value, b: Value) -> int:
    i, j = to_int(a), to_int(b)
    if op == "&":
        return i & j
    if op == "|":
        return i | j
    if op == "#":
        return i ^ j
    if not 0 <= j < 64:  # undefined in C; pgbench's result is whatever the CPU gives
        raise EvaluationError(f"shift by {j} is out of range (0 to 63)")
    return _wrap64(i << j) if op == "<<" else i >> j


def _c_math(function: Callable[[float], float], x: float) -> float:
    """``function(x)`` with C's answers where Python raises: NaN outside the domain,
    -inf at a pole (``ln(0)``), inf on overflow (``exp(1000)``)."""
    try:
        return function(x)
    except OverflowError:
        return math.inf
    except ValueError:
        return -math.inf if x == 0.0 else math.nan


def _pow(x: float, y: float) -> float:
    try:
        return math.pow(x, y)
    except OverflowError:
        return math.inf
    except ValueError:
        return math.inf if x == 0.0 else math.nan


def _abs(value: Value) -> Value:
    if isinstance(value, bool):
        raise EvaluationError("cannot coerce boolean to int")
    return _int64(abs(value), "abs") if isinstance(value, int) else abs(value)


def _extremum(pick: Callable, args: list[Value]) -> Value:
    if any(isinstance(a, float) for a in args):
        return pick(to_double(a) for a in args)
    return pick(to_int(a) for a in args)


def _is(a: Value, b: Value) -> bool:
    """pgbench's ``IS``: the same type and the same truth (NULL IS NULL)."""
    return type_name(a) == type_name(b) and bool(a) == bool(b)


#: name -> (argument counts allowed, implementation); None: any count of at least one
_FUNCTIONS: dict[str, tuple[tuple[int, ...] | None, Callable[..., Value]]] = {
    "abs": ((1,), _abs),
    "double": ((1,), to_double),
    "exp": ((1,), lambda x: _c_math(math.exp, to_double(x))),
    "greatest": (None, lambda *args: _extremum(max, list(args))),
    "hash": ((1, 2), lambda v, s: hash_murmur2(to_int(v), to_int(s))),
    "hash_fnv1a": ((1, 2), lambda v, s: hash_fnv1a(to_int(v), to_int(s))),
    "hash_murmur2": ((1, 2), lambda v, s: hash_murmur2(to_int(v), to_int(s))),
    "int": ((1,), to_int),
    "least": (None, lambda *args: _extremum(min, list(args))),
    "ln": ((1,), lambda x: _c_math(math.log, to_double(x))),
    "mod": ((2,), lambda a, b: _arithmetic("%", a, b)),
    "pi": ((0,), lambda: math.pi),
    "pow": ((2,), lambda x, y: _pow(to_double(x), to_double(y))),
    "power": ((2,), lambda x, y: _pow(to_double(x), to_double(y))),
    "sqrt": ((1,), lambda x: _c_math(math.sqrt, to_double(x))),
    "random": ((2,), None),  # type: ignore[dict-item]  # drawn by Call.evaluate
    "random_exponential": ((3,), None),  # type: ignore[dict-item]
    "random_gaussian": ((3,), None),  # type: ignore[dict-item]
    "random_zipfian": ((3,), None),  # type: ignore[dict-item]
}
#: pgbench's functions dbbench does not run, and why
_REFUSED = {
    "debug": "it prints to standard error in the middle of a measurement",
    "permute": "dbbench does not implement it",
}
_HASHES = ("hash", "hash_fnv1a", "hash_murmur2")


# ----------------------------------------------------------------------------- the tree


class Node:
    """An expression: ``evaluate(variables, rng)`` gives its value."""

    #: the offset in the expression's text where it starts (for a message's column)
    offset: int

    def evaluate(self, variables: Mapping[str, Value], rng: random.Random) -> Value:
        raise NotImplementedError

    def variables(self) -> list[tuple[str, int]]:
        """Every variable it reads, with its offset, in order."""
        return []

    def compile(self) -> Evaluator:
        """``evaluate`` as a function of ``(variables, rng)``, what can be decided from
        the tree alone decided once: the same values, the same errors."""
        return self.evaluate

    @property
    def constant(self) -> bool:
        """True when its value depends on no variable and no draw."""
        return False


@dataclass(frozen=True)
class Constant(Node):
    value: Value
    offset: int = 0

    def evaluate(self, variables: Mapping[str, Value], rng: random.Random) -> Value:
        return self.value

    def compile(self) -> Evaluator:
        value = self.value
        return lambda variables, rng: value

    @property
    def constant(self) -> bool:
        return True


@dataclass(frozen=True)
class Variable(Node):
    name: str
    offset: int = 0

    def evaluate(self, variables: Mapping[str, Value], rng: random.Random) -> Value:
        try:
            return variables[self.name]
        except KeyError:
            raise EvaluationError(f'undefined variable "{self.name}"') from None

    def variables(self) -> list[tuple[str, int]]:
        return [(self.name, self.offset)]

    def compile(self) -> Evaluator:
        name = self.name

        def read(variables: Mapping[str, Value], rng: random.Random) -> Value:
            try:
                return variables[name]
            except KeyError:
                raise EvaluationError(f'undefined variable "{name}"') from None

        return read


@dataclass(frozen=True)
class Call(Node):
    """A function or an operator (``+`` is ``Call("+", (a, b))``), as pgbench has both."""

    name: str
    args: tuple[Node, ...]
    offset: int = 0

    def evaluate(self, variables: Mapping[str, Value], rng: random.Random) -> Value:
        name = self.name
        if name in ("and", "or"):
            return self._lazy(variables, rng)
        if name == "case":
            return self._case(variables, rng)
        return self._apply([arg.evaluate(variables, rng) for arg in self.args], rng)

    def _apply(self, values: list[Value], rng: random.Random) -> Value:
        """The call on its arguments' ``values`` (all but ``and``, ``or``, ``case``)."""
        name = self.name
        if name == "is":
            return _is(values[0], values[1])
        if any(v is None for v in values):
            return None
        if name in _DRAWS:
            low, high, parameter = check_random(name, values)
            return _DRAWS[name](rng, low, high, parameter)
        if name == "not":
            return not to_bool(values[0])
        if name in ("+", "-", "*", "/", "%", "=", "<>", "<", "<="):
            return _arithmetic(name, values[0], values[1])
        if name in ("&", "|", "#", "<<", ">>"):
            return _bitwise(name, values[0], values[1])
        return _FUNCTIONS[name][1](*values)

    def compile(self) -> Evaluator:
        if self.name in ("and", "or", "case"):
            return self.evaluate
        args = tuple(arg.compile() for arg in self.args)
        if self.name == "random":
            return self._compiled_random(*args)
        apply = self._apply

        def call(variables: Mapping[str, Value], rng: random.Random) -> Value:
            return apply([arg(variables, rng) for arg in args], rng)

        return call

    def _compiled_random(self, lb: Evaluator, ub: Evaluator) -> Evaluator:
        """``random(lb, ub)``, its range checked once when both bounds are constants
        (and the check passes: a failing one fails at each draw, as ``evaluate``)."""
        low_node, high_node = self.args
        if low_node.constant and high_node.constant:
            try:
                a, b = lb({}, None), ub({}, None)  # type: ignore[arg-type]
                bounds = None if a is None or b is None else _random_range(a, b)
            except EvaluationError:
                bounds = None
            if bounds is not None:
                low, high = bounds
                span = high - low + 1
                return lambda variables, rng: low + rng.randrange(span)

        def draw(variables: Mapping[str, Value], rng: random.Random) -> Value:
            a, b = lb(variables, rng), ub(variables, rng)
            if a is None or b is None:
                return None
            low, high = _random_range(a, b)
            return low + rng.randrange(high - low + 1)

        return draw

    def _lazy(self, variables: Mapping[str, Value], rng: random.Random) -> Value:
        left = self.args[0].evaluate(variables, rng)
        if left is None:
            return None
        if to_bool(left) == (self.name == "or"):  # decided by the left side
            return self.name == "or"
        right = self.args[1].evaluate(variables, rng)
        return None if right is None else to_bool(right)

    def _case(self, variables: Mapping[str, Value], rng: random.Random) -> Value:
        *pairs, otherwise = self.args
        for i in range(0, len(pairs), 2):
            if truth(pairs[i].evaluate(variables, rng)):
                return pairs[i + 1].evaluate(variables, rng)
        return otherwise.evaluate(variables, rng)

    def variables(self) -> list[tuple[str, int]]:
        return [found for arg in self.args for found in arg.variables()]

    @property
    def constant(self) -> bool:
        return self.name not in _DRAWS and all(arg.constant for arg in self.args)


# ----------------------------------------------------------------------------- parsing


class ExpressionSyntaxError(Exception):
    """A bad expression: ``message`` and the offset in its text where it is."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<variable>:[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|<>|!=|<<|>>|[-+*/%()<>=&|#~,])
    """,
    re.VERBOSE,
)
_KEYWORDS = frozenset(
    ["and", "or", "not", "is", "isnull", "notnull", "null", "true", "false"]
    + ["case", "when", "then", "else", "end"]
)


@dataclass(frozen=True)
class _Token:
    kind: str  # number, variable, word (a keyword, lower case), name (a function), op, end
    text: str
    offset: int


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ExpressionSyntaxError(f"unexpected character {text[position]!r}", position)
        kind = match.lastgroup or ""
        if kind == "word":
            lowered = match.group().lower()
            tokens.append(
                _Token("word", lowered, position)
                if lowered in _KEYWORDS
                else _Token("name", lowered, position)
            )
        elif kind != "space":
            tokens.append(_Token(kind, match.group(), position))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    """Recursive descent over exprparse.y's precedence table."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.position]

    def take(self) -> _Token:
        token = self.token
        self.position += 1
        return token

    def accept(self, kind: str, *texts: str) -> _Token | None:
        token = self.token
        if token.kind == kind and (not texts or token.text in texts):
            self.position += 1
            return token
        return None

    def expect(self, kind: str, text: str, what: str) -> None:
        if self.accept(kind, text) is None:
            self.fail(f"expected {what}")

    def fail(self, message: str) -> None:
        token = self.token
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        raise ExpressionSyntaxError(f"{message}, found {found}", token.offset)

    def parse(self) -> Node:
        node = self.expression()
        if self.token.kind != "end":
            self.fail("syntax error")
        return node

    def expression(self) -> Node:
        return self.nested(self._or)

    def nested(self, parse: Callable[[], Node]) -> Node:
        """``parse()`` one level deeper: refused beyond ``MAX_DEPTH`` levels."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionSyntaxError(
                f"expression nested too deeply (more than {MAX_DEPTH} levels)", self.token.offset
            )
        node = parse()
        self.depth -= 1
        return node

    def _binary(self, operand: Callable[[], Node], kind: str, ops: tuple[str, ...]) -> Node:
        node = operand()
        while (token := self.accept(kind, *ops)) is not None:
            node = _operator(token, node, operand())
        return node

    def _or(self) -> Node:
        return self._binary(self._and, "word", ("or",))

    def _and(self) -> Node:
        return self._binary(self._not, "word", ("and",))

    def _not(self) -> Node:
        token = self.accept("word", "not")
        if token is not None:
            return Call("not", (self.nested(self._not),), token.offset)
        return self._is()

    def _is(self) -> Node:
        node = self._comparison()
        token = self.accept("word", "is", "isnull", "notnull")
        if token is None:
            return node
        if token.text in ("isnull", "notnull"):
            test: Node = Call("is", (node, Constant(None, token.offset)), token.offset)
            return Call("not", (test,), token.offset) if token.text == "notnull" else test
        negated = self.accept("word", "not") is not None
        value = self.accept("word", "null", "true", "false")
        if value is None:
            self.fail("expected NULL, TRUE or FALSE after IS")
        assert value is not None
        constant = {"null": None, "true": True, "false": False}[value.text]
        test = Call("is", (node, Constant(constant, value.offset)), token.offset)
        return Call("not", (test,), token.offset) if negated else test

    def _comparison(self) -> Node:
        node = self._bits()
        token = self.accept("op", "=", "<>", "!=", "<", "<=", ">", ">=")
        if token is None:
            return node
        node = _operator(token, node, self._bits())
        if self.token.kind == "op" and self.token.text in ("=", "<>", "!=", "<", "<=", ">", ">="):
            self.fail("comparisons do not chain (write a < b AND b < c)")
        return node

    def _bits(self) -> Node:
        return self._binary(self._additive, "op", ("&", "|", "#", "<<", ">>"))

    def _additive(self) -> Node:
        return self._binary(self._multiplicative, "op", ("+", "-"))

    def _multiplicative(self) -> Node:
        return self._binary(self._unary, "op", ("*", "/", "%"))

    def _unary(self) -> Node:
        token = self.accept("op", "+", "-", "~")
        if token is None:
            return self._primary()
        if token.text == "~":  # exprparse.y: ~x is (~0) # x, at the bitwise operators' level
            operand = self.nested(self._additive)
            return Call("#", (Constant(-1, token.offset), operand), token.offset)
        if token.text == "+":
            return self.nested(self._unary)
        if self.token.kind == "number" and self.token.text == str(-INT64_MIN):
            self.take()  # -9223372036854775808: the one integer only its negation reaches
            return Constant(INT64_MIN, token.offset)
        return Call("-", (Constant(0, token.offset), self.nested(self._unary)), token.offset)

    def _primary(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return _number(token)
        if token.kind == "variable":
            return Variable(token.text[1:], token.offset)
        if token.kind == "op" and token.text == "(":
            node = self.expression()
            self.expect("op", ")", "')'")
            return node
        if token.kind == "word":
            if token.text in ("true", "false", "null"):
                constant = {"true": True, "false": False, "null": None}[token.text]
                return Constant(constant, token.offset)
            if token.text == "case":
                return self._case(token)
        if token.kind == "name":
            return self._call(token)
        self.position -= 1
        self.fail("syntax error")
        raise AssertionError  # fail raised

    def _case(self, start: _Token) -> Node:
        args: list[Node] = []
        while self.accept("word", "when") is not None:
            args.append(self.expression())
            self.expect("word", "then", "THEN")
            args.append(self.expression())
        if not args:
            self.fail("expected WHEN after CASE")
        otherwise: Node = Constant(None, start.offset)
        if self.accept("word", "else") is not None:
            otherwise = self.expression()
        self.expect("word", "end", "END")
        return Call("case", (*args, otherwise), start.offset)

    def _call(self, name: _Token) -> Node:
        if not (self.token.kind == "op" and self.token.text == "("):
            raise ExpressionSyntaxError(
                f"unexpected word {name.text!r} (a variable is written :{name.text}, a "
                f"function call {name.text}(...))",
                name.offset,
            )
        if name.text in _REFUSED:
            raise ExpressionSyntaxError(
                f"function {name.text}() is not supported ({_REFUSED[name.text]})", name.offset
            )
        if name.text not in _FUNCTIONS:
            raise ExpressionSyntaxError(f"unknown function {name.text}()", name.offset)
        self.take()  # (
        args: list[Node] = []
        if self.accept("op", ")") is None:
            args.append(self.expression())
            while self.accept("op", ",") is not None:
                args.append(self.expression())
            self.expect("op", ")", "',' or ')'")
        counts = _FUNCTIONS[name.text][0]
        if counts is None and not args:
            raise ExpressionSyntaxError(f"{name.text}() needs at least one argument", name.offset)
        if counts is not None and len(args) not in counts:
            wanted = " or ".join(str(c) for c in counts)
            raise ExpressionSyntaxError(
                f"{name.text}() takes {wanted} argument{'' if counts == (1,) else 's'}, "
                f"not {len(args)}",
                name.offset,
            )
        if name.text in _HASHES and len(args) == 1:
            args.append(Variable("default_seed", name.offset))  # pgbench's default seed
        return Call(name.text, tuple(args), name.offset)


def _operator(token: _Token, left: Node, right: Node) -> Node:
    op = {"!=": "<>", "and": "and", "or": "or"}.get(token.text, token.text)
    if op in (">", ">="):  # exprparse.y: a > b is b < a
        return Call("<" if op == ">" else "<=", (right, left), token.offset)
    return Call(op, (left, right), token.offset)


def _number(token: _Token) -> Constant:
    text = token.text
    if any(c in text for c in ".eE"):
        value = float(text)
        if math.isinf(value):
            raise ExpressionSyntaxError(f"double constant {text} is out of range", token.offset)
        return Constant(value, token.offset)
    if len(text.lstrip("0")) > 19 or int(text) > INT64_MAX:
        raise ExpressionSyntaxError(f"bigint constant {text} is out of range", token.offset)
    return Constant(int(text), token.offset)


def parse_expression(text: str) -> Node:
    """The expression in ``text``; an ``ExpressionSyntaxError`` (message, offset) if none."""
    if not text.strip():
        raise ExpressionSyntaxError("an expression is missing", len(text))
    return _Parser(text).parse()


def fold_check(node: Node) -> None:
    """Evaluate what in ``node`` depends on no variable nor draw, and check each random
    call's constant arguments: an ``ExpressionSyntaxError`` at the offset of the largest
    such part that would fail every time it ran (``1 / 0``, ``random(10, 1)``)."""
    if not isinstance(node, Call):
        return
    try:
        if node.constant:  # whole: a lazy side only as the evaluation takes it
            node.evaluate({}, random.Random(0))
            return
        if node.name in _DRAWS and all(arg.constant for arg in node.args):
            values = [arg.evaluate({}, random.Random(0)) for arg in node.args]
            if not any(v is None for v in values):
                check_random(node.name, values)
    except EvaluationError as exc:
        raise ExpressionSyntaxError(str(exc), node.offset) from None
    # a side AND, OR or CASE may not evaluate is no error until it does
    for arg in node.args[:1] if node.name in ("and", "or", "case") else node.args:
        fold_check(arg)


__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_ZIPFIAN_PARAM",
    "MIN_GAUSSIAN_PARAM",
    "MIN_ZIPFIAN_PARAM",
    "Call",
    "Constant",
    "EvaluationError",
    "ExpressionSyntaxError",
    "Node",
    "ScriptError",
    "Value",
    "Variable",
    "c_div",
    "c_mod",
    "check_random",
    "exponential",
    "fold_check",
    "gaussian",
    "hash_fnv1a",
    "hash_murmur2",
    "parse_expression",
    "to_int",
    "uniform",
    "zipfian",
]
