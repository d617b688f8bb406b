"""Fan-out of directives to the WatchDirectives streams, one mailbox per stream.

A mailbox holds only the latest directive: a slow subscriber is never sent stale ones
and can never make the controller buffer without bound. Streams remove their mailbox
when they end for any reason (client gone, cancelled, controller stopping).
"""

from __future__ import annotations

import asyncio

from flowctl import flow_control_pb2 as fc


class Mailbox:
    """Latest-value slot a single stream waits on."""

    __slots__ = ("_closed", "_latest", "_ready", "service_id")

    def __init__(self, service_id: str) -> None:
        self.service_id = service_id
        self._latest: fc.Directive | None = None
        self._ready = asyncio.Event()
        self._closed = False

    def put(self, directive: fc.Directive) -> None:
        self._latest = directive
        self._ready.set()

    def close(self) -> None:
        self._closed = True
        self._ready.set()

    async def get(self) -> fc.Directive | None:
        """The next directive; None once the mailbox is closed and drained."""
        while True:
            if self._latest is not None:
                latest, self._latest = self._latest, None
                return latest
            if self._closed:
                return None
            self._ready.clear()
            await self._ready.wait()


class DirectiveHub:
    def __init__(self) -> None:
        self._mailboxes: dict[str, set[Mailbox]] = {}
        self.sent = 0

    def subscribe(self, service_id: str) -> Mailbox:
        mailbox = Mailbox(service_id)
        self._mailboxes.setdefault(service_id, set()).add(mailbox)
        return mailbox

    def unsubscribe(self, mailbox: Mailbox) -> None:
        mailboxes = self._mailboxes.get(mailbox.service_id)
        if mailboxes is None:
            return
        mailboxes.discard(mailbox)
        if not mailboxes:
            del self._mailboxes[mailbox.service_id]

    def has_subscribers(self, service_id: str) -> bool:
        return service_id in self._mailboxes

    def subscribed_services(self) -> list[str]:
        return list(self._mailboxes)

    def subscriber_count(self) -> int:
        return sum(len(mailboxes) for mailboxes in self._mailboxes.values())

    def publish(self, directive: fc.Directive) -> int:
        """Deliver to every stream of the directive's service; returns how many."""
        mailboxes = self._mailboxes.get(directive.service_id, ())
        for mailbox in mailboxes:
            mailbox.put(directive)
        self.sent += len(mailboxes)
        return len(mailboxes)

    def close_all(self) -> None:
        for mailboxes in self._mailboxes.values():
            for mailbox in mailboxes:
                mailbox.close()
