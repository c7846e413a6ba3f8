"""ICE servers for the live process and its browsers: host candidates only unless STUN/TURN are configured."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCBundlePolicy

from yilian.live.protocol import IceServer

TURN_CREDENTIAL_SECONDS = 12 * 3600  # a consult runs well under this; a rejoin gets fresh credentials


@dataclass(frozen=True)
class IceConfig:
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = None

    def for_browser(self, participant_id: str, *, now: float | None = None) -> list[IceServer]:
        """What `joined.ice_servers` carries: the STUN servers, and TURN with coturn REST-API credentials
        (`use-auth-secret`: username `<expiry>:<participant>`, credential base64(HMAC-SHA1(secret, username)))."""
        servers = [IceServer(urls=list(self.stun_urls))] if self.stun_urls else []
        if self.turn_urls:
            if self.turn_secret:
                username = f"{int((now or time.time()) + TURN_CREDENTIAL_SECONDS)}:{participant_id}"
                digest = hmac.new(self.turn_secret.encode(), username.encode(), hashlib.sha1).digest()
                servers.append(
                    IceServer(
                        urls=list(self.turn_urls), username=username, credential=base64.b64encode(digest).decode()
                    )
                )
            else:
                servers.append(IceServer(urls=list(self.turn_urls)))
        return servers

    def for_server(self) -> RTCConfiguration:
        """The live process's own RTCPeerConnection configuration. Always an explicit list: with none, aiortc
        would ask a public STUN server, which an air-gapped hospital network must never try."""
        return RTCConfiguration(
            iceServers=[RTCIceServer(urls=list(self.stun_urls))] if self.stun_urls else [],
            bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
        )
