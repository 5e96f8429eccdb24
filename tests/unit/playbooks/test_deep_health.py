"""playbooks/deep_health.yml, read and templated as Ansible does, without running it: the remediation's wait asks
the services the probes ask, as the probes do, and the report covers the hosts the run probed."""
from __future__ import annotations

from pathlib import Path

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.spark_control.audio.plugins.module_utils._health.options import ARGUMENT_SPEC

PLAYBOOK = Path(__file__).resolve().parents[3] / "playbooks/deep_health.yml"
# DataLoader marks the playbook's strings as trusted templates, as ansible-playbook does.
PROBE, REPORT = DataLoader().load_from_file(str(PLAYBOOK), trusted_as_template=True)
WAIT = next(t for t in PROBE["tasks"][1]["block"] if t["name"] == "Wait for the services of the started containers")


def render(value, **inventory):
    """A value of the probing play, templated with its play vars and these inventory variables."""
    return Templar(variables={**PROBE["vars"], **inventory}).template(value)


def waited_for(**inventory) -> list[str]:
    return [item["url"] for item in render(WAIT["loop"], **inventory) if item["base"]]


def test_the_wait_falls_back_to_the_health_modules_default_control_url():
    default = ARGUMENT_SPEC["control_url"]["default"]
    assert waited_for() == [f"{default}/health"]
    assert render(PROBE["module_defaults"]["spark_control.audio.audio_health"]["control_url"]) == default


@pytest.mark.parametrize("inventory, urls", [
    ({"spark_audio_control_url": "https://ctl:9443"}, ["https://ctl:9443/health"]),
    ({"spark_audio_control_url": "", "spark_audio_stt_url": "http://a:8010", "spark_audio_tts_url": "http://a:8880"},
     ["http://a:8010/health/ready", "http://a:8880/health"]),
])
def test_the_wait_asks_the_urls_the_probes_ask(inventory, urls):
    assert waited_for(**inventory) == urls
    probes = PROBE["module_defaults"]["spark_control.audio.audio_health"]
    assert render(probes["control_url"], **inventory) == inventory["spark_audio_control_url"]


def test_the_wait_gets_the_tls_settings_of_the_probes():
    probes = PROBE["module_defaults"]["spark_control.audio.audio_health"]
    tls = {"spark_audio_validate_certs": False, "spark_audio_ca_path": "/etc/spark_control/ca.pem"}
    for option in ("validate_certs", "ca_path"):
        assert option in WAIT["ansible.builtin.uri"], option
        assert render(WAIT["ansible.builtin.uri"][option], **tls) == render(probes[option], **tls)
    assert render(WAIT["ansible.builtin.uri"]["ca_path"], **tls) == "/etc/spark_control/ca.pem"


def test_the_wait_sends_the_probes_token_and_then_shows_nothing():
    probes = PROBE["module_defaults"]["spark_control.audio.audio_health"]
    token = {"spark_audio_api_token": "s3cret"}
    assert render(probes["api_token"], **token) == "s3cret"
    assert render(WAIT["ansible.builtin.uri"]["headers"], **token) == {"Authorization": "Bearer s3cret"}
    assert render(WAIT["no_log"], **token) is True
    # Without a token: no header, and the attempts stay visible.
    assert render(WAIT["ansible.builtin.uri"]["headers"]) == {}
    assert render(WAIT["no_log"]) is False


def test_the_report_runs_under_a_limit_and_covers_the_probed_hosts():
    # localhost is left out by --limit HOST; groups['audio'] names hosts the limit left out.
    assert REPORT["hosts"] == PROBE["hosts"]
    assert "ansible_play_hosts_all" in REPORT["vars"]["deep_health_results"]
    assert "groups" not in REPORT["vars"]["deep_health_results"]
    once = REPORT["tasks"][0]
    assert once["run_once"] and once["delegate_to"] == "localhost"
    # Each host fails itself (not the one that ran the report), and the message names the real folder.
    verdict = REPORT["tasks"][-1]
    assert "run_once" not in verdict and "inventory_hostname" in verdict["vars"]["this_host"]
    assert "deep_health_report_dir }}" in verdict["ansible.builtin.assert"]["fail_msg"]
    assert once["block"][0]["ansible.builtin.include_role"]["public"] is True
