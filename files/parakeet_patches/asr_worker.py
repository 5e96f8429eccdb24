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


class DecodeWorker:
    def __init__(self, depth: int, queue_timeout: float, decode_timeout: float) -> None:
        self.depth = depth
        self.queue_timeout = queue_timeout
        self.decode_timeout = decode_timeout
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=depth)
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
                result = job.fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, never lost
                job.finished_at = time.monotonic()
                job.future.set_exception(exc)
            else:
                job.finished_at = time.monotonic()
                job.future.set_result(result)
            finally:
                self._running = False
                self._avg_run = 0.8 * self._avg_run + 0.2 * job.run_time

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
        """Queue ``fn`` and await it; raises Busy when refused or out of time."""
        job = self.submit(fn)
        try:
            result = await asyncio.wait_for(asyncio.wrap_future(job.future),
                                            timeout=self.queue_timeout + self.decode_timeout)
        except asyncio.TimeoutError:
            job.future.cancel()                 # still queued: the worker skips it
            raise Busy(f"no answer within {self.queue_timeout + self.decode_timeout:g} s "
                       f"(ASR_QUEUE_TIMEOUT + ASR_DECODE_TIMEOUT)", self.retry_after()) from None
        return result, job

    def stop(self) -> None:
        try:
            self._jobs.put_nowait(None)
        except queue.Full:
            pass
