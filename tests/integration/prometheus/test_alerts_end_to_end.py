"""The shipped alert rules against real parts, on loopback only.

Debian's prometheus-node-exporter serves the textfile folder that the
deep_health_report role writes; Debian's prometheus scrapes it every second
and loads files/prometheus/spark_audio_alerts.yml as the deep_health_alerts
role installs it (unchanged, validated by promtool). A healthy deep_health.yml
run against the bench is scraped and raises no alert, not even a pending
one; with the bench's TTS stopped, the next run's failures fire
SparkAudioProbeFailed, read from Prometheus' HTTP API; with the TTS started
again, a healthy run resolves them. Both daemons are children of this test
and are stopped at its end; the bench is left as it was found.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import requests
from conftest import OFFSET, SUFFIX

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
RULES = REPO / "files" / "prometheus" / "spark_audio_alerts.yml"
# Away from the bench's ports (8010, 8880, 9999 + offset) and the packages'
# defaults (9090, 9100): several benches can run side by side.
PROMETHEUS_PORT = 19090 + OFFSET
EXPORTER_PORT = 19100 + OFFSET
DAEMONS = {"prometheus": "prometheus", "node_exporter": "prometheus-node-exporter", "promtool": "promtool"}
HOST = "spark2"


def wait_for(what: str, check, timeout: float, interval: float = 0.5):
    """check() until it returns something truthy; fail naming `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (requests.RequestException, ValueError, KeyError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last answer: {last!r}")


def free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class Daemon:
    """A child process with its output in a log file, stopped by its pid."""

    def __init__(self, name: str, argv: list[str], log: Path):
        self.name, self.log = name, log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def alive(self) -> bool:
        if self.proc.poll() is not None:
            pytest.fail(f"{self.name} exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
        return True

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


def playbook(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([str(BIN / "ansible-playbook"), *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def binaries() -> dict[str, str]:
    found = {name: shutil.which(exe) for name, exe in DAEMONS.items()}
    missing = [DAEMONS[name] for name, path in found.items() if not path]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: install Debian's prometheus and prometheus-node-exporter "
                    f"packages (bash scripts/host-deps.sh)")
    return found


@pytest.fixture(scope="module")
def monitoring(binaries, tmp_path_factory):
    """node_exporter on the textfile folder and Prometheus with the installed rules, both on 127.0.0.1."""
    base = tmp_path_factory.mktemp("prometheus")
    textfile, rules, data = base / "textfile", base / "rules", base / "data"
    textfile.mkdir()
    busy = [port for port in (PROMETHEUS_PORT, EXPORTER_PORT) if not free(port)]
    if busy:
        pytest.fail(f"127.0.0.1 ports {busy} are taken (another run? SPARK_BENCH_PORT_OFFSET={OFFSET})")

    # The rules go in the way users install them: the role, promtool-validated.
    install = base / "install_rules.yml"
    install.write_text(json.dumps([{
        "name": "Install the alert rules", "hosts": "localhost", "gather_facts": False,
        "roles": [{"role": "spark_control.audio.deep_health_alerts", "vars": {
            "deep_health_alerts_dir": str(rules), "deep_health_alerts_promtool": binaries["promtool"],
            "deep_health_alerts_service": "", "deep_health_alerts_owner": "root",
            "deep_health_alerts_group": "root"}}],
    }]))
    done = playbook("-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}",
                    str(install), timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    installed = rules / "spark_audio_alerts.rules"
    assert installed.read_bytes() == RULES.read_bytes(), "the role changed the shipped rules"

    config = base / "prometheus.yml"
    config.write_text(json.dumps({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules / "*.rules")],
        "scrape_configs": [{"job_name": "node", "static_configs": [{"targets": [f"127.0.0.1:{EXPORTER_PORT}"]}]}],
    }))
    check = subprocess.run([binaries["promtool"], "check", "config", str(config)], capture_output=True, text=True,
                           timeout=60, check=False)
    assert check.returncode == 0, check.stdout + check.stderr

    daemons = [
        Daemon("node_exporter", [binaries["node_exporter"], f"--web.listen-address=127.0.0.1:{EXPORTER_PORT}",
                                 "--collector.disable-defaults", "--collector.textfile",
                                 f"--collector.textfile.directory={textfile}"], base / "node_exporter.log"),
        Daemon("prometheus", [binaries["prometheus"], f"--config.file={config}", f"--storage.tsdb.path={data}",
                              f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}", "--web.enable-lifecycle"],
               base / "prometheus.log"),
    ]
    api = f"http://127.0.0.1:{PROMETHEUS_PORT}/api/v1"
    try:
        for daemon in daemons:
            daemon.alive()
        wait_for("Prometheus to be ready", lambda: daemons[1].alive()
                 and requests.get(f"http://127.0.0.1:{PROMETHEUS_PORT}/-/ready", timeout=2).ok, 60)
        wait_for("the node_exporter target to be up", lambda: daemons[0].alive() and [
            t for t in requests.get(f"{api}/targets", timeout=2).json()["data"]["activeTargets"]
            if t["health"] == "up"], 60)
        yield {"api": api, "textfile": textfile, "installed": installed, "base": base}
    finally:
        for daemon in reversed(daemons):
            daemon.stop()


def install_rules(monitoring, binaries, **role_vars) -> subprocess.CompletedProcess:
    """The deep_health_alerts role into the rules folder Prometheus loads, with these variables on top."""
    play = monitoring["base"] / "rules_play.yml"
    play.write_text(json.dumps([{
        "name": "Install alert rules", "hosts": "localhost", "gather_facts": False,
        "roles": [{"role": "spark_control.audio.deep_health_alerts", "vars": {
            "deep_health_alerts_dir": str(monitoring["installed"].parent),
            "deep_health_alerts_promtool": binaries["promtool"], "deep_health_alerts_service": "",
            "deep_health_alerts_owner": "root", "deep_health_alerts_group": "root", **role_vars}}],
    }]))
    return playbook("-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}",
                    str(play), timeout=300)


def last_reload(monitoring) -> float:
    """When Prometheus last reloaded its configuration successfully (its own metric)."""
    for line in requests.get(f"{monitoring['api'].rsplit('/api/', 1)[0]}/metrics", timeout=5).text.splitlines():
        if line.startswith("prometheus_config_last_reload_success_timestamp_seconds "):
            return float(line.split()[-1])
    pytest.fail("Prometheus exposes no prometheus_config_last_reload_success_timestamp_seconds")


def query(api: str, expr: str) -> list[dict]:
    reply = requests.get(f"{api}/query", params={"query": expr}, timeout=5)
    reply.raise_for_status()
    return reply.json()["data"]["result"]


def alerts(api: str) -> list[dict]:
    reply = requests.get(f"{api}/alerts", timeout=5)
    reply.raise_for_status()
    return reply.json()["data"]["alerts"]


def evaluations(api: str) -> float:
    """Unix time of the last evaluation of our rule group."""
    groups = requests.get(f"{api}/rules", timeout=5).json()["data"]["groups"]
    group = next(g for g in groups if g["name"] == "spark_control.audio")
    return datetime.fromisoformat(group["lastEvaluation"]).timestamp()


def deep_health(monitoring, name: str, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    """One deep_health.yml run against the bench, its metrics in the exporter's folder."""
    reports = monitoring["base"] / name
    done = playbook("-i", "tests/bench/inventory.yml", "playbooks/deep_health.yml", *args,
                    "-e", json.dumps({"deep_health_report_dir": str(reports),
                                      "deep_health_report_textfile_dir": str(monitoring["textfile"]),
                                      "deep_health_lock_dir": str(monitoring["base"] / "locks")}))
    report = reports / "deep_health.json"
    assert report.is_file(), done.stdout[-4000:] + done.stderr[-2000:]
    return done, json.loads(report.read_text())["hosts"][HOST]


def scraped(monitoring, result: dict) -> None:
    """Wait until Prometheus holds exactly this run's probes, then for a rule evaluation after that."""
    api = monitoring["api"]
    written = (monitoring["textfile"] / "deep_health.prom").read_text()
    stamp = next(float(line.split()[-1]) for line in written.splitlines()
                 if line.startswith("spark_audio_last_run_timestamp_seconds{"))
    expected = {p["name"]: "1" if p["ok"] else "0" for p in result["probes"]}

    def current():
        runs = query(api, f'spark_audio_last_run_timestamp_seconds{{host="{HOST}"}}')
        probes = {s["metric"]["probe"]: s["value"][1]
                  for s in query(api, f'spark_audio_probe_success{{host="{HOST}"}}')}
        return len(runs) == 1 and float(runs[0]["value"][1]) == stamp and probes == expected

    wait_for(f"Prometheus to scrape the run's probes {expected}", current, 60)
    seen = time.time()
    wait_for("a rule evaluation after the scrape", lambda: evaluations(api) > seen + 0.1, 30, 0.2)


def test_the_shipped_rules_load_and_evaluate_cleanly(monitoring):
    groups = requests.get(f"{monitoring['api']}/rules", timeout=5).json()["data"]["groups"]
    ours = [g for g in groups if g["file"] == str(monitoring["installed"])]
    assert [g["name"] for g in ours] == ["spark_control.audio"], groups
    names = {r["name"]: r for r in ours[0]["rules"]}
    assert set(names) == {"SparkAudioProbeFailed", "SparkAudioHostNotProbed",
                          "host_probe:spark_audio_probe_duration_seconds:passing", "SparkAudioProbeSlow",
                          "SparkAudioHealthStale", "SparkAudioHealthMetricsAbsent"}
    wait_for("every rule to be evaluated without error",
             lambda: all(r["health"] == "ok" for g in requests.get(f"{monitoring['api']}/rules", timeout=5)
                         .json()["data"]["groups"] for r in g["rules"]), 30)


def only_justified_slow(raised: list[dict], runs: list[dict]) -> None:
    """Alerts besides the expected ones may only be SparkAudioProbeSlow, pending
    (it waits 45 min), for a probe the data shows slower: on this shared
    2-core machine, or for the first speech after the TTS restarted (it loads
    its voice), a probe can take more than twice as long as in an earlier run."""
    for alert in raised:
        assert alert["labels"]["alertname"] == "SparkAudioProbeSlow" and alert["state"] == "pending", alert
        probe = alert["labels"]["probe"]
        passing = [p["latency"] for run in runs for p in run["probes"] if p["name"] == probe and p["ok"]]
        assert passing and passing[-1] > 2 * min(passing) and passing[-1] > min(passing) + 1, (alert, passing)


@pytest.fixture(scope="module")
def healthy(overlay_applied, monitoring) -> dict:
    """The first run: the bench as it stands (overlay applied), every probe passing."""
    done, result = deep_health(monitoring, "healthy")
    assert done.returncode == 0, done.stdout[-4000:]
    return result


def test_healthy_run_is_scraped_and_raises_no_alert(healthy, monitoring, binaries):
    result = healthy
    assert result["probes"] and all(p["ok"] for p in result["probes"]), result
    # The file the role wrote follows Prometheus' naming conventions.
    written = (monitoring["textfile"] / "deep_health.prom").read_text()
    lint = subprocess.run([binaries["promtool"], "check", "metrics"], input=written, capture_output=True, text=True,
                          timeout=60, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr

    scraped(monitoring, result)
    durations = query(monitoring["api"], f'spark_audio_probe_duration_seconds{{host="{HOST}"}}')
    assert len(durations) == len(result["probes"]), durations
    assert query(monitoring["api"], f'spark_audio_host_healthy{{host="{HOST}"}} == 1'), "host not healthy"
    assert alerts(monitoring["api"]) == []


def test_stopped_tts_fires_the_probe_failed_alert(healthy, monitoring, docker_client, tts_url, control_url):
    api = monitoring["api"]
    kokoro = docker_client.containers.get("kokoro" + SUFFIX)
    assert kokoro.status == "running", kokoro.status
    kokoro.stop(timeout=10)
    try:
        # Run as the alerts' runbook says, with --limit: the report is still written and the run still fails.
        done, result = deep_health(monitoring, "tts_stopped", "--limit", HOST)
        assert done.returncode != 0, "deep_health.yml --limit passed with the TTS stopped"
        output = done.stdout + done.stderr
        named = f"reports in {monitoring['base'] / 'tts_stopped'}"
        assert f"{HOST}: UNHEALTHY" in output and named in output, output[-4000:]
        failed = {p["name"]: p["failure"] for p in result["probes"] if not p["ok"]}
        assert any(name.startswith("tts:") for name in failed), result["probes"]

        def firing():
            got = {(a["labels"]["probe"], a["labels"]["failure"]): a for a in alerts(api)
                   if a["labels"]["alertname"] == "SparkAudioProbeFailed" and a["state"] == "firing"}
            return got if set(got) == set(failed.items()) else None

        fired = wait_for(f"SparkAudioProbeFailed to fire for {failed}", firing, 60)
        for (probe, failure), alert in fired.items():
            assert alert["labels"]["host"] == HOST and alert["labels"]["severity"] == "critical"
            assert f"probe {probe} failing on audio host {HOST} with {failure}" in alert["annotations"]["description"]
        others = [a for a in alerts(api) if a["labels"]["alertname"] != "SparkAudioProbeFailed"]
        only_justified_slow(others, [healthy, result])
    finally:
        kokoro.start()
        # Back as it was: the TTS answers and Spark Control sees every back end up.
        wait_for("kokoro to answer again", lambda: requests.get(f"{tts_url}/health", timeout=3).ok, 120)
        wait_for("Spark Control to see its back ends up", lambda: all(
            s.get("up") for s in requests.get(f"{control_url}/api/status", timeout=3).json()["services"].values()),
            60)

    # A healthy run afterwards resolves the failures.
    done, back = deep_health(monitoring, "tts_back")
    assert done.returncode == 0, done.stdout[-4000:]
    scraped(monitoring, back)
    only_justified_slow(alerts(api), [healthy, result, back])


def test_changed_rules_are_reloaded_through_the_http_api(monitoring, binaries):
    api, base = monitoring["api"], monitoring["base"]
    extra = base / "reload_check.yml"
    extra.write_text(json.dumps({"groups": [{"name": "spark_control.audio.reload_check", "rules": [
        {"record": "spark_audio:reload_check", "expr": "vector(1)"}]}]}))
    url = f"http://127.0.0.1:{PROMETHEUS_PORT}/-/reload"
    common = {"deep_health_alerts_src": str(extra), "deep_health_alerts_name": "reload_check.rules",
              "deep_health_alerts_reload_url": url}

    def groups() -> set[str]:
        return {g["name"] for g in requests.get(f"{api}/rules", timeout=5).json()["data"]["groups"]}

    before = last_reload(monitoring)
    try:
        done = install_rules(monitoring, binaries, **common)
        assert done.returncode == 0, done.stdout[-3000:]
        # Prometheus answers the reload once it has the rules: no waiting.
        assert "spark_control.audio.reload_check" in groups() and last_reload(monitoring) > before
        reloaded = last_reload(monitoring)
        again = install_rules(monitoring, binaries, **common)
        assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-3000:]
        assert last_reload(monitoring) == reloaded, "an unchanged file reloaded Prometheus"

        # A reload URL Prometheus does not serve fails the run and says what to do.
        extra.write_text(json.dumps({"groups": [{"name": "spark_control.audio.reload_check", "rules": [
            {"record": "spark_audio:reload_check", "expr": "vector(2)"}]}]}))
        wrong = install_rules(monitoring, binaries, **{
            **common, "deep_health_alerts_reload_url": f"http://127.0.0.1:{PROMETHEUS_PORT}/-/reload-typo"})
        assert wrong.returncode != 0 and "did not reload the rules (HTTP 404" in wrong.stdout, wrong.stdout[-3000:]
        assert "--web.enable-lifecycle" in wrong.stdout
    finally:
        gone = install_rules(monitoring, binaries, **{**common, "deep_health_alerts_state": "absent"})
    assert gone.returncode == 0, gone.stdout[-3000:]
    assert "spark_control.audio.reload_check" not in groups() and "spark_control.audio" in groups()
