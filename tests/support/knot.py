"""A real Knot DNS server on a loopback port, for integration tests.

`KnotServer` runs `knotd -c <conf>` in the foreground with every file in a temporary directory. It
serves the root zone "." so that any realistic name (`abc._domainkey.example.com`) gets an
authoritative answer or NXDOMAIN, plus any child zones asked for (`zones=(".", "example.net")`,
for tests that need a real zone apex and SOA). It accepts TSIG-signed RFC 2136 updates, and zone
transfers, which `reset()` uses to find what a test left behind.

Nothing here imports Django: the module is usable from any test, benchmark or script.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.tsig
import dns.tsigkeyring
import dns.update

from tests.support.services import terminate

INSTALL_HINT = "apt-get install -y knot knot-dnsutils"

# Knot installs into /usr/sbin, which is not on a non-root user's PATH.
_KNOTD_FALLBACKS = ("/usr/sbin/knotd", "/usr/local/sbin/knotd")

# One UPDATE message carries at most this many RRsets (~500 keeps Knot at ~4,000 RRsets/s) and
# about this many bytes: a DNS message cannot exceed 64 KiB, and a 2048-bit DKIM TXT is ~450.
BATCH_SIZE = 500
BATCH_BYTES = 48_000

ROOT = dns.name.root
NS_NAME = "ns.test."

# What a TXT value can be: a str (split automatically into <= 255-byte strings) or a tuple of
# strings published exactly as given (to reproduce a badly split record).
TxtValue = str | tuple[str, ...]
# (name, rdtype, value) or (name, rdtype, value, ttl)
RecordSpec = tuple[str, str, TxtValue] | tuple[str, str, TxtValue, int]


class KnotError(RuntimeError):
    """knotd did not start, or refused an update sent by the helpers."""


def find_knotd() -> str | None:
    """Return the path of the knotd binary, or None when Knot is not installed."""
    found = shutil.which("knotd")
    if found:
        return found
    return next((p for p in _KNOTD_FALLBACKS if Path(p).is_file()), None)


def free_port(host: str = "127.0.0.1", attempts: int = 50) -> int:
    """Return a port that is free for both UDP and TCP on `host`.

    1. Let the kernel pick a free TCP port.
    2. Check that the same UDP port is free too; if not, try again.
    The sockets are closed before knotd binds, so a race is possible but unlikely on a test box.
    """
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port: int = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
                return port
    raise KnotError(f"Could not find a port free for both UDP and TCP on {host}.")


def txt_strings(value: TxtValue) -> tuple[bytes, ...]:
    """Character-strings for a TXT value: a tuple is kept as is, a str is cut every 255 bytes."""
    if isinstance(value, tuple):
        return tuple(s.encode() for s in value)
    data = value.encode()
    return tuple(data[i : i + 255] for i in range(0, len(data), 255)) or (b"",)


def make_rdata(rdtype: str, value: TxtValue) -> dns.rdata.Rdata:
    """Build one rdata; relative names in the value are taken as absolute (origin is the root)."""
    rdtype_ = dns.rdatatype.from_text(rdtype)
    if rdtype_ == dns.rdatatype.TXT:
        return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, rdtype_, txt_strings(value))
    if isinstance(value, tuple):
        raise TypeError(f"Only TXT values may be a tuple of strings, not {rdtype}.")
    return dns.rdata.from_text(dns.rdataclass.IN, rdtype_, value, origin=ROOT, relativize=False)


def absolute(name: str) -> dns.name.Name:
    return dns.name.from_text(name, origin=ROOT)


def zone_file_text(zone: dns.name.Name) -> str:
    """SOA and NS for a zone (rname hostmaster@<zone>, or hostmaster@test for the root)."""
    rname = "hostmaster.test." if zone == ROOT else f"hostmaster.{zone}"
    text = (
        f"{zone} 3600 IN SOA {NS_NAME} {rname} 1 3600 900 604800 300\n{zone} 3600 IN NS {NS_NAME}\n"
    )
    if zone == ROOT:
        text += f"{NS_NAME} 3600 IN A 127.0.0.1\n"
    return text


def zone_file_name(zone: dns.name.Name) -> str:
    return "root.zone" if zone == ROOT else f"{zone.to_text(omit_final_dot=True)}.zone"


class KnotServer:
    """One knotd process serving the root zone on `host:port`, all state in a temporary dir."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        tsig_name: str = "sesconsole-test-key.",
        zones: Sequence[str] = (".",),
        startup_timeout: float = 10.0,
    ) -> None:
        if not zones:
            raise ValueError("Serve at least one zone.")
        self._host = host
        self._zones = [absolute(zone) for zone in zones]
        self._port = port
        self._tsig_name = tsig_name
        self._tsig_secret = base64.b64encode(secrets.token_bytes(32)).decode()
        self._startup_timeout = startup_timeout
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr_file: Path | None = None

    # -- properties ---------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if self._port is None:
            raise KnotError("The server has no port until start() is called.")
        return self._port

    @property
    def tsig_name(self) -> str:
        return self._tsig_name

    @property
    def tsig_secret(self) -> str:
        """The TSIG secret, base64-encoded as in a knot.conf or BIND key file."""
        return self._tsig_secret

    @property
    def tsig_algorithm(self) -> str:
        return "hmac-sha256"

    @property
    def zones(self) -> list[str]:
        return [zone.to_text() for zone in self._zones]

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def keyring(self) -> dict[dns.name.Name, dns.tsig.Key]:
        return dns.tsigkeyring.from_text(
            {self._tsig_name: (self.tsig_algorithm, self._tsig_secret)}
        )

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> KnotServer:
        """Start knotd and wait until it answers an SOA query for its first zone; raise with its
        stderr if it exits or stays silent for `startup_timeout` seconds."""
        if self.running:
            return self
        knotd = find_knotd()
        if knotd is None:
            raise KnotError(f"knotd is not installed; run: {INSTALL_HINT}")
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="knot-test-")
            if self._port is None:
                self._port = free_port(self._host)
            self._write_files(Path(self._tmp.name))
        else:
            # Started before: the journal holds the zone as tests left it. Loading the zone file
            # again ("difference") would revert every dynamic update, so load the journal only.
            base = Path(self._tmp.name)
            (base / "knot.conf").write_text(self._config(base, zonefile_load="none"))
        base = Path(self._tmp.name)
        self._stderr_file = base / "knotd.stderr"
        with self._stderr_file.open("ab") as err:
            self._proc = subprocess.Popen(
                [knotd, "-c", str(base / "knot.conf")],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
            )
        self._wait_ready()
        return self

    def stop(self) -> None:
        """Stop the knotd started here (by its PID) and wait for it to exit."""
        proc, self._proc = self._proc, None
        if proc is not None:
            terminate(proc)

    def restart(self) -> KnotServer:
        """Stop and start again on the same port; the zone survives through Knot's journal."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the server and delete its temporary directory."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> KnotServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def stderr(self) -> str:
        """What knotd has logged so far (it logs to stderr)."""
        if self._stderr_file is None or not self._stderr_file.exists():
            return ""
        return self._stderr_file.read_text(errors="replace")

    def _write_files(self, base: Path) -> None:
        for sub in ("run", "db", "zones"):
            (base / sub).mkdir()
        for zone in self._zones:
            (base / "zones" / zone_file_name(zone)).write_text(zone_file_text(zone))
        (base / "knot.conf").write_text(self._config(base))

    def _config(self, base: Path, zonefile_load: str = "difference-no-serial") -> str:
        # zonefile-sync: -1 never writes the zone file back (updates stay fast); journal-content:
        # all keeps the whole zone in the journal, which later starts load (zonefile-load: none)
        # so restart() keeps what tests published. The ACL also allows AXFR for reset().
        # semantic-checks are off because tests publish broken data on purpose (CNAME next to
        # TXT, several MX, ...).
        zone_list = "".join(
            f'  - domain: "{zone}"\n    file: "{zone_file_name(zone)}"\n' for zone in self._zones
        )
        return f"""\
server:
    listen: {self._host}@{self.port}
    rundir: "{base / "run"}"
    pidfile: "{base / "run" / "knot.pid"}"
log:
  - target: stderr
    any: info
database:
    storage: "{base / "db"}"
    journal-db-mode: asynchronous
key:
  - id: {self._tsig_name}
    algorithm: {self.tsig_algorithm}
    secret: {self._tsig_secret}
acl:
  - id: tsig_update
    key: {self._tsig_name}
    action: [update, transfer]
template:
  - id: default
    storage: "{base / "zones"}"
    zonefile-sync: -1
    zonefile-load: {zonefile_load}
    journal-content: all
    semantic-checks: off
    acl: tsig_update
zone:
{zone_list}"""

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._startup_timeout
        query = dns.message.make_query(self._zones[0], dns.rdatatype.SOA)
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise KnotError(
                    f"knotd exited with status {self._proc.returncode}:\n{self.stderr()}"
                )
            with contextlib.suppress(dns.exception.DNSException, OSError):
                response = dns.query.udp(query, self._host, timeout=0.2, port=self.port)
                if response.rcode() == dns.rcode.NOERROR and response.answer:
                    return
            time.sleep(0.05)
        self.stop()
        raise KnotError(
            f"knotd did not answer on {self._host}:{self.port} within "
            f"{self._startup_timeout:g} s:\n{self.stderr()}"
        )

    # -- test helpers: RFC 2136 updates -------------------------------------------------------

    def add(self, name: str, rdtype: str, *values: TxtValue, ttl: int = 300) -> None:
        """Add records (TXT: a str is split into <= 255-byte strings, a tuple is kept exact)."""
        owner = absolute(name)
        update = self._update(self.zone_of(owner))
        update.add(owner, ttl, *(make_rdata(rdtype, v) for v in values))
        self.send(update)

    def replace(self, name: str, rdtype: str, *values: TxtValue, ttl: int = 300) -> None:
        """Replace the whole RRset of `rdtype` at `name` with `values`."""
        owner = absolute(name)
        update = self._update(self.zone_of(owner))
        update.replace(owner, ttl, *(make_rdata(rdtype, v) for v in values))
        self.send(update)

    def delete(self, name: str, rdtype: str | None = None) -> None:
        """Delete one RRset, or every RRset at `name` when `rdtype` is None."""
        owner = absolute(name)
        update = self._update(self.zone_of(owner))
        if rdtype is None:
            update.delete(owner)
        else:
            update.delete(owner, rdtype)
        self.send(update)

    def add_many(self, records: Iterable[RecordSpec], *, ttl: int = 300) -> None:
        """Add many records in few UPDATE messages (one RRset per UPDATE is ~60/s on Knot)."""
        batches: dict[dns.name.Name, _Batch] = {}
        for spec in records:
            owner, rdata = absolute(spec[0]), make_rdata(spec[1], spec[2])
            record_ttl = spec[3] if len(spec) == 4 else ttl
            zone = self.zone_of(owner)
            batch = batches.setdefault(zone, _Batch(self._update(zone)))
            size = len(owner.to_wire() or b"") + 10 + len(rdata.to_wire() or b"")
            if batch.count and (batch.count == BATCH_SIZE or batch.size + size > BATCH_BYTES):
                self.send(batch.update)
                batch = batches[zone] = _Batch(self._update(zone))
            batch.update.add(owner, record_ttl, rdata)
            batch.count, batch.size = batch.count + 1, batch.size + size
        for batch in batches.values():
            self.send(batch.update)

    def zone_of(self, owner: dns.name.Name) -> dns.name.Name:
        """The served zone an update for `owner` goes to: the closest enclosing one."""
        enclosing = [zone for zone in self._zones if owner.is_subdomain(zone)]
        if not enclosing:
            raise KnotError(f"{owner} is in none of the served zones {self.zones}.")
        return max(enclosing, key=len)

    def names(self, zone: str = ".") -> list[dns.name.Name]:
        """Every owner name in `zone`, read with a TSIG-signed AXFR."""
        messages = dns.query.xfr(
            self._host,
            absolute(zone),
            port=self.port,
            keyring=self.keyring,
            keyname=self._tsig_name,
            relativize=False,
        )
        return sorted({rrset.name for message in messages for rrset in message.answer})

    def reset(self) -> None:
        """Delete every record that is not part of the initial zones (SOA, NS, ns.test A).

        Works from zone transfers rather than from a list of names added through the helpers, so
        records published by the code under test (dns_publish) are cleared too.
        """
        keep = {*self._zones, absolute(NS_NAME)}
        for zone in self._zones:
            stale = [n for n in self.names(zone.to_text()) if n not in keep]
            for start in range(0, len(stale), BATCH_SIZE):
                update = self._update(zone)
                for name in stale[start : start + BATCH_SIZE]:
                    update.delete(name)
                self.send(update)

    def send(self, update: dns.update.UpdateMessage) -> dns.message.Message:
        """Send a signed UPDATE over TCP; raise KnotError unless Knot answers NOERROR."""
        response = dns.query.tcp(update, self._host, port=self.port, timeout=5)
        if response.rcode() != dns.rcode.NOERROR:
            raise KnotError(f"Knot answered {dns.rcode.to_text(response.rcode())} to an update.")
        return response

    def _update(self, zone: dns.name.Name) -> dns.update.UpdateMessage:
        return dns.update.UpdateMessage(
            zone, keyring=self.keyring, keyname=dns.name.from_text(self._tsig_name)
        )


@dataclass
class _Batch:
    update: dns.update.UpdateMessage
    count: int = 0
    size: int = 0
