"""nginx's TLS listeners from `nginx -T` output: which ssl_protocols is in effect per server,
what the release's default means, and (with Debian's nginx) that a live probe agrees."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mosquitto_server import free_ports

from smmcheck.facts import TlsListener
from smmcheck.parse.artifacts import Artifact
from smmcheck.parse.linux import parse_linux
from smmcheck.parse.webtls import nginx_tls
from smmcheck.probe.tls import probe_tls


def dump(text: str) -> Artifact:
    return Artifact("nginx-config", "gw/nginx-config", textwrap.dedent(text).lstrip("\n"))


DEBIAN_LIKE = """
# configuration file /etc/nginx/nginx.conf:
user www-data;
worker_processes auto;
events {
\tworker_connections 768;
}
http {
\tssl_protocols TLSv1 TLSv1.1 TLSv1.2; # Dropping SSLv3, ref: POODLE
\tinclude /etc/nginx/conf.d/*.conf;
\tinclude /etc/nginx/sites-enabled/*;
}

# configuration file /etc/nginx/sites-enabled/default:
server {
\tlisten 80 default_server;
\tserver_name _;
}

# configuration file /etc/nginx/sites-enabled/gateway:
server {
\tlisten 443 ssl http2;
\tlisten [::]:443 ssl http2;
\tserver_name gw.plant.local;
\tssl_certificate /etc/ssl/certs/gw.pem;
\tssl_certificate_key /etc/ssl/private/gw.key;
}

server {
\tlisten 127.0.0.1:8443 ssl;
\tserver_name status.local;
\tssl_protocols TLSv1.2 TLSv1.3;
\tssl_certificate /etc/ssl/certs/gw.pem;
\tssl_certificate_key /etc/ssl/private/gw.key;
}
"""


def by_label(listeners: tuple[TlsListener, ...]) -> dict[str, TlsListener]:
    return {listener.label: listener for listener in listeners}


def test_http_level_protocols_apply_to_included_servers_with_their_lines() -> None:
    found = by_label(nginx_tls(dump(DEBIAN_LIKE)))
    assert set(found) == {
        "nginx *:443 (gw.plant.local)",
        "nginx :::443 (gw.plant.local)",
        "nginx 127.0.0.1:8443 (status.local)",
    }
    v4 = found["nginx *:443 (gw.plant.local)"]
    assert (v4.service, v4.port, v4.min_version, v4.local_only) == ("https", 443, "tlsv1.0", False)
    assert [(e.line, e.text) for e in v4.evidence] == [
        (21, "listen 443 ssl http2;"),
        (8, "ssl_protocols TLSv1 TLSv1.1 TLSv1.2; # Dropping SSLv3, ref: POODLE"),
    ]
    assert found["nginx :::443 (gw.plant.local)"].local_only is False


def test_server_level_protocols_override_http_level_and_loopback_is_local_only() -> None:
    status = by_label(nginx_tls(dump(DEBIAN_LIKE)))["nginx 127.0.0.1:8443 (status.local)"]
    assert (status.min_version, status.local_only) == ("tlsv1.2", True)
    assert [e.line for e in status.evidence] == [29, 31]


def test_plain_http_server_is_no_tls_listener() -> None:
    assert all(listener.port != 80 for listener in nginx_tls(dump(DEBIAN_LIKE)))


UNSET = """
# configuration file /etc/nginx/nginx.conf:
http {
    server {
        listen 8443 ssl;
        ssl_certificate /etc/ssl/certs/gw.pem;
        ssl_certificate_key /etc/ssl/private/gw.key;
    }
}
"""


def test_default_protocols_of_a_new_release_start_at_tls_1_2() -> None:
    (listener,) = nginx_tls(dump(UNSET), "1.27.3")
    assert listener.min_version == "tlsv1.2"
    assert "1.27.3" in listener.notes["min_version"]


def test_default_protocols_of_debian_12_release_include_tls_1_0() -> None:
    (listener,) = nginx_tls(dump(UNSET), "1.22.1")
    assert listener.min_version == "tlsv1.0"


def test_default_protocols_of_unknown_release_are_inconclusive() -> None:
    (listener,) = nginx_tls(dump(UNSET))
    assert listener.min_version is None
    assert "release is unknown" in listener.notes["min_version"]


def test_old_style_ssl_on_makes_every_listen_tls() -> None:
    text = """
    # configuration file /etc/nginx/nginx.conf:
    http {
        server {
            listen 443;
            listen localhost:4443;
            ssl on;
            ssl_protocols TLSv1.1 TLSv1.2;
        }
    }
    """
    found = nginx_tls(dump(text))
    assert [(t.port, t.local_only, t.min_version) for t in found] == [
        (443, False, "tlsv1.1"),
        (4443, True, "tlsv1.1"),
    ]


def test_default_server_protocols_weaken_a_stricter_server_on_the_same_socket() -> None:
    text = """
    # configuration file /etc/nginx/nginx.conf:
    http {
        server {
            listen 443 ssl default_server;
            server_name old.local;
            ssl_protocols TLSv1 TLSv1.2;
        }
        server {
            listen 443 ssl;
            server_name new.local;
            ssl_protocols TLSv1.3;
        }
    }
    """
    found = by_label(nginx_tls(dump(text)))
    assert found["nginx *:443 (new.local)"].min_version == "tlsv1.0"
    assert "old.local" in found["nginx *:443 (new.local)"].notes["min_version"]
    assert found["nginx *:443 (old.local)"].min_version == "tlsv1.0"


def test_gateway_with_mosquitto_and_nginx_lists_both_and_reads_dpkg_version() -> None:
    facts = parse_linux(
        (
            Artifact(
                "mosquitto-config",
                "gw/m",
                "listener 8883\ncertfile /c\nkeyfile /k\ntls_version tlsv1.2\n",
            ),
            dump(UNSET),
            Artifact("nginx-version", "gw/v", "nginx\t1.28.0-1~bookworm\nnginx-doc\t\n"),
            # lighttpd's files are known to be absent: without that, its TLS is unknown.
            Artifact("lighttpd-config", "gw/l", "", absent=True),
        ),
        source="gw",
        sha256="0" * 64,
        name_hint="gw",
    )
    assert facts.tls_listeners is not None
    assert [(t.port, t.min_version) for t in facts.tls_listeners] == [
        (8883, "tlsv1.2"),
        (8443, "tlsv1.2"),
    ]


def test_gateway_without_nginx_evidence_has_unknown_tls_listeners() -> None:
    facts = parse_linux(
        (Artifact("mosquitto-config", "gw/m", "listener 8883\ntls_version tlsv1.2\n"),),
        source="gw",
        sha256="0" * 64,
        name_hint="gw",
    )
    assert facts.tls_listeners is None


# --- Debian's nginx, for real -------------------------------------------------------------


def find_nginx() -> str:
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None or shutil.which("openssl") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide nginx and openssl (see .ci/run)")
        pytest.skip("needs Debian's nginx and openssl packages")
    return binary


@pytest.fixture(scope="module")
def live_nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[int]]]:
    binary = find_nginx()
    root = tmp_path_factory.mktemp("nginx")
    root.chmod(0o755)  # nginx's workers run as www-data when started by root
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=gw.test", "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    modern, legacy = free_ports(2)
    config = root / "nginx.conf"
    config.write_text(
        textwrap.dedent(f"""\
        error_log {root}/error.log;
        events {{ worker_connections 64; }}
        http {{
            access_log {root}/access.log;
            client_body_temp_path {root}/body;
            proxy_temp_path {root}/proxy;
            fastcgi_temp_path {root}/fastcgi;
            uwsgi_temp_path {root}/uwsgi;
            scgi_temp_path {root}/scgi;
            ssl_certificate {root}/cert.pem;
            ssl_certificate_key {root}/key.pem;
            server {{
                listen 127.0.0.1:{modern} ssl;
                ssl_protocols TLSv1.2 TLSv1.3;
            }}
            server {{
                listen 127.0.0.1:{legacy} ssl;
                ssl_protocols TLSv1.1 TLSv1.2;
                ssl_ciphers ALL:@SECLEVEL=0;
            }}
        }}
        """)
    )
    for path in root.iterdir():
        path.chmod(0o644)
    dumped = subprocess.run(
        [binary, "-T", "-c", str(config), "-p", str(root)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    server = subprocess.Popen(
        [binary, "-c", str(config), "-p", str(root), "-g", f"daemon off; pid {root}/nginx.pid;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not all(_listening(port) for port in (modern, legacy)):
            if server.poll() is not None or time.monotonic() > deadline:
                log = root / "error.log"
                pytest.fail(f"nginx did not start: {log.read_text() if log.exists() else ''}")
            time.sleep(0.05)
        yield dumped.stdout, [modern, legacy]
    finally:
        server.terminate()
        server.wait(timeout=10)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_real_nginx_dump_parses_and_the_probe_agrees(live_nginx: tuple[str, list[int]]) -> None:
    text, (modern, legacy) = live_nginx
    parsed = {t.port: t for t in nginx_tls(Artifact("nginx-config", "nginx -T", text))}
    assert {port: t.min_version for port, t in parsed.items()} == {
        modern: "tlsv1.2",
        legacy: "tlsv1.1",
    }
    assert all(t.local_only for t in parsed.values())
    probed = {
        r.port: r
        for r in probe_tls([("127.0.0.1", modern), ("127.0.0.1", legacy)], per_host_rate=200.0)
    }
    accepted = {port: {v.version: v.accepted for v in r.versions} for port, r in probed.items()}
    assert accepted[modern]["TLSv1.1"] is False
    assert accepted[modern]["TLSv1.2"] is True
    assert accepted[legacy]["TLSv1.1"] is True
    assert accepted[legacy]["TLSv1.0"] is False
