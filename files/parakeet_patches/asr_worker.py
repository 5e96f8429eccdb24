"""One decode at a time: a bounded queue in front of a single worker thread.

The GPU serializes decodes anyway, and parallel decodes race in cuFFT, so all
model work (warm-up included) runs on this one thread. The queue is bounded:
a full queue is refused at once (the caller answers 503 + Retry-After), a job
that waited longer than the queue timeout is dropped unrun, and the caller
stops waiting after queue timeout + decode timeout. Nothing waits forever.
"""
from __future__ import annotations

import asyncio
import math
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable


class Busy(Exception):
    """The request could not be served now; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Job:
    fn: Callable[[], Any]
    future: Future = field(default_factory=Future)
    queued_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def queue_wait(self) -> float:
        return ((self.started_at or time.monotonic()) - self.queued_at)

    @property
    def run_time(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.monotonic()) - self.started_at


class JobQueue:
    """FIFO of jobs for the worker thread; ``put_nowait`` refuses (queue.Full)
    once ``depth`` jobs wait. The one being decoded is no longer waiting.

    Through queue.Queue a job took some 60 us longer to reach the worker
    (benchmarks/overlay_request_cost.py): its getter wakes inside a Condition
    and must then retake the mutex the putter holds while notifying. A
    SimpleQueue hands the job over with one wake-up; the bound is a counter."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self._items: queue.SimpleQueue = queue.SimpleQueue()
        self._waiting = 0
        self._lock = threading.Lock()

    def put_nowait(self, item: Job) -> None:
        with self._lock:
            if self._waiting >= self.depth:
                raise queue.Full
            self._waiting += 1
            self._items.put(item)

    def get(self) -> Job | None:
        """The next job (blocks); None: the worker should stop."""
        item = self._items.get()
        if item is not None:
            with self._lock:
                self._waiting -= 1
        return item

    def qsize(self) -> int:
        return self._waiting

    def close(self) -> None:
        """Stop the worker after the jobs already queued (never refused)."""
        self._items.put(None)


class DecodeWorker:
    def __init__(self, depth: int, queue_timeout: float, decode_timeout: float) -> None:
        self.depth = depth
        self.queue_timeout = queue_timeout
        self.decode_timeout = decode_timeout
        self._jobs = JobQueue(depth)
        self._avg_run = 1.0          # seconds; running mean of decode times, for Retry-After
        self._running = False
        self._thread = threading.Thread(target=self._loop, name="decode-worker", daemon=True)
        self._thread.start()

    # ---- the worker thread ----------------------------------------------------
    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if not job.future.set_running_or_notify_cancel():
                continue                       # the caller gave up while it was queued
            job.started_at = time.monotonic()
            if job.queue_wait > self.queue_timeout:
                job.future.set_exception(Busy(
                    f"the request waited {job.queue_wait:.0f} s in the decode queue "
                    f"(ASR_QUEUE_TIMEOUT={self.queue_timeout:g} s)", self.retry_after()))
                continue
            self._running = True
            try:
                result, failure = job.fn(), None
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, never lost
                result, failure = None, exc
            job.finished_at = time.monotonic()
            self._running = False
            self._avg_run = 0.8 * self._avg_run + 0.2 * job.run_time
            # Waking the caller is the last thing before blocking on the queue
            # again, so the woken event loop does not have to wait for this
            # thread to let go of the GIL.
            if failure is not None:
                job.future.set_exception(failure)
            else:
                job.future.set_result(result)

    # ---- callers ----------------------------------------------------------------
    @property
    def pending(self) -> int:
        return self._jobs.qsize() + (1 if self._running else 0)

    def retry_after(self) -> int:
        """Seconds until the queue has likely drained a slot (at least 1)."""
        return max(1, math.ceil((self._jobs.qsize() + 1) * self._avg_run))

    def submit(self, fn: Callable[[], Any]) -> Job:
        job = Job(fn)
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            raise Busy(f"the decode queue is full ({self.depth} requests waiting; ASR_QUEUE_DEPTH)",
                       self.retry_after()) from None
        return job

    def run_sync(self, fn: Callable[[], Any], timeout: float | None = None) -> Any:
        """Queue ``fn`` and wait for it from a plain thread (warm-up, tests)."""
        job = self.submit(fn)
        return job.future.result(timeout=timeout)

    async def run(self, fn: Callable[[], Any]) -> tuple[Any, Job]:
        """Queue ``fn`` and await it; raises Busy when refused or out of time.

        The job's end wakes the event loop once (call_soon_threadsafe); the
        time limit is a timer on the loop. (asyncio.wait_for over wrap_future
        chained three futures per job for the same answer, some 30 us more.)"""
        job = self.submit(fn)
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        job.future.add_done_callback(lambda _done: _wake_from_thread(loop, waiter))
        limit = self.queue_timeout + self.decode_timeout
        timer = loop.call_later(limit, _wake, waiter)
        try:
            await waiter
        except BaseException:
            job.future.cancel()                 # the caller is gone; still queued: the worker skips it
            raise
        finally:
            timer.cancel()
        if not job.future.done():
            job.future.cancel()                 # still queued: the worker skips it
            raise Busy(f"no answer within {limit:g} s (ASR_QUEUE_TIMEOUT + ASR_DECODE_TIMEOUT)",
                       self.retry_after())
        return job.future.result(), job

    def stop(self) -> None:
        self._jobs.close()


def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _wake_from_thread(loop: asyncio.AbstractEventLoop, waiter: asyncio.Future) -> None:
    """Called on the worker thread when a job ends (or at once when it already had)."""
    try:
        loop.call_soon_threadsafe(_wake, waiter)
    except RuntimeError:                        # the loop is closed: nobody is waiting any more
        pass
