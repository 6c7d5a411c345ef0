"""Serving a class on the local network: the address phones open (deploy/lan.py) and `make run ADDRESS=...`."""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

from deploy.lan import lan_address, lan_url, main

ROOT = Path(__file__).resolve().parents[2]


def test_the_lan_address_is_a_network_address_never_loopback(capsys):
    address = lan_address()
    if address is None:  # a machine with no network: the command says so instead of printing a useless link
        assert main(["--port", "8501"]) == 1
        assert "No local network address" in capsys.readouterr().err
        return
    ip = ipaddress.ip_address(address)
    assert ip.version == 4 and not ip.is_loopback and not ip.is_unspecified
    assert main(["--port", "8765"]) == 0
    assert capsys.readouterr().out.strip() == f"http://{address}:8765"


def test_lan_url_format():
    assert lan_url(8501, "192.168.1.20") == "http://192.168.1.20:8501"


def _dry_run(*args: str) -> str:
    return subprocess.run(["make", "-n", "run", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_make_run_serves_localhost_by_default_and_the_network_on_request():
    default = _dry_run()
    assert '[ "localhost" = "localhost" ]' in default  # the default ADDRESS
    assert "--server.address localhost" in default and "--server.address 0.0.0.0" not in default
    lan = _dry_run("ADDRESS=0.0.0.0", "PORT=8600")
    assert "--server.address 0.0.0.0" in lan and "--server.port 8600" in lan
    assert "-m deploy.lan --port 8600" in lan and 'NTE_PUBLIC_URL="$url"' in lan
    assert "Phones on this network open" in lan
