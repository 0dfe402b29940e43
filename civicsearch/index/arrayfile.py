"""A file of named numpy arrays: a magic, a JSON header (the caller's fields and each array's
name, type and shape), then the arrays, each padded to 8 bytes (numpy copies a misaligned
array before it searches it); read back memory-mapped, so a reader touches only the pages
it uses. A segment writer's spilled runs (:mod:`civicsearch.index.runs`) and the
did-you-mean's words (:mod:`civicsearch.index.wordlist`) are such files.
"""

from __future__ import annotations

import json
import mmap
import struct
from typing import Any, BinaryIO

import numpy as np

from civicsearch.index.postarrays import padding, write_part

_LENGTH = struct.Struct("<I")


def write(out: BinaryIO, magic: bytes, header: dict[str, Any], arrays: list[tuple[str, np.ndarray]]) -> None:
    """Write ``arrays`` (name, array) after ``magic`` and ``header`` (JSON-able; ``arrays`` is the file's own key)."""
    encoded = json.dumps({**header, "arrays": [[name, a.dtype.str, list(a.shape)] for name, a in arrays]})
    data = encoded.encode("utf-8")
    write_part(out, magic + _LENGTH.pack(len(data)) + data)
    for _, a in arrays:
        write_part(out, np.ascontiguousarray(a).reshape(-1))  # the header keeps the shape


def read(path: Any, magic: bytes, what: str) -> tuple[dict[str, Any], dict[str, np.ndarray], mmap.mmap]:
    """The header, the arrays (by name, views of the file's map) and the map of a file
    :func:`write` wrote; ``ValueError`` saying the file is not ``what`` where it is not one, or
    is cut short (``OSError`` where it cannot be read)."""
    with open(path, "rb") as f:
        try:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file
            raise ValueError(f"{path} is not {what}") from None
    try:
        if data[: len(magic)] != magic:
            raise ValueError("another magic")
        (size,) = _LENGTH.unpack_from(data, len(magic))
        at = len(magic) + _LENGTH.size
        header = json.loads(data[at: at + size])
        at += size + padding(at + size)
        arrays = {}
        for name, dtype, shape in header.pop("arrays"):
            a = np.frombuffer(data, dtype=dtype, count=int(np.prod(shape)), offset=at).reshape(shape)
            arrays[name] = a
            at += a.nbytes + padding(a.nbytes)
        if at != len(data):
            raise ValueError("a length that is not its arrays'")
    except (ValueError, KeyError, TypeError, struct.error) as e:
        raise ValueError(f"{path} is not {what} ({e})") from None
    return header, arrays, data
