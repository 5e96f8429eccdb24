"""asr_settings: every setting from the environment, with messages naming the variable."""
from __future__ import annotations

import pytest

import asr_settings


def test_settings_defaults():
    s = asr_settings.load({})
    assert (s.engine, s.port, s.queue_depth, s.cuda_graphs) == ("nemo", 8010, 8, False)
    assert s.nemo_asr_model == "nvidia/parakeet-tdt-0.6b-v2"
    assert s.nemo_diar_model == "nvidia/diar_sortformer_4spk-v1"


def test_settings_from_env():
    s = asr_settings.load({"ASR_ENGINE": "cpu", "ASR_PORT": "8210", "ASR_QUEUE_DEPTH": "3", "ASR_CUDA_GRAPHS": "on",
                           "STT_MODEL_ID": "parakeet-tdt-0.6b-v3", "ASR_MAX_UPLOAD_MB": "1"})
    assert (s.engine, s.port, s.queue_depth, s.cuda_graphs) == ("cpu", 8210, 3, True)
    assert s.nemo_asr_model == "nvidia/parakeet-tdt-0.6b-v3" and s.max_upload_bytes == 1024 * 1024


@pytest.mark.parametrize("env, name", [({"ASR_ENGINE": "tpu"}, "ASR_ENGINE"), ({"ASR_PORT": "x"}, "ASR_PORT"),
                                       ({"ASR_QUEUE_DEPTH": "0"}, "ASR_QUEUE_DEPTH"),
                                       ({"ASR_CUDA_GRAPHS": "maybe"}, "ASR_CUDA_GRAPHS")])
def test_bad_settings_name_the_variable(env, name):
    with pytest.raises(asr_settings.SettingsError, match=name):
        asr_settings.load(env)


@pytest.mark.parametrize("raw, engine", [("nemo", "nemo"), ("CPU", "cpu"), ("", "nemo"),
                                         ("my_site.engines:GpuEngine", "my_site.engines:GpuEngine")])
def test_asr_engine_is_a_built_in_name_or_module_class(raw, engine):
    assert asr_settings.load({"ASR_ENGINE": raw}).engine == engine


@pytest.mark.parametrize("raw", ["tpu", "module:", ":Class", "a b:C", "mod:Cls.attr", "/path/x.py:C"])
def test_asr_engine_refuses_anything_else_with_the_choices(raw):
    with pytest.raises(asr_settings.SettingsError, match="nemo .*cpu .*module:Class"):
        asr_settings.load({"ASR_ENGINE": raw})


@pytest.mark.parametrize("raw, default, value", [("on", False, True), ("YES", False, True), ("1", False, True),
                                                 ("off", True, False), ("false", True, False), ("", True, True),
                                                 ("  ", False, False)])
def test_one_switch_parser_for_settings_and_form_fields(raw, default, value):
    assert asr_settings.switch(raw, default) is value


def test_switch_refuses_other_words():
    with pytest.raises(ValueError, match="maybe"):
        asr_settings.switch("maybe", False)


def test_request_bounds_from_env():
    s = asr_settings.load({"ASR_BODY_TIMEOUT_S": "2.5", "ASR_DECODE_CONCURRENCY": "3",
                           "ASR_MAX_SOURCE_MSAMPLES": "1.5"})
    assert (s.body_timeout, s.decode_concurrency, s.max_source_samples) == (2.5, 3, 1_500_000)
    d = asr_settings.load({})
    assert (d.body_timeout, d.decode_concurrency, d.max_source_samples) == (120.0, 2, 140_000_000)
    with pytest.raises(asr_settings.SettingsError, match="ASR_DECODE_CONCURRENCY"):
        asr_settings.load({"ASR_DECODE_CONCURRENCY": "0"})
