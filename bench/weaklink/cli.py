"""The link simulator on its own, in front of any server, to try a phone by hand:

    .venv/bin/python -m bench.weaklink.cli http://127.0.0.1:5984 --port 5985 [--bandwidth 8000] [--delay 0.25]
                                           [--cut-after-up BYTES | --cut-after-down BYTES | --cut-at S] [--outage 5]

Point the client at http://127.0.0.1:5985. Ctrl-C prints what crossed the link.
"""
from __future__ import annotations

import argparse
import asyncio
import json
from urllib.parse import urlsplit

from .outage import Cut
from .proxy import LinkProfile, LinkProxy


async def serve(args) -> None:
    target = urlsplit(args.target)
    proxy = LinkProxy(target.hostname, target.port or 80, LinkProfile(args.bandwidth, args.bandwidth, args.delay),
                      listen_port=args.port)
    await proxy.start()
    if args.cut_after_up or args.cut_after_down or args.cut_at is not None:
        proxy.plan(Cut(args.outage, args.cut_after_up, args.cut_after_down, args.cut_at))
    print(f"http://127.0.0.1:{proxy.port} -> {args.target}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        counters = proxy.counters()
        await proxy.stop()
        print(json.dumps({k: v for k, v in counters.items() if k != "exchanges"}, indent=2))
        for e in counters["exchanges"]:
            print(f"{e['method']} {e['path']} {e['status']} up {e['request_bytes']} down {e['response_bytes']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bandwidth", type=float, default=8000, help="bytes per second, each way")
    parser.add_argument("--delay", type=float, default=0.25, help="one-way delay, seconds")
    parser.add_argument("--cut-after-up", type=int)
    parser.add_argument("--cut-after-down", type=int)
    parser.add_argument("--cut-at", type=float, help="seconds after start")
    parser.add_argument("--outage", type=float, default=5.0)
    try:
        asyncio.run(serve(parser.parse_args()))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
