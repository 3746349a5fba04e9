# Copyright (c) mtlpartial contributors. All rights reserved.
"""A plain-text table for logs (no extra dependency)."""
import math
from typing import Any, List, Sequence


def format_value(value: Any, digits: int = 4) -> str:
    """Numbers with ``digits`` significant decimals, NaN as 'nan'."""
    if isinstance(value, float):
        if math.isnan(value):
            return 'nan'
        return f'{value:.{digits}f}'
    return str(value)


def text_table(header: Sequence[str], rows: Sequence[Sequence[Any]],
               title: str = '') -> str:
    """Render ``rows`` under ``header`` as an aligned ASCII table.

    Examples:
        >>> print(text_table(['a', 'b'], [[1, 2.0]]))
        +---+--------+
        | a | b      |
        +---+--------+
        | 1 | 2.0000 |
        +---+--------+
    """
    cells: List[List[str]] = [[str(h) for h in header]]
    cells += [[format_value(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    rule = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'

    def line(row: Sequence[str]) -> str:
        return '| ' + ' | '.join(c.ljust(w) for c, w in zip(row, widths)) \
            + ' |'

    out = [title] if title else []
    out += [rule, line(cells[0]), rule]
    out += [line(r) for r in cells[1:]]
    out.append(rule)
    return '\n'.join(out)
