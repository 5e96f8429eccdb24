"""pip_index_env: pip's index options as its environment, the one builder for the role and the wheelhouse."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.spark_control.audio.plugins.filter.pip_index_env import FilterModule

pip_index_env = FilterModule().filters()["pip_index_env"]


def test_every_option_becomes_its_variable():
    env = pip_index_env("https://ci:T0KEN@idx.example/simple", ["https://a/simple", "https://b/simple"],
                        ["mirror.internal:3141", "10.0.0.5"])
    assert env == {"PIP_INDEX_URL": "https://ci:T0KEN@idx.example/simple",
                   "PIP_EXTRA_INDEX_URL": "https://a/simple https://b/simple",
                   "PIP_TRUSTED_HOST": "mirror.internal:3141 10.0.0.5"}


def test_nothing_given_leaves_pip_its_own_configuration():
    assert pip_index_env("") == {} and pip_index_env(None, [], []) == {}
    assert pip_index_env("", [], ["mirror.internal"]) == {"PIP_TRUSTED_HOST": "mirror.internal"}


@pytest.mark.parametrize("args, named", [
    (("https://idx/simple", "https://a/simple"), r"extra_index_urls must be a list of strings, got str"),
    (("https://idx/simple", [], [""]), r"trusted_hosts\[0\] must be a non-empty string"),
    (("https://idx/simple", [], ["mirror.internal", 3141]), r"trusted_hosts\[1\] must be a non-empty string"),
    (("https://idx/simple", ["https://a/simple https://b/simple"]), r"extra_index_urls\[0\] .*without spaces"),
    ((["https://idx/simple"],), r"index_url must be a string \(one URL\), got list"),
])
def test_a_wrong_shape_is_a_filter_error_naming_the_option(args, named):
    with pytest.raises(AnsibleFilterError, match=named) as caught:
        pip_index_env(*args)
    assert "pip_index_env: " in str(caught.value)
