"""Separate hosts on one machine: a Linux network namespace per host, each with one veth link to a
switch (a bridge in a namespace of its own, so the machine's own network and firewall are never
touched), and a control link from the machine (the operator's console: the tests, `psql`, checks).

    net = Network.create(["proxy", "web1", ...])    # needs root
    net.address("web1") -> "10.231.N.11"
    net.popen("web1", [...])                         # a process on that host
    net.cut("web1") / net.mend("web1")               # the host's link down / up
    net.close()                                      # every process started here, then the namespaces
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field

HOST_NUMBERS = {"proxy": 10, "web1": 11, "web2": 12, "web3": 13, "pg1": 21, "pg2": 22, "phones": 50}


def _ip(*args: str, ns: str | None = None) -> None:
    cmd = ["ip", *(["-n", ns] if ns else []), *args]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {done.stderr.strip()}")


@dataclass
class Network:
    tag: str
    subnet: str  # "10.231.N"
    hosts: list[str]
    processes: list[subprocess.Popen] = field(default_factory=list)

    @classmethod
    def create(cls, hosts: list[str]) -> "Network":
        tag = secrets.token_hex(2)
        net = cls(tag=tag, subnet=f"10.231.{int(tag, 16) % 200 + 20}", hosts=list(hosts))
        try:
            net._build()
        except Exception:
            net.close()
            raise
        return net

    # -- names -------------------------------------------------------------------------------------
    def ns(self, host: str) -> str:
        return f"paicha-{self.tag}-{host}"

    @property
    def switch(self) -> str:
        return self.ns("switch")

    def _port(self, host: str) -> str:
        return f"pd{self.tag}{HOST_NUMBERS[host]}"  # the switch's side of the host's link (<= 15 chars)

    def address(self, host: str) -> str:
        return f"{self.subnet}.{HOST_NUMBERS[host]}"

    @property
    def console_address(self) -> str:
        return f"{self.subnet}.1"

    # -- building ----------------------------------------------------------------------------------
    def _build(self) -> None:
        _ip("netns", "add", self.switch)
        _ip("link", "add", "br0", "type", "bridge", ns=self.switch)
        _ip("link", "set", "br0", "up", ns=self.switch)
        for host in self.hosts:
            ns = self.ns(host)
            _ip("netns", "add", ns)
            _ip("link", "set", "lo", "up", ns=ns)
            _ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", self._port(host),
                "netns", self.switch)
            _ip("addr", "add", f"{self.address(host)}/24", "dev", "eth0", ns=ns)
            _ip("link", "set", "eth0", "up", ns=ns)
            _ip("link", "set", self._port(host), "master", "br0", ns=self.switch)
            _ip("link", "set", self._port(host), "up", ns=self.switch)
        console = f"pd{self.tag}c"
        _ip("link", "add", console, "type", "veth", "peer", "name", f"pd{self.tag}s", "netns", self.switch)
        _ip("addr", "add", f"{self.console_address}/24", "dev", console)
        _ip("link", "set", console, "up")
        _ip("link", "set", f"pd{self.tag}s", "master", "br0", ns=self.switch)
        _ip("link", "set", f"pd{self.tag}s", "up", ns=self.switch)

    # -- processes ---------------------------------------------------------------------------------
    def command(self, host: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns(host), *argv]

    def popen(self, host: str, argv: list[str], **kwargs) -> subprocess.Popen:
        """A process on `host`, in a process group of its own (killed with it, SIGKILL: a host dying)."""
        proc = subprocess.Popen(self.command(host, argv), start_new_session=True, **kwargs)
        self.processes.append(proc)
        return proc

    def run(self, host: str, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return subprocess.run(self.command(host, argv), **kwargs)

    @staticmethod
    def kill(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    def cut(self, host: str) -> None:
        _ip("link", "set", self._port(host), "down", ns=self.switch)

    def mend(self, host: str) -> None:
        _ip("link", "set", self._port(host), "up", ns=self.switch)

    # -- the end -----------------------------------------------------------------------------------
    def close(self) -> None:
        for proc in self.processes:
            self.kill(proc)
        for host in [*self.hosts, "switch"]:
            ns = self.ns(host)
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
            for pid in pids:  # only processes of this drill's own namespaces
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            if pids:
                time.sleep(0.2)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", f"pd{self.tag}c"], capture_output=True)
