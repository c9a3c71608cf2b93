"""A message broker that needs no server: kombu's filesystem transport, made safe.

Registered with kombu as the ``fsatomic://`` scheme. Three changes to the stock transport:

* ``_put`` writes each message under a temporary name and ``os.replace``-s it into place.
  The stock one creates the file and then writes it, so a polling worker can read it empty
  and die with ``JSONDecodeError`` (celery/kombu#1551).
* ``_get`` claims a message by renaming it into ``processed_folder`` on the same filesystem
  (an atomic step, so two workers never both take it) and deletes it once read. The stock one
  moves it to the system temp dir, which is a copy when that is another filesystem.
* Exchange tables (the queue bindings in ``control_folder``, read on every publish) are
  rewritten under a lock file and ``os.replace``-d too. The stock transport truncates the
  file before locking it, so a concurrent publish could read it empty and fail or misroute.

POSIX only (``fcntl``), like the deployments this serves.

Folders named in the transport options are created when a channel opens.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from queue import Empty
from time import monotonic_ns
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

SCHEME = "fsatomic"


class Channel(filesystem.Channel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            folder = self.transport_options.get(key)
            if folder:
                os.makedirs(folder, exist_ok=True)

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        # kombu's name pattern, with a zero-padded nanosecond prefix so that sorting the names
        # keeps FIFO order (kombu's millisecond one ties within a millisecond).
        name = f"{monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot keeps the half-written file out of every queue's name pattern.
        temporary = os.path.join(self.data_folder_out, f".{name}.tmp")
        try:
            with open(temporary, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(temporary, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add message {name!r} to the queue") from exc

    def _get(self, queue: str) -> Any:
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(self.processed_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except FileNotFoundError:
                continue  # another consumer claimed it first
            try:
                with open(claimed, "rb") as f:
                    payload = f.read()
            finally:
                os.remove(claimed)
            return loads(bytes_to_str(payload))
        raise Empty()

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._update_table(exchange, lambda table: table if binding in table else [binding, *table])

    def _delete(
        self, queue: str, exchange: str, routing_key: str, pattern: str, *args: Any, **kwargs: Any
    ) -> None:
        # The in-memory part of the virtual transport, without the stock file rewrite.
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._update_table(exchange, lambda table: [b for b in table if b != binding])

    def _update_table(self, exchange: str, change: Callable[[list[Any]], list[Any]]) -> None:
        """Read-modify-write an exchange table, serialised by a lock file, replaced atomically."""
        file: Path = self._exchange_file(exchange)
        file.parent.mkdir(parents=True, exist_ok=True)
        with open(file.with_name(f".{file.name}.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                try:
                    current = [filesystem.exchange_queue_t(*q) for q in loads(file.read_text())]
                except FileNotFoundError:
                    current = []
                updated = change(current)
                if updated == current and file.exists():
                    return
                temporary = file.with_name(f".{file.name}.{uuid.uuid4().hex}.tmp")
                temporary.write_text(dumps(updated))
                os.replace(temporary, file)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


class Transport(filesystem.Transport):
    Channel = Channel
    # Each transport class keeps its own in-process state of declared exchanges.
    global_state = virtual.BrokerState()
    driver_type = SCHEME
    driver_name = SCHEME
    # A queue folder gone bad (missing, replaced by a file) is a lost connection, not a crash:
    # Celery's consumer then reconnects with back-off instead of exiting (tests/faults).
    connection_errors = (*filesystem.Transport.connection_errors, OSError)


TRANSPORT_ALIASES[SCHEME] = f"{__name__}:Transport"
