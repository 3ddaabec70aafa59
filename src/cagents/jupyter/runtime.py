"""What the server extension hosts: the workbench, its live runs and the deployment token.

The workbench (database, migrations, crash recovery) opens in a worker thread as the server
starts, so loading the extension does not slow Jupyter's start-up; the first request that
needs it waits for it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cagents.errors import CagentsError, StoreError

if TYPE_CHECKING:
    from cagents.app.live import LiveRuns
    from cagents.app.workbench import Workbench

__all__ = ["ServerRuntime"]

_log = logging.getLogger("cagents.jupyter")


class ServerRuntime:
    """The workbench of a Jupyter server process, opened in the background."""

    def __init__(self, home: Path, db_url: str | None = None) -> None:
        self.home = Path(home)
        self.db_url = db_url
        self._opening: concurrent.futures.Future[Workbench] | None = None
        self._live: LiveRuns | None = None
        self._token: str | None = None
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cagents-open")

    def open_in_background(self) -> None:
        """Start opening the workbench; `workbench()` waits for it."""
        if self._opening is None:
            self._opening = self._executor.submit(self._open)

    def _open(self) -> Workbench:
        from cagents.app import Workbench

        self.home.mkdir(parents=True, mode=0o700, exist_ok=True)
        workbench = Workbench.open(self.home, db_url=self.db_url)
        if workbench.recovered:
            _log.info("cagents: marked %d executions of dead processes interrupted", len(workbench.recovered))
        return workbench

    async def workbench(self) -> Workbench:
        """The open workbench; a database that cannot be opened is a StoreError (503)."""
        self.open_in_background()
        assert self._opening is not None
        try:
            return await asyncio.wrap_future(self._opening)
        except CagentsError:
            raise
        except Exception as exc:  # a driver error on open: name it, never a traceback to clients
            raise StoreError(f"the workbench database cannot be opened: {exc}") from exc

    async def live(self) -> LiveRuns:
        """The runs this server drives (created in the server's loop on first use)."""
        if self._live is None:
            from cagents.app.live import LiveRuns

            self._live = LiveRuns(await self.workbench())
        return self._live

    def deployment_token(self) -> str:
        """The workbench's deployment token (created 0600 under the home on first use)."""
        if self._token is None:
            from cagents.app.deployment_token import deployment_token

            self.home.mkdir(parents=True, mode=0o700, exist_ok=True)
            self._token = deployment_token(self.home)
        return self._token

    def publish_registry(self, url: str) -> None:
        """Write `registry.json` in the home: deployed services then register with this server."""
        from cagents.deploy.registry_marker import publish

        try:
            self.home.mkdir(parents=True, mode=0o700, exist_ok=True)
            publish(self.home, url)
        except OSError as error:  # a read-only home: deploys then need --dashboard
            _log.warning("cagents: cannot write the registry marker in %s: %s", self.home, error)

    def unpublish_registry(self) -> None:
        """Remove `registry.json` if it is still this server's."""
        from cagents.deploy.registry_marker import unpublish

        unpublish(self.home)

    async def aclose(self) -> None:
        """Cancel live runs, then close the workbench (off the loop: it flushes traces)."""
        if self._live is not None:
            await self._live.aclose()
        if "cagents.llm" in sys.modules:  # clients cached on this loop close with it
            from cagents.llm import aclose_clients

            await aclose_clients()
        opening, self._opening = self._opening, None
        if opening is not None:
            try:
                workbench = await asyncio.wrap_future(opening)
            except Exception:
                workbench = None
            if workbench is not None:
                await asyncio.get_running_loop().run_in_executor(None, workbench.close)
        self._executor.shutdown(wait=False)
