"""The HTTP side of a delivery: the signed request and one POST of it.

The wire format, in one place (no models here: the services pass plain values):

- body: ``{"event", "id", "created_at", "organization", "data"}`` as compact UTF-8 JSON;
- ``X-Llmplanner-Timestamp``: unix seconds when the attempt was made (each attempt signs anew);
- ``X-Llmplanner-Signature``: ``sha256=`` + hex HMAC-SHA256, keyed with the webhook's secret,
  of ``b"<timestamp>." + body`` — binding the time to the body lets a receiver refuse a replay.

README ("Webhooks") gives the receiver's recipe; tests/webhooks check it against a real server.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.encoding import iri_to_uri

TIMEOUT_S = 10  # per socket operation: connecting, sending, waiting for the status line
USER_AGENT = "llmplanner-webhooks/1"
SIGNATURE_PREFIX = "sha256="


def envelope_body(
    *, event: str, delivery_id: int, created_at: str, organization: str, data: Any
) -> bytes:
    """The JSON body, the same bytes on every attempt of a delivery."""
    envelope = {
        "event": event,
        "id": delivery_id,
        "created_at": created_at,
        "organization": organization,
        "data": data,
    }
    return json.dumps(
        envelope, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` with ``secret``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


def signed_headers(*, secret: str, event: str, delivery_id: int, body: bytes) -> dict[str, str]:
    timestamp = int(time.time())
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Llmplanner-Event": event,
        "X-Llmplanner-Delivery": str(delivery_id),
        "X-Llmplanner-Timestamp": str(timestamp),
        "X-Llmplanner-Signature": signature(secret=secret, timestamp=timestamp, body=body),
    }


@dataclass(frozen=True)
class Outcome:
    """What one POST got: the HTTP status (None when no answer came) or why it failed."""

    status_code: int | None
    error: str
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class RefusedAddress(OSError):
    """The receiver's name led to an address that may not receive webhooks."""


def _check_peer(sock: Any, host: str) -> None:
    """Refuse a connection that reached a non-public address (private, loopback, link-local,
    reserved) — checked on the socket actually connected, so a name that resolves, or is made to
    resolve a moment later (DNS rebinding), to an internal address is caught before anything is
    sent. Loopback is allowed where local receivers are (``DEBUG``, ``WEBHOOK_ALLOW_HTTP``)."""
    from django.conf import settings

    address = ipaddress.ip_address(sock.getpeername()[0])
    if address.is_global:
        return
    if address.is_loopback and (settings.DEBUG or settings.WEBHOOK_ALLOW_HTTP):
        return
    sock.close()
    raise RefusedAddress(f"{host} is at {address}, not a public address: nothing was sent")


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _check_peer(self.sock, self.host)


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        super().connect()  # TCP and the TLS handshake: no request is written before the check
        _check_peer(self.sock, self.host)


class _GuardedHTTP(urllib.request.HTTPHandler):
    def http_open(self, req: Any) -> Any:
        return self.do_open(_GuardedHTTPConnection, req)


class _GuardedHTTPS(urllib.request.HTTPSHandler):
    def https_open(self, req: Any) -> Any:
        return self.do_open(_GuardedHTTPSConnection, req, context=self._context)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: following it would post the signed body to a
    URL nobody registered (and could point it at an internal address). 3xx counts as a failure."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects, _GuardedHTTP, _GuardedHTTPS)


def post(
    *, url: str, body: bytes, headers: dict[str, str], timeout_s: float = TIMEOUT_S
) -> Outcome:
    """POST ``body`` to ``url``; never raises for what the network or the receiver does."""
    # A non-ASCII path or query is percent-encoded (http.client sends ASCII only); a non-ASCII
    # host name is left to the socket layer, which encodes it with IDNA.
    request = urllib.request.Request(iri_to_uri(url), data=body, headers=headers, method="POST")
    started = time.monotonic()

    def done(status_code: int | None, error: str) -> Outcome:
        elapsed = round((time.monotonic() - started) * 1000)
        return Outcome(status_code=status_code, error=error[:200], duration_ms=elapsed)

    try:
        with _opener.open(request, timeout=timeout_s) as response:
            status = response.status
    except urllib.error.HTTPError as exc:  # an answer outside 2xx (3xx too: see _NoRedirects)
        exc.close()
        return done(exc.code, f"HTTP {exc.code} {exc.reason}")
    except urllib.error.URLError as exc:
        return done(None, str(exc.reason) or "unreachable")
    except RefusedAddress as exc:
        return done(None, str(exc))
    except TimeoutError:
        return done(None, f"no answer within {timeout_s:g} s")
    except (OSError, HTTPException, ValueError) as exc:
        return done(None, f"{type(exc).__name__}: {exc}")
    return done(status, "" if 200 <= status < 300 else f"HTTP {status}")
