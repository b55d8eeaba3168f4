"""The Telegram emulator in a process of its own, for benchmarks: one core serves the Bot API, the other
runs the bot. A small control API under `/_emulator/` creates users, injects faults and reports counts.

    python -m tests.emulators.telegram_server --per-bot 1000 --port 8081

or, from Python, `async with EmulatorProcess(per_bot=1000) as server: server.base_url ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections import Counter
from typing import Any

import aiohttp
from aiohttp import web

from tests.emulators.telegram_api import DEFAULT_TOKEN, EmulatorLimits, Fault, TelegramEmulator

READY = "telegram emulator listening on "


def add_control(emulator: TelegramEmulator) -> None:
    """Routes under /_emulator/ that let another process drive and read the emulator."""

    async def users(request: web.Request) -> web.Response:
        body = await request.json()
        made = [
            emulator.add_user(f"u{i}", started=bool(body.get("started", True)))
            for i in range(int(body["count"]))
        ]
        return web.json_response({"ids": [u.id for u in made]})

    async def fault(request: web.Request) -> web.Response:
        body = await request.json()
        status = int(body["status"])
        if status == 429:
            made = Fault.rate_limited(int(body.get("retry_after", 1)))
        elif status == 403:
            made = Fault.blocked()
        else:
            made = Fault.server_error(status)
        emulator.inject_fault(made, times=body.get("times", 1), chat_id=body.get("chat_id"))
        return web.json_response({"ok": True})

    async def stats(request: web.Request) -> web.Response:
        per_chat = Counter(m.chat_id for m in emulator.sent if not m.deleted)
        return web.json_response(
            {
                "calls": dict(emulator.stats.calls),
                "too_many_requests": emulator.stats.too_many_requests,
                "limited": dict(emulator.stats.limited),
                "faults": emulator.stats.faults,
                "sent": len(emulator.sent),
                "chats": len(per_chat),
                "most_in_one_chat": max(per_chat.values(), default=0),
            }
        )

    emulator.app.router.add_post("/_emulator/users", users)
    emulator.app.router.add_post("/_emulator/fault", fault)
    emulator.app.router.add_get("/_emulator/stats", stats)


async def serve(port: int, limits: EmulatorLimits) -> None:
    emulator = TelegramEmulator(limits=limits)
    add_control(emulator)
    runner = web.AppRunner(emulator.app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"{READY}http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.close()
        await runner.cleanup()


class EmulatorProcess:
    """Run the emulator in a child process; `base_url`, `token`, and the control API as methods."""

    def __init__(
        self, *, per_bot: float = 30.0, per_private_chat: float = 1.0, per_group_per_minute: float = 20.0
    ):
        self._args = [
            f"--per-bot={per_bot}",
            f"--per-private-chat={per_private_chat}",
            f"--per-group-per-minute={per_group_per_minute}",
        ]
        self.token = DEFAULT_TOKEN
        self.base_url = ""
        self._process: asyncio.subprocess.Process | None = None
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> EmulatorProcess:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.emulators.telegram_server",
            "--port=0",
            *self._args,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        line = (await asyncio.wait_for(self._process.stdout.readline(), timeout=60)).decode()
        if not line.startswith(READY):
            raise RuntimeError(f"the emulator did not start: {line!r}")
        self.base_url = line[len(READY) :].strip()
        self._http = aiohttp.ClientSession(self.base_url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._process.wait(), timeout=10)

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        assert self._http is not None
        async with self._http.request(method, f"/_emulator/{path}", json=body) as response:
            response.raise_for_status()
            return await response.json()

    async def add_users(self, count: int, *, started: bool = True) -> list[int]:
        return list((await self._call("POST", "users", {"count": count, "started": started}))["ids"])

    async def inject_fault(
        self, status: int, *, retry_after: int = 1, times: int | None = 1, chat_id: int | None = None
    ) -> None:
        await self._call(
            "POST",
            "fault",
            {"status": status, "retry_after": retry_after, "times": times, "chat_id": chat_id},
        )

    async def stats(self) -> dict[str, Any]:
        return dict(await self._call("GET", "stats"))


def main() -> None:
    parser = argparse.ArgumentParser(description="A local Telegram Bot API emulator.")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--per-bot", type=float, default=30.0, help="messages per second per bot")
    parser.add_argument(
        "--per-private-chat", type=float, default=1.0, help="messages per second per private chat"
    )
    parser.add_argument(
        "--per-group-per-minute", type=float, default=20.0, help="messages per minute per group"
    )
    args = parser.parse_args()
    limits = EmulatorLimits(
        per_bot_per_second=args.per_bot,
        per_private_chat_per_second=args.per_private_chat,
        per_group_per_minute=args.per_group_per_minute,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, limits))


if __name__ == "__main__":
    main()
