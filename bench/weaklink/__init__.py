"""A simulated slow link (2G) between a phone and a server, and the benchmark that uses it: Paicha and
pouchdb-server side by side over the same link (`python -m bench.weaklink`, see bench/README.md)."""
from .control import SimulatedLink
from .http_stream import Exchange
from .outage import Cut
from .proxy import LinkProfile, LinkProxy

__all__ = ["SimulatedLink", "LinkProxy", "LinkProfile", "Cut", "Exchange"]
