"""Compression of a streamed response (the changes feed) that keeps its flushes.

A whole-response compressor holds everything until the end, which a longpoll or live feed cannot
wait for; so streamed responses are compressed here, piece by piece: every piece the feed writes is
compressed and flushed at once (zlib's Z_SYNC_FLUSH, brotli's flush), so a heartbeat or a change
still reaches the phone the moment it is written, and the client can decode each piece as it comes.
A feed's text is repetitive JSON: gzip makes a first sync's feed about a quarter of its size.
"""
from __future__ import annotations

import zlib
from typing import Callable, Iterable, Iterator

import brotli

# Levels chosen for a server that streams to many phones at once: most of the size for little CPU.
GZIP_LEVEL = 6
BROTLI_QUALITY = 5


def _zlib(wbits: int) -> Callable[[Iterable[bytes]], Iterator[bytes]]:
    def encode(pieces: Iterable[bytes]) -> Iterator[bytes]:
        coder = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, wbits)
        for piece in pieces:
            yield coder.compress(piece) + coder.flush(zlib.Z_SYNC_FLUSH)
        yield coder.flush(zlib.Z_FINISH)
    return encode


def _brotli(pieces: Iterable[bytes]) -> Iterator[bytes]:
    coder = brotli.Compressor(quality=BROTLI_QUALITY)
    for piece in pieces:
        yield coder.process(piece) + coder.flush()
    yield coder.finish()


# HTTP's names for them; "deflate" is the zlib format (RFC 9110), as browsers and Node decode it.
ENCODERS: dict[str, Callable[[Iterable[bytes]], Iterator[bytes]]] = {
    "gzip": _zlib(16 + zlib.MAX_WBITS),
    "deflate": _zlib(zlib.MAX_WBITS),
    "br": _brotli,
}
PREFERENCE = ("gzip", "br", "deflate")  # among those a client accepts equally: gzip is the cheapest


def choose(accept_encoding) -> str | None:
    """The encoding to use for a client's `Accept-Encoding` (werkzeug's parsed header), or None
    for the identity: the best quality the client gives, gzip first among equals."""
    best, best_q = None, 0.0
    for name in PREFERENCE:
        q = accept_encoding[name]  # an explicit entry, or the quality of "*" (0 when absent)
        if q > best_q:
            best, best_q = name, q
    return best


def encode(name: str, pieces: Iterable[bytes]) -> Iterator[bytes]:
    """`pieces` compressed with `name`; each piece comes out as soon as it goes in."""
    return ENCODERS[name](pieces)
