"""`smmcheck probe tls` against real servers on loopback: Debian's mosquitto 2.0 with four
listeners, and `openssl s_server -tls1` for TLS 1.0 (see tests/mosquitto_server.py).

Facts these tests pin down, for this machine's OpenSSL 3.0 (Debian 12):
* at security level 0 our client offers and completes TLS 1.0 and 1.1, so a TLS 1.0
  refusal by mosquitto is the server's, never "unknown";
* mosquitto 2.0's lowest ``tls_version`` (tlsv1.1) still refuses TLS 1.0.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from mosquitto_server import (
    Broker,
    free_ports,
    running_tls10_server,
)

from smmcheck.cli.main import main
from smmcheck.errors import UsageError
from smmcheck.probe import handshake as handshake_module
from smmcheck.probe.records import Alert, NotTls, ServerHello, read_server_answer
from smmcheck.probe.tls import TlsEndpointResult, parse_endpoint, probe_tls

FAST = 200.0  # handshakes per second per host: loopback needs no protection


@pytest.fixture(scope="session")
def tls10_port(broker: Broker) -> Iterator[int]:  # broker: skipped or failed alike
    with running_tls10_server() as port:
        yield port


@pytest.fixture(scope="session")
def closed_port() -> int:
    return free_ports(1)[0]


@pytest.fixture(scope="session")
def probed(broker: Broker, tls10_port: int, closed_port: int) -> dict[int, TlsEndpointResult]:
    ports = [broker.strict, broker.legacy, broker.mutual, broker.plain, tls10_port, closed_port]
    results = probe_tls([("127.0.0.1", port) for port in ports], per_host_rate=FAST)
    return {result.port: result for result in results}


def accepted(result: TlsEndpointResult) -> dict[str, bool | None]:
    return {v.version: v.accepted for v in result.versions}


def reasons(result: TlsEndpointResult) -> dict[str, str | None]:
    return {v.version: v.reason for v in result.versions}


# --- what the servers accept ----------------------------------------------------------------


def test_tls12_listener_accepts_tls12_and_13_and_refuses_10_and_11(
    probed: dict[int, TlsEndpointResult], broker: Broker
) -> None:
    result = probed[broker.strict]
    assert (result.reachable, result.error, result.complete) == (True, None, True)
    assert accepted(result) == {
        "TLSv1.0": False,
        "TLSv1.1": False,
        "TLSv1.2": True,
        "TLSv1.3": True,
    }
    assert reasons(result)["TLSv1.0"] == "server refused: protocol_version alert"
    assert reasons(result)["TLSv1.1"] == "server refused: protocol_version alert"
    ciphers = {v.version: v.cipher for v in result.versions}
    assert ciphers["TLSv1.2"] == "ECDHE-RSA-AES256-GCM-SHA384"
    assert ciphers["TLSv1.3"] == "TLS_AES_256_GCM_SHA384"
    assert ciphers["TLSv1.0"] is None


def test_permissive_mosquitto_listener_accepts_tls11_but_never_tls10(
    probed: dict[int, TlsEndpointResult], broker: Broker
) -> None:
    # `tls_version tlsv1.1` is the lowest mosquitto 2.0 takes, and it still disables TLS 1.0.
    # Refused, not unknown: the s_server test below shows our client does offer TLS 1.0.
    result = probed[broker.legacy]
    assert accepted(result) == {
        "TLSv1.0": False,
        "TLSv1.1": True,
        "TLSv1.2": True,
        "TLSv1.3": True,
    }
    assert reasons(result)["TLSv1.0"] == "server refused: protocol_version alert"
    assert {v.version: v.cipher for v in result.versions}["TLSv1.1"] == "ECDHE-RSA-AES256-SHA"


def test_tls10_server_is_accepted_because_our_openssl_offers_tls10_at_seclevel_0(
    probed: dict[int, TlsEndpointResult], tls10_port: int
) -> None:
    result = probed[tls10_port]
    assert accepted(result) == {
        "TLSv1.0": True,
        "TLSv1.1": False,
        "TLSv1.2": False,
        "TLSv1.3": False,
    }
    assert result.versions[0].cipher == "ECDHE-RSA-AES256-SHA"
    assert result.versions[0].reason is None  # the handshake completed
    # Offered TLS 1.1 or 1.2 alone, the server answers with its own TLS 1.0.
    assert reasons(result)["TLSv1.2"] == "server refused: it answered with TLSv1.0"


def test_version_chosen_before_a_client_certificate_is_demanded_counts_as_accepted(
    probed: dict[int, TlsEndpointResult], broker: Broker
) -> None:
    # The TLS 1.2 handshake ends in a handshake_failure alert (no client certificate), but
    # the server's ServerHello had already accepted TLS 1.2: the version is not "refused".
    result = probed[broker.mutual]
    assert accepted(result) == {
        "TLSv1.0": False,
        "TLSv1.1": False,
        "TLSv1.2": True,
        "TLSv1.3": True,
    }
    tls12 = result.versions[2]
    assert tls12.cipher == "ECDHE-RSA-AES256-GCM-SHA384"
    assert tls12.reason is not None
    assert tls12.reason.startswith("the server chose TLSv1.2, then the handshake stopped")


def test_certificate_key_and_signature_are_recorded(
    probed: dict[int, TlsEndpointResult], broker: Broker
) -> None:
    certificate = probed[broker.strict].certificate
    assert certificate is not None
    assert (certificate.key_type, certificate.key_bits) == ("RSA", 2048)
    assert certificate.signature_algorithm == "sha256WithRSAEncryption"


def test_version_our_openssl_cannot_offer_is_unknown_never_refused(
    broker: Broker, tls10_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # AES-GCM exists from TLS 1.2 on: with only those ciphers OpenSSL builds no TLS 1.0/1.1
    # ClientHello at all, as an OpenSSL without TLS 1.0 support would.
    monkeypatch.setattr(handshake_module, "CLIENT_CIPHERS", "AESGCM")
    results = probe_tls([("127.0.0.1", tls10_port)], per_host_rate=FAST)
    assert accepted(results[0])["TLSv1.0"] is None
    assert reasons(results[0])["TLSv1.0"] == (
        "this machine's OpenSSL cannot offer TLSv1.0: no ciphers available"
    )
    assert not results[0].complete


# --- endpoints that cannot be probed ----------------------------------------------------------


def test_plaintext_listener_is_reachable_but_not_tls(
    probed: dict[int, TlsEndpointResult], broker: Broker
) -> None:
    result = probed[broker.plain]
    assert result.reachable
    assert result.error is not None
    assert result.error.startswith("no TLS answer to a ClientHello: ")
    assert "\n" not in result.error
    assert set(accepted(result).values()) == {None}
    # Only TLS 1.2 and 1.3 were tried: a non-TLS device gets no more unexpected packets.
    assert reasons(result)["TLSv1.0"] == "not probed: no TLS answer to TLSv1.2 or TLSv1.3"


def test_non_tls_bytes_from_the_server_say_not_tls() -> None:
    # An HTTP server answering our ClientHello: no ClientHello for further versions.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        def answer_http() -> None:
            connection, _ = server.accept()
            with connection:
                connection.recv(4096)
                connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

        thread = threading.Thread(target=answer_http)
        thread.start()
        results = probe_tls([("127.0.0.1", port)], timeout=2, per_host_rate=FAST)
        thread.join()
    assert results[0].error == "not TLS: the server answered 'HTTP/1.1 400 Bad Request…'"


def test_silent_server_times_out_per_handshake_and_gets_two_client_hellos_only() -> None:
    # The kernel completes the TCP handshake, nobody ever answers.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        started = time.monotonic()
        results = probe_tls([("127.0.0.1", server.getsockname()[1])], timeout=0.2)
        elapsed = time.monotonic() - started
    assert results[0].reachable
    assert results[0].error == (
        "no TLS answer to a ClientHello: no answer within 0.2 s (not a TLS service?)"
    )
    assert 0.4 <= elapsed < 2


def test_closed_port_is_unreachable_with_a_one_line_error(
    probed: dict[int, TlsEndpointResult], closed_port: int
) -> None:
    result = probed[closed_port]
    assert (result.reachable, result.error) == (False, "cannot connect: connection refused")
    assert set(accepted(result).values()) == {None}


def test_closed_port_exits_3(closed_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "tls", f"127.0.0.1:{closed_port}", "--rate", "100"]) == 3
    assert "cannot connect: connection refused" in capsys.readouterr().out


# --- what goes over the wire ----------------------------------------------------------------


def test_probe_sends_no_mqtt_connect(probed: dict[int, TlsEndpointResult], broker: Broker) -> None:
    log = broker.log.read_text()
    assert "New connection from 127.0.0.1" in log  # the probe did connect
    assert "New client connected" not in log
    # Control: a real MQTT 3.1.1 CONNECT over TLS is logged, so the check above can fail.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    connect = bytes([0x10, 16, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 60, 0, 4]) + b"ctrl"
    with (
        socket.create_connection(("127.0.0.1", broker.strict), timeout=5) as raw,
        context.wrap_socket(raw) as tls,
    ):
        tls.sendall(connect)
        assert tls.recv(4) == bytes([0x20, 2, 0, 0])  # CONNACK, accepted
    deadline = time.monotonic() + 5
    while "New client connected" not in broker.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "New client connected" in broker.log.read_text()


def test_handshakes_to_one_host_respect_the_rate(broker: Broker) -> None:
    started = time.monotonic()
    probe_tls([("127.0.0.1", broker.strict)], per_host_rate=10)
    # Four handshakes at most ten per second: three full intervals between their starts.
    assert time.monotonic() - started >= 0.3


# --- the command line -------------------------------------------------------------------------


def test_json_output_shape(broker: Broker, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["probe", "tls", f"127.0.0.1:{broker.strict}", "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert sorted(document) == ["endpoints", "openssl", "schema"]
    assert document["schema"] == "smmcheck.probe.tls/v1"
    (endpoint,) = document["endpoints"]
    assert sorted(endpoint) == ["certificate", "error", "host", "port", "reachable", "versions"]
    assert (endpoint["host"], endpoint["port"], endpoint["reachable"]) == (
        "127.0.0.1",
        broker.strict,
        True,
    )
    assert [v["version"] for v in endpoint["versions"]] == [
        "TLSv1.0",
        "TLSv1.1",
        "TLSv1.2",
        "TLSv1.3",
    ]
    assert endpoint["versions"][2] == {
        "version": "TLSv1.2",
        "accepted": True,
        "cipher": "ECDHE-RSA-AES256-GCM-SHA384",
        "reason": None,
    }


def test_console_output_names_each_version(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["probe", "tls", f"127.0.0.1:{broker.strict}", "--rate", "100"]) == 0
    out = capsys.readouterr().out
    assert "refused" in out
    assert "TLS_AES_256_GCM_SHA384" in out
    assert "1 of 1 endpoints fully probed." in out


def test_probe_help_imports_no_tls_or_console_library() -> None:
    script = (
        "import contextlib, io, sys\n"
        "from smmcheck.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    code = main(['probe', 'tls', '--help'])\n"
        "heavy = ('ssl', 'rich', 'cryptography', 'smmcheck.probe')\n"
        "print(code, sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.split() == ["0", "[]"], done.stderr


@pytest.mark.parametrize(
    "endpoint",
    ["plc01", "plc01:", ":8883", "plc01:0", "plc01:70000", "::1:8883", "a b:1", "[plc01]:1"],
)
def test_bad_endpoint_exits_2_with_one_line(
    endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["probe", "tls", endpoint]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"smmcheck: error: bad endpoint '{endpoint}': ")
    assert len(captured.err.strip().splitlines()) == 1


def test_bad_endpoint_in_a_real_process_has_no_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "smmcheck", "probe", "tls", "[::1]"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "smmcheck: error: bad endpoint '[::1]': expected HOST:PORT, e.g."
        " broker.plant.local:8883 (hint: write IPv6 addresses in brackets: [::1]:8883)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("broker.plant.local:8883", ("broker.plant.local", 8883)),
        ("10.20.0.5:443", ("10.20.0.5", 443)),
        ("[::1]:8883", ("::1", 8883)),
        ("[fe80::1%eth0]:8883", ("fe80::1%eth0", 8883)),
        (" plc-01_a.local:502 ", ("plc-01_a.local", 502)),
    ],
)
def test_parse_endpoint(text: str, expected: tuple[str, int]) -> None:
    assert parse_endpoint(text) == expected


def test_parse_endpoint_error_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="the port must be 1 to 65535"):
        parse_endpoint("plc01:0")


# --- reading the server's first message -------------------------------------------------------


def test_server_answers_are_read_from_raw_records() -> None:
    alert = bytes([21, 3, 3, 0, 2, 2, 70])
    assert read_server_answer(alert) == Alert("protocol_version")
    hello_body = bytes([3, 3]) + bytes(32) + bytes([0]) + bytes([0xC0, 0x30, 0])
    hello = bytes([2, 0, 0, len(hello_body)]) + hello_body
    record = bytes([22, 3, 3, 0, len(hello)]) + hello
    assert read_server_answer(record) == ServerHello("TLSv1.2", 0xC030)
    # TLS 1.3 hides the real version in the supported_versions extension (43).
    extensions = bytes([0, 6, 0, 43, 0, 2, 3, 4])
    hello13_body = hello_body + extensions
    hello13 = bytes([2, 0, 0, len(hello13_body)]) + hello13_body
    assert read_server_answer(bytes([22, 3, 3, 0, len(hello13)]) + hello13) == ServerHello(
        "TLSv1.3", 0xC030
    )
    assert isinstance(read_server_answer(b"SSH-2.0-OpenSSH_9.2\r\n"), NotTls)
