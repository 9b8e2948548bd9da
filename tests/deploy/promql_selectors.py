"""Finds the vector selectors of a PromQL expression, as Grafana's dashboard linter does
(its target-job and target-instance rules look at every selector of every query).

A small tokenizer, not a full parser: enough for the dashboards' queries, and it fails
loudly on what it does not know rather than guess.
"""

import re

TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<number>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<punct>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}\[\],@])
  | (?P<var>\$\{?\w+(?::\w+)?\}?)
    """,
    re.VERBOSE,
)

# Words that are never metric names where they stand.
KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "inf", "nan",
}
AGGREGATIONS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}
# Followed by a parenthesised list of label names, not of expressions.
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}


def tokens(expr):
    position = 0
    out = []
    while position < len(expr):
        match = TOKEN.match(expr, position)
        if not match:
            raise ValueError(f"cannot read PromQL at {expr[position:position + 20]!r} in {expr!r}")
        kind = match.lastgroup
        if kind != "space":
            out.append((kind, match.group(), match.start(), match.end()))
        position = match.end()
    return out


def selectors(expr):
    """Each vector selector as (metric name, [(label, operator, value)], start, end) where
    start..end spans the name and its braces in `expr`."""
    toks = tokens(expr)
    found = []
    i = 0
    while i < len(toks):
        kind, text, start, end = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if kind == "ident" and text in LABEL_LISTS and nxt and nxt[1] == "(":
            i = _skip_until(toks, i + 1, ")")
            continue
        if kind == "punct" and text == "[":  # a range or subquery: durations, no selector
            i = _skip_until(toks, i, "]")
            continue
        if kind == "punct" and text == "{":  # a selector without a name
            raise ValueError(f"selector without a metric name in {expr!r}")
        if kind == "ident" and text not in KEYWORDS and text not in AGGREGATIONS and not (nxt and nxt[1] == "("):
            matchers = []
            stop = end
            if nxt and nxt[1] == "{":
                close = _skip_until(toks, i + 1, "}") - 1
                matchers = _matchers(toks[i + 2:close], expr)
                stop = toks[close][3]
                i = close
            found.append((text, matchers, start, stop))
        i += 1
    return found


def _skip_until(toks, i, closing):
    while i < len(toks) and toks[i][1] != closing:
        i += 1
    return i + 1


def _matchers(toks, expr):
    out = []
    parts = [t for t in toks if t[1] != ","]
    if len(parts) % 3:
        raise ValueError(f"cannot read the label matchers of {expr!r}")
    for j in range(0, len(parts), 3):
        (k1, label, *_), (k2, op, *_), (k3, value, *_) = parts[j:j + 3]
        if k1 != "ident" or k2 != "punct" or k3 != "string":
            raise ValueError(f"cannot read the label matchers of {expr!r}")
        out.append((label, op, value[1:-1]))
    return out
