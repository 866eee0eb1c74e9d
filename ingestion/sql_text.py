"""Quoting for the SQL this package writes from file-supplied names and values.

Column names, keys and file paths come from the files being loaded, so they are always quoted
rather than trusted to be plain identifiers.
"""

from __future__ import annotations


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
