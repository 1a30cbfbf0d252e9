"""Runs cunzhan as a real process (``python -m bot.cli run``) for restart and crash tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class BotProcess:
    """One ``cunzhan run`` subprocess; ``start`` returns once its HTTP server listens."""

    def __init__(
        self, env: dict[str, str], workdir: Path, *, extra_path: Path | None = None
    ) -> None:
        self.env = {**os.environ, **env, "CUNZHAN_LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1"}
        self.pythonpath = str(ROOT) if extra_path is None else f"{extra_path}{os.pathsep}{ROOT}"
        self.workdir = workdir
        self.proc: asyncio.subprocess.Process | None = None
        self.port: int | None = None
        self.log: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 30.0) -> int:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            cwd=self.workdir,
            env={**self.env, "PYTHONPATH": self.pythonpath},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(started))
        try:
            self.port = await asyncio.wait_for(started, timeout)
        except TimeoutError:
            await self.kill()
            raise AssertionError("cunzhan did not start:\n" + "\n".join(self.log[-30:])) from None
        return self.port

    async def _read(self, started: asyncio.Future[int]) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        async for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.log.append(line)
            if not started.done() and '"cunzhan started"' in line:
                url = json.loads(line)["url"]
                started.set_result(int(url.rsplit(":", 1)[1]))
        if not started.done():
            started.set_exception(AssertionError("process exited before it started"))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a power cut or an OOM kill."""
        if self.proc and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self._reader:
            await self._reader

    async def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait for a clean exit."""
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                await self.kill()
        if self._reader:
            await self._reader
        return self.proc.returncode if self.proc else None
