"""A dashboard's view of the channel layer for sync tests: a thread subscribed to the events
group on the real Redis channel layer, collecting the `progress` frames it is sent."""

import asyncio
import itertools
import threading
import time
from collections.abc import Sequence

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from events.broadcast import EVENTS_GROUP

PROBE_KIND = "listener-probe"
PROBE_WAIT_S = 15.0


class ProgressFrames(Sequence):
    """The progress frames of one kind received so far, in order, as publish_progress was
    called (kind, object_id, state...). Reading waits for a probe published then to come back:
    Redis delivers in the order it took the PUBLISHes, so every frame the test's own code
    published before has arrived, however slow this thread is."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._received: list[dict] = []
        self._ready = threading.Event()
        self._live = threading.Event()
        self._probes = itertools.count(1)
        self._probe_back = threading.Condition()
        self._last_probe = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True)

    def start(self) -> None:
        """Subscribe, and return only once a probe sent through the layer has come back."""
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("the listener did not subscribe to the channel layer")
        deadline = time.monotonic() + 5
        while not self._live.is_set():
            if time.monotonic() > deadline:
                raise RuntimeError("no message came back through the channel layer")
            probe = {"type": "progress.update", "kind": PROBE_KIND, "id": 0}
            async_to_sync(get_channel_layer().group_send)(EVENTS_GROUP, probe)
            self._live.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    async def _listen(self) -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(EVENTS_GROUP, channel)
        self._ready.set()
        try:
            while not self._stop.is_set():
                try:
                    message = await asyncio.wait_for(layer.receive(channel), 0.1)
                except TimeoutError:
                    continue
                if message.get("kind") == PROBE_KIND:
                    self._live.set()
                    with self._probe_back:
                        self._last_probe = max(self._last_probe, message.get("probe", 0))
                        self._probe_back.notify_all()
                elif message.get("type") == "progress.update" and message["kind"] == self.kind:
                    frame = {k: v for k, v in message.items() if k not in ("type", "id")}
                    self._received.append({"object_id": message["id"], **frame})
        finally:
            await layer.group_discard(EVENTS_GROUP, channel)

    def _flush(self) -> None:
        probe = next(self._probes)
        message = {"type": "progress.update", "kind": PROBE_KIND, "id": 0, "probe": probe}
        async_to_sync(get_channel_layer().group_send)(EVENTS_GROUP, message)
        with self._probe_back:
            if not self._probe_back.wait_for(lambda: self._last_probe >= probe, PROBE_WAIT_S):
                raise RuntimeError("a probe did not come back through the channel layer")

    def _settled(self) -> list[dict]:
        self._flush()
        return list(self._received)

    def __getitem__(self, index):
        return self._settled()[index]

    def __len__(self) -> int:
        return len(self._settled())

    def __iter__(self):
        return iter(self._settled())

    def __eq__(self, other) -> bool:
        return self._settled() == list(other)

    __hash__ = None
