"""The live socket (I-LIVE-1): GET /api/live as a WebSocket, `?token=` to sign in. The relay
behind it (which replica tells whom what, live_relay.py) sends what concerns the user; the
client reports presence (viewing, typing, left) in a conversation it may read, published to
Kafka so staff on other replicas see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect

from switchboard.events import PresenceChanged
from switchboard.gateway.access_log import record_api_call
from switchboard.gateway.api_client_store import active_clients_of
from switchboard.gateway.auth import Principal, read_token
from switchboard.gateway.conversation_access import visible_conversation
from switchboard.gateway.live_relay import PRESENCE_TTL, Client, Hub

router = APIRouter()


def presence(who: Principal, conversation_id: uuid.UUID, state: str, name: str) -> PresenceChanged:
    now = datetime.now(UTC)
    event_id = uuid.uuid4()
    return PresenceChanged(
        event_id=event_id,
        correlation_id=event_id,
        occurred_at=now,
        practice_id=who.practice_id,
        conversation_id=conversation_id,
        staff_id=who.user_id,
        display_name=name,
        state=state,  # type: ignore[arg-type]
        expires_at=now + PRESENCE_TTL,
    )


# Closing code for a socket whose API client was revoked or whose secret was rotated
# (4401, like a socket that never signed in: the program must get a new token).
CLIENT_GONE = 4401


async def _close_when_client_gone(websocket: WebSocket, who: Principal) -> None:
    """An API client's socket lasts only while the client is active with the secret its token
    came from: checked every `api_client_check_s` (the cache's own period), so a revocation
    on this replica is seen at the next check and on another within two."""
    active = active_clients_of(websocket)
    every = max(active.ttl_s, 0.5)
    while True:
        await asyncio.sleep(every)
        if not await active.is_active(who.user_id, who.practice_id, who.client_version or 0):
            await websocket.close(code=CLIENT_GONE, reason="API client revoked or secret rotated")
            return


async def _active_client(websocket: WebSocket, who: Principal) -> Principal | None:
    active = active_clients_of(websocket)
    if not await active.is_active(who.user_id, who.practice_id, who.client_version or 0):
        return None
    async with websocket.app.state.runtime.sessionmaker() as session, session.begin():
        await record_api_call(session, who, "WEBSOCKET", "/api/live", None)
    return who


@router.websocket("/api/live")
async def live_socket(websocket: WebSocket, token: str | None = None) -> None:
    """Browsers cannot set headers on a WebSocket: the token comes as `?token=`."""
    settings = websocket.app.state.settings
    who = read_token(token or "", settings.jwt_verification_keys())
    if who is not None and who.client_version is not None:
        # An API client (ADR 0024): only while active with that secret; the connection is
        # in the access log, and a later revocation or rotation closes it.
        who = await _active_client(websocket, who)
    if who is None:
        await websocket.close(code=4401, reason="sign in first")
        return
    await websocket.accept()
    hub: Hub = websocket.app.state.hub
    client = Client(who)
    hub.add(client)
    publisher = websocket.app.state.runtime.publisher

    async def send() -> None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # closed meanwhile
            while True:
                await websocket.send_json(await client.queue.get())

    sender = asyncio.create_task(send())
    watcher = None
    if who.client_version is not None:
        watcher = asyncio.create_task(_close_when_client_gone(websocket, who))
    try:
        await websocket.send_json({"type": "hello", "user_id": who.user_id})
        while True:
            message = await websocket.receive_json()
            state = message.get("type") if isinstance(message, dict) else None
            if state not in ("viewing", "typing", "left"):
                await websocket.send_json(
                    {"type": "error", "detail": "type must be viewing, typing or left"}
                )
                continue
            try:
                conversation_id = uuid.UUID(str(message.get("conversation_id")))
            except ValueError:
                await websocket.send_json(
                    {"type": "error", "detail": "conversation_id must be a UUID"}
                )
                continue
            try:  # presence only where the client may read (the same check as the API)
                async with websocket.app.state.runtime.sessionmaker() as session:
                    await visible_conversation(session, who, conversation_id)
            except HTTPException as exc:
                await websocket.send_json({"type": "error", "detail": exc.detail})
                continue
            name = str(message.get("display_name", ""))[:200]
            await publisher.publish([presence(who, conversation_id, state, name)])
    except WebSocketDisconnect:
        pass
    except RuntimeError:
        # closed by the watcher while waiting for the client: nothing more to read
        if watcher is None or not watcher.done():
            raise
    finally:
        sender.cancel()
        if watcher is not None:
            watcher.cancel()
        hub.remove(client)
