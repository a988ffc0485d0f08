"""The typed model (compose.model) as plain JSON data and back.

Used by the project cache: JSON runs no code when read, unlike a pickle, so a cache file
someone else could write is at worst wrong, never a way to run their code. Decoding
follows each dataclass's type hints (tuples, mappings, optional values, nested
dataclasses); one decoder function is built per type, once per process.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Callable

from . import model


def encode(value: Any) -> Any:
    """`value` (a model object, or anything in one) as JSON-ready data."""
    if dataclasses.is_dataclass(value):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [encode(item) for item in value]
    return value


def decode(cls: type, data: Any) -> Any:
    """The model object of type `cls` that `data` (from encode) describes."""
    return _decoder(cls)(data)


def _identity(data: Any) -> Any:
    return data


@lru_cache(maxsize=None)
def _decoder(hint: Any) -> Callable[[Any], Any]:
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint, vars(model))
        fields = [(f.name, _decoder(hints[f.name])) for f in dataclasses.fields(hint)]

        def make(data: dict) -> Any:
            return hint(**{name: decode_field(data[name]) for name, decode_field in fields
                           if name in data})
        return make
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        kinds = [arg for arg in args if arg is not type(None)]
        if len(kinds) == 1:
            inner = _decoder(kinds[0])
            return lambda data: None if data is None else inner(data)
        return _identity  # a choice of plain values
    if origin is tuple:
        inner = _decoder(args[0])
        return lambda data: tuple(inner(item) for item in data)
    if origin in (Mapping, dict, typing.Mapping):
        inner = _decoder(args[1])
        if inner is _identity:
            return dict
        return lambda data: {key: inner(item) for key, item in data.items()}
    return _identity  # str, int, float, bool, Any
