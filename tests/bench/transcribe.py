"""Send one audio file to an OpenAI-style /v1/audio/transcriptions endpoint
and print the JSON answer; exits 1 (answer on stderr) on a non-200 answer.

Molecule scenarios use this instead of ansible.builtin.uri, whose
form-multipart body base64-encodes binary parts, which servers do not decode.

    python tests/bench/transcribe.py URL FILE [field=value ...]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import requests


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    url, path, *pairs = argv
    fields = dict(pair.split("=", 1) for pair in pairs)
    fields.setdefault("response_format", "json")
    audio = Path(path)
    with audio.open("rb") as handle:
        answer = requests.post(url, files={"file": (audio.name, handle, "audio/wav")}, data=fields, timeout=300)
    if answer.status_code != 200:
        print(f"{url} answered {answer.status_code}: {answer.text[:2000]}", file=sys.stderr)
        return 1
    print(json.dumps(answer.json()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
