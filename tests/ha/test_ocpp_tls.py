"""OCPP security profile 2: chargers connect over wss:// with the certificate and
key set in the site's reconfigure flow (a self-signed certificate made here)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import ipaddress
from pathlib import Path
import ssl

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_power_share.const import CONF_SSL_CERTIFICATE, CONF_SSL_KEY
from simulator.chargepoint import SimulatedChargePoint

from .test_site_control import _setup

FORM = {"name": "Maple Court", "main_breaker_a": 100}


@dataclass
class Certificate:
    cert: Path
    key: Path
    client: ssl.SSLContext
    """A client context that trusts this (self-signed) certificate."""


def _write_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1, as a user might make one."""
    key = _write_key(tmp_path / "privkey.pem")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ev-power-share test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = tmp_path / "fullchain.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    client = ssl.create_default_context(cafile=str(cert_path))
    return Certificate(cert_path, tmp_path / "privkey.pem", client)


async def _reconfigure(
    hass: HomeAssistant, entry: MockConfigEntry, **tls: str
) -> dict[str, object]:
    result = await entry.start_reconfigure_flow(hass)
    form = {
        **FORM,
        "supply": entry.data["supply"],
        "continuous_factor": 80,
        **tls,
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
    await hass.async_block_till_done()
    return dict(result)


async def test_chargers_connect_over_tls_only(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    sims: list[SimulatedChargePoint],
    certificate: Certificate,
) -> None:
    await _setup(hass, site_entry)
    result = await _reconfigure(
        hass,
        site_entry,
        **{
            CONF_SSL_CERTIFICATE: str(certificate.cert),
            CONF_SSL_KEY: str(certificate.key),
        },
    )
    assert result["reason"] == "reconfigure_successful"
    assert site_entry.data[CONF_SSL_CERTIFICATE] == str(certificate.cert)
    assert site_entry.state is ConfigEntryState.LOADED
    port = site_entry.runtime_data.central.port

    # A charger that trusts the certificate talks OCPP over wss://.
    sim = SimulatedChargePoint(
        "cp-tls", f"wss://127.0.0.1:{port}", ssl_context=certificate.client
    )
    sims.append(sim)
    await sim.connect()
    assert await sim.boot() == "Pending"  # unknown, but it got through TLS

    # Plain ws:// is not served any more, and a client that does not trust the
    # certificate is refused by TLS. (asyncio reports such failed handshakes to
    # the loop's exception handler only in debug mode, which the test harness
    # turns on and Home Assistant does not: off meanwhile.)
    hass.loop.set_debug(False)
    try:
        plain = SimulatedChargePoint("cp-plain", f"ws://127.0.0.1:{port}")
        sims.append(plain)
        with pytest.raises(aiohttp.ClientError):
            await plain.connect()
        untrusting = SimulatedChargePoint("cp-x", f"wss://127.0.0.1:{port}")
        sims.append(untrusting)
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await untrusting.connect()
        await asyncio.sleep(0.2)  # the server side sees the aborted handshake
    finally:
        hass.loop.set_debug(True)

    # Clearing both fields goes back to ws://.
    result = await _reconfigure(
        hass, site_entry, **{CONF_SSL_CERTIFICATE: "", CONF_SSL_KEY: ""}
    )
    assert result["reason"] == "reconfigure_successful"
    assert site_entry.data[CONF_SSL_CERTIFICATE] is None
    again = SimulatedChargePoint(
        "cp-plain", f"ws://127.0.0.1:{site_entry.runtime_data.central.port}"
    )
    sims.append(again)
    await again.connect()
    assert await again.boot() == "Pending"


async def test_tls_form_errors(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    certificate: Certificate,
    tmp_path: Path,
) -> None:
    await _setup(hass, site_entry)
    other_key = tmp_path / "other.pem"
    _write_key(other_key)
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("not a certificate")
    cases = [
        (
            {CONF_SSL_CERTIFICATE: str(certificate.cert)},
            CONF_SSL_KEY,
            "tls_pair_required",
        ),
        (
            {CONF_SSL_KEY: str(certificate.key)},
            CONF_SSL_CERTIFICATE,
            "tls_pair_required",
        ),
        (
            {
                CONF_SSL_CERTIFICATE: str(tmp_path / "nope.pem"),
                CONF_SSL_KEY: str(certificate.key),
            },
            CONF_SSL_CERTIFICATE,
            "tls_missing",
        ),
        (
            {
                CONF_SSL_CERTIFICATE: str(certificate.cert),
                CONF_SSL_KEY: str(tmp_path / "nope.pem"),
            },
            CONF_SSL_KEY,
            "tls_missing",
        ),
        (
            {CONF_SSL_CERTIFICATE: str(certificate.cert), CONF_SSL_KEY: str(other_key)},
            CONF_SSL_KEY,
            "tls_invalid",
        ),
        (
            {CONF_SSL_CERTIFICATE: str(not_pem), CONF_SSL_KEY: str(certificate.key)},
            CONF_SSL_KEY,
            "tls_invalid",
        ),
    ]
    for tls, field, error in cases:
        result = await _reconfigure(hass, site_entry, **tls)
        assert result["type"] is FlowResultType.FORM, tls
        assert result["errors"] == {field: error}, tls
    assert CONF_SSL_CERTIFICATE not in site_entry.data  # nothing was stored


async def test_site_waits_when_its_certificate_is_gone(
    hass: HomeAssistant, site_entry: MockConfigEntry, certificate: Certificate
) -> None:
    await _setup(hass, site_entry)
    await _reconfigure(
        hass,
        site_entry,
        **{
            CONF_SSL_CERTIFICATE: str(certificate.cert),
            CONF_SSL_KEY: str(certificate.key),
        },
    )
    certificate.key.unlink()
    assert await hass.config_entries.async_reload(site_entry.entry_id) is False
    # It never falls back to unencrypted connections: it retries, saying why.
    assert site_entry.state is ConfigEntryState.SETUP_RETRY
    assert "TLS" in (site_entry.reason or "")
