"""Run an iterator in a background thread, a few items ahead, so parsing overlaps with writing.

Arrow releases the GIL while parsing CSV, converting and writing Parquet, so two stages on two threads use
two cores. The queue is bounded: memory stays a few batches whatever the input size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from typing import TypeVar, cast

T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterable[T], depth: int = 2) -> Generator[T, None, None]:
    """The items of `items`, read ahead on a thread; close() the generator to stop that thread early."""
    box: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    source = iter(items)

    def produce() -> None:
        try:
            for item in source:
                while not stop.is_set():
                    try:
                        box.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(_DONE)
        except BaseException as exc:  # handed to the consumer, re-raised there
            box.put(exc)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # a generator's cleanup (closing the input file) runs here, on its own thread

    worker = threading.Thread(target=produce, name="cost-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield cast(T, item)  # anything but _DONE and an exception is one of `items`
    finally:
        stop.set()
        while worker.is_alive():
            try:
                box.get_nowait()
            except queue.Empty:
                worker.join(0.05)
