"""Upload validation and decoding: bytes in, 16 kHz mono float32 out.

Everything here runs before a request reaches the decode queue, so bad input
costs no model time and never reaches the model. Each refusal is an
AudioError carrying the HTTP status and a message naming what was wrong.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr

RATE = 16000
MIN_RATE, MAX_RATE = 4000, 384000
ACCEPTED = "WAV, FLAC, OGG (Vorbis/Opus), MP3 or AIFF"


class AudioError(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass
class Audio:
    samples: np.ndarray      # float32, 16 kHz mono, in [-1, 1]
    source_rate: int
    source_channels: int
    container: str

    @property
    def duration(self) -> float:
        return len(self.samples) / RATE


# Containers we recognise but cannot decode: say so instead of "not audio".
_UNSUPPORTED = {
    "mp4/m4a/aac": lambda d: d[4:8] == b"ftyp",
    "webm/matroska": lambda d: d[:4] == b"\x1aE\xdf\xa3",
    "amr": lambda d: d[:5] == b"#!AMR",
    "wma/asf": lambda d: d[:4] == b"\x30\x26\xb2\x75",
    "raw aac (adts)": lambda d: len(d) > 1 and d[0] == 0xFF and (d[1] & 0xF6) == 0xF0,
}
_SUPPORTED = {
    "wav": lambda d: d[:4] in (b"RIFF", b"RF64") and d[8:12] == b"WAVE",
    "flac": lambda d: d[:4] == b"fLaC",
    "ogg": lambda d: d[:4] == b"OggS",
    "aiff": lambda d: d[:4] == b"FORM" and d[8:12] in (b"AIFF", b"AIFC"),
    "mp3": lambda d: d[:3] == b"ID3" or (len(d) > 1 and d[0] == 0xFF and (d[1] & 0xE0) == 0xE0),
}


def sniff(data: bytes) -> str:
    """Name of the container in ``data``, or raise AudioError (415 / 400)."""
    for name, test in _SUPPORTED.items():
        if test(data):
            return name
    for name, test in _UNSUPPORTED.items():
        if test(data):
            raise AudioError(415, f"unsupported audio format ({name}): send {ACCEPTED}", "unsupported_format")
    raise AudioError(400, f"the uploaded file is not audio (unknown header {data[:8]!r}): send {ACCEPTED}",
                     "not_audio")


def _streamed(size: int) -> bool:
    """Streaming writers (espeak-ng --stdout: 0x7FFFF000, ffmpeg to a pipe:
    0xFFFFFFFF, some recorders: 0) cannot know the length up front and put a
    placeholder in the data chunk size; such a file is not truncated."""
    return size in (0, 0xFFFFFFFF) or size >= 0x7FFF0000


def _riff_chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(chunk id, offset of its body, declared size) of each RIFF chunk after the header, in order."""
    pos = 12
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        yield data[pos:pos + 4], pos + 8, size
        pos += 8 + size + (size & 1)


def _for_libsndfile(data: bytes) -> bytes:
    """libsndfile reads a 0 data chunk size as no samples, but the 0xFFFFFFFF
    placeholder as "to the end of the file": a RIFF WAV streamed with 0 gets
    that one instead (a copy, made only for such files)."""
    if data[:4] != b"RIFF":
        return data
    for chunk, body, size in _riff_chunks(data):
        if chunk == b"data":
            return data[:body - 4] + b"\xff\xff\xff\xff" + data[body:] if size == 0 and body < len(data) else data
    return data


def _check_wav_complete(data: bytes) -> None:
    """A RIFF data chunk shorter than its header says is a truncated upload."""
    for chunk, body, size in _riff_chunks(data):
        if chunk == b"data":
            if not _streamed(size) and body + size > len(data):
                raise AudioError(400, f"truncated WAV: the data chunk declares {size} bytes but only "
                                 f"{len(data) - body} are present; upload the complete file", "truncated")
            return
    raise AudioError(400, "truncated WAV: no data chunk found; upload the complete file", "truncated")


def _pcm16(data: bytes) -> tuple[int, int, int, int] | None:
    """(rate, channels, frames, offset of the samples) of a complete RIFF WAV
    of 16-bit PCM (format tag 1), the upload most clients send, or None for
    anything else (libsndfile reads those). Its samples are little-endian
    int16 in the data chunk: read straight from the upload, they skip
    libsndfile's callbacks into Python (0.6 ms of a 0.9 ms decode of 10 s at 16 kHz).
    A streamed data chunk (``_streamed``) runs to the end of the file."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    fmt = None
    for chunk, body, size in _riff_chunks(data):
        if chunk == b"fmt " and size >= 16:
            fmt = data[body:body + 16]
        elif chunk == b"data":
            if _streamed(size):
                size = len(data) - body
            if fmt is None or body + size > len(data):
                return None
            tag, channels = int.from_bytes(fmt[0:2], "little"), int.from_bytes(fmt[2:4], "little")
            rate, bits = int.from_bytes(fmt[4:8], "little"), int.from_bytes(fmt[14:16], "little")
            block = int.from_bytes(fmt[12:14], "little")
            if tag != 1 or bits != 16 or channels < 1 or block != 2 * channels:
                return None
            return rate, channels, size // block, body
    return None


@dataclass(frozen=True)
class Header:
    """What ``check`` read from an upload's header."""
    container: str
    rate: int
    channels: int
    frames: int                      # 0 when the header does not know (MP3, streamed WAV not of 16-bit PCM)
    pcm16_offset: int | None = None  # where a plain 16-bit PCM WAV's samples start (read without libsndfile)

    def cheap(self, max_samples: int = 20 * RATE) -> bool:
        """A 16-bit PCM WAV already at 16 kHz with at most ``max_samples``
        source samples: decoding it is a conversion and a scale (about 0.1 ms
        for 10 s of mono), cheaper than handing it to a thread and back."""
        return self.pcm16_offset is not None and self.rate == RATE and 0 < self.frames * self.channels <= max_samples


def check(data: bytes, max_seconds: float, max_source_samples: int | None = None) -> Header:
    """Everything that can be refused from the file's header, before a sample
    is decoded: empty, not audio, truncated WAV, unreadable, rate, length and
    source samples (frames x channels, against ``max_source_samples``). Cheap
    (the header only), so the server runs it before taking a decode slot."""
    if not data:
        raise AudioError(400, "the uploaded file is empty", "empty_file")
    container = sniff(data)
    pcm = _pcm16(data) if container == "wav" else None
    # A plain 16-bit PCM WAV was just found complete; any other RIFF WAV is checked for truncation here.
    if pcm is None and container == "wav" and data[:4] == b"RIFF":
        _check_wav_complete(data)
    offset = None
    if pcm is not None:
        rate, channels, frames, offset = pcm
    else:
        try:
            info = sf.info(io.BytesIO(data))
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            raise AudioError(400, f"cannot read this {container} file ({getattr(exc, 'error_string', exc)}); it "
                             f"may be truncated or corrupt", "corrupt_audio") from None
        rate, channels, frames = info.samplerate, info.channels, max(0, info.frames)
    if rate <= 0 or channels <= 0:
        raise AudioError(400, f"the {container} file declares no sample rate or channels", "corrupt_audio")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(400, f"sample rate {rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz", "bad_sample_rate")
    if frames > 0 and frames / rate > max_seconds:
        raise AudioError(413, f"audio is {frames / rate:.0f} s long; the limit is {max_seconds:g} s "
                         f"(ASR_MAX_AUDIO_SECONDS): split it", "audio_too_long")
    if max_source_samples is not None and frames > 0:
        _check_source_size(frames, channels, rate, max_source_samples)
    return Header(container, int(rate), int(channels), int(frames), offset)


def decode(data: bytes, max_seconds: float, max_source_samples: int | None = None,
           header: Header | None = None) -> Audio:
    """Validate (``check``, unless its ``header`` is given) and decode an upload; resample to 16 kHz mono.

    Decoding reads the file in blocks, mixed down and resampled one at a
    time, so memory follows the 16 kHz mono output, not the source's rate
    and channels; the length and source samples are counted again as blocks
    arrive (a header may not know them)."""
    header = header or check(data, max_seconds, max_source_samples)
    container = header.container
    try:
        mono, frames = _decode_blocks(data, header, max_seconds, max_source_samples)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(400, f"cannot decode this {container} file ({getattr(exc, 'error_string', exc)}); it "
                         f"may be truncated or corrupt", "corrupt_audio") from None
    if frames == 0:
        raise AudioError(400, f"the {container} file holds no audio samples", "empty_audio")
    return Audio(samples=mono, source_rate=header.rate, source_channels=header.channels,
                 container=container)


def _check_source_size(frames: int, channels: int, rate: int, limit: int) -> None:
    if frames * channels > limit:
        raise AudioError(413, f"the audio decodes to {frames * channels / 1e6:.0f} million samples ({frames} "
                         f"frames x {channels} channels at {rate} Hz); the limit is {limit / 1e6:g} million "
                         f"(ASR_MAX_SOURCE_MSAMPLES): send fewer channels, a lower rate or a shorter file",
                         "audio_too_large")


BLOCK_SAMPLES = 1 << 19        # source samples (frames x channels) read per step: 2 MB as float32


def _decode_blocks(data: bytes, header: Header, max_seconds: float,
                   max_source_samples: int | None) -> tuple[np.ndarray, int]:
    """16 kHz mono float32 samples and the source frame count, one block at a time.

    The counts are checked as blocks arrive too: a header may not know its
    length (MP3, streamed WAV)."""
    rate, container = header.rate, header.container
    out = _ToRate(rate)
    frames = 0
    for block, exact in _blocks(data, header):
        frames += block.shape[0]
        if frames / rate > max_seconds:
            raise AudioError(413, f"audio is longer than the {max_seconds:g} s limit "
                             f"(ASR_MAX_AUDIO_SECONDS): split it", "audio_too_long")
        if max_source_samples is not None:
            _check_source_size(frames, block.shape[1], rate, max_source_samples)
        if not exact and not np.isfinite(block).all():
            raise AudioError(400, f"the {container} file holds NaN or infinite samples", "corrupt_audio")
        out.feed(_mix_down(block))
    # 16-bit samples over 32768 (and their mean) lie in [-1, 1): only resampling or what libsndfile reads can overshoot.
    return out.finish(clip=header.pcm16_offset is None or rate != RATE), frames


def _blocks(data: bytes, header: Header) -> Iterator[tuple[np.ndarray, bool]]:
    """The source as float32 blocks of (frames, channels), each with whether
    it came from integers (always finite). A 16-bit PCM WAV is scaled as
    libsndfile does (1/32768), the same samples; the rest is read by it."""
    if header.pcm16_offset is not None:
        frames, channels = header.frames, header.channels
        ints = np.frombuffer(data, "<i2", count=frames * channels, offset=header.pcm16_offset)
        ints = ints.reshape(frames, channels)
        # 16 kHz mono is already the output: one block, converted once, kept as the result.
        step = max(1, frames if header.rate == RATE and channels == 1 else BLOCK_SAMPLES // channels)
        for start in range(0, frames, step):
            block = ints[start:start + step].astype(np.float32)
            block *= np.float32(1.0 / 32768)
            yield block, True
        return
    with sf.SoundFile(io.BytesIO(_for_libsndfile(data))) as source:
        block_frames = max(1, BLOCK_SAMPLES // source.channels)
        while True:
            block = source.read(block_frames, dtype="float32", always_2d=True)
            if block.shape[0] == 0:
                return
            yield block, False


class _ToRate:
    """16 kHz mono from source blocks, one at a time: soxr's streaming
    resampler (the same samples as resampling the whole signal at once, any
    rate ratio, memory bounded by the block), or the blocks as they are at 16 kHz.

    soxr (libsoxr, a dependency of librosa and so of NeMo's stack) takes 2 ms
    for 10 s of 44.1 kHz where scipy's resample_poly took 6 ms
    (benchmarks/overlay_request_cost.py)."""

    def __init__(self, rate: int) -> None:
        self.stream = None if rate == RATE else soxr.ResampleStream(rate, RATE, 1, dtype="float32", quality="HQ")
        self.chunks: list[np.ndarray] = []

    def feed(self, mono: np.ndarray) -> None:
        if self.stream is None:
            self.chunks.append(mono)
        else:
            self.chunks.append(self.stream.resample_chunk(np.ascontiguousarray(mono)))

    def finish(self, clip: bool = True) -> np.ndarray:
        if self.stream is not None:
            self.chunks.append(self.stream.resample_chunk(np.zeros(0, np.float32), last=True))
        if not self.chunks:
            return np.zeros(0, np.float32)
        # One block (most uploads) is kept as it is: a copy of fresh memory
        # costs its page faults, more than the copy itself.
        mono = self.chunks[0] if len(self.chunks) == 1 else np.concatenate(self.chunks)
        self.chunks = []
        return np.clip(mono, -1.0, 1.0, out=mono) if clip else mono


def _mix_down(samples: np.ndarray) -> np.ndarray:
    """The mean of the channels, as one float32 column.

    ``samples.mean(axis=1)`` makes one tiny reduction per frame (6 ms for
    10 s of 44.1 kHz stereo, 1.5 ms for 60 s of mono); adding whole columns
    is the same arithmetic in a twentieth of the time, and mono is a view."""
    channels = samples.shape[1]
    if channels == 1:
        return samples[:, 0]
    mono = samples[:, 0].copy()
    for channel in range(1, channels):
        mono += samples[:, channel]
    mono *= np.float32(1.0 / channels)
    return mono


def to_wav_bytes(samples: np.ndarray) -> bytes:
    """16-bit PCM WAV of 16 kHz mono float samples (for engines that want a file)."""
    buf = io.BytesIO()
    sf.write(buf, samples, RATE, format="WAV", subtype="PCM_16")
    return buf.getvalue()
