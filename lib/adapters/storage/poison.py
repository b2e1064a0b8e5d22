"""Poison queues: the messages the Functions host moved to `<queue>-poison` after host.json's
`maxDequeueCount` failed tries, listed, shown without secrets and replayed to their queue.

    python -m lib.adapters.storage.poison list
    python -m lib.adapters.storage.poison show outbox <message id>
    python -m lib.adapters.storage.poison replay outbox <message id> [<message id> ...]
    python -m lib.adapters.storage.poison replay outbox --all      (or `replay --all`: every queue)

The storage account is the app's (`AzureWebJobsStorage`: Azurite's connection string locally), or
`--account NAME` for identity-based access in Azure (`DefaultAzureCredential`: your `az login`, with
Storage Queue Data Contributor on the account). docs/operations.md, "Poison messages".

Reading a queue takes each message under a lease (`LEASE_S`, invisible to everyone else meanwhile)
and gives back those it leaves alone at once, so every message is seen, beyond the 32 a peek shows.
A replay sends the message's text unchanged (the host's base64) to the original queue, and only then
deletes it from the poison queue with the lease's receipt. So a message is replayed once: a second
replay of it finds nothing; two replays at once never lease the same message; and only a crash
between the send and the delete leaves it in the poison queue (visible again when the lease ends), to
be replayed a second time — which the queue functions tolerate (an outbox message for a delivery
already made is `not_due`, a sync request or change notice starts one more idempotent sync round).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lib.adapters.storage.clients import queue_service
from lib.adapters.storage.queues import APP_QUEUES, POISON_SUFFIX
from lib.core.settings import STORAGE_CONNECTION, SettingsError, load_storage_settings
from lib.core.telemetry import redact, redact_document

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient, QueueMessage, QueueServiceClient

# How long a read holds each message; a crashed run's messages come back after it.
LEASE_S = 60
BATCH = 32  # the most a receive returns


@dataclass(frozen=True)
class PoisonMessage:
    queue: str  # the queue it came from (its poison queue is `<queue>-poison`)
    message_id: str
    inserted_on: datetime | None
    body: str  # as shown to an operator: decoded and redacted

    def line(self) -> str:
        when = self.inserted_on.isoformat() if self.inserted_on else "-"
        return f"{self.queue}\t{self.message_id}\t{when}\t{self.body}"


@dataclass
class ReplayReport:
    replayed: list[tuple[str, str]] = field(default_factory=list)  # (queue, message id)
    not_found: list[tuple[str, str]] = field(default_factory=list)


def shown_body(content: str) -> str:
    """The message as an operator may see it: base64 decoded (as the host reads it), JSON with its
    credential fields masked, any text with e-mails and bearer tokens masked."""
    try:
        text = base64.b64decode(content, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        text = content
    try:
        document = json.loads(text)
    except ValueError:
        return redact(text)
    return json.dumps(redact_document(document), separators=(",", ":"), ensure_ascii=False)


def app_queue(name: str) -> str:
    """One of the app's queues, named with or without its `-poison` suffix."""
    base = name.removesuffix(POISON_SUFFIX)
    if base not in APP_QUEUES:
        raise ValueError(f"unknown queue {name!r}; the app's queues are {', '.join(APP_QUEUES)}")
    return base


class PoisonQueues:
    def __init__(self, service: QueueServiceClient, queues: Sequence[str] = APP_QUEUES) -> None:
        self._service = service
        self.queues = tuple(queues)

    def _poison(self, queue: str) -> QueueClient:
        return self._service.get_queue_client(queue + POISON_SUFFIX)

    def counts(self) -> dict[str, int]:
        """Approximate number of poison messages per queue (0 when the poison queue does not exist)."""
        from azure.core.exceptions import ResourceNotFoundError

        counts = {}
        for queue in self.queues:
            try:
                counts[queue] = int(self._poison(queue).get_queue_properties().approximate_message_count or 0)
            except ResourceNotFoundError:
                counts[queue] = 0
        return counts

    def _leased(self, queue: str, take: Callable[[QueueMessage], bool]) -> Iterator[QueueMessage]:
        """Lease every message of the poison queue, yield those `take` wants (the caller deletes
        them) and give the others back at once."""
        from azure.core.exceptions import ResourceNotFoundError

        client = self._poison(queue)
        # The newest lease of each message given back at the end; a message seen again means a scan
        # longer than the lease has come round, so it stops there.
        leased: dict[str, QueueMessage] = {}
        taken: set[str] = set()
        try:
            while True:
                batch = list(client.receive_messages(max_messages=BATCH, visibility_timeout=LEASE_S))
                came_round = False
                for message in batch:
                    if message.id in leased or message.id in taken:
                        came_round = True
                        if message.id in leased:
                            leased[message.id] = message
                    elif take(message):
                        taken.add(message.id)
                        yield message
                    else:
                        leased[message.id] = message
                if not batch or came_round:
                    break
        except ResourceNotFoundError:
            pass
        finally:
            for message in leased.values():
                try:
                    client.update_message(message.id, message.pop_receipt, visibility_timeout=0)
                except ResourceNotFoundError:
                    pass  # deleted meanwhile; nothing to give back

    def messages(self, queue: str | None = None, message_id: str | None = None) -> list[PoisonMessage]:
        """Every poison message (of one queue, or all), or the one with `message_id`, redacted."""
        found: list[PoisonMessage] = []
        for name in (queue,) if queue else self.queues:

            def keep(message: QueueMessage, name: str = name) -> bool:
                if message_id is None or message.id == message_id:
                    found.append(
                        PoisonMessage(name, message.id, message.inserted_on, shown_body(message.content))
                    )
                return False  # only looked at: every message is given back

            for _ in self._leased(name, keep):
                pass
        return found

    def replay(self, queue: str | None = None, message_ids: Sequence[str] | None = None) -> ReplayReport:
        """Move poison messages back to their queue: those with `message_ids` of `queue`, or all
        (of `queue`, or of every queue) when no ids are given."""
        report = ReplayReport()
        wanted = set(message_ids or ())
        for name in (queue,) if queue else self.queues:
            target = self._service.get_queue_client(name)
            poison = self._poison(name)
            for message in self._leased(name, lambda m: not wanted or m.id in wanted):
                # Send first, delete after: a crash in between leaves a copy, never loses one.
                target.send_message(message.content)
                poison.delete_message(message.id, message.pop_receipt)
                report.replayed.append((name, message.id))
            if queue:
                done = {m for q, m in report.replayed if q == name}
                report.not_found.extend((name, m) for m in sorted(wanted - done))
        return report


def _service(account: str | None, environ: Mapping[str, str]) -> Any:
    env = dict(environ)
    if account:
        env = {f"{STORAGE_CONNECTION}__accountName": account}
    return queue_service(load_storage_settings(env))


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lib.adapters.storage.poison",
        description="List, show (redacted) and replay the app's poison queue messages.",
    )
    parser.add_argument("--account", help="storage account name (identity-based; else AzureWebJobsStorage)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="count and list the poison messages of every queue")
    show = commands.add_parser("show", help="one message, decoded and redacted")
    show.add_argument("queue")
    show.add_argument("message_id")
    replay = commands.add_parser("replay", help="move messages back to their queue (each once)")
    replay.add_argument("queue", nargs="?")
    replay.add_argument("message_ids", nargs="*")
    replay.add_argument("--all", action="store_true", help="every message (of the queue, or of all queues)")
    args = parser.parse_args(argv)
    try:
        queue = app_queue(args.queue) if getattr(args, "queue", None) else None
        if args.command == "replay" and not args.all and not (queue and args.message_ids):
            parser.error("replay needs a queue and message ids, or --all")
        poison = PoisonQueues(_service(args.account, os.environ if environ is None else environ))
    except (ValueError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "list":
        for name, count in poison.counts().items():
            print(f"{name}{POISON_SUFFIX}: {count}")
        for message in poison.messages():
            print(message.line())
        return 0
    if args.command == "show":
        found = poison.messages(queue, args.message_id)
        if not found:
            print(f"error: no message {args.message_id} in {queue}{POISON_SUFFIX}", file=sys.stderr)
            return 1
        print(found[0].line())
        return 0
    report = poison.replay(queue, args.message_ids)
    for name, message_id in report.replayed:
        print(f"replayed {name} {message_id}")
    for name, message_id in report.not_found:
        print(f"not in {name}{POISON_SUFFIX} (already replayed?): {message_id}")
    return 1 if report.not_found else 0


if __name__ == "__main__":
    sys.exit(main())
